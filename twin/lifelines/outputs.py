"""A run's lifeline layers and service-loss map, at the top of the run folder (DESIGN.md, "Results").

======================  ===========================================================================================
``lifelines.gpkg``      layers ``components`` (every lifeline component: facility row, kind, OSM id, ``assumed``
                        and the rule that placed it, its power and water zone, ``up`` at the end of the run),
                        ``power_zones`` and ``water_zones`` (one polygon per zone with its substation, pump and
                        tank and its residents) and ``dependencies`` (a table without geometry: who needs what,
                        with backup hours); every layer is written even when empty
``service_loss.png``    the power and water zones at the run's worst moment, coloured by whether they were served
======================  ===========================================================================================

**Zone polygons.** The zones are network Voronoi cells over the drivable roads (:mod:`twin.lifelines.networks`):
each road node belongs to a zone. A zone's polygon is the union of the planar Voronoi cells of its nodes
(``shapely.voronoi_polygons`` over the node points, clipped to the terrain grid's bounds): the ground nearest each
of its nodes. The polygons of one service partition the grid's extent when every node has a zone; nodes without one
(no substation reachable by road) leave their cells out.

Every file is written atomically (:mod:`twin.atomic`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from twin.atomic import atomic_path
from twin.city.build import City
from twin.lifelines.model import Lifelines
from twin.report.mapplot import ZoneService, draw_service_loss
from twin.units import clock_at, format_duration

LIFELINES_GPKG = "lifelines.gpkg"
SERVICE_LOSS_PNG = "service_loss.png"
COMPONENTS = "components"
POWER_ZONES = "power_zones"
WATER_ZONES = "water_zones"
DEPENDENCIES = "dependencies"
#: The services drawn on the service-loss map and whose Q columns choose its moment.
ZONE_SERVICES = ("power", "water")

#: Columns of the ``components`` layer (before ``up`` and the geometry) and their dtypes.
COMPONENT_COLUMNS: dict[str, str] = {
    "comp": "int64",  # row of City.facilities: the component id of events, zones.parquet and dependencies
    "kind": "str",
    "group": "str",
    "name": "str",
    "osm_type": "str",  # "synthetic" for a synthesised component
    "osm_id": "int64",
    "assumed": "bool",
    "source": "str",
    "power_zone": "int64",  # -1: no power zone (no substation on the map, or none reachable by road)
    "water_zone": "int64",
    "feeds_zones": "str",  # power zones whose only supply path runs through this line or tower ("" for none)
}
#: Columns of the ``power_zones`` layer (before the geometry) and their dtypes.
POWER_ZONE_COLUMNS: dict[str, str] = {
    "zone": "int64",
    "source": "int64",  # facility row of the substation (or transformer) that defines the zone
    "source_kind": "str",
    "source_name": "str",
    "source_osm_id": "int64",
    "source_assumed": "bool",
    "residents": "int64",
}
#: Columns of the ``water_zones`` layer (before the geometry) and their dtypes (-1 / "" where a zone lacks one).
WATER_ZONE_COLUMNS: dict[str, str] = {
    "zone": "int64",
    "band_low_m": "float64",
    "pump": "int64",
    "pump_name": "str",
    "pump_assumed": "bool",
    "tank": "int64",
    "tank_name": "str",
    "tank_assumed": "bool",
    "residents": "int64",
}
#: Columns of the ``dependencies`` table.
DEPENDENCY_COLUMNS: dict[str, str] = {
    "comp": "int64",
    "kind": "str",
    "name": "str",
    "needs": "str",
    "backup_hours": "float64",
}


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
        geometry = gpd.GeoSeries(np.array(shapes, dtype=object), crs=city.crs)
        out[service] = gpd.GeoDataFrame({"zone": np.arange(n_zones, dtype=np.int64)}, geometry=geometry, crs=city.crs)
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


def components_frame(city: City, comp_up: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The ``components`` layer: every lifeline component with its flags, zones, state and geometry.

    Parameters
    ----------
    city
        The city.
    comp_up
        Working state per facility row (``Lifelines.comp_up``); adds the ``up`` column when given.

    Raises
    ------
    ValueError
        If ``comp_up`` does not have one entry per facility row.
    """
    facilities = city.facilities
    net = city.lifelines
    rows = lifeline_rows(city)
    node = facilities["drive_node"].to_numpy(np.int64)[rows]
    power_zone = net.node_power_zone[node] if len(net.power_sources) else np.full(len(rows), -1)
    table = pd.DataFrame(
        {
            "comp": rows,
            **{
                column: facilities[column].to_numpy()[rows]
                for column in ("kind", "group", "name", "osm_type", "osm_id", "assumed", "source")
            },
            "power_zone": power_zone.astype(np.int64),
            "water_zone": net.node_water_zone[node].astype(np.int64),
            "feeds_zones": [",".join(str(z) for z in net.feeds_zone[net.feeds_comp == r]) for r in rows.tolist()],
        }
    ).astype(COMPONENT_COLUMNS)
    if comp_up is not None:
        up = np.asarray(comp_up, dtype=bool)
        if up.shape != (len(facilities),):
            raise ValueError(f"comp_up has shape {up.shape}, expected one entry per facility row ({len(facilities)})")
        table["up"] = up[rows]
    return _frame(table, facilities["geometry"].to_numpy(object)[rows], city.crs)


def power_zones_frame(city: City, shapes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The ``power_zones`` layer: one (multi)polygon per substation's zone with the substation and its residents."""
    facilities = city.facilities
    sources = city.lifelines.power_sources.astype(np.int64)
    shapes = zone_polygons(city)["power"] if shapes is None else shapes
    table = pd.DataFrame(
        {
            "zone": np.arange(len(sources), dtype=np.int64),
            "source": sources,
            "source_kind": facilities["kind"].to_numpy(str)[sources],
            "source_name": facilities["name"].to_numpy(str)[sources],
            "source_osm_id": facilities["osm_id"].to_numpy(np.int64)[sources],
            "source_assumed": facilities["assumed"].to_numpy(bool)[sources],
            "residents": zone_residents(city)["power"],
        }
    ).astype(POWER_ZONE_COLUMNS)
    return gpd.GeoDataFrame(table, geometry=shapes.geometry.to_numpy(), crs=city.crs)


def water_zones_frame(city: City, shapes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The ``water_zones`` layer: one (multi)polygon per pressure zone with its band, pump, tank and residents."""
    net = city.lifelines
    shapes = zone_polygons(city)["water"] if shapes is None else shapes
    table = pd.DataFrame(
        {
            "zone": np.arange(len(net.water_pump), dtype=np.int64),
            "band_low_m": net.water_band_low_m.astype(np.float64),
            **_component_columns(city, "pump", net.water_pump),
            **_component_columns(city, "tank", net.water_tank),
            "residents": zone_residents(city)["water"],
        }
    ).astype(WATER_ZONE_COLUMNS)
    return gpd.GeoDataFrame(table, geometry=shapes.geometry.to_numpy(), crs=city.crs)


def dependencies_frame(city: City) -> pd.DataFrame:
    """The ``dependencies`` table with each component's kind and name (no geometry)."""
    deps = city.lifelines.dependencies
    comp = deps["comp"].to_numpy(np.int64)
    facilities = city.facilities
    return pd.DataFrame(
        {
            "comp": comp,
            "kind": facilities["kind"].to_numpy(str)[comp],
            "name": facilities["name"].to_numpy(str)[comp],
            "needs": deps["needs"].to_numpy(str),
            "backup_hours": deps["backup_hours"].to_numpy(np.float64),
        }
    ).astype(DEPENDENCY_COLUMNS)


def write_lifelines_gpkg(
    path: Path, city: City, comp_up: np.ndarray | None = None, *, shapes: dict[str, gpd.GeoDataFrame] | None = None
) -> None:
    """Write ``lifelines.gpkg``: layers ``components``, ``power_zones``, ``water_zones`` and ``dependencies``.

    Parameters
    ----------
    path
        The GeoPackage to write (atomically; every layer in one file, replaced as a whole).
    city
        The city (CRS of every spatial layer).
    comp_up
        Working state per facility row; adds the ``up`` column to ``components`` when given.
    shapes
        The zone polygons (:func:`zone_polygons`), when the caller has them already.
    """
    shapes = zone_polygons(city) if shapes is None else shapes
    layers: list[tuple[str, pd.DataFrame, str | None]] = [
        (COMPONENTS, components_frame(city, comp_up), "Unknown"),  # points, lines and areas in one layer
        (POWER_ZONES, power_zones_frame(city, shapes["power"]), "MultiPolygon"),
        (WATER_ZONES, water_zones_frame(city, shapes["water"]), "MultiPolygon"),
        (DEPENDENCIES, dependencies_frame(city), None),
    ]
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The temporary file's name ends in .tmp (twin.atomic); GDAL warns that a GeoPackage should end in .gpkg.
        warnings.filterwarnings("ignore", message="The filename extension should be 'gpkg'", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
        tmp.unlink()  # the GeoPackage driver creates its own file; it cannot open an empty one
        for name, frame, geometry_type in layers:
            options = (
                {}
                if geometry_type is None
                else {"geometry_type": geometry_type, "promote_to_multi": geometry_type == "MultiPolygon"}
            )
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", **options)


def worst_moment(timeseries: pd.DataFrame) -> int | None:
    """Row of the time series with the lowest mean of the ``Q_power`` and ``Q_water`` present (first of ties).

    Columns missing or without any value are left out of the mean; None when neither has a value (or the table
    is empty).
    """
    columns = [f"Q_{s}" for s in ZONE_SERVICES if f"Q_{s}" in timeseries and timeseries[f"Q_{s}"].notna().any()]
    if not columns or timeseries.empty:
        return None
    values = timeseries[columns].to_numpy(np.float64)
    finite = np.isfinite(values)
    count = finite.sum(axis=1)
    mean = np.where(count > 0, np.where(finite, values, 0.0).sum(axis=1) / np.maximum(count, 1), np.inf)
    return int(np.argmin(mean))


def zones_at(zones_table: pd.DataFrame | None, t_s: float, service: str, n_zones: int) -> np.ndarray | None:
    """Per zone of ``service``: its service level q at the last zone record at or before ``t_s``; None without one."""
    if zones_table is None or zones_table.empty or not n_zones:
        return None
    rows = zones_table[(zones_table["service"] == service) & (zones_table["t_s"] <= t_s + 1e-9)]
    if rows.empty:
        return None
    rows = rows[rows["t_s"] == rows["t_s"].max()]
    q = np.ones(n_zones)
    zone = rows["zone"].to_numpy(np.int64)
    keep = (zone >= 0) & (zone < n_zones)
    q[zone[keep]] = rows["q"].to_numpy(np.float64)[keep]
    return q


def write_lifeline_outputs(
    folder: Path,
    city: City,
    model_component: Lifelines,
    zones_table: pd.DataFrame | None,
    timeseries: pd.DataFrame,
    title: str,
    start: dt.datetime | None = None,
) -> list[str]:
    """Write a run's ``lifelines.gpkg`` (with ``up`` at the end of the run) and ``service_loss.png``.

    The map shows the record time with the lowest mean of ``Q_power`` and ``Q_water`` (those the map has): each
    power zone filled by whether it had power then, each water zone hatched where it had no water. Its title says
    which moment that is (the local clock time with ``start``, and the time since the start), or that power and
    water were served throughout, so a map of nothing lost is never taken for the worst moment.

    Parameters
    ----------
    folder
        The run folder (it must exist).
    city
        The run's city.
    model_component
        The run's :class:`~twin.lifelines.model.Lifelines` component (its ``comp_up`` is the final state).
    zones_table
        The run's per-zone rows (``t_s``, ``zone``, ``service``, ``q``, ``customers``; ``zones.parquet``), or None.
    timeseries
        The run's time series (``t_s`` and the ``Q_`` columns).
    title
        The run's title (the scenario's name); the map's title adds the moment.
    start
        The scenario's start (time-zone aware), for the moment's clock time.

    Returns
    -------
    list of str
        Names of the files written, in order.
    """
    folder = Path(folder)
    shapes = zone_polygons(city)
    write_lifelines_gpkg(folder / LIFELINES_GPKG, city, model_component.comp_up, shapes=shapes)
    row = worst_moment(timeseries)
    t_s = float(timeseries["t_s"].iloc[row]) if row is not None else 0.0
    residents = zone_residents(city)
    services = []
    levels = []
    for service in ZONE_SERVICES:
        geometry = shapes[service].geometry.to_numpy()
        q = zones_at(zones_table, t_s, service, len(geometry))
        if q is None:
            continue
        services.append(ZoneService(service, geometry, q >= 1.0 - 1e-9, residents[service]))
        column = f"Q_{service}"
        if row is not None and column in timeseries and np.isfinite(timeseries[column].iloc[row]):
            levels.append(f"{column} {float(timeseries[column].iloc[row]):.3f}")
    heading, moment = _service_loss_heading(timeseries, row, levels, t_s, start)
    draw_service_loss(city, services, folder / SERVICE_LOSS_PNG, f"{title}: {heading}", moment)
    return [LIFELINES_GPKG, SERVICE_LOSS_PNG]


def _service_loss_heading(
    timeseries: pd.DataFrame, row: int | None, levels: list[str], t_s: float, start: dt.datetime | None
) -> tuple[str, str]:
    """The service-loss map's title (after the scenario's name) and the start of its subtitle (the moment)."""
    if row is None or not levels:
        return "power and water", "no power or water service level recorded"
    columns = [f"Q_{s}" for s in ZONE_SERVICES if f"Q_{s}" in timeseries]
    if bool((timeseries[columns].fillna(1.0) >= 1.0 - 1e-9).all(axis=None)):
        return "power and water served throughout", "no zone lost power or water during the run"
    when = f"{format_duration(t_s)} after the start"
    if start is not None:
        when = f"{clock_at(start, t_s).strftime('%d %b %H:%M')}, {when}"
    return "worst moment for power and water", f"{when}: {', '.join(levels)}"


def _component_columns(city: City, prefix: str, rows: np.ndarray) -> dict[str, np.ndarray]:
    """``<prefix>``, ``<prefix>_name``, ``<prefix>_assumed`` of facility rows (-1: none, name "", not assumed)."""
    facilities = city.facilities
    rows = rows.astype(np.int64)
    has = rows >= 0
    safe = np.maximum(rows, 0)
    return {
        prefix: rows,
        f"{prefix}_name": np.where(has, facilities["name"].to_numpy(str)[safe] if len(facilities) else "", ""),
        f"{prefix}_assumed": has & (facilities["assumed"].to_numpy(bool)[safe] if len(facilities) else False),
    }


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a clipped zone (a clip can leave slivers of lines or points in a collection)."""
    if shapely.get_type_id(geometry) in (3, 6):
        return geometry
    parts = shapely.get_parts(geometry)
    polygons = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polygons) if len(polygons) else shapely.Polygon()


def _frame(table: pd.DataFrame, wkb: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame of ``table`` with geometries from WKB."""
    geometry = shapely.from_wkb(wkb) if len(wkb) else np.empty(0, dtype=object)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
