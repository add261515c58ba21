"""``city.yaml``: what a map folder says about its city, validated.

Every value the build cannot read from OSM or the DEM (population totals, designated shelters, hospital beds,
the metric CRS) comes from this file, and every assumption it makes is listed in the compiled City.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pyproj import CRS
from pyproj.exceptions import CRSError

from twin.errors import MapError
from twin.inputs import YamlDoc, display_path, read_yaml, short_repr

CONFIG_NAME = "city.yaml"

LonLat = tuple[Annotated[float, Field(ge=-180, le=180)], Annotated[float, Field(ge=-90, le=90)]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PopulationArea(_Strict):
    """A town or district with its resident total; buildings belong to the nearest area centre."""

    name: str
    population: int = Field(ge=0, le=100_000_000)  # the largest cities hold about 40 million
    centre: LonLat


class DemographicsSpec(_Strict):
    """Who the residents are, for the residents phase (households and persons drawn from these shares).

    The defaults are China's 2020 census (National Bureau of Statistics of China, Seventh National Population
    Census bulletins 2021: 2.62 persons per household, 17.95 % aged 0-14, 13.50 % aged 65+); the car share
    and the mobility-impaired share are assumed (set them from the city's own statistics); the daytime shares
    are assumed too. Every value used is listed in the run's assumptions.
    """

    household_size: float = Field(default=2.62, ge=1, le=12)
    share_children: float = Field(default=0.1795, ge=0, le=1)
    share_elderly: float = Field(default=0.1350, ge=0, le=1)
    car_households: float = Field(default=0.5, ge=0, le=1)
    mobility_impaired: float = Field(default=0.05, ge=0, le=1)
    day_at_work: float = Field(default=0.6, ge=0, le=1)
    day_at_school: float = Field(default=0.9, ge=0, le=1)
    source: str = "China 2020 census (household size, age shares); car, impairment and daytime shares assumed"

    @model_validator(mode="after")
    def _shares(self) -> DemographicsSpec:
        if self.share_children + self.share_elderly > 1:
            raise ValueError("share_children + share_elderly must be at most 1")
        return self


class PopulationSpec(_Strict):
    """How residents are placed.

    ``buildings``: spread over residential buildings by floor area (footprint x levels), per area;
    ``roads``: spread over walkable nodes by adjacent road length (maps without buildings).
    """

    method: Literal["buildings", "roads"] = "buildings"
    areas: list[PopulationArea] = Field(min_length=1)
    default_levels: int = Field(default=3, ge=1, le=100)
    source: str = ""
    demographics: DemographicsSpec = Field(default_factory=DemographicsSpec)

    @model_validator(mode="after")
    def _someone_lives_there(self) -> PopulationSpec:
        # Every service level is a share of residents: with none, each is 0 / 0.
        if not sum(area.population for area in self.areas) > 0:
            raise ValueError("the areas' populations add up to 0; give each area its resident total")
        return self


class Shelter(_Strict):
    """A designated shelter: an OSM element (way or node id) or a point, with its capacity in people."""

    name: str
    capacity: int = Field(gt=0)
    osm_id: int | None = None
    at: LonLat | None = None

    @model_validator(mode="after")
    def _one_location(self) -> Shelter:
        if (self.osm_id is None) == (self.at is None):
            raise ValueError("give exactly one of osm_id (way or node id) or at: [lon, lat]")
        return self


class ExtraFacility(_Strict):
    """A facility the OSM extract lacks (roads-only maps), placed from another source; labelled assumed."""

    kind: Literal["hospital", "clinic", "fire_station", "police", "school", "sports_hall"]
    name: str
    at: LonLat
    beds: int | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)


class HospitalBeds(_Strict):
    """Beds of a hospital that OSM does not tag (``beds``), by OSM id."""

    osm_id: int
    beds: int = Field(gt=0)
    name: str = ""


class RoadSpec(_Strict):
    """Overrides of the per-class road defaults (km/h and veh/h per lane) and the jam spacing."""

    speed_kmh: dict[str, float] = Field(default_factory=dict)
    capacity_veh_h_lane: dict[str, float] = Field(default_factory=dict)
    jam_spacing_m: float = Field(default=7.5, gt=2, le=30)


class HydrologySpec(_Strict):
    """How the working grid's hydrology is built (see :mod:`twin.hydrology.conditioning`)."""

    burn_depth_m: float = Field(default=10.0, ge=0, le=100)
    channel_min_area_km2: float = Field(default=1.0, gt=0)
    sea_level_m: float | None = 0.0


class WaterSpec(_Strict):
    """How water pressure zones, pumps and tanks are laid out where OSM does not map them."""

    zone_band_m: float = Field(default=100.0, gt=0, le=2000)
    tank_hours: float = Field(default=12.0, gt=0, le=240)
    refill_per_hour: float = Field(default=0.5, gt=0, le=10)
    # A synthesised pump stands at the lowest home of its band that is at least this high above the nearest
    # drainage (HAND): below 5 m is the flood-prone class of Renno et al. (2008) and Nobre et al. (2011).
    site_min_hand_m: float = Field(default=5.0, ge=0, le=200)


class TelecomSpec(_Strict):
    """Cell sites: coverage radius, battery backup, and the grid they are laid on where OSM maps no masts."""

    radius_m: float = Field(default=2000.0, gt=0, le=50_000)
    battery_hours: float = Field(default=4.0, ge=0, le=240)
    grid_spacing_m: float = Field(default=1500.0, gt=100, le=50_000)


class LifelinesSpec(_Strict):
    """Assumptions of the lifeline networks (see :mod:`twin.lifelines.networks`)."""

    water: WaterSpec = Field(default_factory=WaterSpec)
    telecom: TelecomSpec = Field(default_factory=TelecomSpec)
    hospital_generator_hours: float = Field(default=48.0, ge=0, le=2000)
    # Hours a hospital runs on its own water storage once its zone's mains are dry: an assumed day of storage
    # (the CDC/AWWA Emergency Water Supply Planning Guide for Hospitals asks hospitals to plan for 96 h).
    hospital_water_hours: float = Field(default=24.0, ge=0, le=2000)
    signal_capacity_factor: float = Field(default=0.5, gt=0, le=1)


class CityConfig(_Strict):
    """The validated content of ``city.yaml``."""

    name: str
    osm: str
    dem: str
    crs: str
    dem_nodata: float | None
    min_dem_coverage: float = Field(default=0.95, gt=0, le=1)
    working_resolution_m: float = Field(default=30.0, gt=1, le=100)
    bridge_deck_height_m: float = Field(default=5.0, gt=0)
    # Water (m) at a hospital, clinic, fire or police station or shelter that puts it out of service: the
    # ground-floor services stop once water is inside (Hazus flood, essential facilities); 0.3 m is an assumed
    # ground-floor sill (twin.hazards.exposure.CRITICAL_FACILITY_KINDS).
    facility_flood_depth_m: float = Field(default=0.3, gt=0, le=10)
    # Height of the buildings' ground floor above the street: water below it is not inside (no damage counted,
    # nobody exposed). 0.3 m is an assumption, Hazus' default first-floor height for slab-on-grade (1 ft).
    first_floor_height_m: float = Field(default=0.3, ge=0, le=10)
    population: PopulationSpec
    shelters: list[Shelter] = Field(default_factory=list)
    hospital_beds: list[HospitalBeds] = Field(default_factory=list)
    extra_facilities: list[ExtraFacility] = Field(default_factory=list)
    roads: RoadSpec = Field(default_factory=RoadSpec)
    hydrology: HydrologySpec = Field(default_factory=HydrologySpec)
    lifelines: LifelinesSpec = Field(default_factory=LifelinesSpec)
    assumptions: list[str] = Field(default_factory=list)
    attribution: str = ""
    timezone: str = "UTC"

    def osm_path(self, folder: Path) -> Path:
        """The OSM extract's path, resolved against the map folder."""
        return (folder / self.osm).resolve()

    def dem_path(self, folder: Path) -> Path:
        """The DEM's path, resolved against the map folder."""
        return (folder / self.dem).resolve()


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _unknown_key_hint(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Suggest the closest field name for an unknown key (walks nested models by their annotations)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return ""
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return ""
        current = candidates[0]
    names = list(getattr(current, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(names)}"


def _line(doc: YamlDoc, loc: tuple[int | str, ...], path: Path) -> str:
    """``city.yaml:12`` for the deepest part of ``loc`` the file wrote, else the file alone."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in doc.where:
            return f"{display_path(path)}:{doc.where[loc[:n]][1]}"
    return display_path(path)


def _problems(error: ValidationError, doc: YamlDoc, path: Path) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if any(loc[:n] in doc.refused for n in range(len(loc) + 1)):
            continue  # the reader refused the value (a whole number past 64 bits) and said so with its line
        where = f"{_line(doc, loc, path)} {_location(loc)}"
        if item["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown key{_unknown_key_hint(CityConfig, loc)}")
        elif item["type"] == "missing":
            problems.append(f"{where}: required key is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}, got {short_repr(item.get('input'))}")
    return problems


def _file_problems(config: CityConfig, folder: Path) -> list[str]:
    problems = []
    for key, path in (("osm", config.osm_path(folder)), ("dem", config.dem_path(folder))):
        if not path.is_file():
            problems.append(f"{key}: file {path.name} not found in {folder}; put it there or fix the name")
    try:
        crs = CRS.from_user_input(config.crs)
        units = {axis.unit_name for axis in crs.axis_info}
        if not crs.is_projected or not units <= {"metre", "meter"}:
            problems.append(
                f"crs: {config.crs} is not a metric projected CRS (units: {', '.join(sorted(units))}); "
                "use the city's UTM zone, e.g. EPSG:32631 for 0-6 deg E north of the equator"
            )
    except CRSError as exc:
        problems.append(f"crs: {config.crs!r} is not a CRS pyproj knows ({exc}); use e.g. EPSG:32631")
    return problems


def load_city_config(folder: Path) -> CityConfig:
    """Read and validate ``folder/city.yaml``; every problem is reported at once.

    Raises
    ------
    MapError
        Naming the file and listing each problem with its key path and the fix.
    """
    path = folder / CONFIG_NAME
    if not folder.is_dir():
        raise MapError(f"{folder}: map folder not found; give a folder such as maps/andorra")
    if not path.is_file():
        raise MapError(f"{path}: missing; every map folder needs a city.yaml (see maps/andorra/city.yaml)")
    # The one YAML reader: size, alias and depth limits, duplicate keys and bad tags are errors with the line.
    doc = read_yaml(path, MapError, "map config", "'name: ...', 'osm: ...', 'dem: ...', 'crs: ...'")
    problems = [text for _file, _line, text in doc.problems]
    try:
        config = CityConfig.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(_problems(exc, doc, path))
        raise MapError(f"{path}: invalid", problems) from None
    if problems:
        raise MapError(f"{path}: invalid", problems)
    problems = _file_problems(config, folder)
    if problems:
        raise MapError(f"{path}: invalid", problems)
    return config
