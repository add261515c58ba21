"""Car trips: handed to the traffic model's service, or timed at free flow when the run has no traffic.

The members of a household who leave from the same node in the same step by car share one vehicle (a car
class trip of platoon 1). Through ``ctx.services["traffic"]`` (:class:`TrafficService`) the trips become
vehicles of the traffic model, and its reports say which arrived and which stranded (their drivers then walk
on from the node where the car stopped, or from where they set off when the report has no node). Without the
service, cars are not simulated: a car arrives after the free-flow travel time over the roads open when it
leaves (no congestion, no water on the way), which the run's assumptions say.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import scipy.sparse.csgraph as csgraph

from twin.city.build import City
from twin.sim.access import link_times_s
from twin.sim.state import SimState

OWNER = "residents"


@runtime_checkable
class TrafficService(Protocol):
    """What the residents need from traffic (the engine-seams issue's traffic service)."""

    def add_trips(self, frame: pd.DataFrame, owner: str) -> np.ndarray:
        """Add trips (``origin``, ``destination`` drivable node ids, ``departure_s``, ``vehicle_class``,
        ``platoon``); return one vehicle id per row."""
        ...

    def take_reports(self, owner: str) -> pd.DataFrame:
        """Vehicles of ``owner`` that arrived or stranded since the last call: ``vehicle``, ``event``
        (``arrived`` or ``stranded``), ``t_s``, and optionally ``node`` (drivable node where it stopped)."""
        ...


def vehicles_of(household: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One vehicle per (household, origin node) among persons leaving together: (first person, vehicle of each)."""
    key = household.astype(np.int64) * (int(node.max(initial=0)) + 1) + node
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse


def trip_frame(origin: np.ndarray, destination: np.ndarray, departure_s: float) -> pd.DataFrame:
    """The frame ``add_trips`` takes: one car (platoon 1) per row."""
    return pd.DataFrame(
        {
            "origin": origin.astype(np.int64),
            "destination": destination.astype(np.int64),
            "departure_s": np.full(len(origin), float(departure_s)),
            "vehicle_class": np.full(len(origin), "car"),
            "platoon": np.ones(len(origin), dtype=np.int64),
        }
    )


class FreeFlow:
    """Free-flow travel times to each shelter and to the nearest safe place, over the roads open now (cached).

    ``times(state, safe_nodes)[k, node]``: seconds from a drivable node to shelter k (k < S) or to the nearest
    of ``safe_nodes`` (k = S); inf where no open road leads there. One Dijkstra per shelter and one from all
    safe nodes, on the reversed graph, recomputed only when closures, speeds or the safe set change.
    """

    def __init__(self, city: City, shelter_nodes: np.ndarray) -> None:
        self.city, self.shelter_nodes = city, shelter_nodes
        self._key = b""
        self._times = np.zeros((0, 0))

    def times(self, state: SimState, safe_nodes: np.ndarray) -> np.ndarray:
        """(shelters + 1, drivable nodes) travel times in s (see the class docstring)."""
        closed = state.link_closed()
        key = closed.tobytes() + state.link_speed_factor.tobytes() + safe_nodes.tobytes()
        if key != self._key:
            self._key = key
            reverse = self.city.drive.adjacency(link_times_s(self.city, state), closed=closed).T.tocsr()
            n = self.city.drive.n_nodes
            times = np.full((len(self.shelter_nodes) + 1, n), np.inf)
            if len(self.shelter_nodes):
                times[:-1] = csgraph.dijkstra(reverse, directed=True, indices=self.shelter_nodes)
            if len(safe_nodes):
                times[-1] = csgraph.dijkstra(reverse, directed=True, indices=safe_nodes, min_only=True)
            self._times = times
        return self._times


def passable(city: City, state: SimState, drive_node: np.ndarray) -> np.ndarray:
    """Whether a car can leave each drivable node: some link out of it is open."""
    links = city.drive.links
    open_out = np.bincount(links["src"].to_numpy()[~state.link_closed()], minlength=city.drive.n_nodes) > 0
    return open_out[drive_node]
