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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.atomic import write_geopackage_atomic
from twin.city.build import City
from twin.geoframe import geo_frame
from twin.lifelines.zones import lifeline_rows, zone_polygons, zone_residents
from twin.report.maps.service import ZoneService, draw_service_loss
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


def components_frame(city: City, comp_up: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The ``components`` layer: every lifeline component with its flags, zones, state and geometry.

    Parameters
    ----------
    city
        The city.
    comp_up
        Working state per facility row (``SimState.comp_up``); adds the ``up`` column when given.

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
    return geo_frame(table, facilities["geometry"].to_numpy(object)[rows], city.crs, wkb=True)


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
    )
    return geo_frame(table, shapes.geometry.to_numpy(), city.crs, columns=POWER_ZONE_COLUMNS)


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
    )
    return geo_frame(table, shapes.geometry.to_numpy(), city.crs, columns=WATER_ZONE_COLUMNS)


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
    write_geopackage_atomic(
        path,
        [
            (
                name,
                frame,
                {}
                if geometry_type is None
                else {"geometry_type": geometry_type, "promote_to_multi": geometry_type == "MultiPolygon"},
            )
            for name, frame, geometry_type in layers
        ],
    )


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
    up: np.ndarray,
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
    up
        Per component (row of ``City.facilities``): working at the end of the run (``SimState.comp_up``).
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
    write_lifelines_gpkg(folder / LIFELINES_GPKG, city, up, shapes=shapes)
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
