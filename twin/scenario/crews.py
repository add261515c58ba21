"""The scenario's ``crews`` section: who responds, from where, how fast, and by which dispatch policy.

::

    crews:
      policy: priority              # nearest | priority | critical_first | a policy registered by the user
      per_station: {fire_station: 2, hospital: 2, police: 1}      # crews per station of the map
      depots:                       # utility and road depots; absent kinds are synthesised (listed as assumed)
        - {kind: power, at: [1.5341, 42.5100], crews: 3, name: "FEDA Escaldes"}
        - {kind: ems, at: [1.5211, 42.5070], crews: 2}   # a station the map lacks (fire, ems or police)
      depot_crews: {power: 2, water: 2, telecom: 1, road: 2}      # crews per synthesised depot
      dispatch_delay: {fire: 140s, ems: 120s, power: 30min}       # call processing + turnout, per crew kind
      standards: {rescue: 240s, medical: 480s}                    # travel-time standards (NFPA 1710)
      medical: {rate_per_1000_day: 0.15, surge: 0.4, on_scene: 15min, on_scene_sd: 5min,
                transport: true, at_hospital: 30min}    # carried to the nearest working hospital, handed over
      damage_state: moderate        # Hazus restoration damage state of damaged components
      repair: {substation: {mean: 6h, sd: 2h}}                    # overrides of the Hazus restoration times
      debris_m3_per_h: 100          # road-crew clearance rate (assumed)
      flood_rescue:                 # water-capable fire crews: drive to the water's edge, then boat or wade
        teams_per_station: 1        # of each fire station's crews, how many carry a boat (assumed)
        launch: 10min               # launching the boat at the water's edge (assumed)
        boat_speed_kmh: 5           # in urban flood water (assumed)
        boat_min_depth_m: 0.5       # an outboard needs water under it (assumed)
        boat_max_velocity_mps: 2.0  # faster water is left to helicopters (assumed)
        wade_max_depth_m: 0.5       # ARR 2019 class H2 depth bound
        wade_max_dv_m2s: 0.5        # depth x velocity (FD2321; below Abt et al. 1989's toppling products)
      shifts: true                  # crews work shifts (off by default: units staffed round the clock, untiring)
      shifts: {power: {shift: 16h, rest: 8h}, ems: {shift: 12h}}  # on, with these kinds' shifts changed
      shifts: {water: {finish_under: 2h}}  # a team with less than 2 h of work left finishes the job (default 1h)

Every key is optional; ``crews: {}`` runs the defaults. The defaults and their sources are in
:mod:`twin.crews.restoration` and :mod:`twin.crews.bases`; this module only validates (no numpy, no engine).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from twin.scenario.base import Duration, PositiveDuration, SpecModel, Text
from twin.scenario.problems import Problem, problems_error

CREW_KINDS = ("fire", "ems", "police", "power", "water", "telecom", "road")
"""Kinds of crew: fire/rescue, emergency medical, police, and the power, water, telecom and road crews."""
DEPOT_KINDS = ("power", "water", "telecom", "road")
"""Crew kinds based at depots (the others at the map's stations, or at depots the scenario gives)."""
STATION_KINDS = ("fire_station", "hospital", "police")
"""Facility kinds of the map that base crews, and the crew kind each bases."""
DAMAGE_STATES = ("slight", "moderate", "extensive", "complete")
"""Hazus damage states with a restoration function."""

CrewKind = Literal["fire", "ems", "police", "power", "water", "telecom", "road"]
DepotKind = Literal["power", "water", "telecom", "road"]
BaseKind = Literal["fire", "ems", "police", "power", "water", "telecom", "road"]
DamageState = Literal["slight", "moderate", "extensive", "complete"]


class DepotSpec(SpecModel):
    """A depot or station the map lacks: ``{kind: power, at: [lon, lat], crews: 2, name: ...}``.

    ``kind`` is the kind of crew it bases: a utility or road depot, or a fire, ems or police station that OSM does
    not map (without one, that kind's incidents have no crew).
    """

    kind: BaseKind
    at: list[float] = Field(min_length=2, max_length=2, description="[longitude, latitude] in degrees")
    crews: int = Field(2, ge=0, le=200)
    name: str = ""

    @field_validator("at")
    @classmethod
    def _degrees(cls, value: list[float]) -> list[float]:
        lon, lat = value
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"must be [longitude, latitude] in degrees, got {value}")
        return value


class MedicalSpec(SpecModel):
    """Medical calls: a base rate that surges with the share of residents without power or in water."""

    rate_per_1000_day: float = Field(0.15, ge=0, le=1000, description="calls per 1,000 residents per day")
    surge: float = Field(0.4, ge=0, le=10, description="extra share of calls when every resident is affected")
    on_scene_s: PositiveDuration = Field(900.0, alias="on_scene")
    on_scene_sd_s: Duration = Field(300.0, alias="on_scene_sd")
    transport: bool = Field(True, description="carry the patient to the nearest working hospital")
    at_hospital_s: Duration = Field(1800.0, alias="at_hospital", description="patient handover at the hospital")


class RepairTime(SpecModel):
    """A repair time: mean and standard deviation of a normal distribution (truncated at a tenth of the mean)."""

    mean_s: PositiveDuration = Field(alias="mean")
    sd_s: Duration = Field(0.0, alias="sd")


class FloodRescueSpec(SpecModel):
    """Flood rescue teams: fire crews with a boat and wading kit (:mod:`twin.crews.water` gives the sources)."""

    teams_per_station: int = Field(1, ge=0, le=200, description="of each fire station's crews, how many are teams")
    launch_s: Duration = Field(600.0, alias="launch", description="time to launch the boat at the water's edge")
    boat_speed_kmh: float = Field(5.0, gt=0, le=60, description="boat speed in flood water")
    boat_min_depth_m: float = Field(0.5, ge=0, le=5, description="least depth a boat travels in")
    boat_max_velocity_mps: float = Field(2.0, gt=0, le=10, description="fastest water a boat travels in")
    wade_max_depth_m: float = Field(0.5, ge=0, le=2, description="deepest water a team wades")
    wade_max_dv_m2s: float = Field(0.5, ge=0, le=5, description="largest depth x velocity a team wades")


MAX_SHIFT_S = 48 * 3600.0
"""Longest shift or rest accepted (48 h: the longest fire-service duty period in common use, the 48/96 rota)."""
MAX_FINISH_UNDER_S = 12 * 3600.0
"""Longest ``finish_under`` accepted (12 h: a team asked to finish more than that is not relieved at all)."""


class ShiftSpec(SpecModel):
    """One crew kind's shift: ``{shift: 16h, rest: 8h}``. ``rest: 0`` means a relief team takes the unit over at
    the end of each shift (staffed round the clock); ``rest`` > 0 that the same team stands the unit down to rest.
    ``finish_under``: a team whose shift ends with less work than this left on its job finishes it rather than
    hand it over (default 1h, :data:`twin.crews.shifts.DEFAULT_FINISH_UNDER_S`). A key left out takes the kind's
    default (:data:`twin.crews.shifts.DEFAULT_SHIFTS`)."""

    shift_s: PositiveDuration | None = Field(None, alias="shift", description="hours on duty per shift")
    rest_s: Duration | None = Field(None, alias="rest", description="hours off between shifts (0: relieved)")
    finish_under_s: Duration | None = Field(
        None, alias="finish_under", description="a team with less work than this left at its shift's end finishes"
    )

    @field_validator("shift_s")
    @classmethod
    def _shift(cls, value: float | None) -> float | None:
        if value is not None and not 3600.0 <= value <= MAX_SHIFT_S:
            raise problems_error(Problem((), "a shift must last from 1h to 48h", hint="e.g. shift: 12h"))
        return value

    @field_validator("rest_s")
    @classmethod
    def _rest(cls, value: float | None) -> float | None:
        if value is not None and value > MAX_SHIFT_S:
            raise problems_error(
                Problem((), "the rest between shifts must be at most 48h", hint="rest: 0 means a relief team")
            )
        return value

    @field_validator("finish_under_s")
    @classmethod
    def _finish_under(cls, value: float | None) -> float | None:
        if value is not None and value > MAX_FINISH_UNDER_S:
            raise problems_error(
                Problem(
                    (), "the work left under which a team finishes must be at most 12h", hint="e.g. finish_under: 1h"
                )
            )
        return value


def _boolean_too(schema: dict[str, Any]) -> None:
    """The JSON schema of ``shifts`` also accepts ``true`` and ``false`` (turned into a mapping or None)."""
    schema["anyOf"] = [{"type": "boolean"}, *schema.get("anyOf", [])]


def _shifts_switch(value: Any) -> Any:
    """``shifts: true`` is every kind on its default shift, ``false`` none; a mapping goes on to be validated."""
    if isinstance(value, bool):
        return {} if value else None
    if value is None or isinstance(value, dict):
        return value
    raise problems_error(
        Problem((), "must be true, false or crew kinds with their shifts", hint="e.g. {power: {shift: 16h, rest: 8h}}")
    )


class CrewsSpec(SpecModel):
    """The scenario's crews (see the module docstring for the YAML)."""

    policy: Text = Field("priority", description="dispatch policy: nearest, priority, critical_first or a user's")
    per_station: dict[Literal["fire_station", "hospital", "police"], int] = Field(default_factory=dict)
    depots: list[DepotSpec] = Field(default_factory=list)
    depot_crews: dict[DepotKind, int] = Field(default_factory=dict)
    dispatch_delay_s: dict[CrewKind, Duration] = Field(default_factory=dict, alias="dispatch_delay")
    standards_s: dict[Text, PositiveDuration] = Field(default_factory=dict, alias="standards")
    medical: MedicalSpec = Field(default_factory=lambda: MedicalSpec.model_validate({}))
    damage_state: DamageState = "moderate"
    repair: dict[Text, RepairTime] = Field(default_factory=dict)
    debris_m3_per_h: float = Field(100.0, gt=0, le=100_000)
    flood_rescue: FloodRescueSpec = Field(default_factory=lambda: FloodRescueSpec.model_validate({}))
    shifts: Annotated[dict[CrewKind, ShiftSpec] | None, BeforeValidator(_shifts_switch)] = Field(
        None,
        description="crews work shifts: true (defaults per kind) or the kinds whose shifts differ",
        json_schema_extra=_boolean_too,
    )
    """None: no shifts (units staffed round the clock); a mapping (empty: ``true``): the kinds whose shifts differ
    from the defaults."""

    @field_validator("per_station", "depot_crews")
    @classmethod
    def _counts(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not 0 <= v <= 200}
        if bad:
            raise ValueError(f"crews per base must be whole numbers from 0 to 200, got {bad}")
        return value
