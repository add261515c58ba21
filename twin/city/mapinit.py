"""``twin map init``: a map folder and a city.yaml that builds as it is, from any OSM extract and DEM.

What map init reads, and from where:

* the extract's roads, buildings, rivers with their names, places with a ``population`` tag, hospitals,
  fire stations, substations and shelter candidates (:mod:`twin.city.extract`);
* the UTM zone of the roads' centre (:func:`twin.city.extent.utm_epsg`), the DEM's nodata value, cell size and
  coverage of the roads;
* the residents from ``--population`` (one area at the roads' centre), ``--population-csv`` (name, population,
  lon, lat per area), or else the ``population`` tag of the smallest boundary (or place area) of the extract that
  encloses the roads' centre, weighted by the share of it inside the map (:func:`area_from_boundaries`), or else
  the ``population`` tags of the extract's place nodes of the highest rank;
* the time zone of the roads' centre, from the timezone-boundary-builder polygons (OSM's own boundaries)
  shipped by ``timezonefinder`` (:func:`detect_timezone`).

Every value it has to assume is marked ``# ASSUMED`` in the city.yaml it writes. A shelter's capacity is its
floor area over 3.5 m2 a person, the Sphere Handbook's minimum covered living space (Sphere Association 2018,
"The Sphere Handbook", Shelter and settlement standard 3); a civil-protection plan's figures replace it.
"""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.city.config import CONFIG_NAME
from twin.city.extent import utm_epsg
from twin.city.extract import (
    SHELTER_KINDS,
    BBox,
    Boundary,
    Element,
    Place,
    Scan,
    scan_boundaries,
    scan_extract,
    write_extract,
)
from twin.errors import MapError

#: Covered floor area per sheltered person (m2), Sphere Handbook 2018, Shelter and settlement standard 3.
SPHERE_M2_PER_PERSON = 3.5
#: Shelters written as active entries (the largest); the rest are listed as comments.
ACTIVE_SHELTERS = 12
#: Candidates smaller than this (people) are listed but not proposed.
MIN_SHELTER_PLACES = 50
#: Margin (degrees) kept around the roads when the DEM is cut to the map: 2 SRTM3 cells.
DEM_MARGIN_DEG = 0.0025
#: Buildings per road way from which an extract's buildings are taken as mapped (Andorra has 1.05, Monaco 0.5;
#: an extract with fewer has its buildings mapped in part, and residents go by street length instead).
BUILDINGS_PER_ROAD_WAY = 0.25
#: Least share of the roads on valid DEM cells for map init to go on (below it the DEM is of another place).
MIN_COVERAGE = 0.5
OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")


@dataclass(frozen=True)
class Area:
    """A population area for city.yaml."""

    name: str
    population: int
    lon: float
    lat: float


@dataclass(frozen=True)
class Residents:
    """The population areas for city.yaml and where they come from (``ASSUMED: ...`` when not given)."""

    areas: list[Area]
    source: str


@dataclass(frozen=True)
class DemFacts:
    """What the DEM declares: nodata, cell size (m), and the share of the roads' box it covers."""

    nodata: float | None
    resolution_m: float
    covers: float


@dataclass(frozen=True)
class InitResult:
    """What map init wrote and found, for the command's summary."""

    config_path: Path
    osm_file: str
    dem_file: str
    crs: str
    areas: list[Area]
    shelters: int
    assumed: list[str]


def parse_bbox(text: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat`` in degrees.

    Raises
    ------
    MapError
        When it is not four numbers in that order.
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise MapError(
            f"--clip: {text!r} is not four numbers; give min_lon,min_lat,max_lon,max_lat, e.g. 1.47,42.45,1.59,42.55"
        )
    min_lon, min_lat, max_lon, max_lat = values
    problems = []
    if not (-180 <= min_lon < max_lon <= 180):
        problems.append(f"longitudes {min_lon:g} and {max_lon:g} must rise west to east, within -180..180")
    if not (-90 <= min_lat < max_lat <= 90):
        problems.append(f"latitudes {min_lat:g} and {max_lat:g} must rise south to north, within -90..90")
    if problems:
        raise MapError("--clip: give min_lon,min_lat,max_lon,max_lat, e.g. 1.47,42.45,1.59,42.55", problems)
    return min_lon, min_lat, max_lon, max_lat


def read_population_csv(path: Path) -> list[Area]:
    """Areas from a CSV with the columns ``name, population, lon, lat`` (one row per town or district).

    Raises
    ------
    MapError
        Naming every bad row at once.
    """
    if not path.is_file():
        raise MapError(f"--population-csv: {path} not found")
    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    needed = {"name", "population", "lon", "lat"}
    if not rows or not needed <= set(rows[0]):
        raise MapError(
            f"{path}: needs the columns name, population, lon, lat, e.g. 'Old Town,12000,1.5218,42.5063' under "
            "that header"
        )
    areas, problems = [], []
    for i, row in enumerate(rows, start=2):
        try:
            area = Area(row["name"], int(row["population"]), float(row["lon"]), float(row["lat"]))
        except (TypeError, ValueError):
            problems.append(f"line {i}: population must be a whole number and lon, lat numbers, got {row}")
            continue
        if area.population < 0 or not (-180 <= area.lon <= 180 and -90 <= area.lat <= 90):
            problems.append(f"line {i}: a negative population or a point off the Earth, got {row}")
        areas.append(area)
    if problems:
        raise MapError(f"{path}: invalid", problems)
    return areas


def areas_from_places(places: list[Place]) -> list[Area]:
    """The extract's places of the highest rank that carries a population (lower ranks would count twice)."""
    from twin.city.extract import PLACE_RANKS

    for rank in PLACE_RANKS:
        chosen = [p for p in places if p.rank == rank]
        if chosen:
            chosen.sort(key=lambda p: (-p.population, p.name))
            return [Area(p.name or f"{rank} {i + 1}", p.population, p.lon, p.lat) for i, p in enumerate(chosen)]
    return []


def area_from_boundaries(boundaries: list[Boundary], box: BBox) -> Residents | None:
    """Residents from the smallest tagged boundary that encloses the centre of the map's box, or None.

    A boundary's ``population`` counts all of it, and the map may cover only part of it, so the residents
    are weighted by area (areal weighting at uniform density, Goodchild & Lam 1980, "Areal interpolation: a
    variant of the traditional spatial problem", Geo-Processing 1, 297-312):

        P_map = P_boundary x A(boundary n box) / A(boundary)

    with areas on the WGS84 ellipsoid (pyproj.Geod). The area gets the box's centre.
    """
    import shapely
    from pyproj import Geod

    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    point = shapely.Point(centre)
    enclosing = [b for b in boundaries if b.polygon.covers(point)]
    if not enclosing:
        return None
    geod = Geod(ellps="WGS84")

    def area_m2(geometry: object) -> float:
        return abs(geod.geometry_area_perimeter(geometry)[0])

    chosen = min(enclosing, key=lambda b: (area_m2(b.polygon), b.osm_id))
    whole = area_m2(chosen.polygon)
    share = min(1.0, area_m2(chosen.polygon.intersection(shapely.box(*box))) / whole) if whole > 0 else 1.0
    people = round(chosen.population * share)
    name = chosen.label.split(" (")[0]
    source = (
        f"ASSUMED: OSM population tag of {chosen.label}, OSM {chosen.osm_type} {chosen.osm_id}: "
        f"{chosen.population:,} over {whole / 1e6:,.1f} km2; the map covers {share:.0%} of it, so {people:,} at "
        "uniform density (areal weighting): replace with census figures"
    )
    return Residents([Area(name, people, round(centre[0], 5), round(centre[1], 5))], source)


def detect_timezone(lon: float, lat: float) -> str | None:
    """The IANA time zone at (lon, lat), or None at sea or when the lookup is not installed.

    ``timezonefinder`` answers offline from the timezone-boundary-builder polygons (built from OSM's
    boundaries); open sea gets an ``Etc/GMT...`` zone, which is no city's and is treated as not found.
    """
    try:
        from timezonefinder import TimezoneFinder
    except ImportError:
        return None
    zone = TimezoneFinder().timezone_at(lng=lon, lat=lat)
    return None if zone is None or zone.startswith("Etc/") else zone


def dem_facts(path: Path, lon: np.ndarray, lat: np.ndarray) -> DemFacts:
    """Nodata, cell size, and the share of the road sample (lon/lat) on valid DEM cells."""
    import rasterio

    from twin.city.terrain import _metres_per_unit, raw_coverage

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise MapError(f"{path}: the DEM has no CRS; write one into it (gdal_edit.py -a_srs EPSG:4326)")
            nodata, resolution = src.nodata, _metres_per_unit(src)
            raw = src.read(1).astype(np.float64)
            if nodata is not None:
                raw[raw == nodata] = np.nan
            covers = float(raw_coverage(raw, src, lon, lat).mean()) if len(lon) else 0.0
    except rasterio.errors.RasterioIOError as exc:
        raise MapError(f"{path}: not a readable raster ({exc}); give a GeoTIFF DEM") from exc
    return DemFacts(None if nodata is None else float(nodata), resolution, covers)


def cut_dem(source: Path, target: Path, box: BBox) -> None:
    """Write the DEM's cells over ``box`` (lon/lat, plus a margin) as a compressed GeoTIFF, values untouched."""
    import rasterio
    from rasterio.warp import transform_bounds
    from rasterio.windows import from_bounds

    with rasterio.open(source) as src:
        margin = (box[0] - DEM_MARGIN_DEG, box[1] - DEM_MARGIN_DEG, box[2] + DEM_MARGIN_DEG, box[3] + DEM_MARGIN_DEG)
        bounds = transform_bounds("EPSG:4326", src.crs, *margin)
        window = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
        window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        data = src.read(1, window=window)
        profile = src.profile.copy()
        profile.update(
            driver="GTiff",
            width=window.width,
            height=window.height,
            count=1,
            transform=src.window_transform(window),
            compress="deflate",
        )
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        profile.pop("tiled", None)
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(data, 1)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(OSM_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _check_inputs(folder: Path, osm: Path, dem: Path, force: bool) -> None:
    problems = []
    if not osm.is_file():
        problems.append(f"--osm: {osm} not found")
    elif not osm.name.endswith(OSM_SUFFIXES):
        problems.append(f"--osm: {osm.name} is not an OSM extract; give an .osm, .osm.bz2 or .osm.pbf file")
    if not dem.is_file():
        problems.append(f"--dem: {dem} not found")
    if (folder / CONFIG_NAME).exists() and not force:
        problems.append(f"{folder / CONFIG_NAME} exists; give another folder, or --force to replace it")
    if problems:
        raise MapError("twin map init: cannot start", problems)


def init_map(
    folder: Path,
    osm: Path,
    dem: Path,
    population: int | None = None,
    population_csv: Path | None = None,
    name: str | None = None,
    clip: BBox | None = None,
    force: bool = False,
) -> InitResult:
    """Write ``folder`` with the extract (OSM XML), the DEM cut to it and a commented city.yaml.

    Raises
    ------
    MapError
        Every problem at once: missing inputs, a DEM that does not cover the roads, no residents given or tagged.
    """
    _check_inputs(folder, osm, dem, force)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _init(folder, osm, dem, population, population_csv, name, clip)
    except BaseException:
        if created:  # leave nothing half-written behind
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _init(
    folder: Path,
    osm: Path,
    dem: Path,
    population: int | None,
    population_csv: Path | None,
    name: str | None,
    clip: BBox | None,
) -> InitResult:
    plain_xml = osm.name.endswith((".osm", ".osm.bz2", ".osm.gz"))
    osm_name = osm.name if plain_xml and clip is None else f"{_stem(osm)}.osm.bz2"
    if plain_xml and clip is None:
        if osm.resolve() != (folder / osm_name).resolve():
            shutil.copyfile(osm, folder / osm_name)
    else:
        write_extract(osm, folder / osm_name, clip)
    scan = scan_extract(folder / osm_name)
    if scan.road_bounds is None:
        raise MapError(f"{osm}: the extract has no roads (highway ways){' inside --clip' if clip else ''}")
    box = scan.road_bounds
    facts = dem_facts(dem, np.frombuffer(scan.road_lon, dtype=float), np.frombuffer(scan.road_lat, dtype=float))
    problems = []
    if facts.covers < MIN_COVERAGE:
        problems.append(
            f"--dem: {dem.name} covers {facts.covers:.0%} of the roads ({_box_text(box)}); give the DEM of "
            "the same area (SRTM, Copernicus GLO-30 or a national model)"
        )
    residents = _residents(scan, folder / osm_name, box, population, population_csv, name, folder.name)
    if not residents.areas:
        problems.append(
            "residents: no boundary or place of the extract that covers the map carries a population tag; give "
            "--population N (residents of the map), or --population-csv areas.csv (name, population, lon, lat "
            "per district), or an extract that holds the town's boundary relation with its population tag"
        )
    if problems:
        raise MapError("twin map init: cannot write a city.yaml that builds", problems)
    dem_name = f"{Path(dem.name).stem}.tif"
    if dem.resolve() != (folder / dem_name).resolve():
        cut_dem(dem, folder / dem_name, box)
    code, zone = utm_epsg((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    areas = residents.areas
    text, assumed, shelters = render_city_yaml(
        scan,
        residents,
        facts,
        Naming(name or _city_name(scan, areas, folder), osm_name, dem_name),
        f"EPSG:{code}",
        zone,
        detect_timezone((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
    )
    (folder / CONFIG_NAME).write_text(text, encoding="utf-8")
    return InitResult(folder / CONFIG_NAME, osm_name, dem_name, f"EPSG:{code}", areas, shelters, assumed)


def _box_text(box: BBox) -> str:
    return f"lon {box[0]:.4f}..{box[2]:.4f}, lat {box[1]:.4f}..{box[3]:.4f}"


def _residents(
    scan: Scan,
    osm: Path,
    box: BBox,
    population: int | None,
    csv_path: Path | None,
    name: str | None,
    fallback: str,
) -> Residents:
    """The population areas: given, else the smallest enclosing boundary, else the place nodes."""
    given = "given to twin map init"
    if csv_path is not None:
        return Residents(read_population_csv(csv_path), given)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    if population is not None:
        label = name or _main_place(scan, centre) or fallback
        return Residents([Area(label, population, round(centre[0], 5), round(centre[1], 5))], given)
    from_boundary = area_from_boundaries(scan_boundaries(osm), box)
    if from_boundary is not None:
        return from_boundary
    return Residents(
        areas_from_places(scan.places),
        "ASSUMED: OSM population tags of the places; a tag counts the whole place, which may reach beyond the "
        "extract: check it",
    )


def _main_place(scan: Scan, centre: tuple[float, float]) -> str:
    named = [p for p in scan.places if p.name]
    if not named:
        return ""
    return min(named, key=lambda p: (p.lon - centre[0]) ** 2 + (p.lat - centre[1]) ** 2).name


def _city_name(scan: Scan, areas: list[Area], folder: Path) -> str:
    return areas[0].name if len(areas) == 1 else folder.name


def shelter_capacity(element: Element, scan: Scan) -> tuple[float, str]:
    """(floor area m2, how it was found) of a shelter candidate; NaN when unknown.

    A building's floor area is its footprint x ``building:levels`` (1 level when untagged); grounds mapped
    without a building tag (a school campus) take the floor areas of the buildings whose centre lies inside.
    """
    if element.osm_type != "way" or not math.isfinite(element.footprint_m2) or element.footprint_m2 <= 0:
        return math.nan, "floor area unknown (a point or a relation)"
    if element.building:
        levels = element.levels or 1.0
        note = f"{levels:g} levels" if element.levels else "1 level assumed"
        return element.footprint_m2 * levels, note
    return _campus_floor(element, scan)


def _campus_floor(element: Element, scan: Scan) -> tuple[float, str]:
    """Floor area of the buildings whose centre lies on a campus (grounds mapped without a building tag)."""
    import shapely

    if element.ring is None:
        return math.nan, "grounds without an outline"
    lon = np.frombuffer(scan.building_lon, dtype=float)
    lat = np.frombuffer(scan.building_lat, dtype=float)
    floor = np.frombuffer(scan.building_floor_m2, dtype=float)
    grounds = shapely.Polygon(np.column_stack(element.ring))
    inside = shapely.contains_xy(grounds, lon, lat) if grounds.is_valid else np.zeros(len(lon), dtype=bool)
    total = float(floor[inside].sum())
    if total <= 0:
        return math.nan, "grounds without mapped buildings"
    return total, f"{int(inside.sum())} buildings on its grounds"


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Naming:
    """The city's name and the file names city.yaml points at."""

    name: str
    osm: str
    dem: str


def render_city_yaml(
    scan: Scan,
    residents: Residents,
    facts: DemFacts,
    naming: Naming,
    crs: str,
    zone: str,
    timezone: str | None,
) -> tuple[str, list[str], int]:
    """The commented city.yaml; returns (text, the assumed values, number of active shelters)."""
    assumed: list[str] = []
    name = naming.name
    lines = [
        f"# {name}: written by `twin map init`. Every value marked ASSUMED is a guess to replace with local data;",
        "# reference of every key: docs/city-yaml.md. Check with `twin map check`, then `twin map build`.",
        f"name: {_yaml_text(name)}",
        f"osm: {naming.osm}",
        f"dem: {naming.dem}",
        f"crs: {crs}            # {zone}, the zone of the roads' centre",
    ]
    if timezone is None:
        lines.append("timezone: UTC             # ASSUMED: no time zone found here; set the city's IANA zone")
        assumed.append("timezone")
    else:
        lines.append(f"timezone: {timezone}   # the zone of the roads' centre (timezonefinder)")
    if facts.nodata is None:
        lines.append(
            "dem_nodata: null          # ASSUMED: the DEM declares no nodata value, so every cell is taken as valid"
        )
        assumed.append("dem_nodata")
    else:
        lines.append(f"# dem_nodata: {facts.nodata:g} is the DEM's own nodata value, read from the GeoTIFF")
    if facts.covers >= 0.97:
        lines.append("min_dem_coverage: 0.95")
    else:
        floor = max(0.05, math.floor((facts.covers - 0.05) * 100) / 100)
        lines.append(
            f"min_dem_coverage: {floor:.2f}   # ASSUMED: the DEM covers {facts.covers:.0%} of the roads; the rest "
            "take the nearest valid elevation"
        )
        assumed.append("min_dem_coverage")
    working = 30 if facts.resolution_m >= 30 else max(2, math.ceil(facts.resolution_m))
    lines.append(
        f"working_resolution_m: {working}   # the DEM's cells are about {facts.resolution_m:.0f} m"
        + ("; resampled to 30 m, screening-level" if facts.resolution_m > 45 else "")
    )
    lines += ["", *_population_lines(scan, residents, assumed)]
    shelter_lines, active = _shelter_lines(scan)
    if active:
        assumed.append("shelters")
    lines += ["", *shelter_lines, "", *_hospital_lines(scan, assumed), "", *_inventory_lines(scan)]
    lines += [
        "",
        "hydrology:",
        "  sea_level_m: 0           # ASSUMED: cells at or below 0 m are sea; null for an inland city whose DEM "
        "reads 0 outside the data",
        "",
        'attribution: "OSM data (c) OpenStreetMap contributors, ODbL 1.0; elevation: ASSUMED, name the DEM and its '
        'licence"',
        "",
    ]
    assumed += ["hydrology.sea_level_m", "attribution"]
    return "\n".join(lines), assumed, active


def _population_lines(scan: Scan, residents: Residents, assumed: list[str]) -> list[str]:
    lines = ["population:"]
    if scan.buildings >= BUILDINGS_PER_ROAD_WAY * scan.highway_ways:
        lines.append(f"  method: buildings        # {scan.buildings} buildings in the extract: residents by floor area")
        lines.append("  default_levels: 3        # ASSUMED: storeys of a home without building:levels")
        assumed.append("population.default_levels")
    else:
        lines.append(
            f"  method: roads            # only {scan.buildings} buildings for {scan.highway_ways} road ways: "
            "residents by street length"
        )
    lines.append(f"  source: {_yaml_text(residents.source)}")
    if residents.source.startswith("ASSUMED"):
        assumed.append("population.areas")
    lines.append("  areas:")
    for area in residents.areas:
        lines.append(
            f"    - {{name: {_yaml_text(area.name)}, population: {area.population}, "
            f"centre: [{area.lon:.5f}, {area.lat:.5f}]}}"
        )
    return lines


def _shelter_lines(scan: Scan) -> tuple[list[str], int]:
    rows = []
    for element in scan.elements:
        if element.kind not in SHELTER_KINDS:
            continue
        floor, how = shelter_capacity(element, scan)
        places = int(floor / SPHERE_M2_PER_PERSON // 10 * 10) if math.isfinite(floor) else 0
        rows.append((places, element, floor, how))
    rows.sort(key=lambda r: (-r[0], r[1].osm_type, r[1].osm_id))
    lines = [
        "# Shelter candidates from OSM (schools, sports halls and centres, community centres), largest first.",
        f"# Capacity ASSUMED = floor area / {SPHERE_M2_PER_PERSON} m2 a person (Sphere Handbook 2018); replace with",
        "# the civil-protection plan's designated shelters and places.",
    ]
    active = [r for r in rows if r[0] >= MIN_SHELTER_PLACES and _locatable(r[1])][:ACTIVE_SHELTERS]
    lines.append("shelters:" if active else "shelters: []")
    for places, element, floor, how in active:
        label = element.name or f"{element.kind} {element.osm_id}"
        lines.append(
            f"  - {{name: {_yaml_text(label)}, osm_id: {element.osm_id}, capacity: {places}}}"
            f"   # {element.kind}, {floor:,.0f} m2 floor ({how})"
        )
    rest = [r for r in rows if r not in active]
    for _places, element, floor, how in rest:
        label = element.name or f"{element.kind} {element.osm_id}"
        where = f"at: [{element.lon:.5f}, {element.lat:.5f}]" if math.isfinite(element.lon) else "at: [lon, lat]"
        size = f"{floor:,.0f} m2 floor" if math.isfinite(floor) else how
        lines.append(
            f"  # - {{name: {_yaml_text(label)}, {where}, capacity: ?}}   # {element.kind} {element.osm_type} "
            f"{element.osm_id}, {size}"
        )
    return lines, len(active)


def _locatable(element: Element) -> bool:
    """Whether the build can place the element by its OSM id (a building, or a school or sports facility)."""
    return element.osm_type == "way" and (element.building or element.kind != "community_centre")


def _hospital_lines(scan: Scan, assumed: list[str]) -> list[str]:
    hospitals = [e for e in scan.elements if e.kind == "hospital"]
    lines = [f"# Hospitals in the extract: {len(hospitals)}. Beds come from OSM's beds tag, else from here."]
    missing = [h for h in hospitals if not h.beds]
    tagged = "   # every hospital is tagged with beds" if hospitals else ""
    lines.append("hospital_beds: []" + ("" if missing else tagged))
    for h in missing:
        label = _yaml_text(h.name or "unnamed")
        lines.append(f"  # - {{osm_id: {h.osm_id}, beds: ?, name: {label}}}   # {h.osm_type}, no beds tag")
    if not hospitals:
        lines.append(
            "# The extract has no hospital: add them under extra_facilities (kind: hospital, at, beds, source)."
        )
    return lines


def _inventory_lines(scan: Scan) -> list[str]:
    fire = sum(e.kind == "fire_station" for e in scan.elements)
    substations = sum(e.kind == "substation" for e in scan.elements)
    rivers = sorted(scan.rivers.items(), key=lambda kv: (-kv[1][1], kv[0]))
    named = ", ".join(f"{n} ({k})" for n, (k, _c) in rivers[:12]) or "none named"
    return [
        f"# Read from OSM by the build: {scan.highway_ways} road ways, {scan.buildings} buildings, {fire} fire "
        f"stations, {substations} substations.",
        f"# Rivers and streams by name (use them in scenarios' flood `rivers:`): {named}.",
    ]
