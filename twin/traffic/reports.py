"""What happened to the vehicles a phase handed to traffic: arrivals, strandings, resumptions and abandonments.

Every vehicle belongs to an *owner* (the phase or user that added it: ``"scenario"`` for the scenario's demand,
``"residents"``, ``"crews"``...). Each time a vehicle of an owner other than the scenario arrives, is stranded
(no route left to its destination), resumes (a way to its destination reopened) or is abandoned in gridlock, the
simulator notes ``(kind, vehicle, time, node)`` in a :class:`ReportLog`; the owner takes its notes with
``TrafficSim.take_reports(owner)`` as one :class:`TrafficReport` of arrays, once per step or whenever it likes.
The scenario's own trips are reported in the trips table instead (nobody takes their notes, so none are kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

REPORT_KINDS: tuple[str, ...] = ("arrived", "stranded", "resumed", "abandoned")
"""Kinds of report, in the order of their codes."""
ARRIVED_REPORT, STRANDED_REPORT, RESUMED_REPORT, ABANDONED_REPORT = range(len(REPORT_KINDS))


@dataclass(frozen=True)
class TrafficReport:
    """Reports of one owner's vehicles, sorted by time, then vehicle.

    Attributes
    ----------
    kind
        Index into :data:`REPORT_KINDS` (int8).
    vehicle
        Vehicle id, as :meth:`twin.traffic.sim.TrafficSim.add_trips` returned it (int64).
    t_s
        When (s since the simulation's start).
    node
        Where: the node it arrived, was stranded, resumed or was abandoned at (the start of the link it was
        abandoned on).
    """

    kind: np.ndarray
    vehicle: np.ndarray
    t_s: np.ndarray
    node: np.ndarray

    @classmethod
    def empty(cls) -> TrafficReport:
        """No reports."""
        return cls(np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int32))

    def __len__(self) -> int:
        return int(self.kind.size)

    def of(self, kind: str) -> TrafficReport:
        """Only the reports of one kind (``"arrived"``, ``"stranded"``, ``"resumed"`` or ``"abandoned"``)."""
        if kind not in REPORT_KINDS:
            raise ValueError(f"unknown report kind {kind!r}; known: {', '.join(REPORT_KINDS)}")
        keep = self.kind == REPORT_KINDS.index(kind)
        return TrafficReport(self.kind[keep], self.vehicle[keep], self.t_s[keep], self.node[keep])

    def frame(self) -> pd.DataFrame:
        """The reports as a table: ``kind`` (categorical), ``vehicle``, ``t_s``, ``node``."""
        return pd.DataFrame(
            {
                "kind": pd.Categorical.from_codes(self.kind, categories=pd.Index(REPORT_KINDS)),
                "vehicle": self.vehicle,
                "t_s": self.t_s,
                "node": self.node,
            }
        )


@dataclass
class ReportLog:
    """Reports not yet taken, of every owner (chunks appended as vehicles end or resume)."""

    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, kind: int, vehicles: np.ndarray, t_s: np.ndarray, node: np.ndarray) -> None:
        """Note that ``vehicles`` did ``kind`` at ``t_s`` at ``node``."""
        if vehicles.size:
            kinds = np.full(vehicles.size, kind, dtype=np.int8)
            self.chunks.append((kinds, vehicles.astype(np.int64), t_s.astype(np.float64), node.astype(np.int32)))

    def everything(self) -> TrafficReport:
        """Every report held, in the order noted."""
        if not self.chunks:
            return TrafficReport.empty()
        kind, vehicle, t_s, node = (np.concatenate(column) for column in zip(*self.chunks, strict=True))
        return TrafficReport(kind, vehicle, t_s, node)

    def take(self, mine: np.ndarray) -> TrafficReport:
        """Remove and return the reports whose vehicles ``mine`` (per vehicle id) marks, by time, then vehicle."""
        held = self.everything()
        if len(held) == 0:
            return held
        take = mine[held.vehicle]
        keep = ~take
        self.chunks = [(held.kind[keep], held.vehicle[keep], held.t_s[keep], held.node[keep])] if keep.any() else []
        order = np.lexsort((held.vehicle[take], held.t_s[take]))
        return TrafficReport(*(column[take][order] for column in (held.kind, held.vehicle, held.t_s, held.node)))

    def arrays(self) -> dict[str, np.ndarray]:
        """The held reports as named arrays (for checkpoints)."""
        held = self.everything()
        return {"kind": held.kind, "vehicle": held.vehicle, "t_s": held.t_s, "node": held.node}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ReportLog:
        """The log :meth:`arrays` saved."""
        log = cls()
        kind = np.asarray(arrays["kind"], dtype=np.int8)
        if kind.size:
            log.chunks.append(
                (
                    kind,
                    np.asarray(arrays["vehicle"], dtype=np.int64),
                    np.asarray(arrays["t_s"], dtype=np.float64),
                    np.asarray(arrays["node"], dtype=np.int32),
                )
            )
        return log
