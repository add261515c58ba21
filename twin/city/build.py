"""Map folder -> City: compile once, cache on disk, reuse while the inputs and the build code are unchanged.

A City is read-only during a run (DESIGN.md rule 1): every array that changes lives in the run's SimState.
The cache is a folder of Parquet tables, an ``.npz`` of rasters and a ``meta.json`` (no pickle), keyed by
the SHA-256 of the OSM file, the DEM, ``city.yaml`` and :data:`BUILD_VERSION`. It is written into a
temporary folder and renamed into place, so a failed build leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import Transformer

from twin.city import facilities as fac
from twin.city.config import CONFIG_NAME, CityConfig, load_city_config
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
from twin.lifelines.weak_points import WARNING_PREFIX, HandAt, weak_points

# Bump when the build's output changes, so stale caches are rebuilt.
BUILD_VERSION = "10"
CACHE_FOLDER = ".cache"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class City:
    """The compiled, read-only twin of a place.

    Attributes
    ----------
    name, crs
        The city's name and metric CRS (from city.yaml).
    map_hash
        SHA-256 of the inputs and the build version: the cache key, recorded in every run's provenance.
    drive, walk
        The drivable and walkable road networks (see :mod:`twin.city.roads`).
    buildings
        Building footprints with use, levels and floor area.
    homes
        Where residents live (building or walkable node), with their nearest drivable and walkable nodes.
    facilities
        Facilities and lifeline components from OSM and city.yaml (see :mod:`twin.city.facilities`).
    waterways
        Rivers and streams with all their names.
    terrain
        The working elevation grid.
    hydrology
        Depression-filled surface, D8 directions, accumulation, drainage, HAND and land cover on the
        working grid (see :mod:`twin.hydrology`).
    lifelines
        Power zones and grid, water zones, cell sites, signals and dependencies over the facilities table
        (see :mod:`twin.lifelines.networks`).
    dem_coverage
        Share of road nodes on valid cells of the raw DEM.
    assumptions
        Every assumption the build made, for the run folder and the report.
    """

    name: str
    crs: str
    map_hash: str
    drive: Network
    walk: Network
    buildings: pd.DataFrame
    homes: pd.DataFrame
    facilities: pd.DataFrame
    waterways: pd.DataFrame
    terrain: Terrain
    hydrology: Hydrology
    lifelines: LifelineNetworks
    dem_coverage: float
    assumptions: list[str]
    bounds_lonlat: tuple[float, float, float, float]
    config: CityConfig = field(repr=False)

    @property
    def population(self) -> int:
        """Residents in the city."""
        return int(self.homes["population"].sum())

    def counts(self, group: str | None = None) -> dict[str, int]:
        """Facilities or lifeline components per kind (``group="facility"`` for facilities only)."""
        table = self.facilities
        if group == "facility":
            table = table[table["group"] == "facility"]
        elif group == "lifeline":
            table = table[table["group"] != "facility"]
        return {str(k): int(v) for k, v in table["kind"].value_counts().sort_index().items()}

    def warnings(self) -> list[str]:
        """The map's warnings: the assumptions that start with ``warning:`` (``twin map build`` prints them)."""
        return [line for line in self.assumptions if line.startswith(WARNING_PREFIX)]

    def info(self) -> dict[str, Any]:
        """The summary that ``twin map info --json`` prints."""
        elevation = self.walk.nodes["elevation_m"]
        return {
            "name": self.name,
            "crs": self.crs,
            "map_hash": self.map_hash,
            "nodes": self.walk.n_nodes,
            "links": self.walk.n_links,
            "drivable_nodes": self.drive.n_nodes,
            "drivable_links": self.drive.n_links,
            "buildings": len(self.buildings),
            "population": self.population,
            "dem_coverage": round(self.dem_coverage, 4),
            "elevation_m": [round(float(elevation.min()), 1), round(float(elevation.max()), 1)],
            "working_grid_m": self.terrain.resolution_m,
            "facilities": self.counts("facility"),
            "lifeline_components": self.counts("lifeline"),
            "assumptions": list(self.assumptions),
        }


def map_hash(folder: Path, config: CityConfig) -> str:
    """SHA-256 of the OSM file, the DEM, city.yaml and the build version."""
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for path in (config.osm_path(folder), config.dem_path(folder), folder / CONFIG_NAME):
        with path.open("rb") as stream:
            for chunk in iter(lambda s=stream: s.read(1 << 20), b""):  # type: ignore[misc]
                digest.update(chunk)
    return digest.hexdigest()


def load_city(folder: Path | str, cache_dir: Path | None = None, progress: Progress | None = None) -> City:
    """The City of a map folder: from the cache when it is current, else built and cached.

    Parameters
    ----------
    folder
        A map folder holding ``city.yaml`` and the files it names.
    cache_dir
        Where compiled cities are kept (default ``<folder>/.cache``).
    progress
        Called with a short message at each stage of a cold build.
    """
    folder = Path(folder)
    config = load_city_config(folder)
    key = map_hash(folder, config)
    cache_root = cache_dir if cache_dir is not None else folder / CACHE_FOLDER
    target = cache_root / f"city-{key[:16]}"
    if (target / "meta.json").is_file():
        return _load_cached(target, config)
    city = build_city(folder, config, key, progress or (lambda _m: None))
    _save(city, cache_root, target)
    return city


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


# --- cache --------------------------------------------------------------------------------------------

_TABLES = ("buildings", "homes", "facilities", "waterways")
_HYDROLOGY_ARRAYS = tuple(f.name for f in fields(Hydrology) if f.name != "channel_cells")


def _save(city: City, cache_root: Path, target: Path) -> None:
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-city-", dir=cache_root))
    try:
        for prefix, network in (("drive", city.drive), ("walk", city.walk)):
            network.nodes.to_parquet(tmp / f"{prefix}_nodes.parquet")
            network.links.to_parquet(tmp / f"{prefix}_links.parquet")
        for name in _TABLES:
            getattr(city, name).to_parquet(tmp / f"{name}.parquet")
        np.savez_compressed(tmp / "terrain.npz", elevation_m=city.terrain.elevation_m)
        hydrology = city.hydrology
        np.savez_compressed(tmp / "hydrology.npz", **{k: getattr(hydrology, k) for k in _HYDROLOGY_ARRAYS})
        hydrology.channel_cells.to_parquet(tmp / "channel_cells.parquet")
        lifelines = city.lifelines
        np.savez_compressed(tmp / "lifelines.npz", **{k: getattr(lifelines, k) for k in LifelineNetworks.array_names()})
        lifelines.dependencies.to_parquet(tmp / "dependencies.parquet")
        meta = {
            "build_version": BUILD_VERSION,
            "name": city.name,
            "crs": city.crs,
            "map_hash": city.map_hash,
            "dem_coverage": city.dem_coverage,
            "assumptions": city.assumptions,
            "bounds_lonlat": list(city.bounds_lonlat),
            "terrain_transform": list(city.terrain.transform)[:6],
            "terrain_source_resolution_m": city.terrain.source_resolution_m,
        }
        # meta.json last: its presence marks a complete cache entry.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "meta.json").is_file():
                raise
            shutil.rmtree(tmp)  # another process (a parallel test worker) finished the same build first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load_cached(target: Path, config: CityConfig) -> City:
    meta = json.loads((target / "meta.json").read_text())
    networks = {
        prefix: Network(
            nodes=pd.read_parquet(target / f"{prefix}_nodes.parquet"),
            links=pd.read_parquet(target / f"{prefix}_links.parquet"),
        )
        for prefix in ("drive", "walk")
    }
    tables = {name: pd.read_parquet(target / f"{name}.parquet") for name in _TABLES}
    with np.load(target / "terrain.npz") as npz:
        elevation = npz["elevation_m"]
    with np.load(target / "hydrology.npz") as npz:
        arrays = {k: npz[k] for k in _HYDROLOGY_ARRAYS}
    hydrology = Hydrology(channel_cells=pd.read_parquet(target / "channel_cells.parquet"), **arrays)
    with np.load(target / "lifelines.npz") as npz:
        lifeline_arrays = {k: npz[k] for k in LifelineNetworks.array_names()}
    lifelines = LifelineNetworks(dependencies=pd.read_parquet(target / "dependencies.parquet"), **lifeline_arrays)
    terrain = Terrain(
        elevation_m=elevation,
        transform=Affine(*meta["terrain_transform"]),
        crs=meta["crs"],
        source_resolution_m=meta["terrain_source_resolution_m"],
    )
    return City(
        name=meta["name"],
        crs=meta["crs"],
        map_hash=meta["map_hash"],
        drive=networks["drive"],
        walk=networks["walk"],
        terrain=terrain,
        hydrology=hydrology,
        lifelines=lifelines,
        dem_coverage=meta["dem_coverage"],
        assumptions=meta["assumptions"],
        bounds_lonlat=tuple(meta["bounds_lonlat"]),
        config=config,
        **tables,
    )
