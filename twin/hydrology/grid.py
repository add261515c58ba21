"""Array algorithms on a raster grid: neighbour pairs, minimax paths, D8 pointers and their traversal.

Everything here is vectorised numpy/scipy on flat cell indices (``row * cols + col``); there is no Python
loop over cells. Two ideas carry the module:

* **Minimax paths by a minimum spanning tree.** The level that Priority-Flood (Barnes, Lehman & Mulla 2014,
  Computers & Geosciences 62:117-127) fills a cell to is the lowest possible "highest point" of any path from
  the cell to an outlet: a minimax (bottleneck) path value. Minimax paths between all nodes of a graph lie on
  its minimum spanning tree (Hu 1961, Operations Research 9:898-900), so one MST (Kruskal, compiled, in
  scipy.sparse.csgraph) plus a max along the tree gives the filled surface exactly, in a fraction of the time a
  Python heap takes. The same function answers "which cells are connected to the channel below stage s"
  (the hydro-connected bathtub): a cell is wet at stage s exactly when its minimax HAND from the channel is < s.
* **Pointer jumping.** D8 flow pointers form a forest; following them ``next = next[next]`` reaches each
  cell's terminal in log2(path length) vectorised passes (Wyllie 1979 list ranking), which gives HAND targets
  and the depth of every cell in its tree; the depth orders cells upstream-to-downstream for accumulation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

# Offsets to the neighbours "after" a cell (each unordered pair once): E, S, SE, SW.
_HALF_OFFSETS_8 = ((0, 1), (1, 0), (1, 1), (1, -1))
_HALF_OFFSETS_4 = ((0, 1), (1, 0))
# All eight D8 neighbours.
D8_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def neighbour_pairs(valid: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of every pair of neighbouring valid cells, each unordered pair once.

    Parameters
    ----------
    valid
        bool grid (rows x cols).
    connectivity
        4 (edge neighbours) or 8 (edge and corner neighbours).
    """
    rows, cols = valid.shape
    index = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    firsts, seconds = [], []
    for dr, dc in _HALF_OFFSETS_8 if connectivity == 8 else _HALF_OFFSETS_4:
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        a = index[r0:r1, c0:c1]
        b = index[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        both = valid[r0:r1, c0:c1] & valid[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        firsts.append(a[both])
        seconds.append(b[both])
    return np.concatenate(firsts), np.concatenate(seconds)


def border_cells(valid: np.ndarray) -> np.ndarray:
    """bool grid: valid cells on the grid's edge or next (8-neighbour) to an invalid cell."""
    padded = np.pad(valid, 1, constant_values=False)
    rows, cols = valid.shape
    all_neighbours_valid = np.ones_like(valid)
    for dr, dc in D8_OFFSETS:
        all_neighbours_valid &= padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
    return valid & ~all_neighbours_valid


def minimax_from_sources(
    values: np.ndarray, sources: np.ndarray, valid: np.ndarray, connectivity: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """For each cell, the lowest possible highest value on a path from any source to it.

    ``m(c) = min over paths P from a source to c of max(values[p] for p in P)``, the path's both ends
    included. With ``values`` = elevation and ``sources`` = outlets this is the Priority-Flood filled
    surface (Barnes et al. 2014); with ``values`` = HAND and ``sources`` = channel cells, ``m(c) < s`` says
    that c is hydraulically connected to the channel at stage s.

    Computed on the minimum spanning tree of the grid graph with edge weight max(values[a], values[b]) plus a
    root joined to every source (weight values[source]): the tree path from the root to c is a minimax path
    (Hu 1961), and its maximum is taken by pointer jumping up the tree.

    Parameters
    ----------
    values
        float grid.
    sources
        bool grid: where paths may start.
    valid
        bool grid: cells paths may use (NaN cells of the DEM are invalid).
    connectivity
        4 or 8: which neighbours a path may step to.

    Returns
    -------
    minimax : float64 grid
        ``inf`` where no path from a source exists, NaN where invalid.
    parent : int64 flat array
        The next cell on the tree path towards the sources (-1 at sources, which lead to the root, and at
        unreached or invalid cells).
    """
    shape = values.shape
    n = values.size
    flat_values = values.astype(np.float64).ravel()
    usable = valid.ravel() & np.isfinite(flat_values)
    a, b = neighbour_pairs(usable.reshape(shape), connectivity)
    start = np.flatnonzero(sources.ravel() & usable)
    root = n
    # Kruskal ignores zero weights (scipy stores them as missing edges): shift every weight above zero.
    low = float(flat_values[usable].min()) if usable.any() else 0.0
    shift = 1.0 - low
    weight = np.concatenate([np.maximum(flat_values[a], flat_values[b]), flat_values[start]]) + shift
    graph = sp.coo_matrix(
        (weight, (np.concatenate([a, start]), np.concatenate([b, np.full(len(start), root)]))), shape=(n + 1, n + 1)
    ).tocsr()
    tree = csgraph.minimum_spanning_tree(graph)
    _, predecessors = csgraph.breadth_first_order(tree, root, directed=False, return_predecessors=True)
    parent = predecessors[:n].astype(np.int64)
    reached = parent >= 0
    parent[~reached] = -1
    parent[parent == root] = -1
    minimax = np.where(reached, flat_values, np.inf)
    minimax = _max_up_tree(minimax, parent)
    minimax[~usable] = np.nan
    return minimax.reshape(shape), parent


def _max_up_tree(values: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Max of ``values`` over each node and all its ancestors (pointer jumping; parent -1 = root)."""
    best = values.copy()
    pointer = np.where(parent >= 0, parent, np.arange(len(parent)))
    while True:
        jumped = pointer[pointer]
        np.maximum(best, best[pointer], out=best)
        if np.array_equal(jumped, pointer):
            return best
        pointer = jumped


def d8_receivers(surface: np.ndarray, valid: np.ndarray, fallback: np.ndarray, cell_m: float) -> np.ndarray:
    """D8 flow pointers: each cell drains to its steepest strictly lower neighbour (O'Callaghan & Mark 1984).

    Slope to a neighbour = drop / distance (cell size, or cell size x sqrt(2) on diagonals). A cell with no
    strictly lower neighbour (a flat of the filled surface, or an outlet) takes ``fallback``: the parent
    towards the outlet on the fill's minimax tree, so flats drain towards their spill point without cycles.

    Parameters
    ----------
    surface
        float grid, depression-free (the filled surface).
    valid
        bool grid.
    fallback
        int64 flat array: where a cell drains when no neighbour is lower (-1: off the map).
    cell_m
        Cell size (m).

    Returns
    -------
    int64 flat array
        Receiver of each cell, -1 where the water leaves the map, and at invalid cells.
    """
    rows, cols = surface.shape
    z = np.where(valid, surface.astype(np.float64), np.inf)
    padded = np.pad(z, 1, constant_values=np.inf)
    index = np.pad(np.arange(rows * cols, dtype=np.int64).reshape(rows, cols), 1, constant_values=-1)
    best_slope = np.zeros((rows, cols))
    receiver = np.full((rows, cols), -1, dtype=np.int64)
    for dr, dc in D8_OFFSETS:
        neighbour = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
        with np.errstate(invalid="ignore"):  # inf - inf between two invalid cells: NaN, never steeper
            slope = (z - neighbour) / (cell_m * (np.sqrt(2.0) if dr and dc else 1.0))
        steeper = slope > best_slope  # strictly lower neighbours only; ties keep the first direction
        best_slope[steeper] = slope[steeper]
        receiver[steeper] = index[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols][steeper]
    flat = receiver.ravel()
    no_descent = (flat < 0) & valid.ravel()
    flat[no_descent] = fallback[no_descent]
    flat[~valid.ravel()] = -1
    return flat


def self_pointers(receiver: np.ndarray) -> np.ndarray:
    """Receivers with -1 replaced by the cell itself (a terminal points to itself, for pointer jumping)."""
    return np.where(receiver >= 0, receiver, np.arange(len(receiver)))


def first_reached(receiver: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """For each cell, the first cell of its D8 path (itself included) where ``stop`` holds.

    Returns the terminal of the path (where the water leaves the map) when it never meets ``stop``; the
    caller tests ``stop[result]``. Pointer jumping: log2(longest path) vectorised passes.
    """
    pointer = np.where(stop, np.arange(len(receiver)), self_pointers(receiver))
    while True:
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            return pointer
        pointer = jumped


def path_depths(receiver: np.ndarray) -> np.ndarray:
    """Number of D8 steps from each cell to the end of its path (list ranking by pointer jumping, Wyllie 1979)."""
    pointer = self_pointers(receiver)
    depth = (receiver >= 0).astype(np.int64)
    while True:
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            return depth
        depth = depth + depth[pointer]
        pointer = jumped


def upstream_levels(receiver: np.ndarray, cells: np.ndarray | None = None) -> list[np.ndarray]:
    """Cells grouped by path depth, deepest (most upstream) first: an order in which every cell comes
    before its receiver, for accumulating downstream level by level.

    Parameters
    ----------
    receiver
        D8 receivers (-1 = leaves the map).
    cells
        Only these cells (flat indices); default all cells that have a receiver.
    """
    depth = path_depths(receiver)
    chosen = np.flatnonzero(receiver >= 0) if cells is None else cells[receiver[cells] >= 0]
    order = chosen[np.argsort(-depth[chosen], kind="stable")]
    cut = np.flatnonzero(np.diff(depth[order])) + 1
    return np.split(order, cut)


def accumulate(receiver: np.ndarray, weight: np.ndarray, levels: list[np.ndarray] | None = None) -> np.ndarray:
    """Flow accumulation: each cell's weight plus everything that drains through it.

    ``A(c) = w(c) + sum of A(u) over cells u whose receiver is c`` (O'Callaghan & Mark 1984), evaluated level by
    level from the most upstream cells, so each level is one vectorised ``np.add.at``.
    """
    total = weight.astype(np.float64).copy()
    for level in levels if levels is not None else upstream_levels(receiver):
        np.add.at(total, receiver[level], total[level])
    return total


def min_downstream(receiver: np.ndarray, values: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Running minimum of ``values`` down the D8 paths, restricted to cells where ``along`` holds.

    ``r(c) = min(values(c), min of r(u) over cells u in ``along`` draining into c)``: along a channel this gives
    a bed profile that never rises downstream (a thalweg), however noisy the DEM is.
    """
    result = values.astype(np.float64).copy()
    cells = np.flatnonzero(along)
    feeding = cells[(receiver[cells] >= 0)]
    feeding = feeding[along[receiver[feeding]]]
    for level in upstream_levels(receiver, feeding):
        np.minimum.at(result, receiver[level], result[level])
    return result
