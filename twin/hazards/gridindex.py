"""Where things are on the terrain grid: the cell under a point, the cells a line passes through.

Every hazard that acts on the grid (water, debris) reads links, buildings and components through these
index arrays, computed once per run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine

IntArray = npt.NDArray[np.int64]


def point_cells(transform: Affine, shape: tuple[int, int], x: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
    """Flat index (``row * cols + col``) of the grid cell under each metric point; -1 outside the grid."""
    col, row = ~transform @ (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    col, row = np.floor(np.asarray(col)), np.floor(np.asarray(row))
    rows, cols = shape
    inside = np.isfinite(col) & np.isfinite(row) & (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = np.full(col.shape, -1, dtype=np.int64)
    flat[inside] = row[inside].astype(np.int64) * cols + col[inside].astype(np.int64)
    return flat


def line_cell_pairs(geometries: npt.ArrayLike, transform: Affine, shape: tuple[int, int]) -> tuple[IntArray, IntArray]:
    """The distinct (owner, cell) pairs of the cells each geometry passes through, sorted by owner then cell.

    Each geometry (shapely, metric CRS) is densified to vertices at most half a cell apart
    (``shapely.segmentize``) and every vertex's cell is kept; points outside the grid are dropped. A cell a
    line only clips at a corner can be missed (at most a quarter of a cell's diagonal).
    """
    n_cells = shape[0] * shape[1]
    dense = shapely.segmentize(np.asarray(geometries), abs(transform.a) / 2.0)
    xy, owner = shapely.get_coordinates(dense, return_index=True)
    cells = point_cells(transform, shape, xy[:, 0], xy[:, 1])
    keep = cells >= 0
    keys = np.unique(owner[keep].astype(np.int64) * n_cells + cells[keep])
    return keys // n_cells, keys % n_cells


def residents_in_water(depth_m: np.ndarray, cells: IntArray, population: np.ndarray, threshold_m: float) -> int:
    """Residents whose home cell (flat index into ``depth_m``) holds more than ``threshold_m`` of water.

    The engine counts people exposed (> 0.5 m) and needing rescue (> 1.5 m), DESIGN.md "Buildings in water";
    NaN counts as dry.
    """
    return int(population[np.fmax(depth_m.reshape(-1)[cells], 0.0) > threshold_m].sum())
