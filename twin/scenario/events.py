"""Scenario events: data that becomes entries in the model's event queue (DESIGN.md rule 4).

An event happens at a time (``at``: a duration after the start, or a local date-time) or when a condition
on a service level holds (``when: {service: power, below: 0.5}``). Interventions (the planner's actions)
have the same shape and are kept in their own list.

Link events (``close_link``, ``open_link``) take a :class:`LinkSelector` as ``target``; component events
(``fail_component``, ``repair_component``) take a :class:`ComponentSelector`. A key of the other kind of
selector is an error that says which event kind it belongs to. ``set_hazard_parameter`` takes no target but
the hazard entry's index, a parameter name and its new value (``hazard: 0, parameter: stage_offset_m,
value: 1``); the scenario checks them against its own hazard entries.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from twin.inputs import INT_MAX
from twin.registry import COMPONENT_EVENT_KINDS, HAZARD_EVENT_KINDS, LINK_EVENT_KINDS, EventKind, Service
from twin.scenario.base import PositiveDuration, SpecModel, Text, seconds
from twin.scenario.problems import HIDE, Problem, from_validation_error, problems_error
from twin.scenario.times import LOCAL_EXAMPLE, looks_absolute

ComponentGroup = Literal["facility", "power", "water", "telecom", "traffic"]
"""Groups of the City's facilities table (``City.facilities["group"]``)."""

AT_HELP = f"a duration after the start (30min, +2h) or a local date-time ({LOCAL_EXAMPLE})"


def _event_time(value: Any) -> Any:
    """``at`` -> seconds since the start.

    Absolute date-times were already converted by the scenario (which knows the start); one that reaches
    here means the start itself is invalid, or a conversion problem left for this field to report.
    """
    if value is None:
        return None
    if isinstance(value, Problem):
        raise problems_error(value)
    if looks_absolute(value):
        raise problems_error(
            Problem((), "a date-time needs a valid start and timezone", hint="fix those first, or give a duration")
        )
    if isinstance(value, str) and value.strip().startswith("+"):
        value = value.strip()[1:]
    try:
        return seconds(value, positive=False, allow_negative=True)
    except ValueError:
        raise problems_error(Problem((), f"must be {AT_HELP}")) from None


EventTime = Annotated[
    float,
    BeforeValidator(_event_time),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}),
]


class LinkSelector(SpecModel):
    """Which road links an event acts on; every given field narrows the selection.

    The City resolves a selector to link ids (a later issue) and reports, citing the event's ``source``,
    a selector that matches nothing.
    """

    links: list[Annotated[int, Field(ge=0, le=INT_MAX)]] | None = Field(None, min_length=1, description="twin link ids")
    osm_ways: list[Annotated[int, Field(ge=1, le=INT_MAX)]] | None = Field(
        None, min_length=1, description="OSM way ids"
    )
    street: Text | None = Field(None, description="case-insensitive substring of street names")
    bridges_over: Text | None = Field(
        None, description="bridges over a river whose name contains this (case-insensitive)"
    )

    @model_validator(mode="after")
    def _something_selected(self) -> LinkSelector:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise problems_error(
                Problem((), "selects no link", HIDE, "set at least one of links, osm_ways, street, bridges_over")
            )
        return self


class ComponentSelector(SpecModel):
    """Which facilities or lifeline components an outage or a component event acts on.

    Components are the rows of ``City.facilities`` (substations, transformers, towers, pumps, masts,
    hospitals, ...); every given field narrows the selection (``kinds: [transformer], name: escaldes`` is
    the transformers whose name contains "escaldes"). The engine reports, citing the entry's ``source``, a
    selector that matches nothing on the map, with the names and kinds the map has.
    """

    components: list[Annotated[int, Field(ge=0, le=INT_MAX)]] | None = Field(
        None, min_length=1, examples=[[94]], description="twin component ids (rows of the facilities table)"
    )
    osm_ids: list[Annotated[int, Field(ge=1, le=INT_MAX)]] | None = Field(
        None, min_length=1, examples=[[386898986]], description="OSM ids (of nodes or ways)"
    )
    name: Text | None = Field(
        None, examples=["ETR d"], description="case-insensitive substring of component names (’ and ' are the same)"
    )
    kinds: list[Text] | None = Field(
        None, min_length=1, examples=[["substation"]], description="kinds: substation, transformer, hospital, ..."
    )
    groups: list[ComponentGroup] | None = Field(
        None, min_length=1, examples=[["power"]], description="groups: facility, power, water, telecom, traffic"
    )

    @model_validator(mode="after")
    def _something_selected(self) -> ComponentSelector:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            hint = f"set at least one of {', '.join(type(self).model_fields)}"
            raise problems_error(Problem((), "selects no component", HIDE, hint))
        return self


LINK_KEYS: tuple[str, ...] = tuple(LinkSelector.model_fields)
COMPONENT_KEYS: tuple[str, ...] = tuple(ComponentSelector.model_fields)


def _selector_model(kind: Any, value: dict[str, Any]) -> type[LinkSelector] | type[ComponentSelector]:
    """The selector a target of ``kind`` must be; for an invalid kind, the one its keys suggest."""
    if kind in COMPONENT_EVENT_KINDS:
        return ComponentSelector
    if kind is None and any(k in COMPONENT_KEYS for k in value) and not any(k in LINK_KEYS for k in value):
        return ComponentSelector
    return LinkSelector


def _foreign_keys(who: str, model: type[BaseModel], value: dict[str, Any]) -> list[Problem]:
    """A link key in a component target, or the reverse: say which event kind the key belongs to."""
    if model is ComponentSelector:
        return [
            Problem(
                (key,),
                f"selects road links, but {who} acts on components",
                HIDE,
                f"select components with {', '.join(COMPONENT_KEYS)}; to close a road use kind: close_link",
            )
            for key in value
            if key in LINK_KEYS
        ]
    return [
        Problem(
            (key,),
            f"selects components, but {who} acts on road links",
            HIDE,
            f"select links with {', '.join(LINK_KEYS)}; to fail a component use kind: fail_component",
        )
        for key in value
        if key in COMPONENT_KEYS
    ]


def validate_selector[Selector: (LinkSelector, ComponentSelector)](
    value: Any, model: type[Selector], who: str, context: Any
) -> Selector | None:
    """A raw target validated as ``model`` (for ``who``: "an outage"), every problem at once.

    A key of the other kind of selector is reported with the event kinds that take it.
    """
    if value is None or isinstance(value, model):
        return value
    if not isinstance(value, dict):
        example = "{kinds: [substation]}" if model is ComponentSelector else "{street: Avinguda Meritxell}"
        raise problems_error(Problem((), "must be a mapping (indented key: value lines)", hint=f"e.g. {example}"))
    foreign = _foreign_keys(who, model, value)
    if foreign:
        raise problems_error(*foreign)
    try:
        return model.model_validate(value, context=context)
    except ValidationError as exc:
        raise problems_error(*from_validation_error(exc, model)) from None


def validate_target(value: Any, kind: Any, context: Any) -> LinkSelector | ComponentSelector | None:
    """An event's raw ``target`` validated as the selector its ``kind`` needs."""
    if isinstance(value, LinkSelector | ComponentSelector):
        return value
    who = f"a {kind} event" if isinstance(kind, str) else "this event"
    if kind in COMPONENT_EVENT_KINDS or (isinstance(value, dict) and _selector_model(kind, value) is ComponentSelector):
        return validate_selector(value, ComponentSelector, who, context)
    return validate_selector(value, LinkSelector, who, context)


class Condition(SpecModel):
    """A threshold on a city-wide service level Q in [0, 1]: exactly one of ``below`` or ``above``."""

    service: Service
    below: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    above: Annotated[float, Field(ge=0.0, le=1.0)] | None = None

    @model_validator(mode="after")
    def _one_threshold(self) -> Condition:
        if (self.below is None) == (self.above is None):
            which = "both" if self.below is not None else "neither"
            raise problems_error(
                Problem((), f"has {which} of below and above", HIDE, "give exactly one, e.g. below: 0.5")
            )
        return self


class EventSpec(SpecModel):
    """One scenario event or intervention.

    Attributes
    ----------
    kind
        What happens (``close_link``, ``open_link``, ``message``, ``fail_component``, ``repair_component``).
    at_s
        Seconds since the start (YAML ``at``), within [0, duration]; or None for a conditional event.
    when
        The condition of a conditional event (checked after each step; it fires in the next step).
    repeat
        A conditional event fires once unless ``repeat: true`` (then each time the condition becomes true).
    target
        The links of a link event (:class:`LinkSelector`), or the components of a component event
        (:class:`ComponentSelector`).
    restore_after_s
        ``fail_component`` only: the failed components are repaired this long after the failure (YAML
        ``restore_after``); without it they stay damaged until a ``repair_component`` event.
    text
        The text of a ``message``.
    hazard, parameter, value
        ``set_hazard_parameter`` only: from the event on, the parameter ``parameter`` of the scenario's hazard
        entry number ``hazard`` (from 0) is ``value`` (see ``runtime_parameters`` of the entry's type).
    cause
        Free text recorded in the event log.
    """

    kind: EventKind
    at_s: EventTime | None = Field(None, alias="at", examples=["30min"], description=AT_HELP)
    when: Condition | None = None
    repeat: bool = False
    target: LinkSelector | ComponentSelector | None = None
    restore_after_s: PositiveDuration | None = Field(
        None, alias="restore_after", examples=["6h"], description="fail_component only: repaired this long after"
    )
    text: Text | None = None
    hazard: Annotated[int, Field(ge=0)] | None = Field(
        None, examples=[0], description="set_hazard_parameter only: index of the entry in hazards"
    )
    parameter: Text | None = Field(
        None, examples=["stage_offset_m"], description="set_hazard_parameter only: which parameter of the entry"
    )
    value: float | None = Field(None, examples=[1.0], description="set_hazard_parameter only: its new value")
    cause: Text = "scenario"
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """Where the event was written (``file:line events[2]``), for later errors about it."""
        return self._source

    @field_validator("target", mode="before")
    @classmethod
    def _target_of_kind(cls, value: Any, info: ValidationInfo) -> LinkSelector | ComponentSelector | None:
        return validate_target(value, info.data.get("kind"), info.context)

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        problems: list[Problem] = []
        if (self.at_s is None) == (self.when is None):
            which = "both" if self.at_s is not None else "neither"
            hint = "give exactly one: at: 30min, or when: {service: power, below: 0.5}"
            problems.append(Problem((), f"has {which} of at and when", HIDE, hint))
        if self.repeat and self.when is None:
            problems.append(Problem(("repeat",), "is only for conditional events (with when:)", HIDE))
        if self.kind in LINK_EVENT_KINDS or self.kind in COMPONENT_EVENT_KINDS:
            problems.extend(self._target_problems())
        problems.extend(self._hazard_problems())
        if self.restore_after_s is not None and self.kind != "fail_component":
            problems.append(Problem(("restore_after",), "is only for fail_component events", HIDE, "remove it"))
        if self.kind == "message":
            if self.text is None:
                problems.append(
                    Problem(
                        ("text",),
                        "required key is missing: a message event has a text",
                        HIDE,
                        "add it, e.g. text: Sirens sound",
                    )
                )
            if self.target is not None:
                problems.append(Problem(("target",), "is not used by message events", HIDE, "remove it"))
        if problems:
            raise problems_error(*problems)
        return self

    def _hazard_problems(self) -> list[Problem]:
        """A set_hazard_parameter event names a hazard entry, a parameter and a value; no other kind does."""
        keys = {"hazard": self.hazard, "parameter": self.parameter, "value": self.value}
        if self.kind not in HAZARD_EVENT_KINDS:
            return [
                Problem((key,), "is only for set_hazard_parameter events", HIDE, "remove it")
                for key, given in keys.items()
                if given is not None
            ]
        example = "add it, e.g. hazard: 0, parameter: stage_offset_m, value: 1.0"
        problems = [
            Problem((key,), "required key is missing: a set_hazard_parameter event needs it", HIDE, example)
            for key, given in keys.items()
            if given is None
        ]
        for key in ("target", "text"):
            if getattr(self, key) is not None:
                problems.append(Problem((key,), "is not used by set_hazard_parameter events", HIDE, "remove it"))
        return problems

    def _target_problems(self) -> list[Problem]:
        """A link or component event needs a target, and has no text."""
        problems = []
        if self.target is None:
            acts_on, example = (
                ("components", "{kinds: [substation], name: Escaldes}")
                if self.kind in COMPONENT_EVENT_KINDS
                else ("links", "{street: Avinguda Meritxell}")
            )
            problems.append(
                Problem(
                    ("target",),
                    f"required key is missing: a {self.kind} event acts on {acts_on}",
                    HIDE,
                    f"add it, e.g. target: {example}",
                )
            )
        if self.text is not None:
            problems.append(Problem(("text",), "is only for message events", HIDE, "use cause: for a note"))
        return problems
