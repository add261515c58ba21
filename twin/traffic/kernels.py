"""Segmented array operations: the building blocks that replace per-link Python loops.

Vehicles are sorted by a group key (a link id) so each group is a contiguous segment; these functions then
compute per-segment prefix sums and running maxima over the whole array at once.
"""

from __future__ import annotations

import numpy as np


def segment_starts(keys: np.ndarray) -> np.ndarray:
    """True where a new segment begins in ``keys`` (sorted so that equal keys are contiguous)."""
    starts = np.ones(keys.size, dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    return starts


def exclusive_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of ``values`` before each element within its segment (0 at each segment's first element)."""
    before = np.cumsum(values) - values
    seg = np.cumsum(starts) - 1
    return np.asarray(before - before[starts][seg])


def inclusive_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum of ``values`` up to and including each element within its segment."""
    return exclusive_cumsum(values, starts) + values


def segment_cummax(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running maximum within each segment (a Hillis-Steele scan: log2(longest segment) array passes).

    Exact in floating point (a maximum never rounds), unlike offsetting segments by large constants.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    if out.size < 2:
        return out
    seg = np.cumsum(starts)
    first = np.flatnonzero(starts)
    longest = int(np.max(np.diff(np.append(first, out.size))))
    step = 1
    while step < longest:
        same = seg[step:] == seg[:-step]
        out[step:] = np.where(same, np.maximum(out[step:], out[:-step]), out[step:])
        step *= 2
    return out


def dd1_times(
    arrival: np.ndarray, weight: np.ndarray, starts: np.ndarray, capacity: np.ndarray, free_at: np.ndarray
) -> np.ndarray:
    """Departure times from deterministic servers (D/D/1, Vickrey 1969), one per segment, all at once.

    Customers sorted by server, then arrival, leave at ``d_j = max(a_j, d_{j-1} + p_{j-1} / c)`` (``p``: their
    sizes, ``c``: the server's rate), the server being free from ``free_at`` (each customer carries its server's
    value). The max-plus recursion unrolls to ``d_j = A_j + max(f, max_{k<=j}(a_k - A_k))`` with ``A_j = C_j / c``
    (``C_j``: the sizes ahead in the segment): a segmented prefix sum and running maximum, exact in continuous
    time. A rate of 0 or less never serves (``inf``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(capacity > 0, 1.0 / capacity, 0.0)
    ahead = exclusive_cumsum(weight, starts) * per_unit
    out = np.maximum(ahead + np.maximum(free_at, segment_cummax(arrival - ahead, starts)), arrival)
    out[capacity <= 0] = np.inf
    return np.asarray(out)


def insert_at(base: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.insert(base, at, values)`` for non-decreasing ``at`` (values keep their order), in a few array passes."""
    out = np.empty(base.size + values.size, dtype=base.dtype)
    where = at + np.arange(at.size)
    mask = np.ones(out.size, dtype=bool)
    mask[where] = False
    out[where] = values
    out[mask] = base
    return out
