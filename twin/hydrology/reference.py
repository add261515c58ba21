"""The textbook Priority-Flood, kept as the reference the fast fill is tested and benchmarked against.

Barnes, Lehman & Mulla 2014 (Computers & Geosciences 62:117-127), algorithm 1: a priority queue (heapq) seeded
with the outlets, popped lowest first; each unseen neighbour (8 of them) is raised to at least the level it was
reached from. One Python loop over every cell: correct and slow. :func:`twin.hydrology.grid.minimax_from_sources`
computes the same surface on a spanning tree.
"""

from __future__ import annotations

import heapq

import numpy as np

from twin.hydrology.grid import border_cells


def heap_priority_flood(z: np.ndarray) -> np.ndarray:
    """Fill the depressions of ``z`` (NaN = no data) with outlets on the grid's edge and next to NaN cells."""
    rows, cols = z.shape
    valid = np.isfinite(z)
    filled = np.where(valid, z, np.nan).astype(float)
    seen = ~valid
    heap = [(float(filled[r, c]), int(r), int(c)) for r, c in zip(*np.nonzero(border_cells(valid)), strict=True)]
    for _, r, c in heap:
        seen[r, c] = True
    heapq.heapify(heap)
    while heap:
        level, r, c = heapq.heappop(heap)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                nr, nc = r + dr, c + dc
                if 0 <= nr < rows and 0 <= nc < cols and not seen[nr, nc]:
                    seen[nr, nc] = True
                    filled[nr, nc] = max(filled[nr, nc], level)
                    heapq.heappush(heap, (filled[nr, nc], nr, nc))
    return filled
