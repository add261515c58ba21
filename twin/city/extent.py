"""Where a map is on the Earth: its extent, the UTM zone of its data, and how far a point lies off it.

These checks let ``city.yaml`` validation say *where* a mistake puts things (a centre with longitude and
latitude swapped lands thousands of kilometres off the map; a CRS meant for another part of the world
distorts distances), before a build would fail with a placement error that never says why.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from twin.city.osm import open_osm

#: Mean Earth radius (m), IUGG: the haversine distance below uses it.
EARTH_RADIUS_M = 6_371_008.8
#: Nodes read to bound an extract that declares no <bounds> (about 0.2 s of parsing).
SAMPLE_NODES = 20_000


@dataclass(frozen=True)
class Extent:
    """A lon/lat box (WGS84 degrees) and where it comes from (for messages)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    source: str

    @property
    def centre(self) -> tuple[float, float]:
        """(lon, lat) of the box's centre."""
        return (self.min_lon + self.max_lon) / 2, (self.min_lat + self.max_lat) / 2

    def contains(self, lon: float, lat: float) -> bool:
        """Whether (lon, lat) is inside the box."""
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat

    def distance_km(self, lon: float, lat: float) -> float:
        """Great-circle distance (km) from a point to the nearest point of the box (0 inside)."""
        near_lon = min(max(lon, self.min_lon), self.max_lon)
        near_lat = min(max(lat, self.min_lat), self.max_lat)
        return haversine_m(lon, lat, near_lon, near_lat) / 1000.0

    def describe(self) -> str:
        """The box in words, e.g. ``lon 1.47..1.59, lat 42.45..42.55 (OSM extract)``."""
        return f"lon {self.min_lon:.4g}..{self.max_lon:.4g}, lat {self.min_lat:.4g}..{self.max_lat:.4g} ({self.source})"


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (m) on a sphere of radius :data:`EARTH_RADIUS_M`.

    ``d = 2 R asin(sqrt(sin^2(dphi/2) + cos(phi1) cos(phi2) sin^2(dlambda/2)))`` (Sinnott 1984,
    "Virtues of the haversine", Sky and Telescope 68(2):159). Within 0.5 % of the ellipsoidal distance.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def osm_extent(path: Path, sample_nodes: int = SAMPLE_NODES) -> Extent | None:
    """The lon/lat box of an OSM XML extract, read cheaply (city.yaml is checked on every run).

    The ``<bounds>`` the file declares before its first node when there is one; else the box of its first
    ``sample_nodes`` nodes (files are sorted by id, not by place, so these spread over the extract); None
    when the file cannot be read.
    """
    lons: list[float] = []
    lats: list[float] = []
    try:
        with open_osm(path) as stream:
            for _event, element in ET.iterparse(stream, events=("end",)):
                if element.tag == "bounds":
                    a = element.attrib
                    return Extent(
                        float(a["minlon"]), float(a["minlat"]), float(a["maxlon"]), float(a["maxlat"]), "OSM extract"
                    )
                if element.tag == "node":
                    lon, lat = float(element.attrib["lon"]), float(element.attrib["lat"])
                    element.clear()
                    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                        continue  # off the globe: the build's reader names such nodes; they bound nothing
                    lons.append(lon)
                    lats.append(lat)
                    if len(lons) >= sample_nodes:
                        break
                elif element.tag in ("way", "relation"):
                    break
    except (ET.ParseError, OSError, EOFError, ValueError, KeyError):
        return None
    if not lons:
        return None
    return Extent(min(lons), min(lats), max(lons), max(lats), "OSM extract")


def union(a: Extent | None, b: Extent | None) -> Extent | None:
    """The box holding both (either may be missing)."""
    if a is None or b is None:
        return a or b
    return Extent(
        min(a.min_lon, b.min_lon),
        min(a.min_lat, b.min_lat),
        max(a.max_lon, b.max_lon),
        max(a.max_lat, b.max_lat),
        f"{a.source} and {b.source}",
    )


def dem_extent(path: Path) -> Extent | None:
    """The DEM's footprint in lon/lat, or None when the file is not a readable, georeferenced raster."""
    import rasterio
    from rasterio.warp import transform_bounds

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                return None
            west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    except (rasterio.errors.RasterioIOError, ValueError):
        return None
    return Extent(west, south, east, north, "DEM")


def dem_declared_nodata(path: Path) -> tuple[bool, float | None]:
    """(readable, nodata): the nodata value the GeoTIFF declares for band 1 (None when it declares none)."""
    import rasterio

    try:
        with rasterio.open(path) as src:
            return True, (None if src.nodata is None else float(src.nodata))
    except rasterio.errors.RasterioIOError:
        return False, None


def utm_epsg(lon: float, lat: float) -> tuple[int, str]:
    """EPSG code and name of the WGS 84 UTM zone holding a point.

    Asks the PROJ database (``pyproj.database.query_utm_crs_info``), so the zone exceptions of Norway and
    Svalbard are honoured; falls back to ``zone = floor((lon + 180) / 6) + 1``, EPSG 326zz north and
    327zz south (Snyder 1987, "Map Projections: A Working Manual", USGS PP 1395, p. 57).
    """
    infos = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat), contains=False)
    exact = [i for i in infos if i.code.isdigit() and i.name.startswith("WGS 84 / UTM zone")]
    if exact:
        return int(exact[0].code), exact[0].name.removeprefix("WGS 84 / ")
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    north = lat >= 0
    return (32600 if north else 32700) + zone, f"UTM zone {zone}{'N' if north else 'S'}"


def crs_distance_km(crs: CRS, lon: float, lat: float) -> float | None:
    """How far (km) a point lies outside the CRS's declared area of use; None when it declares none."""
    area = crs.area_of_use
    if area is None:
        return None
    box = Extent(area.west, area.south, area.east, area.north, "area of use")
    if area.west > area.east:  # an area across the antimeridian: inside when on either side
        return 0.0 if (lon >= area.west or lon <= area.east) and area.south <= lat <= area.north else None
    return box.distance_km(lon, lat)
