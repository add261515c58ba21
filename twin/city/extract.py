"""Read a user's OSM extract once, streaming, for ``twin map init``: what the city.yaml needs to say.

The extract is read with pyosmium (libosmium), which streams ``.osm``, ``.osm.bz2`` and ``.osm.pbf`` alike and
keeps only node locations (a compact index) in memory, so a city-sized extract never sits in memory as XML.
It is also how a ``.pbf`` or a ``--clip`` box becomes the OSM XML file the build reads: nodes inside the box,
every way with a node inside it, complete (osmium extract's ``complete_ways`` strategy), and the relations
that hold any of them.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import MapError

#: Keys of the elements map init looks at (everything else is skipped inside libosmium).
KEYS = ("highway", "building", "waterway", "amenity", "leisure", "power", "place", "healthcare")
#: Places whose ``population`` tag can stand for residents, most inclusive first (OSM wiki "Key:place").
PLACE_RANKS = ("city", "town", "village", "suburb", "quarter", "neighbourhood", "hamlet")
#: Shelter candidates: schools, sports halls and centres, community centres (the usual designated shelters).
SHELTER_KINDS = ("school", "sports_hall", "sports_centre", "community_centre")
FACILITY_KINDS = ("hospital", "fire_station", "substation")

BBox = tuple[float, float, float, float]


@dataclass
class Element:
    """A facility or shelter candidate found in the extract (lon/lat in degrees; areas in m2)."""

    kind: str
    osm_type: str
    osm_id: int
    name: str
    lon: float
    lat: float
    building: bool
    footprint_m2: float = float("nan")
    levels: float | None = None
    beds: str = ""
    ring: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class Place:
    """A place node with a ``population`` tag."""

    rank: str
    name: str
    population: int
    lon: float
    lat: float


@dataclass(frozen=True)
class Boundary:
    """An area (a boundary relation, or a place mapped as an area) with a ``population`` tag.

    Attributes
    ----------
    label
        Its name and what it is, for city.yaml, e.g. ``Monaco (boundary=administrative, admin_level 2)``.
    osm_type, osm_id
        The OSM object it was assembled from (``way`` or ``relation``).
    population
        The tag's value.
    polygon
        Its outline in lon/lat degrees (a shapely Polygon or MultiPolygon).
    """

    label: str
    osm_type: str
    osm_id: int
    population: int
    polygon: Any


def parse_population(value: str) -> int | None:
    """An OSM ``population`` value as a whole number ("12 500", "12,500", "12500"), else None."""
    try:
        number = int(float(value.replace(",", "").replace(" ", "")))
    except ValueError:
        return None
    return number if number >= 0 else None


@dataclass
class Scan:
    """What one pass over an extract found.

    Attributes
    ----------
    road_bounds
        (min_lon, min_lat, max_lon, max_lat) of the highway ways' nodes.
    highway_ways, buildings
        Counts.
    road_lon, road_lat
        The middle node of each highway way: a sample of the roads, one point a way (for the DEM's coverage).
    building_xy, building_floor_m2
        Per building way: representative point (lon, lat) and floor area (footprint x levels, 1 level when
        untagged), for the floor area of school campuses mapped as grounds.
    rivers
        Waterway name -> (kind, number of ways), for rivers, streams and canals that carry a name.
    places, elements
        Places with a population, and facilities and shelter candidates.
    """

    road_bounds: BBox | None = None
    highway_ways: int = 0
    buildings: int = 0
    road_lon: array = field(default_factory=lambda: array("d"))
    road_lat: array = field(default_factory=lambda: array("d"))
    building_lon: array = field(default_factory=lambda: array("d"))
    building_lat: array = field(default_factory=lambda: array("d"))
    building_floor_m2: array = field(default_factory=lambda: array("d"))
    rivers: dict[str, tuple[str, int]] = field(default_factory=dict)
    places: list[Place] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)


def classify(tags: dict[str, str]) -> str | None:
    """The map-init kind of an element: a facility or a shelter candidate (OSM wiki tag definitions)."""
    amenity, leisure = tags.get("amenity"), tags.get("leisure")
    if amenity == "hospital" or tags.get("healthcare") == "hospital":
        return "hospital"
    if amenity == "fire_station":
        return "fire_station"
    if tags.get("power") == "substation":
        return "substation"
    if amenity == "school":
        return "school"
    if leisure == "sports_hall" or tags.get("building") == "sports_hall":
        return "sports_hall"
    if leisure == "sports_centre":
        return "sports_centre"
    if amenity == "community_centre":
        return "community_centre"
    return None


def _levels(tags: dict[str, str]) -> float | None:
    try:
        value = float(tags.get("building:levels", "").split(";")[0])
    except ValueError:
        return None
    return value if 0 < value < 200 else None


def polygon_area_m2(lon: np.ndarray, lat: np.ndarray) -> float:
    """Area (m2) of a lon/lat ring, by the shoelace formula on a local equirectangular projection.

    x = R cos(lat0) lon, y = R lat (radians, lat0 the ring's mean latitude); A = |sum(x_i y_{i+1} - x_{i+1} y_i)| / 2.
    Within 0.1 % of the ellipsoidal area for a building or a campus (a few hundred metres across).
    """
    if len(lon) < 3:
        return 0.0
    radius = 6_371_008.8
    lat0 = math.radians(float(np.mean(lat)))
    x = np.radians(lon) * radius * math.cos(lat0)
    y = np.radians(lat) * radius
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2)


def _way_coords(way: Any) -> tuple[np.ndarray, np.ndarray] | None:
    import osmium

    try:
        pairs = [(n.lon, n.lat) for n in way.nodes]
    except osmium.InvalidLocationError:
        return None
    if not pairs:
        return None
    coords = np.array(pairs, dtype=float)
    return coords[:, 0], coords[:, 1]


class _Scanner:
    """Takes each tagged object of the extract in turn and keeps what map init needs."""

    def __init__(self) -> None:
        self.scan = Scan()
        self.bounds = [math.inf, math.inf, -math.inf, -math.inf]

    def take(self, obj: Any) -> None:
        """Keep what one object says (a pyosmium node, way or relation, valid only during the call)."""
        tags = dict(obj.tags)
        if obj.is_node():
            if obj.location.valid():
                self._node(obj.id, tags, obj.location.lon, obj.location.lat)
        elif obj.is_way():
            self._way(obj, tags)
        elif obj.is_relation():
            kind = classify(tags)
            if kind is not None:
                self._element(kind, "relation", obj.id, tags, math.nan, math.nan)

    def _node(self, osm_id: int, tags: dict[str, str], lon: float, lat: float) -> None:
        kind = classify(tags)
        if kind is not None:
            self._element(kind, "node", osm_id, tags, lon, lat)
        if tags.get("place") in PLACE_RANKS and "population" in tags:
            population = parse_population(tags["population"])
            if population is None:
                return
            self.scan.places.append(Place(tags["place"], tags.get("name", ""), population, lon, lat))

    def _way(self, way: Any, tags: dict[str, str]) -> None:
        kind = classify(tags)
        wanted = "highway" in tags or "building" in tags or kind is not None
        coords = _way_coords(way) if wanted or "waterway" in tags else None
        if "waterway" in tags and tags["waterway"] in ("river", "stream", "canal") and "name" in tags:
            old_kind, count = self.scan.rivers.get(tags["name"], (tags["waterway"], 0))
            self.scan.rivers[tags["name"]] = (old_kind, count + 1)
        if coords is None:
            return
        lon, lat = coords
        if "highway" in tags:
            self.scan.highway_ways += 1
            self.scan.road_lon.append(float(lon[len(lon) // 2]))
            self.scan.road_lat.append(float(lat[len(lat) // 2]))
            b = self.bounds
            b[0], b[1] = min(b[0], float(lon.min())), min(b[1], float(lat.min()))
            b[2], b[3] = max(b[2], float(lon.max())), max(b[3], float(lat.max()))
        area = polygon_area_m2(lon, lat) if len(lon) >= 4 and lon[0] == lon[-1] and lat[0] == lat[-1] else 0.0
        if "building" in tags:
            self.scan.buildings += 1
            self.scan.building_lon.append(float(lon.mean()))
            self.scan.building_lat.append(float(lat.mean()))
            self.scan.building_floor_m2.append(area * (_levels(tags) or 1.0))
        if kind is not None:
            element = self._element(kind, "way", way.id, tags, float(lon.mean()), float(lat.mean()))
            element.footprint_m2 = area
            if area > 0 and "building" not in tags:
                element.ring = (lon, lat)  # grounds: the buildings on them give the floor area

    def _element(self, kind: str, osm_type: str, osm_id: int, tags: dict[str, str], lon: float, lat: float) -> Element:
        element = Element(
            kind=kind,
            osm_type=osm_type,
            osm_id=osm_id,
            name=tags.get("name", ""),
            lon=lon,
            lat=lat,
            building="building" in tags,
            levels=_levels(tags),
            beds=tags.get("beds", ""),
        )
        self.scan.elements.append(element)
        return element

    def result(self) -> Scan:
        if self.scan.highway_ways:
            b = self.bounds
            self.scan.road_bounds = (b[0], b[1], b[2], b[3])
        return self.scan


def scan_extract(path: Path) -> Scan:
    """One streaming pass over an extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``).

    Raises
    ------
    MapError
        When the file cannot be read as OSM data.
    """
    import osmium
    from osmium.filter import KeyFilter

    scanner = _Scanner()
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations().with_filter(KeyFilter(*KEYS)):
            scanner.take(obj)
    except RuntimeError as exc:
        raise MapError(f"{path}: not a readable OSM file ({exc}); give an .osm, .osm.bz2 or .osm.pbf extract") from exc
    return scanner.result()


def write_extract(source: Path, target: Path, clip: BBox | None) -> None:
    """Write ``source`` as OSM XML (``target`` ends in ``.osm.bz2``), cut to ``clip`` when given.

    The cut keeps the nodes inside the box, every way with at least one node inside it together with all its
    nodes, and the relations with a kept member (osmium extract's ``complete_ways`` strategy); the file
    declares the box as its ``<bounds>``.
    """
    import osmium

    header = osmium.io.Header()
    if clip is None:
        with osmium.SimpleWriter(str(target), header=header, overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(source)):
                writer.add(obj)
        return
    min_lon, min_lat, max_lon, max_lat = clip
    header.add_box(osmium.osm.Box(osmium.osm.Location(min_lon, min_lat), osmium.osm.Location(max_lon, max_lat)))

    def inside(lon: float, lat: float) -> bool:
        return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat

    tracker = osmium.IdTracker()
    for obj in osmium.FileProcessor(str(source)).with_locations():
        if isinstance(obj, osmium.osm.Node):
            if obj.location.valid() and inside(obj.location.lon, obj.location.lat):
                tracker.add_node(obj.id)
        elif isinstance(obj, osmium.osm.Way):
            coords = _way_coords(obj)
            if coords is not None and any(inside(x, y) for x, y in zip(*coords, strict=True)):
                tracker.add_way(obj.id)
                tracker.add_references(obj)
        elif isinstance(obj, osmium.osm.Relation) and any(
            (m.type == "n" and m.ref in tracker.node_ids()) or (m.type == "w" and m.ref in tracker.way_ids())
            for m in obj.members
        ):
            tracker.add_relation(obj.id)
    with osmium.SimpleWriter(str(target), header=header, overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(source)).with_filter(tracker.id_filter()):
            writer.add(obj)


def _boundary_label(tags: dict[str, str]) -> str:
    name = tags.get("name", "unnamed")
    if "place" in tags:
        return f"{name} (place={tags['place']})"
    level = f", admin_level {tags['admin_level']}" if "admin_level" in tags else ""
    return f"{name} (boundary={tags.get('boundary', '?')}{level})"


def _is_populated_area(tags: dict[str, str]) -> bool:
    is_area = tags.get("boundary") in ("administrative", "census") or "place" in tags
    return is_area and parse_population(tags.get("population", "")) is not None


def scan_boundaries(path: Path) -> list[Boundary]:
    """Administrative (or census) boundaries and place areas of the extract that carry a ``population`` tag.

    Read with the build's streaming reader (:func:`twin.city.osm.read_osm`) and assembled from their member
    ways (:func:`twin.city.features.iter_features`) in lon/lat; a boundary whose member ways were cut away by
    the extract's border cannot be closed and is left out.
    """
    from pyproj import Transformer

    from twin.city.features import Projector, iter_features
    from twin.city.osm import read_osm

    osm = read_osm(path, _is_populated_area, relation_types=("multipolygon", "boundary"))
    same = Transformer.from_crs("EPSG:4326", "EPSG:4326", always_xy=True)
    found = []
    for feature in iter_features(osm, Projector(osm, same), _is_populated_area):
        if feature.osm_type == "node" or feature.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        population = parse_population(feature.tags["population"])
        assert population is not None  # _is_populated_area checked it
        found.append(
            Boundary(_boundary_label(feature.tags), feature.osm_type, feature.osm_id, population, feature.geometry)
        )
    return found
