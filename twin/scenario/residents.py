"""The scenario's ``residents:`` and ``warnings:`` sections, validated (no engine or numpy imports).

A scenario gets a population of residents when it has either section::

    residents:
      shelter_share: 0.1          # of evacuees, to public shelters (the rest to friends, family, hotels)
      onset: rapid                # departure delays for a rapid-onset hazard (or slow)
    warnings:
      - at: 2h
        area: {forecast: {stage_m: 2.0, depth_above_m: 0.3}}
        channels: [cell_broadcast, siren, tv_radio, word_of_mouth]
        evacuate: true
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field, model_validator

from twin.scenario.base import PositiveDuration, SpecModel
from twin.scenario.events import AT_HELP, EventTime

Channel = Literal["cell_broadcast", "siren", "tv_radio", "door_to_door", "word_of_mouth"]
"""Warning channels; the order is the index stored in ``people.parquet`` (``warned_by``)."""
CHANNELS: tuple[str, ...] = ("cell_broadcast", "siren", "tv_radio", "door_to_door", "word_of_mouth")
DEFAULT_CHANNELS: tuple[Channel, ...] = ("cell_broadcast", "siren", "tv_radio", "word_of_mouth")

LonLat = tuple[Annotated[float, Field(ge=-180, le=180)], Annotated[float, Field(ge=-90, le=90)]]


class Forecast(SpecModel):
    """A flood-depth forecast: the river ``stage_m`` above the drainage network spread by HAND; the area is
    where the forecast depth exceeds ``depth_above_m`` (HAND flood mapping, Nobre et al. 2011)."""

    stage_m: float = Field(gt=0, le=50)
    depth_above_m: float = Field(0.0, ge=0, le=50)


class WarningArea(SpecModel):
    """Where a warning applies: named zones (city.yaml population areas), a forecast, or a polygon.

    With none of them, the whole city.
    """

    zones: list[str] | None = Field(None, min_length=1)
    forecast: Forecast | None = None
    polygon: list[LonLat] | None = Field(None, min_length=3)

    @model_validator(mode="after")
    def _at_most_one(self) -> WarningArea:
        given = [k for k in ("zones", "forecast", "polygon") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of zones, forecast or polygon, not {' and '.join(given)}")
        return self


class WarningSpec(SpecModel):
    """One warning: when, where, how it is sent, and whether it orders people to leave."""

    at_s: EventTime | None = Field(None, alias="at", examples=["2h"], description=AT_HELP)
    when_water_above_m: float | None = Field(
        None, gt=0, le=20, description="sent once water at any home of the area is deeper than this"
    )
    area: WarningArea = Field(default_factory=lambda: WarningArea.model_validate({}))
    channels: list[Channel] = Field(default_factory=lambda: list(DEFAULT_CHANNELS), min_length=1)
    evacuate: bool = True
    door_to_door_per_h: float = Field(0.0, ge=0, description="people a door-to-door effort reaches per hour")
    reach: dict[Channel, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="per channel, the share it can reach at most (overrides the default)"
    )
    text: str = ""

    @model_validator(mode="after")
    def _time_or_condition(self) -> WarningSpec:
        if (self.at_s is None) == (self.when_water_above_m is None):
            raise ValueError("give exactly one of at (a time) or when_water_above_m (a condition)")
        if "door_to_door" in self.channels and self.door_to_door_per_h <= 0:
            raise ValueError("door_to_door needs door_to_door_per_h > 0 (people reached per hour)")
        return self


class DecisionSpec(SpecModel):
    """Coefficients of the logistic decision to evacuate (see :mod:`twin.residents.decision`)."""

    intercept: float = -2.197
    order: float = 2.0
    risk_area: float = 1.583
    cues: float = 1.5
    impact: float = 0.5
    vulnerable: float = -0.3


class ResidentsSpec(SpecModel):
    """Options of the residents phase; every default is documented in the README's Residents section."""

    shelter_share: float = Field(0.10, ge=0, le=1)
    onset: Literal["rapid", "slow"] = "rapid"
    departure_tau_s: PositiveDuration | None = Field(None, alias="departure_tau")
    departure_sigma_s: PositiveDuration | None = Field(None, alias="departure_sigma")
    decision: DecisionSpec = Field(default_factory=lambda: DecisionSpec.model_validate({}))
    elsewhere_beyond_m: float = Field(
        250.0,
        ge=0,
        le=20_000,
        description="evacuees to friends, family or hotels stay more than this far (m) from the hazard area",
    )
    trapped_wait_s: PositiveDuration = Field(
        900.0,
        alias="trapped_wait",
        description="a walker with no safe route on asks for rescue after being trapped this long (assumed 15 min)",
    )


class _WithResidents(Protocol):
    """The two sections of a :class:`twin.scenario.Scenario` that ask for residents."""

    @property
    def residents(self) -> ResidentsSpec | None: ...

    @property
    def warnings(self) -> list[WarningSpec]: ...


def wants_residents(spec: _WithResidents) -> bool:
    """Whether a scenario asks for residents (a ``residents:`` or ``warnings:`` section)."""
    return spec.residents is not None or bool(spec.warnings)
