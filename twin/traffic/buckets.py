"""Records due at given times, kept in time buckets so that a sub-step touches only what falls due in it.

A traffic sub-step needs the vehicles reaching their link's end and the space released at links' upstream ends
by its end time. Scanning every pending record each sub-step costs as much as the whole network holds; buckets
of one sub-step's width make it cost what is due (plus the records of the one bucket that is due in part).
"""

from __future__ import annotations

import math

import numpy as np


class TimeBuckets:
    """Records (a time and parallel fields) grouped by ``floor(time / width)``.

    Parameters
    ----------
    width
        Bucket width (s), typically the sub-step.
    dtypes
        The dtype of each field, in order (for empty results).
    """

    def __init__(self, width: float, dtypes: tuple[type, ...]) -> None:
        self.width = width
        self.dtypes = dtypes
        self._buckets: dict[int, list[tuple[np.ndarray, ...]]] = {}

    def add(self, times: np.ndarray, *fields: np.ndarray) -> None:
        """Add records due at ``times``."""
        if times.size == 0:
            return
        keys = np.floor(times / self.width).astype(np.int64)
        low, high = int(keys.min()), int(keys.max())
        if low == high:
            self._buckets.setdefault(low, []).append((times, *fields))
            return
        order = np.argsort(keys, kind="stable")
        cuts = np.flatnonzero(np.diff(keys[order])) + 1
        for part in np.split(order, cuts):
            self._buckets.setdefault(int(keys[part[0]]), []).append((times[part], *(f[part] for f in fields)))

    def pop(self, until: float) -> tuple[np.ndarray, ...]:
        """Remove and return the records due at or before ``until`` (times first, then the fields)."""
        last = math.floor(until / self.width)
        keys = [k for k in self._buckets if k <= last]
        parts = [part for k in keys for part in self._buckets.pop(k)]
        if not parts:
            return self._empty()
        arrays = [np.concatenate(column) for column in zip(*parts, strict=True)]
        due = arrays[0] <= until
        if not due.all():
            self._buckets.setdefault(last, []).append(tuple(a[~due] for a in arrays))
            arrays = [a[due] for a in arrays]
        return tuple(arrays)

    def everything(self) -> tuple[np.ndarray, ...]:
        """Every record still held (for checkpoints), without removing it."""
        parts = [part for bucket in self._buckets.values() for part in bucket]
        if not parts:
            return self._empty()
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))

    def clear(self) -> None:
        """Drop every record."""
        self._buckets.clear()

    def _empty(self) -> tuple[np.ndarray, ...]:
        return (np.zeros(0), *(np.zeros(0, dtype=d) for d in self.dtypes))
