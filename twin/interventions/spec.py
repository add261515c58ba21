"""Scenario entries of the planner's interventions: ``interventions: - type: levee ...``.

Each type is a pydantic model registered in :data:`twin.registry.REGISTRY`; the scenario validates the
entries with every problem at once (file, line, field, fix), and the phase each one acts through checks it
against the map when the run is built:

========================  ============================================================  ========================
type                      what it changes                                               acts through
========================  ============================================================  ========================
``levee``                 a barrier of ``crest_m`` along a line or streets: the river's  the flood plain's
                          connection stages behind it (water crosses above the crest,    connection stages
                          or through the gap a breach opens from ``breach_at`` on)       (:mod:`.flood`)
``raise_road``            links' surface lifted ``height_m``: water on them is that      the flood exposure
                          much shallower (closure, speed)                                (:mod:`.flood`)
``floodproof``            a component survives water up to ``depth_m``                  the flood exposure
``generator``             ``hours`` of fuel at a component that needs power             lifelines' backups
``pump_backup``           a generator of ``hours`` at water pumps (all by default)       lifelines' backups
``tank``                  ``hours`` of zone demand added to water tanks                  lifelines' tanks
``hospital_water``        ``hours`` of water stored at hospitals                        lifelines' hospitals
========================  ============================================================  ========================

``shelter``, ``warning`` and ``crews`` are named by the issue too; they act on residents and crews, which
this version does not model, and are refused with that reason
(:data:`twin.scenario.schema.PENDING_INTERVENTIONS`).

Every entry may give its ``cost`` (and ``currency``); twin has no default costs, because construction costs
depend on the place, the year and the design: the planner's own estimate is the only honest figure, and the
comparison reports loss avoided per unit of it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, WithJsonSchema, model_validator

from twin.registry import REGISTRY
from twin.scenario.base import PositiveDuration, SpecModel, Text
from twin.scenario.events import ComponentSelector, EventTime, LinkSelector
from twin.scenario.problems import HIDE, Problem, problems_error

BREACH_HINT = (
    "a breach needs its time, its place and its width: breach_at: 20h, breach_point: [lon, lat] (or breach_along_m: "
    "metres from the line's first point) and breach_width_m: 60"
)


BROAD_CREST_C = (2.0 / 3.0) ** 1.5 * 9.80665**0.5
"""``C`` of an ideal broad-crested weir in ``Q = C L H^1.5``: ``(2/3)^1.5 sqrt(g)`` = 1.7046 m^0.5/s (Henderson 1966,
*Open Channel Flow*; Bos 1989, *Discharge Measurement Structures*), the levee's default."""


LINE_HINT = "write the crest as [lon, lat] points in degrees, e.g. line: [[1.5210, 42.5065], [1.5262, 42.5081]]"


def _lonlat_line(value: Any) -> list[tuple[float, float]]:
    """A levee's ``line``: at least two ``[lon, lat]`` points in degrees, every bad point reported."""
    if not isinstance(value, list) or len(value) < 2:
        raise problems_error(Problem((), "must be a list of at least two [lon, lat] points", hint=LINE_HINT))
    problems: list[Problem] = []
    points: list[tuple[float, float]] = []
    for i, point in enumerate(value):
        numbers = isinstance(point, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        if not numbers or len(point) != 2:
            problems.append(Problem((i,), "must be a point [lon, lat] (two numbers)", hint=LINE_HINT))
        elif not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            problems.append(Problem((i,), "must be [lon, lat] with lon in [-180, 180], lat in [-90, 90]"))
        else:
            points.append((float(point[0]), float(point[1])))
    if problems:
        raise problems_error(*problems)
    return points


def _lonlat_point(value: Any) -> tuple[float, float]:
    """A breach's ``breach_point``: one ``[lon, lat]`` in degrees."""
    numbers = isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not numbers or len(value) != 2:
        raise problems_error(Problem((), "must be a point [lon, lat] (two numbers)", hint=BREACH_HINT))
    if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise problems_error(Problem((), "must be [lon, lat] with lon in [-180, 180], lat in [-90, 90]"))
    return float(value[0]), float(value[1])


LonLatPoint = Annotated[
    tuple[float, float],
    BeforeValidator(_lonlat_point),
    WithJsonSchema({"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}),
]
"""A point as ``[lon, lat]`` in degrees (WGS84)."""

LonLatLine = Annotated[
    list[tuple[float, float]],
    BeforeValidator(_lonlat_line),
    WithJsonSchema({"type": "array", "minItems": 2, "items": {"type": "array", "minItems": 2, "maxItems": 2}}),
]
"""A polyline as ``[[lon, lat], ...]`` in degrees (WGS84)."""


class InterventionSpec(SpecModel):
    """Base of an intervention entry: its type, an optional label for the report and the planner's cost.

    Attributes
    ----------
    type
        The intervention type (``levee``, ``raise_road``, ...).
    label
        What the report calls it (default: the type and its target).
    cost
        The planner's estimate of its cost, in ``currency`` (no default: see the module's docstring).
    currency
        The unit of ``cost`` (``EUR``); entries compared together must use one currency.
    """

    type: str
    label: Text | None = Field(None, examples=["Valira wall, Escaldes"], description="name shown in the report")
    cost: float | None = Field(None, ge=0, examples=[1_200_000], description="the planner's cost estimate")
    currency: Text | None = Field(None, examples=["EUR"], description="unit of cost")
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """Where the entry was written (``file:line interventions[0]``), for errors found once the map is known."""
        return self._source

    @model_validator(mode="after")
    def _currency_with_cost(self) -> InterventionSpec:
        if self.currency is not None and self.cost is None:
            raise problems_error(Problem(("currency",), "is given without a cost", HIDE, "add cost: or remove it"))
        return self


class LeveeSpec(InterventionSpec):
    """A levee or flood wall along a line (``line: [[lon, lat], ...]``) or along streets (``street:``).

    Its cells on the working grid (the line densified to half a cell, as roads are) become a barrier
    ``crest_m`` above the ground they stand on: the river's water reaches the land behind only at stages above
    the lowest point of the crest. A breach opens a gap ``breach_width_m`` wide at ``breach_point`` (or
    ``breach_along_m`` from the line's first point) at ``breach_at``: from then on the water passes there, and
    only the land connected to the river through the gap floods (:func:`twin.interventions.flood.gap_cells`).
    The width is the planner's: the final width of an observed breach (Danka and Zhang 2015, 1,000 dike breaches;
    Özer et al. 2019, the International Levee Performance Database). It grows linearly from
    ``breach_initial_width_m`` (default 0) to ``breach_width_m`` over ``breach_formation`` (HEC-RAS's linear
    breach progression; no default formation time can be cited for every levee, so without it the final width
    opens at once, the worst case). Water crosses the crest and the breach as weir flow, ``Q = C L H^1.5``
    with ``weir_coefficient`` C (default 1.7046 m^0.5/s, an ideal broad crest), and fills the land behind
    as a level pool (:mod:`twin.hazards.flood.behind_levee`).
    """

    type: Literal["levee"] = "levee"
    line: LonLatLine | None = Field(
        None, min_length=2, examples=[[[1.52, 42.50], [1.53, 42.51]]], description="[lon, lat] points of the crest"
    )
    street: Text | None = Field(None, examples=["Avinguda del Fener"], description="along drivable streets so named")
    crest_m: float = Field(gt=0, le=30, examples=[2.0], description="crest height above the ground along it (m)")
    breach_at_s: EventTime | None = Field(None, alias="breach_at", examples=["20h"], description="when it fails")
    breach_point: LonLatPoint | None = Field(
        None, examples=[[1.5235, 42.5072]], description="[lon, lat] of the breach (the nearest point of the levee)"
    )
    breach_along_m: float | None = Field(
        None, ge=0, examples=[350.0], description="where the breach is: metres along the levee from its first point"
    )
    breach_width_m: float | None = Field(
        None, gt=0, le=5000, examples=[60.0], description="final width of the gap the breach opens (m)"
    )
    breach_initial_width_m: float | None = Field(
        None, ge=0, le=5000, examples=[5.0], description="the breach's width when it opens (m; default 0)"
    )
    breach_formation_s: PositiveDuration | None = Field(
        None,
        alias="breach_formation",
        examples=["2h"],
        description="time the breach takes to grow to its final width, linearly (default: open at once)",
    )
    weir_coefficient: float = Field(
        BROAD_CREST_C,
        gt=0,
        le=3,
        examples=[1.44],
        description="C of the weir flow over the crest and through the breach, Q = C L H^1.5 (m^0.5/s)",
    )

    @model_validator(mode="after")
    def _one_route(self) -> LeveeSpec:
        problems: list[Problem] = []
        if (self.line is None) == (self.street is None):
            which = "both" if self.line is not None else "neither"
            hint = "give exactly one: line: [[lon, lat], [lon, lat]], or street: NAME"
            problems.append(Problem((), f"has {which} of line and street", HIDE, hint))
        problems += self._breach_problems()
        if problems:
            raise problems_error(*problems)
        return self

    def _breach_problems(self) -> list[Problem]:
        """A breach is all of time, place (a point or a distance, not both) and width, or none of them."""
        place = {"breach_point": self.breach_point, "breach_along_m": self.breach_along_m}
        given = [key for key, value in place.items() if value is not None]
        growth = {"breach_initial_width_m": self.breach_initial_width_m, "breach_formation": self.breach_formation_s}
        if self.breach_at_s is None:
            others = [*given, *(["breach_width_m"] if self.breach_width_m is not None else [])]
            others += [key for key, value in growth.items() if value is not None]
            return [Problem((key,), "is given without breach_at", HIDE, BREACH_HINT) for key in others]
        problems = []
        if not given:
            where = "has no place: give breach_point or breach_along_m"
            problems.append(Problem(("breach_at",), where, HIDE, BREACH_HINT))
        if len(given) == 2:
            problems.append(Problem(("breach_along_m",), "give breach_point or breach_along_m, not both"))
        if self.breach_width_m is None:
            problems.append(Problem(("breach_at",), "has no width: give breach_width_m", HIDE, BREACH_HINT))
        return problems + self._growth_problems()

    def _growth_problems(self) -> list[Problem]:
        """The breach's growth: an initial width needs a formation time and must be below the final width."""
        problems = []
        start = self.breach_initial_width_m
        if start is not None and self.breach_formation_s is None:
            hint = "add breach_formation: 2h (the time it takes to grow to breach_width_m), or remove it"
            problems.append(Problem(("breach_initial_width_m",), "is given without breach_formation", HIDE, hint))
        if start is not None and self.breach_width_m is not None and start >= self.breach_width_m:
            problems.append(
                Problem(
                    ("breach_initial_width_m",),
                    f"{start:g} m is not below breach_width_m ({self.breach_width_m:g} m)",
                    HIDE,
                    "the breach grows from its initial width to breach_width_m: give a smaller initial width",
                )
            )
        return problems


class RaiseRoadSpec(InterventionSpec):
    """Road links lifted by ``height_m``: the water on them is that much shallower (closure at 0.3 m, speeds)."""

    type: Literal["raise_road"] = "raise_road"
    target: LinkSelector = Field(examples=[{"street": "Avinguda Carlemany"}])
    height_m: float = Field(gt=0, le=20, examples=[0.5], description="how much the road surface is raised (m)")


class FloodproofSpec(InterventionSpec):
    """Lifeline components protected (raised, sealed, walled) against water up to ``depth_m``."""

    type: Literal["floodproof"] = "floodproof"
    target: ComponentSelector = Field(examples=[{"kinds": ["substation"]}])
    depth_m: float = Field(gt=0, le=20, examples=[1.5], description="water depth the component now withstands (m)")


class GeneratorSpec(InterventionSpec):
    """A standby generator with ``hours`` of fuel at components that need power (added to any backup they have)."""

    type: Literal["generator"] = "generator"
    target: ComponentSelector = Field(examples=[{"kinds": ["hospital"]}])
    hours: float = Field(gt=0, le=2000, examples=[72], description="hours of fuel at full load")


class PumpBackupSpec(InterventionSpec):
    """Generators of ``hours`` at water pumps (every pump of the map without a target)."""

    type: Literal["pump_backup"] = "pump_backup"
    target: ComponentSelector | None = Field(None, examples=[{"name": "Escaldes"}])
    hours: float = Field(gt=0, le=2000, examples=[24], description="hours of fuel at full load")


class TankSpec(InterventionSpec):
    """Water storage added to tanks (every tank without a target), in hours of their zone's demand."""

    type: Literal["tank"] = "tank"
    target: ComponentSelector | None = Field(None, examples=[{"kinds": ["water_tower"]}])
    hours: float = Field(gt=0, le=2000, examples=[12], description="storage added, in hours of the zone's demand")


class HospitalWaterSpec(InterventionSpec):
    """Water stored at hospitals (every hospital without a target): they work ``hours`` after the mains fail."""

    type: Literal["hospital_water"] = "hospital_water"
    target: ComponentSelector | None = Field(None, examples=[{"name": "Meritxell"}])
    hours: float = Field(gt=0, le=2000, examples=[24], description="hours of the hospital's own water")


INTERVENTION_TYPES: dict[str, type[InterventionSpec]] = {
    "levee": LeveeSpec,
    "raise_road": RaiseRoadSpec,
    "floodproof": FloodproofSpec,
    "generator": GeneratorSpec,
    "pump_backup": PumpBackupSpec,
    "tank": TankSpec,
    "hospital_water": HospitalWaterSpec,
}

for _name, _model in INTERVENTION_TYPES.items():
    REGISTRY.add_intervention_type(_name, _model)
