"""What a report needs from a run folder, read once: the Results and the map layers the run wrote.

The report and ``twin compare`` read run folders only (they never re-run or load the City): the Results files
(:mod:`twin.results`) and, when the run wrote them, the flood's peak depth raster and closed roads, the landslides'
debris footprints and the lifelines' zone polygons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import RunError
from twin.results import Results

PEAK_DEPTH_TIF = "flood_peak_depth.tif"
CLOSED_LINKS_GPKG = "closed_links.gpkg"
DEBRIS_GPKG = "landslide_debris.gpkg"
LIFELINES_GPKG = "lifelines.gpkg"
#: Zone layers of ``lifelines.gpkg`` and the service of ``zones.parquet`` each one belongs to.
ZONE_LAYERS = {"power": "power_zones", "water": "water_zones"}
#: The order services are shown in; services not listed follow, by name.
SERVICE_ORDER = ("access", "power", "water", "telecom", "health")


def service_key(service: str) -> tuple[int, str]:
    """Sort key of a service name (see :data:`SERVICE_ORDER`)."""
    return (SERVICE_ORDER.index(service) if service in SERVICE_ORDER else len(SERVICE_ORDER), service)


@dataclass(frozen=True)
class Raster:
    """A single-band grid with its extent (left, right, bottom, top) in the CRS's units (metres)."""

    values: np.ndarray
    extent: tuple[float, float, float, float]


@dataclass
class RunData:
    """One run folder: its Results and the optional map layers (None or empty when the run did not write them)."""

    folder: Path
    results: Results
    peak_depth: Raster | None = None
    closed_links: Any = None  # GeoDataFrame of closed_links.gpkg
    debris: Any = None  # GeoDataFrame of landslide_debris.gpkg
    zone_shapes: dict[str, Any] = field(default_factory=dict)  # service -> GeoDataFrame (zone, geometry)
    crs: str = ""

    @property
    def name(self) -> str:
        """The scenario's name (the folder's name when the scenario has none)."""
        return str(self.results.scenario.get("name") or self.folder.name)

    @property
    def has_layers(self) -> bool:
        """Whether the run wrote any layer a map can be drawn from."""
        return self.peak_depth is not None or self.closed_links is not None or bool(self.zone_shapes)


def read_run(folder: Path, results: Results | None = None) -> RunData:
    """Read a run folder: the Results and whichever map layers it holds.

    Parameters
    ----------
    folder
        A folder written by ``twin run`` (complete or interrupted).
    results
        The run's Results when the caller holds them (the runner, before it seals the folder); read from the
        folder otherwise.

    Returns
    -------
    RunData
        The run's tables, documents and layers.

    Raises
    ------
    RunError
        If the folder is not a run folder, or one of its layers cannot be read (the message names the file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such run folder; give the folder that twin run wrote (its --out)")
    data = RunData(folder=folder, results=results or Results.load(folder, allow_incomplete=True))
    if (folder / PEAK_DEPTH_TIF).is_file():
        data.peak_depth, data.crs = _read_raster(folder / PEAK_DEPTH_TIF)
    data.closed_links = _read_layer(folder / CLOSED_LINKS_GPKG, "closed_links")
    data.debris = _read_layer(folder / DEBRIS_GPKG, "landslide_debris")
    for service, layer in ZONE_LAYERS.items():
        shapes = _read_layer(folder / LIFELINES_GPKG, layer)
        if shapes is not None and len(shapes):
            data.zone_shapes[service] = shapes
    if not data.crs:
        for frame in (data.closed_links, data.debris, *data.zone_shapes.values()):
            if frame is not None and frame.crs is not None:
                data.crs = str(frame.crs.name)
                break
    return data


def _read_raster(path: Path) -> tuple[Raster, str]:
    import rasterio

    try:
        with rasterio.open(path) as source:
            values = source.read(1).astype(np.float64)
            bounds = source.bounds
            crs = source.crs.to_string() if source.crs is not None else ""
            crs_name = _crs_name(crs)
    except rasterio.errors.RasterioError as exc:
        raise RunError(f"{path}: cannot read the raster ({exc}); run the scenario again to rewrite it") from exc
    return Raster(values, (bounds.left, bounds.right, bounds.bottom, bounds.top)), crs_name


def _crs_name(crs: str) -> str:
    import pyproj

    if not crs:
        return ""
    return str(pyproj.CRS.from_user_input(crs).name)


def _read_layer(path: Path, layer: str) -> Any:
    """One layer of a GeoPackage as a GeoDataFrame; None when the file or the layer is not there."""
    if not path.is_file():
        return None
    import geopandas as gpd
    import pyogrio

    try:
        if layer not in {name for name, _ in pyogrio.list_layers(path)}:
            return None
        return gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise RunError(f"{path}: cannot read layer {layer} ({exc}); run the scenario again to rewrite it") from exc


def zone_hours_without_service(zones: pd.DataFrame | None, service: str) -> pd.Series:
    r"""Hours each zone of a service spent without it: :math:`h_z = \frac{1}{3600}\int (1 - q_z(t))\,dt`.

    The per-zone form of the resilience loss (Bruneau et al. 2003), integrated with the trapezoid rule over the
    zone records of ``zones.parquet`` like every metric of :mod:`twin.metrics`.

    Parameters
    ----------
    zones
        The long zone table (``t_s``, ``zone``, ``service``, ``q``), or None.
    service
        The service whose zones to integrate (``power``, ``water``).

    Returns
    -------
    pandas.Series
        Hours (float) indexed by zone id; empty when the run has no zones of that service.
    """
    if zones is None or zones.empty:
        return pd.Series(dtype="float64")
    rows = zones[zones["service"] == service]
    if rows.empty:
        return pd.Series(dtype="float64")
    wide = rows.pivot_table(index="t_s", columns="zone", values="q", aggfunc="mean").sort_index()
    t = wide.index.to_numpy(dtype=np.float64)
    out = (1.0 - wide.to_numpy(dtype=np.float64)).clip(0.0, 1.0)
    hours = np.trapezoid(out, t, axis=0) / 3600.0 if t.size > 1 else np.zeros(out.shape[1])
    return pd.Series(hours, index=wide.columns.astype(np.int64), dtype="float64")
