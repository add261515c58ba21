"""``city.yaml``: what a map folder says about its city, validated.

Every value the build cannot read from OSM or the DEM (population totals, designated shelters, hospital beds,
the metric CRS) comes from this file, and every assumption it makes is listed in the compiled City. The
reference of every key is ``docs/city-yaml.md``; ``twin schema --city`` prints the JSON Schema.

Validation reports every problem at once, in the user's words, each with an example of the right form: the
schema (missing keys, wrong types, out-of-range values), the files, the CRS (metric, and meant for the part of
the world the data is in), and every lon/lat point against the map's extent (a swapped centre is named as such,
with its distance off the map in km).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pyproj import CRS
from pyproj.exceptions import CRSError

from twin.city.extent import Extent, crs_distance_km, dem_declared_nodata, dem_extent, osm_extent, union, utm_epsg
from twin.errors import MapError
from twin.inputs import YamlDoc, display_path, read_yaml

CONFIG_NAME = "city.yaml"
#: A point of city.yaml further than this off the map's extent is an error (a typo or swapped lon/lat).
OFF_MAP_KM = 5.0
#: A CRS whose area of use is further than this from the data is refused: 100 km beyond a UTM zone's edge the
#: scale error reaches about 0.2 % (k = 0.9996 (1 + x^2 / 2R^2), Snyder 1987 eq. 8-6) and keeps growing.
CRS_FAR_KM = 100.0

LonLat = tuple[Annotated[float, Field(ge=-180, le=180)], Annotated[float, Field(ge=-90, le=90)]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PopulationArea(_Strict):
    """A town or district with its resident total; buildings belong to the nearest area centre."""

    name: str = Field(description="name of the town or district, for messages and reports")
    population: int = Field(
        ge=0, le=100_000_000, description="residents (people) of the area"
    )  # the largest cities hold about 40 million
    centre: LonLat = Field(description="[longitude, latitude] in WGS84 degrees, longitude first")


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

    method: Literal["buildings", "roads"] = Field(
        default="buildings",
        description="buildings: by residential floor area (footprint x levels); roads: by street length "
        "(maps without buildings)",
    )
    areas: list[PopulationArea] = Field(
        min_length=1, description="towns or districts with their residents; each building joins the nearest centre"
    )
    default_levels: int = Field(
        default=3, ge=1, le=100, description="storeys of a residential building without building:levels"
    )
    source: str = Field(default="", description="where the totals come from (census, year), quoted in assumptions")
    demographics: DemographicsSpec = Field(
        default_factory=DemographicsSpec, description="household size, ages, cars (the residents phase)"
    )

    @model_validator(mode="after")
    def _someone_lives_there(self) -> PopulationSpec:
        # Every service level is a share of residents: with none, each is 0 / 0.
        if not sum(area.population for area in self.areas) > 0:
            raise ValueError("the areas' populations add up to 0; give each area its resident total")
        return self


class Shelter(_Strict):
    """A designated shelter: an OSM element (way or node id) or a point, with its capacity in people."""

    name: str = Field(description="the shelter's name")
    capacity: int = Field(gt=0, description="places (people)")
    osm_id: int | None = Field(
        default=None, description="OSM way or node id of the building (twin map init lists them)"
    )
    at: LonLat | None = Field(default=None, description="[longitude, latitude] when the shelter is not in OSM")

    @model_validator(mode="after")
    def _one_location(self) -> Shelter:
        if (self.osm_id is None) == (self.at is None):
            raise ValueError("give exactly one of osm_id (way or node id) or at: [lon, lat]")
        return self


class ExtraFacility(_Strict):
    """A facility the OSM extract lacks (roads-only maps), placed from another source; labelled assumed."""

    kind: Literal["hospital", "clinic", "fire_station", "police", "school", "sports_hall"] = Field(
        description="what it is"
    )
    name: str = Field(description="its name")
    at: LonLat = Field(description="[longitude, latitude] in WGS84 degrees")
    beds: int | None = Field(default=None, gt=0, description="beds (hospitals and clinics)")
    source: str = Field(min_length=1, description="where the location (and beds) come from")


class HospitalBeds(_Strict):
    """Beds of a hospital that OSM does not tag (``beds``), by OSM id."""

    osm_id: int = Field(description="OSM id of the hospital or clinic (way, node or relation)")
    beds: int = Field(gt=0, description="beds")
    name: str = Field(default="", description="its name, for readers of the file")


class RoadSpec(_Strict):
    """Overrides of the per-class road defaults (km/h and veh/h per lane) and the jam spacing."""

    speed_kmh: dict[str, float] = Field(
        default_factory=dict, description="free speed (km/h) per OSM highway class where maxspeed is not tagged"
    )
    capacity_veh_h_lane: dict[str, float] = Field(
        default_factory=dict, description="capacity (vehicles per hour per lane) per OSM highway class"
    )
    jam_spacing_m: float = Field(
        default=7.5, gt=2, le=30, description="road length (m) a queued vehicle takes: storage = length x lanes / this"
    )


class HydrologySpec(_Strict):
    """How the working grid's hydrology is built (see :mod:`twin.hydrology.conditioning`)."""

    burn_depth_m: float = Field(
        default=10.0, ge=0, le=100, description="depth (m) OSM rivers and streams are burned into the DEM"
    )
    channel_min_area_km2: float = Field(
        default=1.0, gt=0, description="upstream area (km2) from which a cell counts as a channel (HAND's drainage)"
    )
    sea_level_m: float | None = Field(
        default=0.0, description="every cell at or below this elevation (m) is sea, where water leaves; null: no sea"
    )


class WaterSpec(_Strict):
    """How water pressure zones, pumps and tanks are laid out where OSM does not map them."""

    zone_band_m: float = Field(default=100.0, gt=0, le=2000, description="height (m) of a gravity pressure zone")
    tank_hours: float = Field(default=12.0, gt=0, le=240, description="hours of demand a full tank holds")
    refill_per_hour: float = Field(
        default=0.5, gt=0, le=10, description="hours of zone demand a working pump adds to its tank per hour"
    )
    # A synthesised pump stands at the lowest home of its band that is at least this high above the nearest
    # drainage (HAND): below 5 m is the flood-prone class of Renno et al. (2008) and Nobre et al. (2011).
    site_min_hand_m: float = Field(
        default=5.0, ge=0, le=200, description="least height (m) above the nearest drainage of a synthesised pump"
    )


class TelecomSpec(_Strict):
    """Cell sites: coverage radius, battery backup, and the grid they are laid on where OSM maps no masts."""

    radius_m: float = Field(default=2000.0, gt=0, le=50_000, description="coverage radius (m) of a cell site")
    battery_hours: float = Field(default=4.0, ge=0, le=240, description="hours a site runs on battery without power")
    grid_spacing_m: float = Field(
        default=1500.0, gt=100, le=50_000, description="spacing (m) of the synthesised sites where OSM maps no mast"
    )


class LifelinesSpec(_Strict):
    """Assumptions of the lifeline networks (see :mod:`twin.lifelines.networks`)."""

    water: WaterSpec = Field(default_factory=WaterSpec, description="water pressure zones, pumps and tanks")
    telecom: TelecomSpec = Field(default_factory=TelecomSpec, description="cell sites")
    hospital_generator_hours: float = Field(
        default=48.0, ge=0, le=2000, description="hours a hospital runs on its generator without grid power"
    )
    # Hours a hospital runs on its own water storage once its zone's mains are dry: an assumed day of storage
    # (the CDC/AWWA Emergency Water Supply Planning Guide for Hospitals asks hospitals to plan for 96 h).
    hospital_water_hours: float = Field(
        default=24.0, ge=0, le=2000, description="hours a hospital runs on its own water once its zone is dry"
    )
    signal_capacity_factor: float = Field(
        default=0.5, gt=0, le=1, description="share of capacity left at a junction whose signals are dark"
    )


class CityConfig(_Strict):
    """The validated content of ``city.yaml``."""

    name: str = Field(description="the city's name, in reports")
    osm: str = Field(description="the OSM XML extract (.osm, .osm.bz2, .osm.gz), relative to the map folder")
    dem: str = Field(description="the DEM (GeoTIFF with a CRS), relative to the map folder")
    crs: str = Field(description="metric CRS of the working grid, e.g. EPSG:32631 (the city's UTM zone)")
    dem_nodata: float | None = Field(
        default=None,
        description="DEM value that marks missing cells; default: the value the GeoTIFF declares; null: none",
    )
    min_dem_coverage: float = Field(
        default=0.95, gt=0, le=1, description="least share of road nodes on valid DEM cells, else the build stops"
    )
    working_resolution_m: float = Field(
        default=30.0,
        gt=1,
        le=100,
        description="cell size (m) of the working grid, at most: a coarser DEM is resampled to it, a finer DEM "
        "keeps its own cells",
    )
    bridge_deck_height_m: float = Field(
        default=5.0, gt=0, description="height (m) of a bridge deck above the ground, for flood depths on bridges"
    )
    # Water (m) at a hospital, clinic, fire or police station or shelter that puts it out of service: the
    # ground-floor services stop once water is inside (Hazus flood, essential facilities); 0.3 m is an assumed
    # ground-floor sill (twin.hazards.exposure.CRITICAL_FACILITY_KINDS).
    facility_flood_depth_m: float = Field(
        default=0.3, gt=0, le=10, description="water (m) that puts a hospital, station or shelter out of service"
    )
    # Height of the buildings' ground floor above the street: water below it is not inside (no damage counted,
    # nobody exposed). 0.3 m is an assumption, Hazus' default first-floor height for slab-on-grade (1 ft).
    first_floor_height_m: float = Field(
        default=0.3, ge=0, le=10, description="height (m) of ground floors above the street (water below is outside)"
    )
    population: PopulationSpec = Field(description="where residents live")
    shelters: list[Shelter] = Field(default_factory=list, description="designated shelters and their capacities")
    hospital_beds: list[HospitalBeds] = Field(default_factory=list, description="beds of hospitals OSM does not tag")
    extra_facilities: list[ExtraFacility] = Field(
        default_factory=list, description="facilities the extract lacks, placed from another source"
    )
    roads: RoadSpec = Field(default_factory=RoadSpec, description="road speeds, capacities and jam spacing")
    hydrology: HydrologySpec = Field(default_factory=HydrologySpec, description="how the flood grid is conditioned")
    lifelines: LifelinesSpec = Field(default_factory=LifelinesSpec, description="power, water, telecom assumptions")
    assumptions: list[str] = Field(default_factory=list, description="your own assumptions, copied to every run")
    attribution: str = Field(default="", description="data credits (OSM's ODbL notice, the DEM's licence)")
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Andorra")

    def osm_path(self, folder: Path) -> Path:
        """The OSM extract's path, resolved against the map folder."""
        return (folder / self.osm).resolve()

    def dem_path(self, folder: Path) -> Path:
        """The DEM's path, resolved against the map folder."""
        return (folder / self.dem).resolve()


def city_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``city.yaml``, for editors (``twin schema --city``)."""
    schema = CityConfig.model_json_schema(ref_template="#/$defs/{model}")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "twin city.yaml"
    return schema


# --- messages in the user's words ----------------------------------------------------------------------

_AREA = "{name: Old Town, population: 12000, centre: [1.5218, 42.5063]}"
#: The right form of each key, shown next to an error (the key path without list indices).
EXAMPLES: dict[str, str] = {
    "name": "name: Andorra la Vella",
    "osm": "osm: andorra.osm.bz2",
    "dem": "dem: andorra_srtm.tif",
    "crs": "crs: EPSG:32631",
    "dem_nodata": "dem_nodata: -32768   (or null when no value marks missing cells)",
    "min_dem_coverage": "min_dem_coverage: 0.95",
    "working_resolution_m": "working_resolution_m: 30",
    "bridge_deck_height_m": "bridge_deck_height_m: 5",
    "population": f"population: {{method: buildings, areas: [{_AREA}]}}",
    "population.method": "method: buildings   (or roads)",
    "population.areas": f"areas: [{_AREA}]",
    "population.areas.name": "name: Old Town",
    "population.areas.population": "population: 12000",
    "population.areas.centre": "centre: [1.5218, 42.5063]   (longitude first, then latitude)",
    "population.default_levels": "default_levels: 3",
    "shelters": "shelters: [{name: Sports hall, osm_id: 334464445, capacity: 800}]",
    "shelters.osm_id": "osm_id: 334464445   (twin map init lists candidates with their ids)",
    "shelters.at": "at: [1.5218, 42.5063]",
    "shelters.capacity": "capacity: 800",
    "hospital_beds": "hospital_beds: [{osm_id: 194554955, beds: 200, name: Hospital}]",
    "extra_facilities": "extra_facilities: [{kind: hospital, name: General, at: [1.52, 42.50], beds: 300, "
    "source: hospital's website}]",
    "extra_facilities.at": "at: [1.5218, 42.5063]",
    "extra_facilities.kind": "kind: hospital   (clinic, fire_station, police, school, sports_hall)",
    "hydrology.sea_level_m": "sea_level_m: 0   (null for an inland city)",
    "timezone": "timezone: Europe/Andorra",
}
_MODELS = (
    "CityConfig",
    "PopulationSpec",
    "PopulationArea",
    "Shelter",
    "ExtraFacility",
    "HospitalBeds",
    "RoadSpec",
    "HydrologySpec",
    "WaterSpec",
    "TelecomSpec",
    "LifelinesSpec",
)
_TYPE_WORDS = {
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "list_type": "a list",
    "tuple_type": "a pair [longitude, latitude]",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
}


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _example(loc: tuple[int | str, ...]) -> str:
    """The right form for a key path, trying the path and then its parents."""
    parts = [str(p) for p in loc if not isinstance(p, int)]
    while parts:
        if ".".join(parts) in EXAMPLES:
            return f"; e.g. {EXAMPLES['.'.join(parts)]}"
        parts.pop()
    return ""


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


def _shown(value: object) -> str:
    """A value as the user wrote it in YAML (not Python's repr)."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing" if value is None else type(value).__name__


def _problem(item: Any) -> tuple[tuple[int | str, ...], str]:
    """One pydantic error as (key path, message with an example), never naming an internal class."""
    loc = tuple(item["loc"])
    where, example, kind = _location(loc), _example(loc), item["type"]
    if kind == "extra_forbidden":
        return loc, f"{where}: unknown key{_unknown_key_hint(CityConfig, loc)}"
    if kind == "missing":
        return loc, f"{where}: required key is missing{example}"
    given = item.get("input")
    if kind in _TYPE_WORDS:
        return loc, f"{where}: expected {_TYPE_WORDS[kind]}, got {_shown(given)} ({_kind_of(given)}){example}"
    if kind in ("too_short", "too_long") and isinstance(given, list | tuple):
        return loc, f"{where}: {item['msg']}, got {_shown(given)}{example}"
    message = item["msg"].removeprefix("Value error, ")
    for model in _MODELS:
        message = message.replace(f"instance of {model}", "mapping")
    return loc, f"{where}: {message}, got {_shown(given)}{example}"


def _points(raw: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Every lon/lat point of a raw city.yaml: (key path, label, value as given)."""
    points = []
    population = raw.get("population")
    areas = population.get("areas") if isinstance(population, dict) else None
    for key, items, field in (("population.areas", areas, "centre"), ("shelters", raw.get("shelters"), "at")):
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and field in item:
                points.append((f"{key}[{i}].{field}", str(item.get("name", "")), item[field]))
    for i, item in enumerate(
        raw.get("extra_facilities") or [] if isinstance(raw.get("extra_facilities"), list) else []
    ):
        if isinstance(item, dict) and "at" in item:
            points.append((f"extra_facilities[{i}].at", str(item.get("name", "")), item["at"]))
    return points


def _as_pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        return float(value[0]), float(value[1])
    return None


def _point_problems(raw: dict[str, Any], extent: Extent) -> dict[str, str]:
    """Points off the map, by key path; a point whose swap lies on the map is named as swapped."""
    problems = {}
    for key, label, value in _points(raw):
        pair = _as_pair(value)
        if pair is None:
            continue
        lon, lat = pair
        off = extent.distance_km(lon, lat) if -90 <= lat <= 90 else float("inf")
        if off <= OFF_MAP_KM:
            continue
        name = f" ({label})" if label else ""
        where = f"{off:,.0f} km off the map" if off != float("inf") else "not a place on Earth (latitude beyond 90)"
        if extent.contains(lat, lon):
            problems[key] = (
                f"{key}{name}: [{lon:g}, {lat:g}] is {where}, and swapped it lies on the map: longitude comes "
                f"first; e.g. [{lat:g}, {lon:g}]"
            )
        else:
            problems[key] = (
                f"{key}{name}: [{lon:g}, {lat:g}] is {where}, which covers {extent.describe()}; give "
                f"[longitude, latitude] of a point on the map; e.g. [{extent.centre[0]:.4f}, {extent.centre[1]:.4f}]"
            )
    return problems


def _crs_problems(value: Any, extent: Extent | None) -> list[str]:
    """The CRS must be metric and meant for the part of the world the map is in."""
    if not isinstance(value, str):
        return []
    try:
        crs = CRS.from_user_input(str(value))  # pyproj wants an exact str, not a str subclass
    except CRSError:
        return [f"crs: {value!r} is not a CRS twin knows{_utm_suggestion(extent)}"]
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        return [
            f"crs: {value} is not a metric projected CRS (units: {', '.join(sorted(units))}){_utm_suggestion(extent)}"
        ]
    if extent is None:
        return []
    far = crs_distance_km(crs, *extent.centre)
    if far is not None and far > CRS_FAR_KM:
        return [
            f"crs: {value} ({crs.name}) is meant for a place {far:,.0f} km from the map's data "
            f"({extent.describe()}): distances would be distorted{_utm_suggestion(extent)}"
        ]
    return []


def _utm_suggestion(extent: Extent | None) -> str:
    """What to use instead of a wrong CRS: the UTM zone of the map's data when its extent is known.

    Asked only when a CRS is wrong: the PROJ database query behind it costs a fifth of a second, which every
    run would otherwise pay for a suggestion it never shows.
    """
    if extent is None:
        return "; use the city's UTM zone, e.g. EPSG:32631 for 0-6 deg E, north"
    code, zone_name = utm_epsg(*extent.centre)
    return f"; use EPSG:{code} ({zone_name}), the UTM zone the map's data is in"


def _file_problems(raw: dict[str, Any], folder: Path) -> list[str]:
    problems = []
    for key in ("osm", "dem"):
        value = raw.get(key)
        if isinstance(value, str) and not (folder / value).is_file():
            problems.append(f"{key}: file {value} not found in {folder}; put it there or fix the name")
    return problems


def _resolve_nodata(raw: dict[str, Any], folder: Path) -> list[str]:
    """Fill ``dem_nodata`` from the GeoTIFF when city.yaml omits it; a DEM that declares none needs it said."""
    dem = raw.get("dem")
    if "dem_nodata" in raw or not isinstance(dem, str) or not (folder / dem).is_file():
        return []
    readable, nodata = dem_declared_nodata(folder / dem)
    if not readable:
        return [f"dem: {dem} is not a readable raster; give a GeoTIFF DEM"]
    if nodata is None:
        return [
            f"dem_nodata: required, because {dem} declares no nodata value and twin cannot tell missing cells "
            f"from real ones; e.g. {EXAMPLES['dem_nodata']}"
        ]
    raw["dem_nodata"] = nodata
    return []


def map_extent(raw: dict[str, Any], folder: Path) -> Extent | None:
    """The map's extent: the OSM extract's box (see :func:`twin.city.extent.osm_extent`) and the DEM's footprint."""
    osm, dem = raw.get("osm"), raw.get("dem")
    osm_box = dem_box = None
    if isinstance(osm, str) and (folder / osm).is_file() and not osm.endswith(".pbf"):
        osm_box = osm_extent(folder / osm)
    if isinstance(dem, str) and (folder / dem).is_file():
        dem_box = dem_extent(folder / dem)
    return union(osm_box, dem_box)


def _read_raw(path: Path, folder: Path) -> tuple[dict[str, Any], YamlDoc]:
    """The city.yaml's mapping and the reader's document (lines of keys, refused values, its problems)."""
    if not folder.is_dir():
        raise MapError(f"{folder}: map folder not found; give a folder such as maps/andorra")
    if not path.is_file():
        raise MapError(
            f"{path}: missing; every map folder needs a city.yaml: write one with `twin map init` or copy "
            "maps/andorra/city.yaml (reference: docs/city-yaml.md)"
        )
    # The one YAML reader: size, alias and depth limits, duplicate keys and bad tags are errors with the line.
    doc = read_yaml(path, MapError, "map config", "'name: ...', 'osm: ...', 'dem: ...', 'crs: ...'")
    if not isinstance(doc.data, dict):
        raise MapError(f"{path}: must be a mapping of keys (name, osm, dem, crs, ...), got {_kind_of(doc.data)}")
    return doc.data, doc


def load_city_config(folder: Path) -> CityConfig:
    """Read and validate ``folder/city.yaml``; every problem is reported at once.

    Raises
    ------
    MapError
        Naming the file and listing each problem with its key path, what is wrong and the right form.
    """
    path = folder / CONFIG_NAME
    raw, doc = _read_raw(path, folder)
    problems = [text for _file, _line_no, text in doc.problems]
    problems += _file_problems(raw, folder) + _resolve_nodata(raw, folder)
    extent = map_extent(raw, folder)
    points = _point_problems(raw, extent) if extent is not None else {}
    problems += _crs_problems(raw.get("crs"), extent)
    config = None
    try:
        config = CityConfig.model_validate(raw)
    except ValidationError as exc:
        for item in exc.errors():
            loc, message = _problem(item)
            if any(loc[:n] in doc.refused for n in range(len(loc) + 1)):
                continue  # the reader refused the value (a whole number past 64 bits) and said so with its line
            # a point already reported as off the map is not reported again for its range
            if not any(_location(loc).startswith(key) for key in points):
                problems.append(f"{_line(doc, loc, path)} {message}")
    problems += list(points.values())
    if problems or config is None:
        raise MapError(f"{path}: invalid", problems)
    return config
