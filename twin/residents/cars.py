"""Car trips: handed to the traffic model through the engine's traffic service, and what became of them.

The members of a household who leave from the same node in the same step by car share one vehicle (a car
class trip of platoon 1). Through ``ctx.services["traffic"]`` (:class:`twin.traffic.service.TrafficService`)
the trips become vehicles of the traffic model: they queue at origins, share links with every other vehicle,
stop at closures and reroute around them (the link transmission model of :mod:`twin.traffic.sim`). Its reports
say which arrived and which were stranded (no open way left to the destination); drivers of a stranded car
leave it where it stopped (the car is parked there: redirected to that node, so the traffic model takes it off
the roads instead of driving it on empty if a way reopens) and walk on from the nearest walkable node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.city.build import City
from twin.sim.state import SimState
from twin.traffic.reports import TrafficReport

OWNER = "residents"
"""The owner name of the residents' vehicles in the traffic model."""


def vehicles_of(household: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One vehicle per (household, origin node) among persons leaving together: (first person, vehicle of each)."""
    key = household.astype(np.int64) * (int(node.max(initial=0)) + 1) + node
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse


def trip_frame(origin: np.ndarray, destination: np.ndarray, departure_s: np.ndarray) -> pd.DataFrame:
    """The frame ``add_trips`` takes: one car (platoon 1) per row."""
    return pd.DataFrame(
        {
            "origin": origin.astype(np.int64),
            "destination": destination.astype(np.int64),
            "departure_s": np.asarray(departure_s, dtype=np.float64),
            "vehicle_class": np.full(len(origin), "car"),
            "platoon": np.ones(len(origin), dtype=np.int64),
        }
    )


def passable(city: City, state: SimState, drive_node: np.ndarray) -> np.ndarray:
    """Whether a car can leave each drivable node: some link out of it is open."""
    links = city.drive.links
    open_out = np.bincount(links["src"].to_numpy()[~state.link_closed()], minlength=city.drive.n_nodes) > 0
    return open_out[drive_node]


@dataclass(frozen=True)
class CarOutcomes:
    """What the traffic reports mean for the residents' cars: each vehicle's first arrival or stranding.

    Attributes
    ----------
    arrived, arrived_s
        Vehicles that reached their destination, and when.
    stranded, stranded_node
        Vehicles stranded before arriving, and the drivable node where they stopped.
    park
        Per stranded vehicle: whether it is still on the traffic model's books (it did not also arrive in the same
        reports), so it is to be parked where it stopped.
    """

    arrived: np.ndarray
    arrived_s: np.ndarray
    stranded: np.ndarray
    stranded_node: np.ndarray
    park: np.ndarray


def outcomes(report: TrafficReport) -> CarOutcomes:
    """Each vehicle's first terminal report (arrived or stranded; reports are sorted by time) in ``report``.

    A car stranded and then resumed within the same reports still counts as stranded: its people left it.
    """
    arrivals, strandings = report.of("arrived"), report.of("stranded")
    kind = np.concatenate([np.zeros(len(arrivals), np.int8), np.ones(len(strandings), np.int8)])
    vehicle = np.concatenate([arrivals.vehicle, strandings.vehicle])
    t_s = np.concatenate([arrivals.t_s, strandings.t_s])
    node = np.concatenate([arrivals.node, strandings.node]).astype(np.int64)
    order = np.lexsort((vehicle, t_s))
    kind, vehicle, t_s, node = kind[order], vehicle[order], t_s[order], node[order]
    _, first = np.unique(vehicle, return_index=True)
    kind, vehicle, t_s, node = kind[first], vehicle[first], t_s[first], node[first]
    stranded = vehicle[kind == 1]
    ended = np.isin(stranded, arrivals.vehicle)
    return CarOutcomes(
        arrived=vehicle[kind == 0],
        arrived_s=t_s[kind == 0],
        stranded=stranded,
        stranded_node=node[kind == 1],
        park=~ended,
    )
