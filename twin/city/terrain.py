"""Elevation: the DEM with voids masked and filled, on a metric working grid, sampled at road nodes.

The hydrology on this grid (depression filling, D8, HAND) belongs to the flood model; this module gives
it a clean grid: voids (SRTM's -32768 or the map's ``dem_nodata``) masked and filled with
``rasterio.fill.fillnodata``, then reprojected bilinearly to the city's metric CRS at the working
resolution (30 m or finer). A DEM coarser than the working grid gives screening-level results, and the
City says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from affine import Affine
from pyproj import Transformer

from twin.errors import MapError

if TYPE_CHECKING:
    import rasterio


@dataclass(frozen=True)
class Terrain:
    """The working elevation grid in the city's metric CRS.

    Attributes
    ----------
    elevation_m
        float32 grid (rows x cols), NaN outside the DEM.
    transform
        Affine transform of the grid (metric CRS, north-up).
    crs
        The metric CRS (e.g. ``EPSG:32631``).
    source_resolution_m
        The DEM's own cell size, in metres (about 90 m for SRTM3).
    """

    elevation_m: np.ndarray
    transform: Affine
    crs: str
    source_resolution_m: float

    @property
    def resolution_m(self) -> float:
        """Cell size of the working grid (m)."""
        return float(self.transform.a)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear elevation at metric points; NaN outside the grid or next to a NaN cell."""
        from scipy import ndimage  # here, not at the top: loading a City should not load SciPy's image module

        inverse = ~self.transform
        col, row = inverse @ (np.asarray(x, float), np.asarray(y, float))
        # Cell centres sit at half-integer positions in the transform's pixel space.
        return ndimage.map_coordinates(
            self.elevation_m.astype(np.float64), [row - 0.5, col - 0.5], order=1, mode="constant", cval=np.nan
        )

    def nearest_valid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevation of the nearest valid cell to each point (points outside the grid are clamped to it)."""
        from scipy import ndimage  # as in sample

        valid = np.isfinite(self.elevation_m)
        _, (rows, cols) = ndimage.distance_transform_edt(~valid, return_indices=True)
        inverse = ~self.transform
        col, row = inverse @ (np.asarray(x, float), np.asarray(y, float))
        r = np.clip(np.floor(row).astype(int), 0, valid.shape[0] - 1)
        c = np.clip(np.floor(col).astype(int), 0, valid.shape[1] - 1)
        return self.elevation_m[rows[r, c], cols[r, c]].astype(np.float64)


def _metres_per_unit(src: rasterio.DatasetReader) -> float:
    """Approximate cell size in metres (degrees converted at the raster's mid latitude)."""
    if src.crs is not None and src.crs.is_projected:
        return float(abs(src.res[0]))
    mid_lat = np.radians((src.bounds.top + src.bounds.bottom) / 2)
    # Report the longer side of the cell (degrees of latitude), the conservative figure for resolution.
    return float(max(abs(src.res[1]) * 111_320.0, abs(src.res[0]) * 111_320.0 * np.cos(mid_lat)))


def read_dem(path: Path, nodata: float | None) -> tuple[np.ndarray, rasterio.DatasetReader]:
    """Raw DEM band 1 as float64 with voids as NaN, and the open dataset (for its georeferencing)."""
    import rasterio  # GeoTIFF reading is for the cold build and `twin map init`; a cached run never loads it

    try:
        src = rasterio.open(path)
        raw = src.read(1).astype(np.float64)
    except rasterio.errors.RasterioIOError as exc:
        raise MapError(f"{path}: not a readable raster ({exc}); give a GeoTIFF DEM") from exc
    if src.crs is None:
        raise MapError(f"{path}: the DEM has no CRS; write one into the GeoTIFF (gdal_edit.py -a_srs EPSG:4326)")
    if nodata is not None:
        raw[raw == nodata] = np.nan
    _check_elevations(path, raw)
    return raw, src


ELEVATION_RANGE_M = (-1000.0, 9000.0)
"""Elevations a DEM may hold: the Dead Sea shore is at -430 m, Everest at 8,849 m; anything beyond is a no-data
value the file does not declare (-9999, 3.4e38) and would wreck slopes and flow directions."""


def _check_elevations(path: Path, raw: np.ndarray) -> None:
    low, high = ELEVATION_RANGE_M
    finite = np.isfinite(raw)
    wild = finite & ((raw < low) | (raw > high))
    if wild.any():
        example = raw[wild][0]
        raise MapError(
            f"{path}: {int(wild.sum()):,} DEM cells hold elevations outside {low:g}..{high:g} m (e.g. {example:g}), "
            "which no terrain has; if that is the DEM's no-data value, declare it with dem_nodata in city.yaml"
        )


MAX_GRID_CELLS = 4_000_000
"""Largest working grid (2,000 x 2,000 cells: 60 km square at 30 m). The shipped maps use under 0.3 million; the
build holds several float64 arrays of the grid's size, so a grid far larger exhausts memory (1 m over Andorra's
10 km valley is 98 million cells)."""


def _check_grid(bounds_xy: tuple[float, float, float, float], cell: float, resolution_m: float) -> None:
    xmin, ymin, xmax, ymax = bounds_xy
    if not all(np.isfinite(v) for v in bounds_xy):
        raise MapError("the OSM extract's bounds are not finite coordinates; re-export the extract")
    cells = (np.ceil((xmax - xmin) / cell) + 7) * (np.ceil((ymax - ymin) / cell) + 7)
    if cells > MAX_GRID_CELLS:
        area = (xmax - xmin) * (ymax - ymin)
        coarsest = float(np.ceil(np.sqrt(area / MAX_GRID_CELLS)))
        raise MapError(
            f"working_resolution_m: {resolution_m:g} m makes a grid of {cells:,.0f} cells over the map "
            f"({(xmax - xmin) / 1000:.1f} x {(ymax - ymin) / 1000:.1f} km); at most {MAX_GRID_CELLS:,}: use "
            f"working_resolution_m: {coarsest:g} or more in city.yaml, or a smaller extract"
        )


def raw_coverage(raw: np.ndarray, src: rasterio.DatasetReader, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each WGS84 point falls on a valid (inside, not void) cell of the raw DEM."""
    import rasterio.transform

    to_dem = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
    x, y = to_dem.transform(lon, lat)
    rows, cols = rasterio.transform.rowcol(src.transform, x, y)
    rows, cols = np.asarray(rows), np.asarray(cols)
    inside = (rows >= 0) & (rows < raw.shape[0]) & (cols >= 0) & (cols < raw.shape[1])
    covered = np.zeros(len(lon), dtype=bool)
    covered[inside] = np.isfinite(raw[rows[inside], cols[inside]])
    return covered


def build_terrain(
    raw: np.ndarray,
    src: rasterio.DatasetReader,
    crs: str,
    bounds_xy: tuple[float, float, float, float],
    resolution_m: float,
) -> Terrain:
    """Fill voids and reproject the DEM to a metric working grid over ``bounds_xy`` (+ 2 cells).

    The working cell size is the smaller of ``resolution_m`` and the DEM's own cell size.
    """
    import rasterio.fill
    import rasterio.warp

    void = ~np.isfinite(raw)
    filled = raw.copy()
    filled[void] = 0.0
    if void.any() and not void.all():
        # fillnodata interpolates inward from the void's edges (inverse distance); a 100-cell reach
        # closes SRTM's voids without inventing terrain far from data.
        filled = rasterio.fill.fillnodata(filled, mask=(~void).astype(np.uint8), max_search_distance=100)
        filled[void & (filled == 0.0)] = np.nan
    source_res = _metres_per_unit(src)
    cell = min(resolution_m, source_res)
    _check_grid(bounds_xy, cell, resolution_m)
    xmin, ymin, xmax, ymax = bounds_xy
    xmin, ymin = np.floor(xmin / cell) * cell - 2 * cell, np.floor(ymin / cell) * cell - 2 * cell
    cols = int(np.ceil((xmax - xmin) / cell)) + 3
    rows = int(np.ceil((ymax - ymin) / cell)) + 3
    transform = Affine(cell, 0.0, xmin, 0.0, -cell, ymin + rows * cell)
    grid = np.full((rows, cols), np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        source=filled.astype(np.float32),
        destination=grid,
        src_transform=src.transform,
        src_crs=src.crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=crs,
        dst_nodata=np.nan,
        resampling=rasterio.warp.Resampling.bilinear,
    )
    return Terrain(elevation_m=grid, transform=transform, crs=crs, source_resolution_m=source_res)


def interpolate_structures(
    n_nodes: int, src: np.ndarray, dst: np.ndarray, fixed: np.ndarray, elevation: np.ndarray
) -> np.ndarray:
    """Elevations of nodes that touch only bridges or tunnels, interpolated from the ground around them.

    A bridge deck or a tunnel does not follow the ground below or above it: the inner nodes of a
    structure take the harmonic interpolation (each node the mean of its neighbours, solving L z = 0
    with the ground nodes fixed), i.e. a straight grade between the ends of a simple bridge.

    Parameters
    ----------
    n_nodes, src, dst
        The graph (undirected use of the directed links).
    fixed
        True for nodes whose elevation is the ground's.
    elevation
        Ground elevations (used where ``fixed``).
    """
    free = ~fixed
    if not free.any():
        return elevation
    adjacency = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n_nodes, n_nodes)).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(float)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    laplacian = sp.diags(degree) - adjacency
    free_idx, fixed_idx = np.flatnonzero(free), np.flatnonzero(fixed)
    a = laplacian[free_idx][:, free_idx].tocsc()
    b = -laplacian[free_idx][:, fixed_idx] @ elevation[fixed_idx]
    # A structure with no ground neighbour at all (an isolated island of bridge links) is singular:
    # regularise slightly towards its own ground sample.
    a = a + sp.identity(len(free_idx)) * 1e-9
    b = b + 1e-9 * elevation[free_idx]
    out = elevation.copy()
    out[free_idx] = spla.spsolve(a, b)
    return out
