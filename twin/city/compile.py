"""The cold build: a map folder's OSM extract, DEM and city.yaml compiled into a :class:`~twin.city.city.City`.

Only :func:`twin.city.build.load_city` calls :func:`build_city`, when the cache holds no City for the current
inputs; a run on a cached map never imports this module nor what it reads with (the OSM parser, rasterio's
GeoTIFF and rasterising code, the geometry of features, people and facilities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from twin.city import facilities as fac
from twin.city.city import City, Progress
from twin.city.config import CONFIG_NAME, CityConfig
from twin.city.features import Projector, iter_features
from twin.city.osm import OsmData, Tags, read_osm
from twin.city.people import buildings_table, homes_table, nearest_nodes
from twin.city.roadgraph import RoadGraph
from twin.city.roads import Network, build_networks
from twin.city.terrain import Terrain, build_terrain, interpolate_structures, raw_coverage, read_dem
from twin.errors import MapError
from twin.hydrology.conditioning import Hydrology, build_hydrology
from twin.hydrology.landcover import impervious_fraction, is_landcover, landcover_class, landcover_grid
from twin.lifelines.networks import LifelineNetworks, build_lifelines, synthesised_rows
from twin.lifelines.weak_points import HandAt, weak_points


def _bounds_xy(
    osm_bounds: tuple[float, float, float, float], to_metric: Transformer
) -> tuple[float, float, float, float]:
    lon = np.array([osm_bounds[0], osm_bounds[2], osm_bounds[0], osm_bounds[2]])
    lat = np.array([osm_bounds[1], osm_bounds[1], osm_bounds[3], osm_bounds[3]])
    x, y = to_metric.transform(lon, lat)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def build_city(folder: Path, config: CityConfig, key: str, progress: Progress) -> City:
    """Compile a map folder into a City (no cache involved)."""
    to_metric = Transformer.from_crs("EPSG:4326", config.crs, always_xy=True)
    progress("reading OSM")
    osm = read_osm(config.osm_path(folder), build_wanted)
    if osm.bounds is None:
        raise MapError(f"{config.osm_path(folder)}: the OSM file has no nodes")
    progress("building road networks")
    drive, walk, full = build_networks(osm, to_metric, config.roads)
    assumptions = list(config.assumptions)
    progress("reading the DEM")
    raw, dem = read_dem(config.dem_path(folder), config.dem_nodata)
    terrain = build_terrain(raw, dem, config.crs, _bounds_xy(osm.bounds, to_metric), config.working_resolution_m)
    elevation_by_osm, coverage = _node_elevations(full, raw, dem, terrain, to_metric, config, assumptions)
    drive.nodes["elevation_m"] = drive.nodes["osm_id"].map(elevation_by_osm).to_numpy(float)
    walk.nodes["elevation_m"] = walk.nodes["osm_id"].map(elevation_by_osm).to_numpy(float)
    progress("placing buildings, people and facilities")
    projector = Projector(osm, to_metric)
    building_features = list(iter_features(osm, projector, lambda t: "building" in t))
    buildings = buildings_table(building_features, config.population.default_levels)
    if config.population.method == "buildings" and buildings.empty:
        raise MapError(
            f"{folder / CONFIG_NAME}: population.method is 'buildings' but the OSM file has no buildings; "
            "set population.method: roads"
        )
    centres = np.column_stack(to_metric.transform(*np.array([a.centre for a in config.population.areas]).T))
    homes = homes_table(config.population, buildings, drive, walk, centres)
    facility_features = list(iter_features(osm, projector, fac.wanted))
    located = {f.osm_id: f for f in building_features + facility_features}
    facilities = fac.facilities_table(facility_features, located, config, drive, walk, to_metric.transform)
    waterways = fac.waterways_table(list(iter_features(osm, projector, lambda t: "waterway" in t)))
    progress("terrain hydrology")
    hydrology = _hydrology(osm, projector, terrain, waterways, buildings, drive, config)
    progress("lifeline networks")
    hand = HandAt(terrain, hydrology)
    facilities, lifelines = _lifelines(
        facilities, homes, drive, walk, config, _bounds_xy(osm.bounds, to_metric), hand.of(homes)
    )
    assumptions += _road_assumptions(drive) + _people_assumptions(config, buildings, homes)
    assumptions += _facility_assumptions(facilities) + _lifeline_assumptions(facilities)
    assumptions += weak_points(facilities, homes, lifelines, hand.of(facilities), config.lifelines)
    return City(
        name=config.name,
        crs=config.crs,
        map_hash=key,
        drive=drive,
        walk=walk,
        buildings=buildings,
        homes=homes,
        facilities=facilities,
        waterways=waterways,
        terrain=terrain,
        hydrology=hydrology,
        lifelines=lifelines,
        dem_coverage=coverage,
        assumptions=assumptions,
        bounds_lonlat=osm.bounds,
        config=config,
    )


def build_wanted(tags: Tags) -> bool:
    """Whether the build reads an OSM element: roads, buildings, facilities and lifelines, waterways, land cover."""
    return "highway" in tags or "building" in tags or "waterway" in tags or fac.wanted(tags) or is_landcover(tags)


def _hydrology(
    osm: OsmData,
    projector: Projector,
    terrain: Terrain,
    waterways: pd.DataFrame,
    buildings: pd.DataFrame,
    drive: Network,
    config: CityConfig,
) -> Hydrology:
    """Land cover and sealed share from OSM, then the conditioned grid's hydrology."""
    shape, transform = terrain.elevation_m.shape, terrain.transform
    areas = [(f.geometry, landcover_class(f.tags) or "other") for f in iter_features(osm, projector, is_landcover)]
    footprints = shapely.from_wkb(buildings["geometry"].to_numpy()) if len(buildings) else np.zeros(0, object)
    roads = shapely.from_wkb(drive.links["geometry"].to_numpy())
    impervious = impervious_fraction(footprints, roads, drive.links["lanes"].to_numpy(float), shape, transform)
    return build_hydrology(terrain, waterways, config.hydrology, landcover_grid(areas, shape, transform), impervious)


def _lifelines(
    facilities: pd.DataFrame,
    homes: pd.DataFrame,
    drive: Network,
    walk: Network,
    config: CityConfig,
    bounds_xy: tuple[float, float, float, float],
    home_hand_m: np.ndarray,
) -> tuple[pd.DataFrame, LifelineNetworks]:
    """Add the components the map lacks (assumed), then lay out the lifeline networks over all of them."""
    extra = synthesised_rows(facilities, homes, drive, config.lifelines, home_hand_m)
    if len(extra):
        extra["drive_node"], extra["drive_distance_m"] = nearest_nodes(
            drive, extra["x"].to_numpy(float), extra["y"].to_numpy(float)
        )
        extra["walk_node"], _ = nearest_nodes(walk, extra["x"].to_numpy(float), extra["y"].to_numpy(float))
        facilities = pd.concat([facilities, extra[facilities.columns]], ignore_index=True)
    return facilities, build_lifelines(facilities, homes, drive, config.lifelines, bounds_xy)


def _node_elevations(
    full: RoadGraph,
    raw: np.ndarray,
    dem: Any,
    terrain: Terrain,
    to_metric: Transformer,
    config: CityConfig,
    assumptions: list[str],
) -> tuple[dict[int, float], float]:
    """Elevation per OSM node id of the full road graph, and the DEM coverage of those nodes."""
    ids, lon, lat = full.node_osm, full.lon, full.lat
    covered = raw_coverage(raw, dem, lon, lat)
    coverage = float(covered.mean())
    if coverage < config.min_dem_coverage:
        raise MapError(
            f"{config.dem}: the DEM covers only {coverage:.1%} of the road nodes, below min_dem_coverage "
            f"{config.min_dem_coverage:.0%}; use a DEM that covers the OSM extract, or lower min_dem_coverage "
            "in city.yaml if the uncovered part does not matter"
        )
    x, y = to_metric.transform(lon, lat)
    elevation = terrain.sample(x, y)
    outside = ~np.isfinite(elevation)
    elevation[outside] = terrain.nearest_valid(x[outside], y[outside])
    src, dst = full.src, full.dst
    structure = np.array([_is_structure(w.tags) for w in full.ways], dtype=bool)[full.way_index]
    on_ground = np.zeros(len(ids), dtype=bool)
    on_ground[src[~structure]] = True
    on_ground[dst[~structure]] = True
    elevation = interpolate_structures(len(ids), src, dst, on_ground, elevation)
    if terrain.source_resolution_m > terrain.resolution_m * 1.5:
        assumptions.append(
            f"the DEM's {terrain.source_resolution_m:.0f} m cells were resampled bilinearly to a "
            f"{terrain.resolution_m:.0f} m working grid: elevations, slopes and flood extents are screening-level"
        )
    voids = int((~np.isfinite(raw)).sum())
    if voids and config.dem_nodata is not None:
        assumptions.append(f"{voids} DEM void cells (value {config.dem_nodata:g}) were filled by interpolation")
    if (~covered).any():
        assumptions.append(
            f"{int((~covered).sum())} of {len(ids)} road nodes ({1 - coverage:.1%}) are not on valid DEM cells "
            "and take the nearest valid elevation"
        )
    if (~on_ground).any():
        assumptions.append(
            f"{int((~on_ground).sum())} road nodes on bridges or in tunnels take elevations interpolated "
            "between the structure's ends, not the ground's"
        )
    return dict(zip(ids.tolist(), elevation.tolist(), strict=True)), coverage


def _is_structure(tags: Tags) -> bool:
    """A bridge or a tunnel: its nodes are not on the ground (the values OSM uses for "not one" excluded)."""

    def flag(value: str | None) -> bool:
        return value is not None and value not in ("no", "false", "0")

    return flag(tags.get("bridge")) or flag(tags.get("tunnel"))


def _road_assumptions(drive: Network) -> list[str]:
    tagged = float(drive.links["speed_tagged"].mean())
    return [
        f"free speeds from OSM maxspeed on {tagged:.0%} of drivable links, per-class urban defaults on the rest "
        "(twin.city.roads); capacities per lane from MATSim's OsmNetworkReader defaults; storage = length x lanes "
        "/ jam spacing",
    ]


def _people_assumptions(config: CityConfig, buildings: pd.DataFrame, homes: pd.DataFrame) -> list[str]:
    spec = config.population
    total = int(homes["population"].sum())
    source = f" ({spec.source})" if spec.source else ""
    if spec.method == "roads":
        return [
            f"the map has no buildings: {total} residents{source} spread over walkable nodes by the length "
            "of residential and through streets; building damage cannot be assessed on this map"
        ]
    residential = buildings[buildings["residential"]]
    defaulted = int(residential["levels_assumed"].sum())
    return [
        f"{total} residents{source} spread over {len(homes)} residential buildings by floor area "
        f"(footprint x levels), each building in the area of the nearest town centre",
        f"{defaulted} of {len(residential)} residential buildings have no building:levels and are taken as "
        f"{spec.default_levels} levels",
        "building=yes with no amenity, shop, office, tourism, craft, industrial, leisure or man_made tag is "
        "taken as residential",
    ]


def _lifeline_assumptions(facilities: pd.DataFrame) -> list[str]:
    """One line per kind of lifeline component the build synthesised where OSM maps none (twin.lifelines)."""
    made = facilities[facilities["osm_type"] == "synthetic"]
    return [
        f"{count} {kind} components synthesised (assumed): {made.loc[made['kind'] == kind, 'source'].iloc[0]}"
        for kind, count in made["kind"].value_counts().sort_index().items()
    ]


def _facility_assumptions(facilities: pd.DataFrame) -> list[str]:
    notes = []
    shelters = facilities[facilities["kind"] == "shelter"]
    if len(shelters):
        notes.append(
            f"{len(shelters)} designated shelters with {int(shelters['capacity'].sum())} places come from "
            "city.yaml (assumed), not from OSM"
        )
    else:
        notes.append("no designated shelters: city.yaml lists none, so evacuation to shelters cannot be modelled")
    hospitals = facilities[facilities["kind"] == "hospital"]
    if hospitals.empty:
        notes.append("the map has no hospital: access to care (Q_access) cannot be measured on it")
    for _, row in hospitals[hospitals["beds"].isna()].iterrows():
        label = row["name"] or "unnamed"
        notes.append(
            f"hospital '{label}' (OSM {row['osm_type']} {row['osm_id']}) has no bed count in OSM or city.yaml "
            "(hospital_beds)"
        )
    for _, row in facilities[facilities["source"].str.startswith("city.yaml (")].iterrows():
        notes.append(f"{row['kind']} '{row['name']}' placed from {row['source']}, not from OSM")
    return notes
