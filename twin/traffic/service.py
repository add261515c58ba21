"""Traffic as a service: what the engine's traffic phase offers the other phases, as ``ctx.services["traffic"]``.

Residents hand their car trips to traffic, crews their emergency vehicles, and both need to know who arrived.
:class:`TrafficService` is the small part of :class:`~twin.traffic.sim.TrafficSim` they may use: add trips at any
time, redirect vehicles, take the reports of their own vehicles, see where vehicles are and how long each link
takes now. It cannot step the simulation or touch its state otherwise.

Node ids are those of the City's drivable network (row positions of ``City.drive.nodes``, as in
``City.homes["drive_node"]`` and ``City.facilities["drive_node"]``); vehicle ids are those :meth:`add_trips`
returned; times are simulated seconds since the run's start. Within an engine step the traffic phase runs last,
so trips added by a phase in step ``k`` (departing at or after ``ctx.clock_s``) are driven in that same step, and
their reports are there to take from step ``k + 1`` on::

    traffic = ctx.services["traffic"]
    ids = traffic.add_trips(
        pd.DataFrame({"origin": homes, "destination": shelters, "departure_s": ctx.clock_s + delay_s}),
        owner="residents",
    )
    ...
    report = traffic.take_reports("residents")  # since the last call, by time
    arrived = report.of("arrived")  # arrays: vehicle, t_s, node
    stranded = report.of("stranded")  # no way left to their destination (they resume if one reopens)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.traffic.reports import TrafficReport
from twin.traffic.sim import TrafficSim


class TrafficService:
    """The traffic simulator as other phases see it.

    Parameters
    ----------
    sim
        The simulation the traffic phase steps.
    """

    def __init__(self, sim: TrafficSim) -> None:
        self._sim = sim

    @property
    def now_s(self) -> float:
        """The traffic's clock (s): trips added now may depart at this time or later."""
        return self._sim.clock_s

    def add_trips(self, frame: pd.DataFrame, owner: str) -> np.ndarray:
        """Add trips and return their vehicle ids (int64); see :meth:`TrafficSim.add_trips`.

        Parameters
        ----------
        frame
            ``origin``, ``destination`` (node ids), ``departure_s`` (>= :attr:`now_s`), optional
            ``vehicle_class`` (``car``, ``emergency``, ``crew``, ``bus``) and ``platoon`` (vehicles per row).
        owner
            The asking phase's name; it takes its reports with :meth:`take_reports`.

        Raises
        ------
        twin.errors.TwinError
            Every bad row at once (unknown node, departure in the past, unknown class, bad platoon).
        """
        return self._sim.add_trips(frame, owner)

    def redirect(self, vehicle_ids: np.ndarray, destinations: np.ndarray | int) -> None:
        """Send vehicles still travelling (or stranded) to new destinations from where they are; see
        :meth:`TrafficSim.redirect`."""
        self._sim.redirect(np.asarray(vehicle_ids), np.asarray(destinations))

    def take_reports(self, owner: str) -> TrafficReport:
        """What became of ``owner``'s vehicles since its last call: arrivals, strandings, resumptions and
        abandonments (vehicle, time, node), each handed out once."""
        return self._sim.take_reports(owner)

    def vehicle_positions(self, vehicle_ids: np.ndarray | None = None) -> pd.DataFrame:
        """Where vehicles are now (link and offset on it, or node); see :meth:`TrafficSim.vehicle_positions`."""
        return self._sim.vehicle_positions(vehicle_ids)

    def link_times_s(self) -> np.ndarray:
        """How long each link takes now (s, float64 per link; ``inf`` on links with a speed factor of 0), as the
        traffic model's own route choice sees it: the same function its route trees are built on
        (:meth:`TrafficSim.link_costs`, by the scenario's ``route_cost``), without the drivers' perception error.

        With the default ``route_cost: queue`` it is ``length / (free speed x speed factor)`` plus the queue
        delay at the link's end, the larger of ``queued / capacity`` (a point queue, Vickrey 1969) and the mean
        time the queued vehicles have waited (:func:`twin.traffic.routing.current_link_times_s`); with
        ``mean_speed``, ``length /`` the mean speed of the vehicles on the link, or its free-flow time when it is
        empty (UXsim's instantaneous travel time, :func:`twin.traffic.routing.mean_speed_link_times_s`); with
        ``free_flow``, the free-flow time. Read only: the link states are those the traffic phase last applied,
        at :attr:`now_s`.
        """
        sim = self._sim
        return np.asarray(sim.link_costs(sim.clock_s), dtype=np.float64)  # its route choice's own link times
