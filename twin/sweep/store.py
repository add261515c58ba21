"""The result store of a sweep folder: one Parquet row per run, written in atomic batches.

A sweep folder holds ``sweep.json`` (the experiment as run), ``design.parquet`` (its points),
``results/part-NNNNNN.parquet`` (the rows, one file per batch, each written whole through a temporary file
and a rename, so a killed sweep leaves whole batches only) and, if kept, ``runs/<key>/`` run folders.
The store's keys are the runs done: a sweep started again skips them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pandas as pd

from twin.atomic import write_parquet_atomic
from twin.errors import RunError

RESULTS = "results"
_PART = re.compile(r"^part-(\d{6})\.parquet$")


class ResultStore:
    """Rows of a sweep, appended in batches.

    Parameters
    ----------
    folder
        The sweep folder (created if missing).
    batch_size
        Rows per batch file.
    flush_every_s
        Also write a batch once this long has passed since the last one (so a long sweep loses little).
    """

    def __init__(self, folder: Path, batch_size: int = 100, flush_every_s: float = 30.0) -> None:
        self.parts = Path(folder) / RESULTS
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"{self.parts}: cannot create the results folder: {exc.strerror or exc}") from None
        self.batch_size = batch_size
        self.flush_every_s = flush_every_s
        self._pending: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        numbers = [int(m[1]) for p in self.parts.iterdir() if (m := _PART.match(p.name))]
        self._next = max(numbers, default=0) + 1

    def read(self) -> pd.DataFrame:
        """Every row written so far (whole batches), one per key, in the order of the design."""
        return read_results(self.parts.parent)

    def done_keys(self) -> set[str]:
        """Keys of the runs the store holds."""
        frame = self.read()
        return set() if frame.empty else set(frame["key"])

    def add(self, row: dict[str, Any]) -> None:
        """Queue a row; write a batch when it is full or due."""
        self._pending.append(row)
        due = time.monotonic() - self._last_flush >= self.flush_every_s
        if len(self._pending) >= self.batch_size or due:
            self.flush()

    def flush(self) -> None:
        """Write the queued rows as one new batch file (atomically)."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        path = self.parts / f"part-{self._next:06d}.parquet"
        try:
            write_parquet_atomic(path, pd.DataFrame(self._pending))
        except OSError as exc:
            raise RunError(f"{path}: cannot write the batch of results: {exc.strerror or exc}") from None
        self._next += 1
        self._pending = []


def read_results(folder: Path) -> pd.DataFrame:
    """The rows of a sweep folder (empty if none), sorted by point and replication, one per key."""
    parts = sorted(p for p in (Path(folder) / RESULTS).glob("part-*.parquet") if _PART.match(p.name))
    if not parts:
        return pd.DataFrame()
    frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    frame = frame.drop_duplicates("key", keep="first")  # defensive: the runner never writes a key twice
    return frame.sort_values(["point", "replication", "key"], kind="stable").reset_index(drop=True)
