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
