"""Records due at given times, kept sorted by time so that a sub-step takes only what falls due in it.

A traffic sub-step needs the vehicles reaching their link's end and the space released at links' upstream ends
by its end time. Scanning every pending record each sub-step costs as much as the network holds, and splitting
each batch into time buckets costs a Python loop over as many buckets as the batch spans (a release can be due
an hour later on a long link). Instead the records stay in arrays sorted by time: a new batch is sorted (it is
small) and merged in with one ``searchsorted`` and ``insert``, and what falls due is a prefix, cut off with one
``searchsorted``.
"""

from __future__ import annotations

import numpy as np

from twin.traffic.kernels import insert_at


class TimeQueue:
    """Records (a time and parallel fields) sorted by time.

    Parameters
    ----------
    dtypes
        The dtype of each field, in order.
    """

    def __init__(self, dtypes: tuple[type, ...]) -> None:
        self.dtypes = dtypes
        self._times = np.zeros(0)
        self._fields: list[np.ndarray] = [np.zeros(0, dtype=d) for d in dtypes]
        self._new: list[tuple[np.ndarray, ...]] = []
        self._none = (np.zeros(0), *(np.zeros(0, dtype=d) for d in dtypes))

    def add(self, times: np.ndarray, *fields: np.ndarray) -> None:
        """Add records due at ``times`` (merged into the sorted arrays at the next :meth:`pop`)."""
        if times.size:
            self._new.append((times, *fields))

    def _merge(self) -> None:
        if not self._new:
            return
        columns = [np.concatenate(column) for column in zip(*self._new, strict=True)]
        self._new = []
        order = np.argsort(columns[0], kind="stable")
        times = columns[0][order]
        at = np.searchsorted(self._times, times, side="right")  # after equal times already held: stable
        self._times = insert_at(self._times, at, times)
        self._fields = [
            insert_at(held, at, column[order]) for held, column in zip(self._fields, columns[1:], strict=True)
        ]

    def pop(self, until: float) -> tuple[np.ndarray, ...]:
        """Remove and return the records due at or before ``until`` (times first, then the fields), by time."""
        self._merge()
        if self._times.size == 0 or self._times[0] > until:  # nothing due: the common case, kept cheap
            return self._none
        cut = int(np.searchsorted(self._times, until, side="right"))
        due = (self._times[:cut], *(f[:cut] for f in self._fields))
        self._times = self._times[cut:]
        self._fields = [f[cut:] for f in self._fields]
        return due

    def everything(self) -> tuple[np.ndarray, ...]:
        """Every record still held (for checkpoints), by time, without removing it."""
        self._merge()
        return (self._times, *self._fields)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every record held, as ``times`` and ``field0``, ``field1``... (for checkpoints)."""
        times, *fields = self.everything()
        return {"times": times, **{f"field{i}": f for i, f in enumerate(fields)}}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Hold exactly the records :meth:`arrays` saved."""
        self.clear()
        fields = [np.asarray(arrays[f"field{i}"], dtype=d) for i, d in enumerate(self.dtypes)]
        self.add(np.asarray(arrays["times"], dtype=np.float64), *fields)

    def clear(self) -> None:
        """Drop every record."""
        self._times = np.zeros(0)
        self._fields = [np.zeros(0, dtype=d) for d in self.dtypes]
        self._new = []
