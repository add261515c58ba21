"""The scenario schema: :class:`Scenario` and its parts, and the JSON Schema editors use.

Checks that involve two fields (an event time within the duration, the recording interval a multiple of
the step) run in the later field's validator with ``info.data``, so they are reported together with every
other problem instead of only once the whole model is valid. Field order matters for that reason.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SerializeAsAny,
    ValidationInfo,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema, models_json_schema
from pydantic_core import PydanticCustomError

from twin.registry import REGISTRY
from twin.scenario import registry
from twin.scenario.base import MapFolder, PositiveDuration, SpecModel, Text, describe_duration
from twin.scenario.crews import CrewsSpec
from twin.scenario.events import EventSpec
from twin.scenario.problems import Problem, problems_error
from twin.scenario.residents import ResidentsSpec, WarningSpec
from twin.scenario.times import LOCAL_EXAMPLE, localize, looks_absolute, map_place, solar_gap_problem, zone
from twin.scenario.traffic import TrafficSpec

MAX_STEPS = 100_000
"""Most steps a run may take (engine steps, and traffic sub-steps) unless ``--allow-long``: about 4 minutes of
engine time on the Andorra map (500 steps/s), a year at a 5 minute step, four weeks at 30 s."""
MAX_RECORDS = 20_000
"""Most times a run records its state (rows of the time series; the per-zone table has a row per zone each time).
Without ``record_every`` a run records every step, or every few steps when it has more than this many."""
MIN_STEP_S = 1.0
"""Shortest engine step: the engine's clock and every model in it work in seconds (traffic has its own sub-step)."""
MAX_DURATION_S = 366 * 86400.0
"""Longest run unless ``--allow-long``: a year covers the recovery horizons resilience studies use."""
LONG_HINT = "or pass --allow-long to run it anyway"


def _allow_long(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("allow_long"))


def _too_many_steps(duration: float, step: float, info: ValidationInfo) -> Problem | None:
    """A problem when ``duration / step`` is over :data:`MAX_STEPS` (and long runs are not allowed)."""
    steps = math.ceil(duration / step)
    if steps <= MAX_STEPS or _allow_long(info):
        return None
    shortest = describe_duration(math.ceil(duration / MAX_STEPS))
    return Problem(
        (),
        f"makes {steps:,} steps over the duration ({describe_duration(duration)}); at most {MAX_STEPS:,} steps",
        hint=f"use a step of at least {shortest}, a shorter duration, {LONG_HINT}",
    )


PENDING_INTERVENTIONS: dict[str, str] = {
    "shelter": "shelters are the map's (city.yaml); the residents: section's shelter_share sends evacuees there",
    "warning": "warnings and evacuation orders go in the scenario's warnings: list, not here",
    "crews": "crews are added and placed in the scenario's crews: section (crews per station and depot), not here",
}
"""Intervention types named by the design that other sections of a scenario set: type -> where (why refused)."""


class MetricsSpec(SpecModel):
    """How resilience figures are computed for this scenario."""

    access_tau_s: PositiveDuration = Field(
        900.0,
        alias="access_tau",
        examples=["15min"],
        description="travel time within which a resident counts as having access to a working hospital",
    )
    access_every_s: PositiveDuration = Field(
        300.0, alias="access_every", examples=["5min"], description="how often accessibility is recomputed"
    )
    recovery_threshold: float = Field(
        0.95, gt=0.0, le=1.0, description="a service has recovered when Q >= this share of its normal level"
    )
    control_time_s: PositiveDuration | None = Field(
        None,
        alias="control_time",
        examples=["24h"],
        description="horizon of the resilience integrals (default: the whole run)",
    )


def _no_output_folder(value: Any) -> None:
    if value is None:
        return None
    raise problems_error(
        Problem(
            (),
            "a scenario cannot choose its run folder (a shared scenario could write anywhere)",
            hint="remove it and give the folder to the run: twin run --out FOLDER, or run_scenario(out=FOLDER); "
            "without one the run writes to runs/<name>-<time> under the current folder",
        )
    )


class OutputsSpec(SpecModel):
    """What the run writes and where."""

    record_every_s: PositiveDuration | None = Field(
        None,
        alias="record_every",
        examples=["5min"],
        description="recording interval, a multiple of the step (default: the step)",
    )
    # Refused, not ignored: a scenario file must not choose where a run writes (nor what it empties there).
    folder: SkipJsonSchema[Annotated[Any, BeforeValidator(_no_output_folder)]] = Field(None, exclude=True)


def _check_name(value: str) -> str:
    # The name becomes part of the run folder's name (runs/<name>-<timestamp>).
    if any(c in value for c in "/\\") or any(ord(c) < 32 for c in value):
        raise problems_error(Problem((), "must not contain /, \\ or control characters (it names the run folder)"))
    return value


TypedEntries = Annotated[list[SerializeAsAny[BaseModel]], WithJsonSchema({"type": "array"})]
StartTime = Annotated[dt.datetime, WithJsonSchema({"type": "string", "examples": [LOCAL_EXAMPLE]})]


def _first_problem(exc: PydanticCustomError) -> Problem:
    problems = (exc.context or {}).get("problems") or [Problem((), exc.message())]
    first: Problem = problems[0]
    return first


def _absolute_at(item: Any, start: dt.datetime, key: str = "at") -> Any:
    """An event whose ``at`` (or ``key``) is a date-time, with it in seconds since ``start`` (or the Problem)."""
    if not isinstance(item, dict) or not looks_absolute(item.get(key)):
        return item
    if not isinstance(start.tzinfo, zoneinfo.ZoneInfo):
        return item
    try:
        at: Any = (localize(item[key], start.tzinfo) - start).total_seconds()
    except PydanticCustomError as exc:
        at = _first_problem(exc)  # the event's own validator raises it, at the event's path
    return {**item, key: at}


def _outside_run(times: list[float | None], duration: float | None, key: str = "at") -> list[Problem]:
    """A problem at ``[i].<key>`` for each time (s after the start) outside [0, duration]."""
    if duration is None:
        return []
    return [
        Problem(
            (i, key),
            f"must be within the run, 0s to {describe_duration(duration)} after the start",
            hint=(
                f"it is {describe_duration(-at)} before the start"
                if at < 0
                else f"it is {describe_duration(at)} after the start"
            ),
        )
        for i, at in enumerate(times)
        if at is not None and not 0.0 <= at <= duration
    ]


def _hazard_parameters(events: list[Any], hazards: list[BaseModel] | None) -> list[Problem]:
    """A problem for each set_hazard_parameter event whose entry, parameter or value does not fit the hazards
    (``events`` may hold typed interventions too: they are skipped, and the problems keep the list's indices)."""
    if hazards is None:  # the hazards have problems of their own, reported there
        return []
    problems = []
    for i, event in enumerate(events):
        if not isinstance(event, EventSpec) or event.hazard is None or event.parameter is None or event.value is None:
            continue
        if event.hazard >= len(hazards):
            entries = f"entries 0 to {len(hazards) - 1}" if hazards else "no hazard entries"
            problems.append(Problem((i, "hazard"), f"there is no hazards[{event.hazard}]: the scenario has {entries}"))
            continue
        entry = hazards[event.hazard]
        if not isinstance(entry, registry.HazardSpec):
            continue
        try:
            entry.with_parameter(event.parameter, event.value)
        except ValueError as exc:
            key = "parameter" if event.parameter not in entry.runtime_parameters else "value"
            problems.append(Problem((i, key), str(exc)))
    return problems


class Scenario(SpecModel):
    """A validated scenario: what happens to which city, for how long, and what is recorded.

    Build it with :func:`twin.scenario.load_scenario`, which also reports problems with file and line.
    """

    name: Annotated[Text, AfterValidator(_check_name)] = Field(examples=["valira-flood"])
    description: str = ""
    map: MapFolder = Field(
        examples=["../maps/andorra"], description="map folder (with city.yaml), relative to this file's folder"
    )
    timezone: str = Field("UTC", examples=["Europe/Andorra"], description="IANA time zone of start and event times")
    start: StartTime = Field(examples=[LOCAL_EXAMPLE], description="local date-time of the start (no offset)")
    duration_s: PositiveDuration = Field(alias="duration", examples=["6h"])
    step_s: PositiveDuration = Field(60.0, alias="step", examples=["60s"])
    seed: int = Field(0, ge=0)
    hazards: TypedEntries = Field(default_factory=list, description="typed entries: - type: ...")
    traffic: TrafficSpec | None = Field(None, description="an OD demand (CSV) and the traffic model's options")
    crews: CrewsSpec | None = Field(None, description="emergency and repair crews: bases, dispatch policy, times")
    events: list[EventSpec] = Field(default_factory=list)
    interventions: TypedEntries = Field(
        default_factory=list,
        description="the planner's interventions (- type: levee ...) and scripted actions (- kind: open_link ...)",
    )
    response: TypedEntries = Field(default_factory=list, description="typed entries: - type: ...")
    residents: ResidentsSpec | None = Field(None, description="the residents phase's options")
    warnings: list[WarningSpec] = Field(default_factory=list, description="warnings and evacuation orders")
    metrics: MetricsSpec = Field(default_factory=lambda: MetricsSpec.model_validate({}))
    outputs: OutputsSpec = Field(default_factory=lambda: OutputsSpec.model_validate({}))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _local_start(cls, value: Any, info: ValidationInfo) -> dt.datetime:
        # An invalid timezone is reported on its own; the start is still checked (against UTC).
        tz = zone(info.data["timezone"]) if "timezone" in info.data else zoneinfo.ZoneInfo("UTC")
        return localize(value, tz)

    @field_validator("duration_s")
    @classmethod
    def _sane_duration(cls, value: float, info: ValidationInfo) -> float:
        if value > MAX_DURATION_S and not _allow_long(info):
            raise problems_error(
                Problem((), f"must be at most {describe_duration(MAX_DURATION_S)}", hint=f"shorten it, {LONG_HINT}")
            )
        start = info.data.get("start")
        if isinstance(start, dt.datetime):
            try:
                start + dt.timedelta(seconds=value)
            except OverflowError:
                raise problems_error(
                    Problem((), "ends after the last date that can be simulated (year 9999)")
                ) from None
        return value

    @field_validator("step_s")
    @classmethod
    def _step_within_duration(cls, value: float, info: ValidationInfo) -> float:
        if value < MIN_STEP_S:
            raise problems_error(
                Problem((), f"must be at least {describe_duration(MIN_STEP_S)}", hint="e.g. 10s, 60s or 5min")
            )
        duration = info.data.get("duration_s")
        if duration is not None and value > duration:
            raise problems_error(Problem((), f"must be <= the duration ({describe_duration(duration)})"))
        problem = None if duration is None else _too_many_steps(duration, value, info)
        if problem is not None:
            raise problems_error(problem)
        return value

    @field_validator("traffic")
    @classmethod
    def _traffic_substeps(cls, value: TrafficSpec | None, info: ValidationInfo) -> TrafficSpec | None:
        duration = info.data.get("duration_s")
        problem = None if value is None or duration is None else _too_many_steps(duration, value.substep_s, info)
        if problem is not None:
            raise problems_error(Problem(("substep",), problem.message, hint=problem.hint))
        return value

    @field_validator("hazards", mode="before")
    @classmethod
    def _hazards(cls, value: Any, info: ValidationInfo) -> Any:
        # An entry's own ``at`` (an outage) may be a local date-time, like an event's.
        start = info.data.get("start")
        if isinstance(value, list) and isinstance(start, dt.datetime):
            value = [_absolute_at(item, start) for item in value]
        return registry.validate_entries(value, REGISTRY.hazard_types(), "hazard", info.context)

    @field_validator("hazards")
    @classmethod
    def _hazard_times_within_run(cls, value: list[BaseModel], info: ValidationInfo) -> list[BaseModel]:
        duration = info.data.get("duration_s")
        problems = _outside_run([getattr(entry, "at_s", None) for entry in value], duration)
        # A flood that starts after the end would never happen: a typo in start, not a scenario.
        problems += _outside_run([getattr(entry, "start_s", None) for entry in value], duration, "start")
        if problems:
            raise problems_error(*problems)
        return value

    @field_validator("response", mode="before")
    @classmethod
    def _response(cls, value: Any, info: ValidationInfo) -> Any:
        return registry.validate_entries(value, REGISTRY.response_types(), "response", info.context)

    @field_validator("events", "warnings", mode="before")
    @classmethod
    def _absolute_times(cls, value: Any, info: ValidationInfo) -> Any:
        start = info.data.get("start")
        if not isinstance(value, list) or not isinstance(start, dt.datetime):
            return value
        return [_absolute_at(item, start) for item in value]

    @field_validator("interventions", mode="before")
    @classmethod
    def _interventions(cls, value: Any, info: ValidationInfo) -> Any:
        # Typed entries (- type: levee) and scripted actions (- kind: open_link) share the list; both may give
        # local date-times (a scripted action's at, a levee's breach_at).
        start = info.data.get("start")
        if isinstance(value, list) and isinstance(start, dt.datetime):
            value = [_absolute_at(_absolute_at(item, start), start, "breach_at") for item in value]
        return registry.validate_interventions(
            value, REGISTRY.intervention_types(), EventSpec, PENDING_INTERVENTIONS, info.context
        )

    @field_validator("events", "interventions", "warnings")
    @classmethod
    def _times_within_run(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        duration = info.data.get("duration_s")
        problems = _outside_run([getattr(entry, "at_s", None) for entry in value], duration)
        problems += _outside_run([getattr(entry, "breach_at_s", None) for entry in value], duration, "breach_at")
        problems += _hazard_parameters(value, info.data.get("hazards"))
        if problems:
            raise problems_error(*problems)
        return value

    @field_validator("metrics")
    @classmethod
    def _control_time(cls, value: MetricsSpec, info: ValidationInfo) -> MetricsSpec:
        duration = info.data.get("duration_s")
        if duration is not None and value.control_time_s is not None and value.control_time_s > duration:
            raise problems_error(Problem(("control_time",), f"must be <= the duration ({describe_duration(duration)})"))
        return value

    @field_validator("outputs")
    @classmethod
    def _record_every(cls, value: OutputsSpec, info: ValidationInfo) -> OutputsSpec:
        step, duration = info.data.get("step_s"), info.data.get("duration_s")
        if step is None:
            return value
        if value.record_every_s is None:
            # Every step, or every few steps when that would record more than MAX_RECORDS times.
            every = step if duration is None else step * max(1, math.ceil(duration / step / MAX_RECORDS))
            return value.model_copy(update={"record_every_s": every})
        ratio = value.record_every_s / step
        if not math.isfinite(ratio) or round(ratio) < 1 or not math.isclose(ratio, round(ratio), rel_tol=1e-9):
            raise problems_error(
                Problem(
                    ("record_every",),
                    f"must be a positive multiple of the step ({describe_duration(step)})",
                    hint=f"e.g. {describe_duration(step)} or {describe_duration(2 * step)}",
                )
            )
        records = None if duration is None else math.ceil(duration / value.record_every_s)
        if records is not None and records > MAX_RECORDS and not _allow_long(info):
            shortest = describe_duration(step * math.ceil(duration / step / MAX_RECORDS))
            raise problems_error(
                Problem(
                    ("record_every",),
                    f"records {records:,} times over the duration; at most {MAX_RECORDS:,}",
                    hint=f"record every {shortest} or more, {LONG_HINT}",
                )
            )
        return value

    @model_validator(mode="after")
    def _zone_fits_the_map(self) -> Scenario:
        # After every field is valid: the start's offset and the map's place are both known.
        longitude, map_zone = map_place(self.map)
        problem = None if longitude is None else solar_gap_problem(self.start, longitude, map_zone)
        if problem is not None:
            raise problems_error(problem)
        return self

    @model_validator(mode="after")
    def _default_sources(self) -> Scenario:
        # The loader replaces these with file:line; models validated directly still say which event.
        for name in ("events", "interventions", "hazards"):
            for i, entry in enumerate(getattr(self, name)):
                if hasattr(entry, "_source") and not entry.source:
                    entry._source = f"{name}[{i}]"
        return self

    @field_serializer("start")
    def _start_text(self, value: dt.datetime) -> str:
        # With the offset, so that a repeated autumn hour stays unambiguous when the dict is read back.
        return value.isoformat()

    @property
    def intervention_events(self) -> list[EventSpec]:
        """The scripted actions of ``interventions`` (``- kind: open_link ...``): events logged as interventions."""
        return [entry for entry in self.interventions if isinstance(entry, EventSpec)]

    @property
    def measures(self) -> list[BaseModel]:
        """The typed interventions (``- type: levee ...``), which change the city's physics for the whole run."""
        return [entry for entry in self.interventions if not isinstance(entry, EventSpec)]

    def resolved_dict(self) -> dict[str, Any]:
        """The validated scenario as plain JSON data (YAML keys, seconds, absolute paths).

        It is itself a valid scenario file: the run folder's copy can be run again as it is, with
        ``--allow-outside-paths`` when it names CSV files (its paths are absolute).
        """
        return self.model_dump(mode="json", by_alias=True)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, for editors to complete and check as people type.

    It includes the hazard and response types registered when it is called, and ``extends``; a file that
    extends another need not repeat the required keys.
    """
    extra = {**REGISTRY.hazard_types(), **REGISTRY.response_types(), **REGISTRY.intervention_types()}
    key_map, defs = models_json_schema(
        [(Scenario, "validation"), *((model, "validation") for model in extra.values())],
        by_alias=True,
        ref_template="#/$defs/{model}",
    )
    all_defs: dict[str, Any] = dict(defs.get("$defs", {}))
    top: dict[str, Any] = all_defs.pop(key_map[(Scenario, "validation")]["$ref"].rsplit("/", 1)[-1])

    def items(types: dict[str, type[BaseModel]]) -> dict[str, Any]:
        if not types:
            # An empty enum matches nothing: editors flag any entry, as validation does.
            return {"type": "object", "required": ["type"], "properties": {"type": {"enum": []}}}
        return {"oneOf": [key_map[(model, "validation")] for model in types.values()]}

    properties: dict[str, Any] = top["properties"]
    properties["hazards"]["items"] = items(REGISTRY.hazard_types())
    properties["response"]["items"] = items(REGISTRY.response_types())
    measures = items(REGISTRY.intervention_types())
    properties["interventions"]["items"] = {"anyOf": [{"$ref": "#/$defs/EventSpec"}, *measures.get("oneOf", [])]}
    properties["extends"] = {
        "type": "string",
        "minLength": 1,
        "description": "base scenario file (relative to this file's folder) whose keys this file changes",
        "examples": ["base.yaml"],
    }
    required = top.pop("required", [])
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **top,
        "title": "twin scenario",
        "description": "A twin scenario file: a hazard and the response on a city, for a run, a sweep or a drill.",
        "if": {"required": ["extends"]},
        "then": {},
        "else": {"required": required},
    }
    # Keep only the definitions something refers to (the placeholder for typed entries is not).
    while True:
        text = json.dumps({k: v for k, v in schema.items() if k != "$defs"}) + json.dumps(all_defs)
        unused = [name for name in all_defs if f'"#/$defs/{name}"' not in text]
        if not unused:
            break
        for name in unused:
            del all_defs[name]
    if all_defs:
        schema["$defs"] = all_defs
    return schema


__all__ = ["EventSpec", "MetricsSpec", "OutputsSpec", "Scenario", "scenario_json_schema"]
