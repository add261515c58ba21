"""The ``outage`` hazard entry: which components fail, when, and how long until they are restored.

The model (:mod:`twin.hazards.outage.model`) turns it into ``fail_component`` events; this module is only the
entry's schema and the restore durations' distributions, so loading a scenario does not import the engine.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.registry import REGISTRY
from twin.scenario import registry
from twin.scenario.base import (
    PositiveDuration,
    SpecModel,
    Text,
    describe_duration,
    seconds,
)
from twin.scenario.events import AT_HELP, ComponentSelector, EventTime, validate_selector
from twin.scenario.problems import HIDE, Problem, from_validation_error, problems_error

DEFAULT_CAUSE = "outage"


# ----------------------------------------------------------------------------------------- restore_after


class Lognormal(SpecModel):
    """A lognormal duration: ln(duration) is normal with mean ln(median) and standard deviation sigma."""

    median_s: PositiveDuration = Field(alias="median", examples=["4h"])
    sigma: float = Field(gt=0.0, le=3.0, examples=[0.5], description="standard deviation of ln(duration)")


class LognormalRestore(SpecModel):
    """``{lognormal: {median: 4h, sigma: 0.5}}``."""

    lognormal: Lognormal


class UniformRestore(SpecModel):
    """``{uniform: [2h, 8h]}``: every duration between the two equally likely."""

    uniform: list[PositiveDuration] = Field(min_length=2, max_length=2, examples=[["2h", "8h"]])

    @model_validator(mode="after")
    def _ordered(self) -> UniformRestore:
        low, high = self.uniform
        if not low < high:
            raise problems_error(
                Problem(
                    ("uniform",),
                    "must be [shortest, longest] with shortest < longest",
                    HIDE,
                    f"got [{describe_duration(low)}, {describe_duration(high)}]",
                )
            )
        return self


RESTORE_HELP = "a duration (6h), {lognormal: {median: 4h, sigma: 0.5}} or {uniform: [2h, 8h]}"
_DISTRIBUTIONS: dict[str, type[SpecModel]] = {"lognormal": LognormalRestore, "uniform": UniformRestore}


def _restore_after(value: Any) -> Any:
    """A duration in seconds, or a validated distribution; every problem with its path below the field."""
    if value is None or isinstance(value, LognormalRestore | UniformRestore):
        return value
    if not isinstance(value, dict):
        return seconds(value, positive=True)
    if len(value) != 1 or next(iter(value)) not in _DISTRIBUTIONS:
        raise problems_error(Problem((), "must be a duration or one distribution", HIDE, f"write {RESTORE_HELP}"))
    model = _DISTRIBUTIONS[next(iter(value))]
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise problems_error(*from_validation_error(exc, model)) from None


RestoreAfter = Annotated[
    PositiveDuration | LognormalRestore | UniformRestore,
    BeforeValidator(_restore_after),
]
"""How long until a failed component is restored: a duration, or a distribution drawn once per component."""


def draw_restore_s(restore: float | LognormalRestore | UniformRestore, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` restore durations (s): the fixed duration, or draws from the distribution (``n`` draws from ``rng``)."""
    if isinstance(restore, LognormalRestore):
        return rng.lognormal(mean=math.log(restore.lognormal.median_s), sigma=restore.lognormal.sigma, size=n)
    if isinstance(restore, UniformRestore):
        low, high = restore.uniform
        return rng.uniform(low, high, size=n)
    return np.full(n, float(restore))


def describe_restore(restore: float | LognormalRestore | UniformRestore | None) -> str:
    """``restored after 6h``, ``restored after a lognormal time (median 4h, sigma 0.5)``, ..."""
    if restore is None:
        return "until repaired"
    if isinstance(restore, LognormalRestore):
        return (
            f"restored after a lognormal time (median {describe_duration(restore.lognormal.median_s)}, "
            f"sigma {restore.lognormal.sigma:g})"
        )
    if isinstance(restore, UniformRestore):
        low, high = restore.uniform
        return f"restored after a uniform time in [{describe_duration(low)}, {describe_duration(high)}]"
    return f"restored after {describe_duration(restore)}"


# ---------------------------------------------------------------------------------------------- the entry


class OutageSpec(registry.HazardSpec):
    """Components that fail at a time: those a selector picks, a random share of them, or the most critical.

    Attributes
    ----------
    at_s
        When they fail, in seconds after the start (YAML ``at``: a duration or a local date-time).
    target
        Which components (:class:`~twin.scenario.events.ComponentSelector`); required unless ``most_critical``
        is given (then it ranks every component of the map).
    share
        A random share (0, 1] of the selected components fails, ``round(share x n)`` of them (at least 1).
    most_critical
        The k selected components with the highest criticality fail (not with ``share``).
    criticality
        The measure for ``most_critical``: ``betweenness`` (:mod:`twin.hazards.outage.criticality`).
    restore_after
        A duration, or a distribution drawn once per failed component; None: until repaired.
    cause
        Text for the event log and ``comp_cause`` (a fixed-width array: its first 16 characters).
    """

    type: Literal["outage"] = "outage"
    at_s: EventTime = Field(alias="at", examples=["2h"], description=AT_HELP)
    target: ComponentSelector | None = Field(None, examples=[{"kinds": ["substation"]}])
    share: float | None = Field(None, gt=0.0, le=1.0, examples=[0.5], description="a random share of the selected")
    most_critical: int | None = Field(None, ge=1, examples=[2], description="the k most critical of the selected")
    criticality: Literal["betweenness", "people_served"] = Field(
        "betweenness",
        description="how most_critical ranks: betweenness on the component's network, or residents it serves",
    )
    restore_after: RestoreAfter | None = Field(
        None, examples=["6h"], description=f"{RESTORE_HELP}; omit: until repaired"
    )
    cause: Text = Field(
        DEFAULT_CAUSE,
        examples=["substation fire"],
        description="for the event log (whole) and the state's comp_cause (its first 16 characters)",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _component_target(cls, value: Any, info: ValidationInfo) -> ComponentSelector | None:
        return validate_selector(value, ComponentSelector, "an outage", info.context)

    @model_validator(mode="after")
    def _one_choice(self) -> OutageSpec:
        problems = []
        if self.share is not None and self.most_critical is not None:
            problems.append(
                Problem(
                    (),
                    "has both share and most_critical",
                    HIDE,
                    "give one: share: 0.5 (at random) or most_critical: 2 (by criticality)",
                )
            )
        if self.target is None and self.most_critical is None:
            problems.append(
                Problem(
                    ("target",),
                    "required key is missing: an outage acts on components",
                    HIDE,
                    "add it, e.g. target: {kinds: [substation]}; only most_critical may go without",
                )
            )
        if problems:
            raise problems_error(*problems)
        return self


REGISTRY.add_hazard_type("outage", OutageSpec)
