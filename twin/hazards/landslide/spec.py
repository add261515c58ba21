"""The ``landslide`` hazard entry of a scenario: soil parameters, recharge, trigger threshold, runout, explicit slides.

::

    - type: landslide
      soil:                                # a number, or a range [low, high] drawn uniformly per cell once per run
        cohesion_pa: [2000, 8000]          # root + soil cohesion C (Pa)
        friction_angle_deg: [30, 38]       # internal friction angle phi
        depth_m: [0.8, 1.5]                # soil depth h (vertical)
        density_kg_m3: [1700, 2000]        # wet soil density rho_s
        transmissivity_m2_day: [20, 60]    # soil transmissivity T
      recharge: rain                       # from the scenario's rain entry; or recharge_mm_day: 80 (constant)
      recharge_window: 24h                 # recharge = rain over this window / window
      threshold: {a: 14.82, b: 0.39}       # rainfall intensity-duration trigger I = a D^-b (Caine 1980); or none
      runout_m: 300                        # the farthest debris travels down D8 (it stops at its angle of reach)
      min_slope_deg: 15                    # gentler cells do not fail (shallow slides need slope)
      slides:                              # explicit slides (drills): at a time, at a place
        - {at: 3h, at_lonlat: [1.5205, 42.5063], width_m: 60, runout_m: 200}

Formulas and sources are in :mod:`twin.hazards.landslide.model`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from twin.registry import REGISTRY
from twin.scenario import registry
from twin.scenario.base import PositiveDuration, SpecModel
from twin.scenario.events import EventTime
from twin.scenario.problems import HIDE, Problem, problems_error

RANGE_HELP = "a number or a range [low, high]"


def _range(value: Any) -> Any:
    """A number -> (x, x); a two-item list -> (low, high); anything else is left for pydantic to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > 1e300:  # float() would overflow (Python data skip the YAML bound)
        raise problems_error(Problem((), "is too large", HIDE, f"write {RANGE_HELP} of sensible size"))
    if isinstance(value, int | float):
        return (float(value), float(value))
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and abs(v) <= 1e300 for v in value)
    ):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise problems_error(
                Problem(
                    (),
                    f"the range's low end {low:g} is above its high end {high:g}",
                    HIDE,
                    f"write [{high:g}, {low:g}]",
                )
            )
        return (low, high)
    if isinstance(value, list):
        raise problems_error(Problem((), f"must be {RANGE_HELP}, got a list of {len(value)} items", HIDE))
    return value


def _bounded(low: float, high: float, unit: str) -> Any:
    """A range field whose ends must lie in [low, high]."""

    def check(value: Any) -> Any:
        value = _range(value)
        if isinstance(value, tuple) and not (low <= value[0] and value[1] <= high):
            raise problems_error(Problem((), f"must lie within {low:g}..{high:g} {unit}, got {list(value)}", HIDE))
        return value

    return Annotated[
        tuple[float, float],
        BeforeValidator(check),
        WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}),
    ]


class SoilSpec(SpecModel):
    """Soil parameters of the infinite-slope model; each is drawn uniformly in its range, per cell, once per run."""

    cohesion_pa: _bounded(0.0, 100_000.0, "Pa") = Field(examples=[[2000, 8000]])  # type: ignore[valid-type]
    friction_angle_deg: _bounded(5.0, 60.0, "degrees") = Field(examples=[[30, 38]])  # type: ignore[valid-type]
    depth_m: _bounded(0.05, 20.0, "m") = Field(examples=[[0.8, 1.5]])  # type: ignore[valid-type]
    density_kg_m3: _bounded(1000.0, 3000.0, "kg/m3") = Field(examples=[[1700, 2000]])  # type: ignore[valid-type]
    transmissivity_m2_day: _bounded(0.01, 10_000.0, "m2/day") = Field(examples=[[20, 60]])  # type: ignore[valid-type]


class ThresholdSpec(SpecModel):
    """Rainfall intensity-duration trigger I = a D^-b (I mm/h, D h); default Caine (1980)."""

    a: float = Field(14.82, gt=0)
    b: float = Field(0.39, ge=0, le=2)


class ExplicitSlide(SpecModel):
    """A slide at a given place and time (drills, or a slide that happened)."""

    at_s: EventTime = Field(alias="at", examples=["3h"])
    at_lonlat: list[float] = Field(
        min_length=2, max_length=2, examples=[[1.5205, 42.5063]], description="[longitude, latitude]"
    )
    width_m: float = Field(60.0, gt=0, le=2000, description="width of the failed area around the point (m)")
    runout_m: float | None = Field(None, ge=0, le=20_000, description="default: the entry's runout_m")
    depth_m: float = Field(1.0, gt=0, le=50, description="depth of the failed soil (m): volume = area x depth")

    @model_validator(mode="after")
    def _on_earth(self) -> ExplicitSlide:
        lon, lat = self.at_lonlat
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise problems_error(
                Problem(
                    ("at_lonlat",),
                    f"must be [longitude, latitude] in degrees, got {list(self.at_lonlat)}",
                    HIDE,
                    "e.g. [1.5205, 42.5063]",
                )
            )
        return self


class LandslideSpec(registry.HazardSpec):
    """A landslide hazard: shallow slope failures from rain (infinite slope), and explicit slides."""

    type: Literal["landslide"] = "landslide"
    soil: SoilSpec | None = None
    recharge: Literal["rain"] | None = Field(None, description="rain: take recharge from the scenario's rain entry")
    recharge_mm_day: float | None = Field(None, ge=0, le=2000, description="a constant recharge rate instead")
    recharge_window_s: PositiveDuration = Field(86400.0, alias="recharge_window", examples=["24h"])
    threshold: ThresholdSpec | Literal["none"] = Field(default_factory=lambda: ThresholdSpec.model_validate({}))
    runout_m: float = Field(300.0, ge=0, le=20_000)
    min_slope_deg: float = Field(15.0, ge=0, le=80)
    slides: list[ExplicitSlide] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> LandslideSpec:
        problems: list[Problem] = []
        if self.soil is None and not self.slides:
            problems.append(
                Problem(
                    (),
                    "has neither soil (for slides from rain) nor explicit slides",
                    HIDE,
                    "add soil: {...} with recharge: rain, or slides: [{at: 2h, at_lonlat: [...]}]",
                )
            )
        if self.soil is not None and (self.recharge is None) == (self.recharge_mm_day is None):
            which = "both" if self.recharge is not None else "neither"
            problems.append(
                Problem(
                    (),
                    f"has {which} of recharge and recharge_mm_day",
                    HIDE,
                    "give exactly one: recharge: rain, or recharge_mm_day: 80",
                )
            )
        if self.soil is None and (self.recharge is not None or self.recharge_mm_day is not None):
            problems.append(
                Problem(
                    ("soil",),
                    "is needed for recharge to do anything",
                    HIDE,
                    "add the soil parameters, or remove recharge",
                )
            )
        if problems:
            raise problems_error(*problems)
        return self


REGISTRY.add_hazard_type("landslide", LandslideSpec)
