"""Scenario events: data that becomes entries in the model's event queue (DESIGN.md rule 4).

An event happens at a time (``at``: a duration after the start, or a local date-time) or when a condition
on a service level holds (``when: {service: power, below: 0.5}``). Interventions (the planner's actions)
have the same shape and are kept in their own list.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, WithJsonSchema, model_validator

from twin.scenario.base import SpecModel, Text, seconds
from twin.scenario.problems import HIDE, Problem, problems_error
from twin.scenario.registry import LINK_EVENT_KINDS, EventKind, Service
from twin.scenario.times import LOCAL_EXAMPLE, looks_absolute

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

    links: list[Annotated[int, Field(ge=0)]] | None = Field(None, min_length=1, description="twin link ids")
    osm_ways: list[Annotated[int, Field(ge=1)]] | None = Field(None, min_length=1, description="OSM way ids")
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
        What happens (``close_link``, ``open_link``, ``message``).
    at_s
        Seconds since the start (YAML ``at``), within [0, duration]; or None for a conditional event.
    when
        The condition of a conditional event (checked after each step; it fires in the next step).
    repeat
        A conditional event fires once unless ``repeat: true`` (then each time the condition becomes true).
    target
        The links of a link event.
    text
        The text of a ``message``.
    cause
        Free text recorded in the event log.
    """

    kind: EventKind
    at_s: EventTime | None = Field(None, alias="at", examples=["30min"], description=AT_HELP)
    when: Condition | None = None
    repeat: bool = False
    target: LinkSelector | None = None
    text: Text | None = None
    cause: Text = "scenario"
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """Where the event was written (``file:line events[2]``), for later errors about it."""
        return self._source

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        problems: list[Problem] = []
        if (self.at_s is None) == (self.when is None):
            which = "both" if self.at_s is not None else "neither"
            hint = "give exactly one: at: 30min, or when: {service: power, below: 0.5}"
            problems.append(Problem((), f"has {which} of at and when", HIDE, hint))
        if self.repeat and self.when is None:
            problems.append(Problem(("repeat",), "is only for conditional events (with when:)", HIDE))
        if self.kind in LINK_EVENT_KINDS:
            if self.target is None:
                problems.append(
                    Problem(("target",), f"required key is missing: a {self.kind} event acts on links", HIDE,
                            "add it, e.g. target: {street: Avinguda Meritxell}")
                )
            if self.text is not None:
                problems.append(Problem(("text",), "is only for message events", HIDE, "use cause: for a note"))
        if self.kind == "message":
            if self.text is None:
                problems.append(Problem(("text",), "required key is missing: a message event has a text", HIDE,
                                        "add it, e.g. text: Sirens sound"))
            if self.target is not None:
                problems.append(Problem(("target",), "is not used by message events", HIDE, "remove it"))
        if problems:
            raise problems_error(*problems)
        return self
