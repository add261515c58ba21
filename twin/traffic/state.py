"""Everything that changes while a traffic simulation runs, as one dataclass that checkpoints save and restore.

The network and options are rebuilt from the scenario (or by the user); everything else lives in
:class:`TrafficState`: the trips (which grow as phases add trips, and whose destinations change with redirects),
the vehicles' states, the queues at origins and at links' ends, the links' counts and servers, the pending
backward-wave releases, the route trees, the recorder's open interval and rows, the owners and their untaken
reports. :meth:`TrafficState.arrays` flattens it into named numpy arrays (no pickle) and
:meth:`TrafficState.from_arrays` rebuilds it, so that a restored run continues bit for bit. The random Generator
is the engine's (or the caller's) and is saved by them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.traffic.demand import Demand, TrafficOptions
from twin.traffic.network import TrafficNetwork
from twin.traffic.reports import ReportLog
from twin.traffic.result import Recorder
from twin.traffic.routing import RouteChoice
from twin.traffic.timequeue import TimeQueue

SCENARIO_OWNER = "scenario"
"""Owner of the trips a simulation starts with (owner code 0)."""

VEHICLE_ARRAYS: dict[str, tuple[type, float]] = {
    # trips: where from and to, when, what, for whom
    "origin": (np.int32, -1),
    "destination": (np.int32, -1),
    "departure_s": (np.float64, np.nan),
    "vehicle_class": (np.int8, 0),
    "platoon": (np.int32, 1),
    "owner": (np.int16, 0),
    "start_node": (np.int32, -1),  # where it (re-)enters the network: its origin, or where it resumed
    "ready_s": (np.float64, np.nan),  # from when: its departure, or when it resumed
    "dest_index": (np.int32, -1),  # its destination's row of the route trees
    # where each vehicle is
    "status": (np.int8, 0),
    "link": (np.int32, -1),
    "entered_s": (np.float64, np.nan),
    "exit_min_s": (np.float64, np.nan),
    "route_m": (np.float64, 0.0),
    "end_s": (np.float64, np.nan),
    "end_node": (np.int32, -1),
    "at_end": (bool, False),  # in ``end_queue``
    # the link each vehicle waits for (at its link's end or its origin), -1 before it chose, and when a held
    # driver re-chooses next (inf: never; ``TrafficOptions.rechoice_every_s``)
    "next_link": (np.int32, -1),
    "rechoice_s": (np.float64, np.inf),
}
"""Per-vehicle arrays (vehicle id = index) with their dtype and the value a vehicle starts with."""

LINK_ARRAYS = (
    "occupancy",
    "cum_in",
    "cum_out",
    "entry_free_s",
    "released",
    "last_exit_s",
    "last_weight",
    "stuck_by_link",
)
"""Per-link arrays (float64)."""

INDEX_ARRAYS = ("dep_order", "origin_queue", "end_queue")
"""Vehicle ids in queue order."""

SCALARS = ("clock_s", "dep_next", "vehicles_stuck", "next_route_s", "route_refreshes", "next_record_s", "resume_due")
"""Scalars saved as one float64 array (with ``step_times`` after them)."""


@dataclass
class TrafficState:
    """The changing state of a :class:`~twin.traffic.sim.TrafficSim`.

    Attributes
    ----------
    origin, destination, departure_s, vehicle_class, platoon, owner, start_node, ready_s, dest_index, status,
    link, entered_s, exit_min_s, route_m, end_s, end_node, at_end, next_link, rechoice_s
        Per vehicle (see :data:`VEHICLE_ARRAYS`); ``destination`` is the current one (after redirects).
    dep_order, dep_next
        Vehicle ids by departure time, and how many of them have departed (``dep_order[dep_next:]`` wait).
    origin_queue
        Departed vehicles waiting to enter the network, by ``start_node``, then in the order they got there.
    end_queue
        Vehicles at their link's end, by link, then arrival there, then id.
    moving
        Vehicles on a link short of its end, by when they reach it.
    pending
        Space released at links' upstream ends, by when it arrives there (link, vehicles).
    occupancy, cum_in, cum_out, entry_free_s, released, last_exit_s, last_weight, stuck_by_link
        Per link (see :data:`LINK_ARRAYS`).
    routes
        The route trees (and their destinations).
    routed_closed
        The closures the newest trees were computed with (None before the first).
    clock_s, dep_next, vehicles_stuck, next_route_s, route_refreshes, next_record_s, step_times
        Clock and counters.
    resume_due
        Whether stranded vehicles are to be looked at in the next sub-step even if no tree changes (one was
        redirected).
    recorder
        The time series so far.
    owners
        Owner names; a vehicle's ``owner`` indexes it (``owners[0]`` is the scenario).
    reports
        Reports not yet taken by their owners.
    """

    origin: np.ndarray
    destination: np.ndarray
    departure_s: np.ndarray
    vehicle_class: np.ndarray
    platoon: np.ndarray
    owner: np.ndarray
    start_node: np.ndarray
    ready_s: np.ndarray
    dest_index: np.ndarray
    status: np.ndarray
    link: np.ndarray
    entered_s: np.ndarray
    exit_min_s: np.ndarray
    route_m: np.ndarray
    end_s: np.ndarray
    end_node: np.ndarray
    at_end: np.ndarray
    next_link: np.ndarray
    rechoice_s: np.ndarray
    dep_order: np.ndarray
    origin_queue: np.ndarray
    end_queue: np.ndarray
    moving: TimeQueue
    pending: TimeQueue
    occupancy: np.ndarray
    cum_in: np.ndarray
    cum_out: np.ndarray
    entry_free_s: np.ndarray
    released: np.ndarray
    last_exit_s: np.ndarray
    last_weight: np.ndarray
    stuck_by_link: np.ndarray
    routes: RouteChoice
    recorder: Recorder
    routed_closed: np.ndarray | None = None
    clock_s: float = 0.0
    dep_next: int = 0
    vehicles_stuck: float = 0.0
    next_route_s: float = 0.0
    route_refreshes: int = 0
    next_record_s: float = 0.0
    resume_due: bool = False
    step_times: list[float] = field(default_factory=lambda: [0.0, 0.0])
    owners: list[str] = field(default_factory=lambda: [SCENARIO_OWNER])
    reports: ReportLog = field(default_factory=ReportLog)

    # ------------------------------------------------------------------ building
    @classmethod
    def initial(cls, network: TrafficNetwork, options: TrafficOptions, demand: Demand) -> TrafficState:
        """The state before the first step: every trip of ``demand`` waiting, owned by the scenario."""
        destinations, dest_index = np.unique(demand.destination, return_inverse=True)
        arrays: dict[str, Any] = {name: np.zeros(0, dtype=dtype) for name, (dtype, _) in VEHICLE_ARRAYS.items()}
        arrays.update({name: np.zeros(network.n_links) for name in LINK_ARRAYS})
        arrays.update({name: np.zeros(0, dtype=np.intp) for name in INDEX_ARRAYS})
        state = cls(
            **arrays,
            moving=TimeQueue((np.intp,)),
            pending=TimeQueue((np.intp, np.float64)),
            routes=RouteChoice(
                network,
                destinations.astype(np.int32),
                options.route_memory,
                options.route_noise,
                exact_destinations=options.route_exact_destinations,
            ),
            recorder=Recorder(network.n_links, options.record_links),
            next_record_s=options.record_every_s,
        )
        for name in ("entry_free_s", "last_exit_s"):
            getattr(state, name)[:] = -np.inf  # the links' servers have never been busy
        state.add_vehicles(demand, 0, dest_index.astype(np.int32))
        return state

    def add_vehicles(self, demand: Demand, owner: int, dest_index: np.ndarray) -> np.ndarray:
        """Append the trips of ``demand`` (waiting, owned by ``owner``) and return their vehicle ids."""
        first, n = self.n_vehicles, demand.n_vehicles
        given = {
            "origin": demand.origin,
            "destination": demand.destination,
            "departure_s": demand.departure_s,
            "vehicle_class": demand.vehicle_class,
            "platoon": demand.platoon,
            "owner": np.full(n, owner),
            "start_node": demand.origin,
            "ready_s": demand.departure_s,
            "dest_index": dest_index,
        }
        for name, (dtype, fill) in VEHICLE_ARRAYS.items():
            new = np.asarray(given[name], dtype=dtype) if name in given else np.full(n, fill, dtype=dtype)
            setattr(self, name, np.concatenate((getattr(self, name), new)))
        ids = np.arange(first, first + n, dtype=np.intp)
        waiting = np.concatenate((self.dep_order[self.dep_next :], ids))
        self.dep_order = waiting[np.argsort(self.departure_s[waiting], kind="stable")]
        self.dep_next = 0
        return ids

    @property
    def n_vehicles(self) -> int:
        """Vehicles ever added."""
        return int(self.status.size)

    def demand(self) -> Demand:
        """The trips as a :class:`Demand` (current destinations)."""
        return Demand(self.origin, self.destination, self.departure_s, self.vehicle_class, self.platoon)

    # ------------------------------------------------------------------ checkpoints
    def arrays(self) -> dict[str, np.ndarray]:
        """Everything, as named numpy arrays (copies; no pickle; owner names as a string array)."""
        arrays = {f"vehicle_{name}": getattr(self, name) for name in VEHICLE_ARRAYS}
        arrays.update({f"link_{name}": getattr(self, name) for name in LINK_ARRAYS})
        arrays.update({name: np.asarray(getattr(self, name), dtype=np.int64) for name in INDEX_ARRAYS})
        scalars = [float(getattr(self, name)) for name in SCALARS]
        arrays["scalars"] = np.array(scalars + list(self.step_times))
        arrays["routed_closed"] = (
            np.zeros(0, dtype=bool) if self.routed_closed is None else np.concatenate([[True], self.routed_closed])
        )
        arrays["owners"] = np.array(self.owners, dtype=str)
        for prefix, part in (
            ("moving", self.moving.arrays()),
            ("pending", self.pending.arrays()),
            ("routes", self.routes.arrays()),
            ("rec", self.recorder.arrays()),
            ("reports", self.reports.arrays()),
        ):
            arrays.update({f"{prefix}_{name}": a for name, a in part.items()})
        return {name: np.array(a) for name, a in arrays.items()}  # a snapshot: the run goes on in place

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], network: TrafficNetwork, options: TrafficOptions
    ) -> TrafficState:
        """The state :meth:`arrays` saved, for a simulation on the same network with the same options."""
        state = cls.initial(network, options, Demand.empty())
        for name, (dtype, _) in VEHICLE_ARRAYS.items():
            setattr(state, name, np.array(arrays[f"vehicle_{name}"], dtype=dtype))
        for name in LINK_ARRAYS:
            setattr(state, name, np.array(arrays[f"link_{name}"], dtype=np.float64))
        for name in INDEX_ARRAYS:
            setattr(state, name, np.array(arrays[name], dtype=np.intp))
        scalars = np.asarray(arrays["scalars"], dtype=np.float64)
        for name, value in zip(SCALARS, scalars[: len(SCALARS)], strict=True):
            kind = bool if name == "resume_due" else int if name in ("dep_next", "route_refreshes") else float
            setattr(state, name, kind(value))
        state.step_times = [float(v) for v in scalars[len(SCALARS) :]]
        routed = np.asarray(arrays["routed_closed"], dtype=bool)
        state.routed_closed = routed[1:].copy() if routed.size else None
        state.owners = [str(name) for name in arrays["owners"]]
        parts = {
            prefix: {k.removeprefix(f"{prefix}_"): a for k, a in arrays.items() if k.startswith(f"{prefix}_")}
            for prefix in ("moving", "pending", "routes", "rec", "reports")
        }
        state.moving.load_arrays(parts["moving"])
        state.pending.load_arrays(parts["pending"])
        state.routes.load_arrays(parts["routes"])
        state.recorder.load_arrays(parts["rec"])
        state.reports = ReportLog.from_arrays(parts["reports"])
        return state
