"""The bases of a scenario's typed entries (hazards, responses) and their validation against the registry.

Adding a hazard type is one model and one line (:mod:`twin.registry` keeps the types)::

    class FloodSpec(HazardSpec):
        type: Literal["flood"] = "flood"
        peak_stage_m: float = Field(gt=0)

    REGISTRY.add_hazard_type("flood", FloodSpec)

Entries are validated here (not by a pydantic union) so that the registry can grow at run time (plugins,
tests) and so that a problem inside an entry is reported with its own path and line, like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, PrivateAttr, ValidationError

from twin.scenario.base import SpecModel
from twin.scenario.problems import HIDE, Problem, did_you_mean, from_validation_error, problems_error


class HazardSpec(SpecModel):
    """Base of a hazard entry: subclass with ``type: Literal["name"]`` and its own fields."""

    type: str
    _source: str = PrivateAttr(default="")

    runtime_parameters: ClassVar[dict[str, str]] = {}
    """Parameters a ``set_hazard_parameter`` event may change while the run goes on: name -> what it means."""

    @property
    def source(self) -> str:
        """Where the entry was written (``file:line hazards[0]``), for errors found once the map is known."""
        return self._source

    def with_parameter(self, name: str, value: float) -> Self:
        """A copy of the entry with one of its :attr:`runtime_parameters` set to ``value``.

        Raises
        ------
        ValueError
            With a message in the user's words: the type has no such parameter (naming the ones it has), or the
            value does not fit it.
        """
        raise ValueError(unknown_parameter(self.type, name, self.runtime_parameters))


class ResponseSpec(SpecModel):
    """Base of a response entry (crews, shelters, warnings): subclass like :class:`HazardSpec`."""

    type: str


def unknown_parameter(hazard_type: str, name: str, known: Mapping[str, str]) -> str:
    """The message for a parameter a hazard type cannot change at run time, listing those it can."""
    if not known:
        return f"a {hazard_type} entry has no parameter that can be set at run time"
    listed = "; ".join(f"{key} ({meaning})" for key, meaning in known.items())
    return f"a {hazard_type} entry has no run-time parameter {name!r}; it has: {listed}"


def validate_entries(value: Any, registry: Mapping[str, type[BaseModel]], what: str, context: Any) -> list[BaseModel]:
    """Validate a list of typed entries (``- type: flood ...``) against a registry.

    Parameters
    ----------
    value
        The raw list from the scenario.
    registry
        Type name -> model; looked up at call time, so entries registered later count.
    what
        ``"hazard"`` or ``"response"``, for messages.
    context
        The pydantic validation context (it carries the scenario file's folder for paths).

    Returns
    -------
    list of BaseModel
        One validated model per entry.

    Raises
    ------
    pydantic_core.PydanticCustomError
        Every problem of every entry, each with its path below the list.
    """
    if not isinstance(value, list):
        raise problems_error(Problem((), f"must be a list of {what} entries, each with a type key"))
    entries: list[BaseModel] = []
    problems: list[Problem] = []
    for i, entry in enumerate(value):
        _validate_entry(i, entry, registry, what, context, entries, problems)
    if problems:
        raise problems_error(*problems)
    return entries


def _validate_entry(
    i: int,
    entry: Any,
    registry: Mapping[str, type[BaseModel]],
    what: str,
    context: Any,
    entries: list[BaseModel],
    problems: list[Problem],
) -> None:
    """Validate entry ``i`` of a typed list: append its model to ``entries`` or its problems to ``problems``."""
    known = ", ".join(sorted(registry)) or "(none yet)"
    if not isinstance(entry, dict):
        problems.append(Problem((i,), f"must be a mapping with a type key (a {what} entry)"))
        return
    if "type" not in entry:
        problems.append(Problem((i, "type"), "required key is missing", HIDE, f"{what} types: {known}"))
        return
    name = entry["type"]
    model = registry.get(name) if isinstance(name, str) else None
    if model is None:
        hint = " ".join(filter(None, [did_you_mean(name, registry), f"this version knows: {known}"]))
        problems.append(Problem((i, "type"), f"unknown {what} type {name!r}", HIDE, hint))
        return
    try:
        entries.append(model.model_validate(entry, context=context))
    except ValidationError as exc:
        problems.extend(p.under((i,)) for p in from_validation_error(exc, model))


def validate_interventions(
    value: Any,
    registry: Mapping[str, type[BaseModel]],
    event_model: type[BaseModel],
    pending: Mapping[str, str],
    context: Any,
) -> list[BaseModel]:
    """Validate the ``interventions`` list: typed entries (``- type: levee``) and scripted actions (``- kind: ...``).

    Parameters
    ----------
    value
        The raw list from the scenario.
    registry
        Intervention type name -> model.
    event_model
        The model of a scripted action (the scenario's event model): entries without ``type``.
    pending
        Types this version knows of but cannot run: type -> why (reported as the problem).
    context
        The pydantic validation context.

    Raises
    ------
    pydantic_core.PydanticCustomError
        Every problem of every entry, each with its path below the list.
    """
    if not isinstance(value, list):
        raise problems_error(
            Problem((), "must be a list of interventions (- type: levee ...) or scripted actions (- kind: ...)")
        )
    entries: list[BaseModel] = []
    problems: list[Problem] = []
    for i, entry in enumerate(value):
        if isinstance(entry, dict) and "type" in entry and "kind" not in entry:
            name = entry["type"]
            if isinstance(name, str) and name in pending:
                problems.append(Problem((i, "type"), f"{name!r} is not an intervention type: {pending[name]}", HIDE))
                continue
            _validate_entry(i, entry, registry, "intervention", context, entries, problems)
            continue
        try:
            entries.append(event_model.model_validate(entry, context=context))
        except ValidationError as exc:
            problems.extend(p.under((i,)) for p in from_validation_error(exc, event_model))
    if problems:
        raise problems_error(*problems)
    return entries
