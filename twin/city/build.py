"""Map folder -> City: compile once, cache on disk, reuse while the inputs and the build code are unchanged.

A City (:mod:`twin.city.city`) is read-only during a run (DESIGN.md rule 1): every array that changes lives in
the run's SimState. The cache is a folder of Parquet tables, an ``.npz`` of rasters and a ``meta.json`` (no
pickle), keyed by the SHA-256 of the OSM file, the DEM, ``city.yaml`` and :data:`BUILD_VERSION`. It is written
into a temporary folder and renamed into place, so a failed build leaves nothing half-written. The cold build
itself lives in :mod:`twin.city.compile`, imported only when the cache has no current City: a run on a cached
map loads Parquet and ``.npz`` files, not the build's GeoTIFF, feature, people and facility code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine

from twin.city.city import City, Progress
from twin.city.config import CONFIG_NAME, CityConfig, load_city_config
from twin.city.roads import Network
from twin.city.terrain import Terrain
from twin.hydrology.conditioning import Hydrology
from twin.lifelines.networks import LifelineNetworks

__all__ = ["BUILD_VERSION", "CACHE_FOLDER", "City", "load_city", "map_hash"]

# Bump when the build's output changes (twin.city.compile and what it calls), so stale caches are rebuilt.
BUILD_VERSION = "10"
CACHE_FOLDER = ".cache"


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
    from twin.city.compile import build_city  # the cold build's readers load only when there is no cache

    city = build_city(folder, config, key, progress or (lambda _m: None))
    _save(city, cache_root, target)
    return city


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
