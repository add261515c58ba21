"""Where the lifelines are on a map: the rows drawn, the power and water zones as polygons, their residents.

Shared by the run's layers (:mod:`twin.lifelines.outputs`) and the maps (:mod:`twin.report.maps.lifelines`,
:mod:`twin.report.maps.service`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from twin.city.build import City
from twin.geoframe import geo_frame


def lifeline_rows(city: City) -> np.ndarray:
    """Facility rows that are lifeline components.

    Every row outside the ``facility`` group (power, water, telecom, traffic), and the facilities the
    lifelines depend on or serve through (the rows of the dependencies table: hospitals).

    Parameters
    ----------
    city
        The city.

    Returns
    -------
    numpy.ndarray
        Sorted int64 facility rows.
    """
    chosen = city.facilities["group"].to_numpy(str) != "facility"
    chosen[city.lifelines.dependencies["comp"].to_numpy(np.int64)] = True
    return np.flatnonzero(chosen).astype(np.int64)


def terrain_box(city: City) -> shapely.Polygon:
    """The terrain grid's bounds as a rectangle (the extent the zone polygons cover)."""
    t = city.terrain.transform
    rows, cols = city.terrain.elevation_m.shape
    xs, ys = (t.c, t.c + t.a * cols), (t.f, t.f + t.e * rows)
    return shapely.box(min(xs), min(ys), max(xs), max(ys))


def zone_polygons(city: City) -> dict[str, gpd.GeoDataFrame]:
    """Polygons of the power zones and of the water zones, clipped to the terrain grid.

    Parameters
    ----------
    city
        The city.

    Returns
    -------
    dict
        ``"power"`` and ``"water"``: a GeoDataFrame (city CRS) with columns ``zone`` and ``geometry``, one row per
        zone in zone order (``len(power_sources)`` and ``len(water_pump)`` rows); a zone none of whose road nodes
        lies in the extent gets an empty polygon. No power zones on a map without substations.

    Notes
    -----
    The Voronoi cells of the distinct node positions (nodes sharing a position take the first node's zone),
    unioned per zone with ``shapely.coverage_union_all`` (the cells are a coverage: no overlaps, shared edges),
    then clipped to the grid's rectangle.
    """
    net = city.lifelines
    box = terrain_box(city)
    counts = {"power": len(net.power_sources), "water": len(net.water_pump)}
    node_zone = {"power": net.node_power_zone, "water": net.node_water_zone}
    xy = city.drive.nodes[["x", "y"]].to_numpy(np.float64)
    cells = np.empty(0, dtype=object)
    first = np.zeros(0, dtype=np.int64)
    if len(xy):
        positions, first = np.unique(xy, axis=0, return_index=True)
        cells = _voronoi_cells(positions, box)
    out: dict[str, gpd.GeoDataFrame] = {}
    for service, n_zones in counts.items():
        zone_of_cell = node_zone[service][first] if len(first) else np.zeros(0, dtype=np.int64)
        order = np.argsort(zone_of_cell, kind="stable")
        bounds = np.searchsorted(zone_of_cell[order], np.arange(n_zones + 1))
        shapes = []
        for zone in range(n_zones):
            members = cells[order[bounds[zone] : bounds[zone + 1]]]
            merged = shapely.coverage_union_all(members) if len(members) else shapely.Polygon()
            shapes.append(_polygonal(shapely.intersection(merged, box)))
        zones = {"zone": np.arange(n_zones, dtype=np.int64)}
        out[service] = geo_frame(zones, np.array(shapes, dtype=object), city.crs)
    return out


def _voronoi_cells(positions: np.ndarray, box: shapely.Polygon) -> np.ndarray:
    """The Voronoi cell of each of the distinct ``positions``, in their order, covering at least ``box``."""
    if len(positions) == 1:
        return np.array([box], dtype=object)
    points = shapely.multipoints(positions)
    try:
        return shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box, ordered=True))
    except TypeError:  # shapely < 2.1 has no ``ordered``: match each cell to the point inside it
        cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=box))
        sites = np.asarray(shapely.points(positions), dtype=object)
        cell, point = shapely.STRtree(sites).query(cells, predicate="contains")
        ordered = np.empty(len(positions), dtype=object)
        ordered[point] = cells[cell]
        return ordered


def zone_residents(city: City) -> dict[str, np.ndarray]:
    """Residents per power zone and per water zone (int64, in zone order; homes without a zone are left out)."""
    net = city.lifelines
    node = city.homes["drive_node"].to_numpy(np.int64)
    people = city.homes["population"].to_numpy(np.float64)
    out = {}
    for service, node_zone, n_zones in (
        ("power", net.node_power_zone, len(net.power_sources)),
        ("water", net.node_water_zone, len(net.water_pump)),
    ):
        zone = node_zone[node] if n_zones else np.full(len(node), -1)
        has = zone >= 0
        out[service] = np.rint(np.bincount(zone[has], weights=people[has], minlength=n_zones)).astype(np.int64)
    return out


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a clipped zone (a clip can leave slivers of lines or points in a collection)."""
    if shapely.get_type_id(geometry) in (3, 6):
        return geometry
    parts = shapely.get_parts(geometry)
    polygons = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polygons) if len(polygons) else shapely.Polygon()
