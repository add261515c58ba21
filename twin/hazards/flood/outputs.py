"""A flood run's maps and layers for planners, at the top of the run folder (DESIGN.md, "Results").

==========================  =======================================================================================
``flood_peak_depth.tif``    peak water depth (m), float32 GeoTIFF on the terrain grid, city CRS, NaN = no DEM
``flood_peak_depth.png``    the same depth over a hillshade, with the roads water closed in red
``closed_links.gpkg``       layer ``closed_links``: every drivable link water ever closed (written even when empty)
``damaged_buildings.gpkg``  layer ``damaged_buildings``: every building with damage > 0 (maps with buildings)
==========================  =======================================================================================

Every file is written atomically (:mod:`twin.atomic`): a temporary file next to the target, renamed over it.
The layers carry OSM ids and street names so that a planner can find each feature on the ground.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

from twin.atomic import atomic_path, write_geopackage_atomic
from twin.city.build import City
from twin.geoframe import geo_frame
from twin.report.maps.flood import draw_flood
from twin.sim.state import SimState

PEAK_DEPTH_TIF = "flood_peak_depth.tif"
PEAK_DEPTH_PNG = "flood_peak_depth.png"
CLOSED_LINKS = "closed_links"
DAMAGED_BUILDINGS = "damaged_buildings"
CLOSED_LINKS_GPKG = f"{CLOSED_LINKS}.gpkg"
DAMAGED_BUILDINGS_GPKG = f"{DAMAGED_BUILDINGS}.gpkg"

#: Columns of the ``closed_links`` layer (before the geometry) and their dtypes, kept when the layer is empty.
CLOSED_LINK_COLUMNS: dict[str, str] = {
    "link": "int64",
    "osm_way": "int64",
    "name": "str",
    "highway": "str",
    "bridge": "bool",
    "tunnel": "bool",
    "peak_depth_m": "float64",
    "closed_at_s": "float64",
    "reopened_at_s": "float64",
    "closed_h": "float64",
    "reopened_h": "float64",
}
#: Columns of the ``damaged_buildings`` layer (before the geometry) and their dtypes.
DAMAGED_BUILDING_COLUMNS: dict[str, str] = {
    "osm_type": "str",
    "osm_id": "int64",
    "use": "str",
    "name": "str",
    "peak_depth_m": "float64",
    "damage_ratio": "float64",
    "residents": "int64",
}


def write_flood_outputs(folder: Path, city: City, state: SimState, title: str) -> list[str]:
    """Write a flood run's raster, map and layers at the top of its run folder.

    Parameters
    ----------
    folder
        The run folder (it must exist).
    city
        The run's city.
    state
        The state at the end of the run (peaks and closure times are kept over the whole run).
    title
        Title of the map (e.g. the scenario's name).

    Returns
    -------
    list of str
        Names of the files written, in order. ``damaged_buildings.gpkg`` is left out on a map without
        buildings (:func:`assesses_buildings` is false), where building damage cannot be assessed.
    """
    folder = Path(folder)
    write_grid_tif(folder / PEAK_DEPTH_TIF, city, state.water_peak_m, "peak water depth (m)", "m", "peak depth")
    closed = closed_links_frame(city, state)
    draw_flood(city, state.water_peak_m, closed["link"].to_numpy(np.int64), folder / PEAK_DEPTH_PNG, title)
    write_layer(folder / CLOSED_LINKS_GPKG, CLOSED_LINKS, closed, "LineString")
    written = [PEAK_DEPTH_TIF, PEAK_DEPTH_PNG, CLOSED_LINKS_GPKG]
    if assesses_buildings(city):
        damaged = damaged_buildings_frame(city, state)
        write_layer(folder / DAMAGED_BUILDINGS_GPKG, DAMAGED_BUILDINGS, damaged, _polygon_type(city))
        written.append(DAMAGED_BUILDINGS_GPKG)
    return written


def assesses_buildings(city: City) -> bool:
    """Whether building damage means anything on this map: it has buildings and places people in them.

    A roads-only map (``population.method: roads``) spreads residents along streets; the few buildings such
    an extract may hold are not its housing, so no building layer is written for it.
    """
    return not city.buildings.empty and city.config.population.method == "buildings"


def write_grid_tif(path: Path, city: City, values: np.ndarray, description: str, units: str, what: str) -> None:
    """A value grid as a deflate-compressed float32 GeoTIFF on the terrain grid, city CRS, NaN outside the DEM.

    Parameters
    ----------
    path
        The GeoTIFF to write (atomically).
    city
        The city (terrain grid, transform and CRS).
    values
        Values on the terrain grid.
    description, units
        The band's description and its ``units`` tag.
    what
        How to name the grid in the error message of a wrong shape.

    Raises
    ------
    ValueError
        If ``values`` is not on the terrain grid.
    """
    grid = np.asarray(values, dtype=np.float32).copy()
    elevation = city.terrain.elevation_m
    if grid.shape != elevation.shape:
        raise ValueError(f"{what} grid {grid.shape} is not the terrain grid {elevation.shape}")
    grid[~np.isfinite(elevation)] = np.nan
    profile = {
        "driver": "GTiff",
        "width": grid.shape[1],
        "height": grid.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": city.crs,
        "transform": city.terrain.transform,
        "nodata": np.nan,
        "compress": "deflate",
        "predictor": 3,  # floating-point predictor: smooth grids compress far better
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(grid, 1)
        dst.set_band_description(1, description)
        dst.update_tags(1, units=units)


def closed_links_frame(city: City, state: SimState) -> gpd.GeoDataFrame:
    """The drivable links water ever closed, with their OSM way, name, class, depth and times.

    ``reopened_at_s`` is NaN for a link still closed by water at the end (even if it reopened and closed
    again during the run); the ``_h`` columns repeat the times in hours.

    Parameters
    ----------
    city, state
        The run's city and its final state.
    """
    links = city.drive.links
    ids = np.flatnonzero(np.isfinite(state.link_flood_closed_s))
    closed_s = state.link_flood_closed_s[ids].astype(np.float64)
    still_closed = state.link_closed_flood[ids].astype(bool)
    reopened_s = np.where(still_closed, np.nan, state.link_flood_reopened_s[ids]).astype(np.float64)
    table = pd.DataFrame(
        {
            "link": ids.astype(np.int64),
            "osm_way": links["osm_way"].to_numpy(np.int64)[ids],
            "name": links["name"].to_numpy(str)[ids],
            "highway": links["highway"].to_numpy(str)[ids],
            "bridge": links["bridge"].to_numpy(bool)[ids],
            "tunnel": links["tunnel"].to_numpy(bool)[ids],
            "peak_depth_m": state.link_flood_peak_m[ids].astype(np.float64),
            "closed_at_s": closed_s,
            "reopened_at_s": reopened_s,
            "closed_h": closed_s / 3600.0,
            "reopened_h": reopened_s / 3600.0,
        }
    )
    return geo_frame(table, links["geometry"].to_numpy(object)[ids], city.crs, wkb=True, columns=CLOSED_LINK_COLUMNS)


def damaged_buildings_frame(city: City, state: SimState) -> gpd.GeoDataFrame:
    """The buildings with damage > 0: OSM id, use, name, peak depth, damage ratio and residents.

    Parameters
    ----------
    city, state
        The run's city and its final state.
    """
    buildings = city.buildings
    homes = city.homes[city.homes["building"] >= 0]
    residents = np.bincount(
        homes["building"].to_numpy(np.int64), weights=homes["population"].to_numpy(np.float64), minlength=len(buildings)
    )
    ids = np.flatnonzero(state.building_damage > 0)
    table = pd.DataFrame(
        {
            "osm_type": buildings["osm_type"].to_numpy(str)[ids],
            "osm_id": buildings["osm_id"].to_numpy(np.int64)[ids],
            "use": buildings["use"].to_numpy(str)[ids],
            "name": buildings["name"].to_numpy(str)[ids],
            "peak_depth_m": state.building_peak_depth_m[ids].astype(np.float64),
            "damage_ratio": state.building_damage[ids].astype(np.float64),
            "residents": np.rint(residents[ids]).astype(np.int64),
        }
    )
    geometry = buildings["geometry"].to_numpy(object)[ids]
    return geo_frame(table, geometry, city.crs, wkb=True, columns=DAMAGED_BUILDING_COLUMNS)


def write_layer(path: Path, layer: str, frame: gpd.GeoDataFrame, geometry_type: str) -> None:
    """One GeoPackage layer, written atomically; an empty frame gives the layer with its schema and no features.

    Parameters
    ----------
    path
        The ``.gpkg`` to write.
    layer
        The layer's name.
    frame
        The features, with their CRS.
    geometry_type
        The layer's geometry type (``"LineString"``, ``"Polygon"``, ``"MultiPolygon"``), needed when it is empty.
    """
    options = {"geometry_type": geometry_type, "promote_to_multi": geometry_type.startswith("Multi")}
    write_geopackage_atomic(path, [(layer, frame, options)])


def _polygon_type(city: City) -> str:
    """``Polygon``, or ``MultiPolygon`` when any building of the map is one (the same schema on every run)."""
    types = shapely.get_type_id(shapely.from_wkb(city.buildings["geometry"].to_numpy(object)))
    return "MultiPolygon" if (types == 6).any() else "Polygon"
