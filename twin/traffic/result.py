"""Traffic results: per-vehicle trips and per-link / network time series, as DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STATUS_NAMES: tuple[str, ...] = ("waiting", "queued", "on_link", "arrived", "stranded", "abandoned")
WAITING, QUEUED, ON_LINK, ARRIVED, STRANDED, ABANDONED = range(6)


@dataclass(frozen=True)
class TrafficResult:
    """What a traffic simulation produced.

    Attributes
    ----------
    trips
        One row per simulated vehicle: ``vehicle``, ``origin``, ``destination``, ``vehicle_class``, ``platoon``,
        ``departure_s``, ``arrival_s`` (NaN unless arrived), ``travel_time_s``, ``route_length_m`` (links
        entered so far), ``status`` (waiting, queued, on_link, arrived, stranded, abandoned), ``end_s`` (when
        it arrived, was stranded or abandoned), ``end_node`` (where; -1 while travelling), ``link`` (current
        link, -1 off the network).
    links
        Per link and record time ``t_s`` (end of the interval): ``inflow``, ``outflow`` (vehicles in the
        interval), ``occupancy`` (vehicles on the link at ``t_s``), ``mean_speed_mps`` (length / mean time on
        the link of the vehicles that left it in the interval; NaN if none), ``stuck`` (vehicles stuck there).
    network
        Per record time: ``departed``, ``on_network`` (on links or queued at their origin),
        ``queued_at_origin``, ``arrived``, ``stranded``, ``abandoned``, ``stuck``, ``mean_speed_ratio``
        (free-flow over actual time of the link traversals completed in the interval; NaN if none).
    abandoned
        One row per vehicle removed as gridlocked: ``t_s``, ``vehicle``, ``link`` (-1: at its origin).
    """

    trips: pd.DataFrame
    links: pd.DataFrame
    network: pd.DataFrame
    abandoned: pd.DataFrame


@dataclass
class Recorder:
    """Accumulates the interval counts of one simulation and its record rows."""

    n_links: int
    record_links: bool
    inflow: np.ndarray = field(init=False)
    outflow: np.ndarray = field(init=False)
    time_on_link: np.ndarray = field(init=False)
    free_time: float = 0.0
    actual_time: float = 0.0
    link_rows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=list
    )
    network_rows: list[dict[str, float]] = field(default_factory=list)
    abandoned_rows: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset_interval()

    def reset_interval(self) -> None:
        """Start a new record interval."""
        self.inflow = np.zeros(self.n_links)
        self.outflow = np.zeros(self.n_links)
        self.time_on_link = np.zeros(self.n_links)
        self.free_time = 0.0
        self.actual_time = 0.0

    def left(self, links: np.ndarray, weight: np.ndarray, time_on: np.ndarray, free: np.ndarray) -> None:
        """Vehicles left ``links`` after ``time_on`` seconds on them (``free``: their free-flow times)."""
        if self.record_links:  # per-link sums only when the per-link series is kept
            np.add.at(self.outflow, links, weight)
            np.add.at(self.time_on_link, links, weight * time_on)
        self.free_time += float(np.dot(weight, free))
        self.actual_time += float(np.dot(weight, time_on))

    def entered(self, links: np.ndarray, weight: np.ndarray) -> None:
        """Vehicles entered ``links``."""
        if self.record_links:
            np.add.at(self.inflow, links, weight)

    def speed_ratio(self) -> float:
        """Free-flow over actual time of the traversals completed in the interval (NaN if none)."""
        return self.free_time / self.actual_time if self.actual_time > 0 else float("nan")

    def record(
        self, t_s: float, counts: dict[str, float], occupancy: np.ndarray, stuck: np.ndarray, length_m: np.ndarray
    ) -> None:
        """Close the interval ending at ``t_s``."""
        self.network_rows.append({"t_s": t_s, **counts, "mean_speed_ratio": self.speed_ratio()})
        if self.record_links:
            with np.errstate(invalid="ignore", divide="ignore"):
                speed = np.where(self.outflow > 0, length_m * self.outflow / self.time_on_link, np.nan)
            self.link_rows.append((t_s, self.inflow, self.outflow, occupancy.copy(), speed, stuck.copy()))
        self.reset_interval()

    def arrays(self) -> dict[str, np.ndarray]:
        """The open interval's sums and the rows so far, as named arrays (for checkpoints).

        The per-link rows are not saved: a checkpointed run keeps only the network series (the engine's case).
        """
        if self.link_rows:
            raise ValueError("checkpoints of a traffic simulation that records per-link series are not supported")
        keys = sorted(self.network_rows[0]) if self.network_rows else []
        abandoned = self.abandoned_rows or [(0.0, np.zeros(0, np.int64), np.zeros(0, np.int64))]
        return {
            "inflow": self.inflow,
            "outflow": self.outflow,
            "time_on_link": self.time_on_link,
            "times": np.array([self.free_time, self.actual_time]),
            "network_keys": np.array(keys, dtype=str),
            "network": np.array([[row[k] for k in keys] for row in self.network_rows], dtype=np.float64).reshape(
                len(self.network_rows), len(keys)
            ),
            "abandoned_t": np.concatenate([np.full(len(v), t) for t, v, _ in abandoned]),
            "abandoned_vehicle": np.concatenate([v for _, v, _ in abandoned]).astype(np.int64),
            "abandoned_link": np.concatenate([lk for _, _, lk in abandoned]).astype(np.int64),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.inflow, self.outflow, self.time_on_link = (
            np.array(arrays[name], dtype=np.float64) for name in ("inflow", "outflow", "time_on_link")
        )
        self.free_time, self.actual_time = (float(v) for v in arrays["times"])
        keys = [str(k) for k in arrays["network_keys"]]
        self.network_rows = [dict(zip(keys, map(float, row), strict=True)) for row in arrays["network"]]
        t, vehicles, link = arrays["abandoned_t"], arrays["abandoned_vehicle"], arrays["abandoned_link"]
        self.abandoned_rows = [(float(time), vehicles[t == time], link[t == time]) for time in np.unique(t)]

    def links_frame(self) -> pd.DataFrame:
        """The per-link series as a long table."""
        columns = ["t_s", "link", "inflow", "outflow", "occupancy", "mean_speed_mps", "stuck"]
        if not self.link_rows:
            return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
        n = self.n_links
        t = np.repeat([row[0] for row in self.link_rows], n)
        link = np.tile(np.arange(n, dtype=np.int32), len(self.link_rows))
        parts = [np.concatenate([row[i] for row in self.link_rows]) for i in range(1, 6)]
        return pd.DataFrame(dict(zip(columns, [t, link, *parts], strict=True)))

    def network_frame(self) -> pd.DataFrame:
        """The network series."""
        return pd.DataFrame(self.network_rows)

    def abandoned_frame(self) -> pd.DataFrame:
        """The abandoned vehicles."""
        if not self.abandoned_rows:
            return pd.DataFrame(
                {
                    "t_s": pd.Series(dtype=np.float64),
                    "vehicle": pd.Series(dtype=np.int32),
                    "link": pd.Series(dtype=np.int32),
                }
            )
        t = np.concatenate([np.full(v.size, t) for t, v, _ in self.abandoned_rows])
        vehicles = np.concatenate([v for _, v, _ in self.abandoned_rows]).astype(np.int32)
        links = np.concatenate([lk for _, _, lk in self.abandoned_rows]).astype(np.int32)
        return pd.DataFrame({"t_s": t, "vehicle": vehicles, "link": links})
