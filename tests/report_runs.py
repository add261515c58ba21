"""Synthetic run folders for the report and compare tests, written through Results(...).save (fast, exact).

A run has two services whose Q(t) are piecewise linear with hand-computable figures, two power zones, a peak
depth raster, a closed-links layer and zone polygons, all in UTM 31N around (1000 m, 1000 m).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

from twin.metrics import service_metrics
from twin.results import Results, events_frame
from twin.runfolder import seal_run_folder

CRS = "EPSG:32631"
HOUR = 3600.0


def dip_series(depth: float, hours: int = 6, power_scale: float = 1.0) -> pd.DataFrame:
    """Hourly records over ``hours``: Q_access drops to ``1 - depth`` at 1 h, back to 1 at 3 h; Q_power dips to
    ``1 - depth * power_scale`` at 2 h and stays there."""
    t = np.arange(hours + 1, dtype=np.float64) * HOUR
    access = np.ones_like(t)
    access[1:3] = 1.0 - depth
    power = np.ones_like(t)
    power[2:] = 1.0 - depth * power_scale
    return pd.DataFrame({"t_s": t, "Q_access": access, "Q_power": power, "links_closed": np.zeros(t.size, int)})


def zone_table(series: pd.DataFrame) -> pd.DataFrame:
    """Two power zones: zone 0 follows Q_power exactly, zone 1 is always served."""
    t = series["t_s"].to_numpy()
    frames = [
        pd.DataFrame({"t_s": t, "zone": 0, "service": "power", "q": series["Q_power"].to_numpy()}),
        pd.DataFrame({"t_s": t, "zone": 1, "service": "power", "q": np.ones(t.size)}),
    ]
    return pd.concat(frames, ignore_index=True)


def scenario_doc(name: str, seed: int, **extra: Any) -> dict[str, Any]:
    """A resolved scenario as scenario.json holds it (the keys the report reads)."""
    return {
        "name": name,
        "description": "synthetic run for tests",
        "map": "maps/testville",
        "seed": seed,
        "start": "2025-10-14T06:00:00+02:00",
        "timezone": "Europe/Andorra",
        "duration": 6 * HOUR,
        "step": 300.0,
        "outputs": {"folder": None, "record_every": HOUR},
        "metrics": {"recovery_threshold": 0.95},
        "events": [{"kind": "close_link", "at": HOUR, "target": {"street": "Main"}}],
        "hazards": [{"type": "river_flood", "rivers": ["test"]}],
        "interventions": [],
        **extra,
    }


def make_run(
    folder: Path,
    name: str = "testville-flood",
    seed: int = 1,
    depth: float = 0.5,
    layers: bool = True,
    hours: int = 6,
    map_hash: str = "testville",
) -> Path:
    """Write a complete synthetic run folder of ``hours`` hourly records and return it."""
    series = dip_series(depth, hours)
    events = events_frame(
        [
            (HOUR, "close_link", "link 3 (Main Street, way 30)", "scenario", json.dumps({"links": 1})),
            (HOUR, "message", "", "scenario", json.dumps({"text": "river rising"})),
            (2 * HOUR, "component_down", "substation (component 1)", "flood", "{}"),
        ]
    )
    Results(
        timeseries=series,
        events=events,
        zones=zone_table(series),
        metrics=service_metrics(series, population=1000.0),
        assumptions={"map": ["map assumption one", "two"], "scenario": ["scenario assumption"]},
        provenance={"seed": seed, "packages": {"twin": "0.1.0"}, "engine_time_s": 0.5, "map_hash": map_hash},
        scenario=scenario_doc(name, seed),
    ).save(folder)
    if layers:
        write_layers(folder, depth)
    return folder


def write_layers(folder: Path, depth: float) -> None:
    """A 10 x 10 depth raster (30 m cells, ``depth`` m in its left half), one closed link, two zone squares."""
    values = np.zeros((10, 10), dtype=np.float32)
    values[:, :5] = depth
    profile = {"driver": "GTiff", "width": 10, "height": 10, "count": 1, "dtype": "float32", "crs": CRS}
    with rasterio.open(folder / "flood_peak_depth.tif", "w", transform=from_origin(1000, 1300, 30, 30), **profile) as f:
        f.write(values, 1)
    links = gpd.GeoDataFrame(
        {"link": [3], "osm_way": [30], "name": ["Main Street"]},
        geometry=[shapely.LineString([(1010, 1010), (1140, 1290)])],
        crs=CRS,
    )
    links.to_file(folder / "closed_links.gpkg", layer="closed_links", driver="GPKG")
    zones = gpd.GeoDataFrame(
        {"zone": [0, 1], "residents": [600, 400]},
        geometry=[shapely.box(1000, 1000, 1150, 1300), shapely.box(1150, 1000, 1300, 1300)],
        crs=CRS,
    )
    zones.to_file(folder / "lifelines.gpkg", layer="power_zones", driver="GPKG")


def reseal(folder: Path, status: str = "complete", **provenance: Any) -> None:
    """Seal ``folder`` again after a test edited its files (a new manifest), with ``status`` and extra facts."""
    facts = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    facts.pop("status", None)
    seal_run_folder(folder, {**facts, **provenance}, status)
