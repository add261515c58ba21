"""Mesoscopic traffic: a vectorised link transmission model with vehicles as arrays.

Each link is a spatial queue (Gawron 1998; MATSim's QSim, Horni et al. 2016) whose entry is governed by the
link transmission model's receiving function (Yperman 2007) and whose exit is a deterministic server:

* **Free flow.** A vehicle entering link ``l`` at time ``t_in`` reaches its downstream end at
  ``e = t_in + L / (v x speed_factor x class_speed)`` (its *earliest exit*); each vehicle carries its own
  clock, so free-flow travel times are exact to floating point whatever the sub-step.
* **Outflow capacity.** The downstream end serves vehicles in order of arrival there (earliest exit, then
  id: a passing queue, Agarwal et al. 2015, so a faster emergency vehicle overtakes on a link but not
  through a queue) at ``c = capacity x capacity_factor``: the ``j``-th leaves at
  ``x_j = max(e_j, x_{j-1} + p_{j-1} / c)`` (``p``: platoon size), a D/D/1 point queue (Vickrey 1969)
  in continuous time. The max-plus recursion is evaluated for a whole sub-step at once as
  ``x_j = C_j / c + max(s, max_{k<=j}(e_k - C_k / c))`` with ``C_j`` the platoon sizes ahead and ``s`` the
  time the server is free, ``max(t, last exit + its platoon / c)`` with the current ``c`` (a segmented prefix
  sum and running maximum), so outflow is exact in time: 0.3 veh per sub-step lets one vehicle out every
  3.33 sub-steps, with no accumulator rounding, and a capacity factor of 0 holds every vehicle.
* **Inflow capacity.** A link takes vehicles no faster than its capacity ``c`` (the ``q dt`` bound of the
  receiving flow, Yperman 2007), as a deterministic server in continuous time (:meth:`TrafficSim._entry_served`):
  a link fed by three saturated approaches still takes only ``c``, and the queue stays on the approaches.
* **Storage and spillback, in continuous time.** Link ``l`` takes a vehicle at time ``tau`` only while
  ``N_in(l, tau) < storage(l) + N_out(l, tau - L / w)`` (Yperman 2007's receiving flow, cumulative counts):
  space freed at the downstream end reaches the upstream end one backward-wave time ``L / w`` later. Every
  exit posts a release ``(link, x + L / w)``; the releases due within a sub-step are laid out by time
  (:mod:`twin.traffic.spillback`), so a vehicle waiting for room gets in at the exact moment it arrives,
  not at the next sub-step (releases posted within a sub-step count from the next one, so the lag is at
  least one sub-step on links shorter than ``w dt``). Storage is ``k_j L lanes`` rounded up, and at least
  ``lanes x max(1, capacity per lane x dt)`` so short links do not fake gridlock
  (:meth:`TrafficNetwork.storage_for`). A platoon enters while any room is left, so a link can hold up to
  one platoon less one vehicle more than its storage when ``platoon_size > 1``.
* **Node model.** The vehicles whose server time falls within the sub-step are served first come, first
  served per next link, by the
  time they reach the stop line (priority classes first, ties in a seeded random order): each gets in at the
  first moment its next link has both room and entry capacity (:meth:`TrafficSim._admission`), so on
  saturated approaches a link's room is shared in proportion to their discharge rates. FIFO holds at each
  link's end: a vehicle that must wait for its next link makes every vehicle behind it wait (single-lane
  queues, as in UXsim and MATSim); the ones behind it are served again in the next pass, from the moment it
  left. A vehicle whose next link has no room or capacity left in the sub-step is held, with those behind
  it, until the next sub-step. Vehicles whose link ends at their destination leave without needing room.
  Trips starting at a node enter after that (entering traffic yields to the vehicles on the roads), from one
  queue per origin in departure order (UXsim's vertical queue), first come, first served per first link: a
  trip that must wait holds those behind it bound for the same link, not those bound for a link with room.
* **Several links per sub-step.** The exit/entry pass repeats within a sub-step (up to ``max_passes``) for
  the vehicles that entered a link in the last pass and reach its end within the sub-step ahead of any
  held vehicle, and for those served again behind a vehicle that waited; the entry time of the next link is
  the exit time of the last, so a vehicle crosses a chain of short links at exactly free-flow time.
* **Route choice.** Stochastic dynamic user-optimal route choice (:class:`twin.traffic.routing.RouteChoice`):
  shortest-path trees on the link times drivers perceive (``options.route_cost``, with a small random
  perception error), refreshed every ``reroute_every_s`` and at once when closures change; a vehicle
  reaching a node draws its next link from the last few trees, weighted as UXsim's exponentially smoothed
  link preference (``route_memory``), and a driver whose drawn link is full now takes another of those
  links that has room (re-drawing when blocked). Those heading for a closed link reroute. A vehicle with no
  route left is stranded where it is (it leaves the road, counted), and resumes from that node as soon as a
  refresh finds a way to its destination again (a link reopened, or it was redirected).
* **Gridlock.** A vehicle waiting longer than ``gridlock_s`` past its earliest exit (or at its origin) is
  stuck; stuck vehicles are counted per link, and removed as abandoned if ``abandon_gridlocked`` (checked at
  the end of every step and at every record, as gridlock builds over minutes). ``squeeze_after_s`` optionally
  lets a link that has let nobody out for that long push its first vehicle on without room.

Trips handed over while the simulation runs (:meth:`TrafficSim.add_trips`, :meth:`TrafficSim.redirect`,
:meth:`TrafficSim.take_reports`, :meth:`TrafficSim.vehicle_positions`; other phases reach them through
:class:`twin.traffic.service.TrafficService`) join the same arrays: a vehicle id is an index, ids are never
reused, and the changing state is one :class:`~twin.traffic.state.TrafficState`, saved and restored by checkpoints.

Every sub-step operation is over all candidate vehicles or links at once; Python loops run only over
sub-steps and passes. A sub-step looks only at what can change in it: the vehicles at each link's end that
its server could let out (a queue per link kept sorted, :meth:`TrafficSim._heads`), the vehicles and
releases that fall due in it (kept sorted by time, :mod:`twin.traffic.timequeue`), and, at origins, the trips
whose driver chooses a link or whose link could take a trip in it (:meth:`TrafficSim._origin_look`), at most
as many per link as its entry server could take (:meth:`TrafficSim._origin_servable`). Conservation holds after
every sub-step:
``departed = on network (on links or queued at origin) + arrived + stranded + abandoned``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from twin.errors import TwinError
from twin.traffic.demand import VEHICLE_CLASSES, Demand, TrafficOptions
from twin.traffic.kernels import dd1_times, exclusive_cumsum, inclusive_cumsum, insert_at, segment_starts
from twin.traffic.network import TrafficNetwork
from twin.traffic.reports import ABANDONED_REPORT, ARRIVED_REPORT, RESUMED_REPORT, STRANDED_REPORT, TrafficReport
from twin.traffic.result import (
    ABANDONED,
    ARRIVED,
    ON_LINK,
    QUEUED,
    STATUS_NAMES,
    STRANDED,
    WAITING,
    TrafficResult,
)
from twin.traffic.routing import current_link_times_s, mean_speed_link_times_s
from twin.traffic.spillback import ReleaseSchedule
from twin.traffic.state import SCENARIO_OWNER, TrafficState

CLOCK_TOLERANCE_S = 1e-6
"""Departures this close before the clock count as now: an engine's clock and the simulator's, summed over
sub-steps, may differ in the last bit."""

REPORT_OF_STATUS = {ARRIVED: ARRIVED_REPORT, STRANDED: STRANDED_REPORT, ABANDONED: ABANDONED_REPORT}
"""The report a vehicle's owner gets when it ends with each status."""


class TrafficSim:
    """A traffic simulation on a :class:`TrafficNetwork`, stepped by an engine or run on its own.

    Parameters
    ----------
    network
        The links; its ``closed``, ``speed_factor`` and ``capacity_factor`` are read at every sub-step, so
        the engine sets them before :meth:`step`.
    demand
        A validated :class:`Demand` or an OD table for :meth:`Demand.from_frame`.
    options
        :class:`TrafficOptions` (defaults when None).
    seed
        Seed of the run's numpy Generator (merge order only), or a Generator to draw from.
    """

    def __init__(
        self,
        network: TrafficNetwork,
        demand: Demand | pd.DataFrame,
        options: TrafficOptions | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.network = network
        self.options = options or TrafficOptions()
        if not isinstance(demand, Demand):
            demand = Demand.from_frame(demand, network.n_nodes, self.options.platoon_size)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.storage_veh = network.storage_for(self.options.substep_s)
        self._wave_s = network.backward_wave_s()
        self._no_releases = ReleaseSchedule.empty()
        self._schedule = self._no_releases  # the releases due within the current sub-step (empty between them)
        self.state = TrafficState.initial(network, self.options, demand)
        self._derive()

    def _derive(self) -> None:
        """Recompute what follows from the state's trips and the options (after trips are added or a restore)."""
        st = self.state
        self._weight = st.platoon.astype(np.float64)
        # the smallest platoon bounds what a sub-step serves
        self._smallest = float(self._weight.min()) if st.n_vehicles else 1.0
        self._class_speed = np.array([self.options.class_speed[c] for c in VEHICLE_CLASSES])[st.vehicle_class]
        priority = np.array([c in self.options.priority_classes for c in VEHICLE_CLASSES], dtype=np.int8)
        self._priority = priority[st.vehicle_class]
        self._dep_sorted = st.ready_s[st.dep_order]
        self._closed = self.network.closed_now()

    def restore(self, state: TrafficState) -> None:
        """Continue from ``state`` (saved from a simulation on the same network with the same options)."""
        self.state = state
        self._derive()

    # ---------------------------------------------------------------- what the tests and the engine read
    @property
    def demand(self) -> Demand:
        """The trips (every vehicle ever added; destinations as redirected)."""
        return self.state.demand()

    @property
    def clock_s(self) -> float:
        """Simulated time (s)."""
        return self.state.clock_s

    @property
    def status(self) -> np.ndarray:
        """Status code of each vehicle (index into :data:`STATUS_NAMES`)."""
        return self.state.status

    @property
    def link(self) -> np.ndarray:
        """Link of each vehicle (-1 off the network)."""
        return self.state.link

    @property
    def entered_s(self) -> np.ndarray:
        """When each vehicle entered its current link."""
        return self.state.entered_s

    @property
    def exit_min_s(self) -> np.ndarray:
        """When each vehicle reaches its link's end at the earliest."""
        return self.state.exit_min_s

    @property
    def occupancy(self) -> np.ndarray:
        """Vehicles on each link."""
        return self.state.occupancy

    @property
    def stuck_by_link(self) -> np.ndarray:
        """Vehicles stuck at each link's end (at the last gridlock check)."""
        return self.state.stuck_by_link

    @property
    def vehicles_stuck(self) -> float:
        """Vehicles stuck on links or at their origin (at the last gridlock check)."""
        return self.state.vehicles_stuck

    @property
    def route_refreshes(self) -> int:
        """Shortest-path refreshes so far."""
        return self.state.route_refreshes

    @property
    def destinations(self) -> np.ndarray:
        """Destination node of each row of the route trees."""
        return self.state.routes.destinations

    # ---------------------------------------------------------------- trips handed over while the simulation runs
    def add_trips(self, frame: pd.DataFrame, owner: str) -> np.ndarray:
        """Add trips at any time; return their vehicle ids (int64, consecutive).

        Parameters
        ----------
        frame
            One row per simulated vehicle: ``origin`` and ``destination`` (node ids of the network),
            ``departure_s`` (simulated seconds, at or after :attr:`clock_s`), optional ``vehicle_class`` (one of
            :data:`VEHICLE_CLASSES`, default ``car``) and ``platoon`` (vehicles it stands for, default
            ``options.platoon_size``). Every bad row is reported at once (:class:`~twin.errors.TwinError`).
        owner
            Who asks (``"residents"``, ``"crews"``...): :meth:`take_reports` hands the owner what became of its
            vehicles. ``"scenario"`` is the scenario's own demand and cannot be used.

        Notes
        -----
        New destinations get route trees at the start of the next sub-step (:meth:`RouteChoice.rows_for`); a
        trip leaves at ``departure_s`` from its origin's queue, behind the trips already waiting there.
        """
        code = self._owner_code(owner)
        demand = Demand.from_frame(
            frame,
            self.network.n_nodes,
            self.options.platoon_size,
            not_before_s=self.clock_s - CLOCK_TOLERANCE_S,
            what=f"the trips {owner} added to traffic",
        )
        demand = replace(demand, departure_s=np.maximum(demand.departure_s, self.clock_s))
        ids = self.state.add_vehicles(demand, code, self._destination_rows(demand.destination))
        self._derive()
        return ids

    def redirect(self, vehicle_ids: np.ndarray, destinations: np.ndarray | int) -> None:
        """Send vehicles (waiting, queued, on a link or stranded) to new destination nodes from where they are.

        A vehicle on a link chooses its next link toward the new destination at the link's end; one waiting or
        queued at its origin leaves for it (or arrives at once if it is there). ``destinations`` is one node
        per vehicle, or one for all. Vehicles that have arrived or were abandoned cannot be redirected.
        """
        st = self.state
        ids = np.asarray(vehicle_ids)
        nodes = np.asarray(destinations)
        nodes = np.full(ids.shape, nodes, dtype=nodes.dtype) if nodes.ndim == 0 else nodes
        problems = _redirect_problems(ids, nodes, st.n_vehicles, self.network.n_nodes)
        if not problems:
            ended = np.isin(st.status[ids], (ARRIVED, ABANDONED))
            if ended.any():
                problems.append(
                    f"vehicles {_listed(ids[ended])} have already arrived or were abandoned; only vehicles still "
                    "travelling (or stranded) can be redirected (add a new trip instead)"
                )
        if problems:
            raise TwinError("vehicles cannot be redirected", problems)
        ids, nodes = ids.astype(np.intp), nodes.astype(np.int32)
        st.dest_index[ids] = self._destination_rows(nodes)
        st.destination[ids] = nodes
        st.next_link[ids], st.rechoice_s[ids] = -1, np.inf  # they choose again toward the new destination
        st.resume_due |= bool(np.any(st.status[ids] == STRANDED))  # a new destination may be within reach

    def take_reports(self, owner: str) -> TrafficReport:
        """What became of ``owner``'s vehicles since its last call (arrivals, strandings, resumptions and
        abandonments, by time); taken reports are not handed out again."""
        if owner not in self.state.owners:
            return TrafficReport.empty()
        return self.state.reports.take(self.state.owner == self.state.owners.index(owner))

    def vehicle_positions(self, vehicle_ids: np.ndarray | None = None) -> pd.DataFrame:
        """Where vehicles are now: ``vehicle``, ``owner``, ``status``, ``link`` (-1 off the network),
        ``offset_m`` (from the link's start; NaN off the network) and ``node`` (where a vehicle off the network
        waits or ended; -1 on a link).

        A vehicle short of its link's end is placed as if it drove at its free speed since it entered (its
        earliest exit); one queued at the end is at the end.
        """
        st = self.state
        ids = np.arange(st.n_vehicles) if vehicle_ids is None else np.asarray(vehicle_ids, dtype=np.intp)
        if ids.size and (ids.min() < 0 or ids.max() >= st.n_vehicles):
            raise TwinError(f"vehicle ids must be in 0..{st.n_vehicles - 1} (the ids add_trips returned)")
        link = st.link[ids]
        on = link >= 0
        length = self.network.length_m[np.where(on, link, 0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (st.clock_s - st.entered_s[ids]) / (st.exit_min_s[ids] - st.entered_s[ids])
        offset = np.where(st.at_end[ids], length, np.clip(share, 0.0, 1.0) * length)
        waiting = st.status[ids] <= QUEUED
        node = np.where(on, -1, np.where(waiting, st.start_node[ids], st.end_node[ids]))
        return pd.DataFrame(
            {
                "vehicle": ids.astype(np.int64),
                "owner": pd.Categorical.from_codes(st.owner[ids], categories=pd.Index(st.owners)),
                "status": pd.Categorical.from_codes(st.status[ids], categories=pd.Index(STATUS_NAMES)),
                "link": link,
                "offset_m": np.where(on, offset, np.nan),
                "node": node.astype(np.int32),
            }
        )

    def _owner_code(self, owner: str) -> int:
        """The code of ``owner`` (registered on first use)."""
        owners = self.state.owners
        if not isinstance(owner, str) or not owner.strip() or owner == SCENARIO_OWNER:
            raise TwinError(
                f"the owner of added trips must be a name such as 'residents' or 'crews' (got {owner!r}; "
                f"{SCENARIO_OWNER!r} is the scenario's own demand)"
            )
        if owner not in owners:
            owners.append(owner)
        return owners.index(owner)

    def _destination_rows(self, nodes: np.ndarray) -> np.ndarray:
        """The route-tree rows toward ``nodes``, reusing the rows of destinations no vehicle heads for now."""
        st = self.state
        in_use = np.zeros(st.routes.destinations.size, dtype=bool)
        active = ~np.isin(st.status, (ARRIVED, ABANDONED))  # stranded vehicles may still resume
        in_use[st.dest_index[active]] = True
        return st.routes.rows_for(nodes, in_use).astype(np.int32)

    # ---------------------------------------------------------------- counts the engine reads
    def counts(self) -> dict[str, float]:
        """Vehicles (platoon sizes summed) per state now, with ``departed`` and ``on_network``."""
        by_status = np.bincount(self.state.status, weights=self._weight, minlength=len(STATUS_NAMES))
        counts = {name: float(by_status[i]) for i, name in enumerate(STATUS_NAMES)}
        counts["departed"] = float(by_status.sum() - by_status[WAITING])
        counts["on_network"] = float(by_status[QUEUED] + by_status[ON_LINK])
        return counts

    @property
    def vehicles_on_network(self) -> float:
        """Vehicles on links or queued at their origin."""
        return self.counts()["on_network"]

    @property
    def vehicles_arrived(self) -> float:
        """Vehicles that reached their destination."""
        return self.counts()["arrived"]

    @property
    def vehicles_stranded(self) -> float:
        """Vehicles left with no route to their destination."""
        return self.counts()["stranded"]

    @property
    def mean_speed_ratio(self) -> float:
        """Free-flow over actual time of the link traversals completed in the last step (NaN if none)."""
        free, actual = self.state.step_times
        return free / actual if actual > 0 else float("nan")

    # ---------------------------------------------------------------- stepping
    def step(self, dt_s: float) -> None:
        """Advance by ``dt_s`` seconds in equal sub-steps no longer than ``options.substep_s``."""
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"step needs a duration > 0 s (got {dt_s})")
        n = max(1, math.ceil(dt_s / self.options.substep_s - 1e-9))
        t0 = self.state.clock_s
        self.state.step_times = [0.0, 0.0]
        for i in range(n):
            self._substep(t0 + dt_s * i / n, t0 + dt_s * (i + 1) / n)
        self._check_gridlock(self.state.clock_s)  # once per step and per record: gridlock builds over minutes

    def run(self, until_s: float) -> None:
        """Advance to ``until_s`` (s)."""
        if until_s > self.state.clock_s:
            self.step(until_s - self.state.clock_s)

    def done(self) -> bool:
        """Whether every trip has ended (arrived, stranded or abandoned)."""
        return bool(np.all(self.state.status >= ARRIVED))

    def _substep(self, t: float, t_end: float) -> None:
        if self._refresh_routes(t) or self.state.resume_due:
            self._resume_stranded(t)
        self._schedule_releases(t, t_end)
        self._queue_arrivals(t_end)
        blocked_e = np.full(self.network.n_links, np.inf)  # earliest arrival at a link's end held this sub-step
        self._passes(self._heads(t_end - t, blocked_e), t, t_end, blocked_e, presorted=True)
        # entering traffic yields: trips start once the vehicles already on the roads have been served
        entered = self._depart(t, t_end)
        e, links = self.state.exit_min_s[entered], self.state.link[entered]
        self._passes(entered[(e <= t_end) & (e < blocked_e[links])], t, t_end, blocked_e, presorted=False)
        self.state.end_queue = self.state.end_queue[self.state.at_end[self.state.end_queue]]
        self._schedule.apply(self.state.released)
        self._schedule = self._no_releases
        self.state.clock_s = t_end
        if t_end >= self.state.next_record_s - 1e-9:
            self._check_gridlock(t_end)
            self._record(t_end)
            every = self.options.record_every_s
            self.state.next_record_s = (math.floor(t_end / every + 1e-9) + 1) * every

    def _passes(self, cand: np.ndarray, t: float, t_end: float, blocked_e: np.ndarray, presorted: bool) -> None:
        """Exit/entry passes until no candidate is left (at most ``options.max_passes``)."""
        for i in range(self.options.max_passes):
            if cand.size == 0:
                break
            cand = self._pass(cand, t, t_end, blocked_e, presorted=presorted and i == 0)

    # ---------------------------------------------------------------- routing
    def _refresh_routes(self, t: float) -> bool:
        """Refresh the route trees when due or when closures changed (and compute the trees of new
        destinations); return whether any tree changed."""
        closed = self._closed = self.network.closed_now()
        routed = self.state.routed_closed
        if routed is not None and t < self.state.next_route_s - 1e-9 and np.array_equal(closed, routed):
            if self.state.routes.stale.size:  # destinations added since the last refresh: their trees only
                return self.state.routes.route_stale(self.link_costs(t), closed, self.rng)
            return False
        weight = self.link_costs(t)
        self.state.routes.refresh(weight, closed, self.rng)
        self.state.routed_closed = closed.copy()
        self.state.next_route_s = t + self.options.reroute_every_s
        self.state.route_refreshes += 1
        return True

    def _resume_stranded(self, t: float) -> None:
        """Stranded vehicles that have a way to their destination again (the newest trees, on the current
        closures) resume at ``t``: they join the queue of the node they were stranded at, as if departing from it.

        Reachability changes only when closures (or speed factors of 0) change, and that refreshes the trees, so
        looking after each refresh (and after a stranded vehicle is redirected) finds every vehicle that can go.
        """
        st = self.state
        st.resume_due = False
        stranded = np.flatnonzero(st.status == STRANDED)
        if stranded.size == 0:
            return
        node, row = st.end_node[stranded], st.dest_index[stranded]
        way = st.routes.has_way(row, node)
        ids = stranded[way]
        if ids.size == 0:
            return
        ids = ids[np.lexsort((ids, st.end_s[ids], st.end_node[ids]))]  # per node, in the order they got stuck
        node = st.end_node[ids]
        st.status[ids] = QUEUED
        st.start_node[ids], st.ready_s[ids] = node, t
        st.end_s[ids], st.end_node[ids] = np.nan, -1
        at = np.searchsorted(st.start_node[st.origin_queue], node, side="right")  # behind those waiting there
        st.origin_queue = insert_at(st.origin_queue, at, ids)
        owned = st.owner[ids] > 0
        st.reports.add(RESUMED_REPORT, ids[owned], np.full(int(owned.sum()), t), node[owned])

    def link_costs(self, t: float) -> np.ndarray:
        """Link times (s) as drivers see them at ``t`` (``options.route_cost``); the crews' dispatch reads them too."""
        cost, net = self.options.route_cost, self.network
        if cost == "free_flow":
            return current_link_times_s(net)
        q = self.state.end_queue  # every vehicle queued at its link's end reached it by ``t``
        queued = np.bincount(self.state.link[q], weights=self._weight[q], minlength=net.n_links)
        if cost == "mean_speed":
            return mean_speed_link_times_s(net, self.state.occupancy, queued)
        wait = np.bincount(
            self.state.link[q], weights=self._weight[q] * (t - self.state.exit_min_s[q]), minlength=net.n_links
        )
        return current_link_times_s(net, queued, np.divide(wait, queued, out=np.zeros(net.n_links), where=queued > 0))

    # ---------------------------------------------------------------- links' space
    @property
    def room_veh(self) -> np.ndarray:
        """Receiving room of every link now (vehicles): ``storage + N_out(t - L / w) - N_in(t)``."""
        return np.asarray(self.storage_veh + self.state.released - self.state.cum_in)

    def _room(self, links: np.ndarray) -> np.ndarray:
        """Receiving room at the sub-step's start, less the vehicles that entered since."""
        return np.asarray(self.storage_veh[links] + self.state.released[links] - self.state.cum_in[links])

    def _has_room(self) -> np.ndarray:
        """Links that have room now (what a driver at the junction sees)."""
        return np.asarray(self.room_veh > 0)

    def _schedule_releases(self, t: float, t_end: float) -> None:
        """Apply the space released by ``t``; lay out the releases due within the sub-step by time."""
        times, links, weight = self.state.pending.pop(t_end)
        if times.size == 0:
            return
        now = times <= t
        np.add.at(self.state.released, links[now], weight[now])
        soon = ~now
        self._schedule = ReleaseSchedule.build(links[soon], times[soon], weight[soon])

    def _room_times(self, links: np.ndarray, ahead: np.ndarray) -> np.ndarray:
        """Earliest time in the sub-step at which ``links`` have room for a vehicle with ``ahead`` vehicles
        before it (-inf: now; inf: not in this sub-step): the receiving flow in continuous time."""
        return self._schedule.time_of(links, ahead - self._room(links))

    # ---------------------------------------------------------------- vehicles in and out of links
    def _enter(self, ids: np.ndarray, links: np.ndarray, t_in: np.ndarray, t: float) -> None:
        """Vehicles enter ``links`` at ``t_in``, in the sub-step starting at ``t`` (each entry keeps its link's
        entry server busy for ``p / c`` from ``t_in``, :meth:`_entry_served`)."""
        if ids.size == 0:
            return
        net = self.network
        self.state.status[ids] = ON_LINK
        self.state.link[ids] = links
        self.state.at_end[ids] = False
        self.state.next_link[ids], self.state.rechoice_s[ids] = -1, np.inf  # chosen again at this link's end
        self.state.entered_s[ids] = t_in
        speed = net.free_speed_mps[links] * net.speed_factor[links] * self._class_speed[ids]
        self.state.exit_min_s[ids] = t_in + net.length_m[links] / speed
        self.state.moving.add(self.state.exit_min_s[ids], ids)
        self.state.route_m[ids] += net.length_m[links]
        weight = self._weight[ids]
        np.add.at(self.state.cum_in, links, weight)
        np.add.at(self.state.occupancy, links, weight)
        np.maximum.at(self.state.entry_free_s, links, t_in + weight / net.capacity_veh_s[links])
        self.state.recorder.entered(links, weight)

    def _leave(self, ids: np.ndarray, links: np.ndarray, x: np.ndarray) -> None:
        """Vehicles pass the downstream end of ``links`` at times ``x``."""
        net, weight = self.network, self._weight[ids]
        np.subtract.at(self.state.occupancy, links, weight)
        np.add.at(self.state.cum_out, links, weight)
        last = np.ones(links.size, dtype=bool)  # sorted by link and exit time: the last exit of each link
        last[:-1] = links[1:] != links[:-1]
        self.state.last_exit_s[links[last]] = x[last]
        self.state.last_weight[links[last]] = weight[last]
        self.state.pending.add(x + self._wave_s[links], links, weight)
        time_on = x - self.state.entered_s[ids]
        free = net.length_m[links] / net.free_speed_mps[links]
        self.state.recorder.left(links, weight, time_on, free)
        self.state.step_times[0] += float(np.dot(weight, free))
        self.state.step_times[1] += float(np.dot(weight, time_on))

    def _remove(self, ids: np.ndarray, links: np.ndarray, release_s: np.ndarray) -> None:
        """Vehicles taken off ``links`` without passing their end (stranded or abandoned)."""
        weight = self._weight[ids]
        np.subtract.at(self.state.occupancy, links, weight)
        self.state.pending.add(release_s, links, weight)

    def _finish(self, ids: np.ndarray, status: int, t: np.ndarray, node: np.ndarray) -> None:
        st = self.state
        st.status[ids] = status
        st.at_end[ids] = False
        st.next_link[ids], st.rechoice_s[ids] = -1, np.inf
        st.end_s[ids] = t
        st.end_node[ids] = node
        st.link[ids] = -1
        owned = st.owner[ids] > 0  # the scenario's own trips are reported in the trips table only
        if owned.any():
            st.reports.add(REPORT_OF_STATUS[status], ids[owned], t[owned], node[owned])

    # ---------------------------------------------------------------- departures
    def _depart(self, t: float, t_end: float) -> np.ndarray:
        """Trips due before ``t_end`` join their origin's queue (in departure order); vehicles enter their first
        link at the first moment it has room and entry capacity. Returns the vehicles that entered.

        The origin's queue is first come, first served per first link: a trip whose link is full holds the trips
        behind it bound for the same link, not those bound for another link with room (UXsim's per-vehicle
        origin queue lets no vehicle wait behind one it does not compete with for the same link; Yperman 2007's
        link transmission model likewise gives each link its own sending queue). The queue is read in windows
        (:meth:`_origin_limits`): an origin whose window held a trip while one of its links still has room and
        entry capacity in the sub-step is read further, in windows that double, until it has none left. The
        queue is read in place (a vehicle that left it is behind the windows read) and compacted once at the end.

        Most of a congested origin's queue waits for a link that cannot take even its first trip before
        ``t_end`` (:meth:`_origin_links_full`): such a trip is held without being looked at further, unless its
        driver chooses a link now (:meth:`_origin_look`). Only the others go through :meth:`_depart_window`.
        """
        st = self.state
        self._join_origin_queues(t_end)
        queue = st.origin_queue
        if queue.size == 0:
            return queue
        entered = self._read_origin_queues(queue, t, t_end)
        st.origin_queue = queue[st.status[queue] == QUEUED]  # entered, arrived home or stranded: out of it
        return entered

    def _read_origin_queues(self, queue: np.ndarray, t: float, t_end: float) -> np.ndarray:
        """Read the origins' ``queue`` in windows (:meth:`_depart`), entering the trips that get in before
        ``t_end``; return them."""
        st = self.state
        entered: list[np.ndarray] = []
        origins = st.start_node[queue]
        first = np.flatnonzero(segment_starts(origins))  # each origin's segment of the queue
        nodes, length = origins[first], np.diff(np.append(first, queue.size))
        limit = self._origin_limits(t_end - t)[nodes]
        read = np.zeros(first.size, dtype=np.int64)  # vehicles of each segment read so far
        reading = np.ones(first.size, dtype=bool)  # segments still read
        full = self._origin_links_full(np.arange(self.network.n_links), t, t_end)
        # the queue is looked at once: a trip not looked at now is held in every window (a full link stays full)
        look = self._origin_look(queue, full, t)
        looked = np.flatnonzero(look)
        unlooked_before = np.concatenate(([0], np.cumsum(~look)))  # trips not looked at in queue[:i]
        while True:
            count = np.where(reading, np.minimum(limit, length - read), 0)
            if count.sum() == 0:
                break
            begin, end = first + read, first + read + count
            read += count
            held = unlooked_before[end] > unlooked_before[begin]
            lo, hi = np.searchsorted(looked, begin), np.searchsorted(looked, end)
            window = queue[looked[_ranges(lo, hi - lo)]]
            segment = np.repeat(np.arange(first.size), hi - lo)
            still = self._origin_look(window, full, t)  # links that filled up in earlier windows hold more
            held[segment[~still]] = True
            went, held_looked = self._depart_window(window[still], t, t_end, full)
            held[segment[still][held_looked]] = True
            entered.append(went)
            if went.size:  # only the links trips entered can have filled up
                touched = np.unique(st.link[went])
                full[touched] = self._origin_links_full(touched, t, t_end)
            # read further only where a trip was held and a link out of the origin can still take one
            reading = held & self._origin_can_take(t_end)[nodes]
            if not reading.any():
                break
            limit = limit * 2
        return np.concatenate(entered) if entered else queue[:0]

    def _join_origin_queues(self, t_end: float) -> None:
        """Trips due before ``t_end`` join the back of their origin's queue, in departure order."""
        st = self.state
        due = int(np.searchsorted(self._dep_sorted, t_end, side="left"))
        new = st.dep_order[st.dep_next : due]
        st.dep_next = due
        st.status[new] = QUEUED
        if new.size:
            new = new[np.argsort(st.start_node[new], kind="stable")]
            at = np.searchsorted(st.start_node[st.origin_queue], st.start_node[new], side="right")
            st.origin_queue = insert_at(st.origin_queue, at, new)

    def _origin_links_full(self, links: np.ndarray, t: float, t_end: float) -> np.ndarray:
        """Whether ``links`` turn away even the first trip that tries them before ``t_end``.

        That trip would get in at ``y = max(start, r(0), max(f, t))`` (:meth:`_depart_window` with nobody ahead:
        ``r(0)`` when the link first has room, :meth:`_room_times`; ``f`` when its entry server is free), with
        ``start < t_end``; so ``y > t_end`` exactly when ``max(r(0), f, t) > t_end``, computed with the same
        floating-point operations as ``y``. A trip behind it only gets in later (``y`` grows along a link's queue),
        and the link's state changes within a sub-step only when a trip enters it: a link found full stays full.
        A link of zero capacity never takes a trip.
        """
        server_free = np.maximum(self.state.entry_free_s[links], t)
        first_in = np.maximum(self._room_times(links, np.zeros(links.size)), server_free)
        return np.asarray((first_in > t_end) | (self.network.capacity_veh_s[links] <= 0))

    def _origin_look(self, queue: np.ndarray, full: np.ndarray, t: float) -> np.ndarray:
        """Which trips of ``queue`` need a look: those whose driver chooses its first link now (none chosen
        yet, a re-choice due, or the chosen link closed: :meth:`_next_links`), and those bound for a link that is
        not ``full``. A trip whose destination is its origin has no link chosen (it arrives when first looked at,
        and a redirect clears the choice), so it is among the first."""
        kept = self.state.next_link[queue]
        stays = full & ~self._closed  # a trip bound for such a link keeps its choice and is held
        return np.asarray((kept < 0) | (self.state.rechoice_s[queue] <= t) | ~stays[np.maximum(kept, 0)])

    def _depart_window(
        self, queue: np.ndarray, t: float, t_end: float, full: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Enter the trips of ``queue`` (in queue order) that get into their first link within the sub-step,
        first come, first served per first link; return the ones that entered and which of ``queue`` are held.

        A trip gets in at ``y = max(start, r(C), the entry server)``, nondecreasing in the vehicles ``C`` ahead of it
        (:meth:`_room_times`, :meth:`_entry_served`); a trip bound for a ``full`` link (:meth:`_origin_links_full`)
        is held without computing its time.
        """
        st = self.state
        held = np.zeros(queue.size, dtype=bool)
        origin = st.start_node[queue]
        start = np.maximum(st.ready_s[queue], t)
        home = origin == st.destination[queue]
        first = np.full(queue.size, -1, dtype=np.int32)
        first[~home] = self._next_links(queue[~home], origin[~home], None, start[~home], t)
        lost = ~home & (first < 0)
        if home.any():
            self._finish(queue[home], ARRIVED, start[home], origin[home])
        if lost.any():
            self._finish(queue[lost], STRANDED, start[lost], origin[lost])
        waiting = np.flatnonzero(~(home | lost))
        held_now = full[first[waiting]]
        held[waiting[held_now]] = True
        tried = waiting[~held_now]
        order = np.argsort(first[tried], kind="stable")
        order = order[self._origin_servable(first[tried][order], t_end - t)]
        held[tried] = True  # until it is found to get in
        tried = tried[np.sort(order)]
        queue_tried, first_tried = queue[tried], first[tried]
        order = np.argsort(first_tried, kind="stable")
        sorted_first, weight = first_tried[order], self._weight[queue_tried[order]]
        starts = segment_starts(sorted_first)
        ahead = exclusive_cumsum(weight, starts)
        room_at = self._room_times(sorted_first, ahead)
        y = self._entry_served(sorted_first, np.maximum(start[tried][order], room_at), weight, starts, t)
        accepted = np.empty(tried.size, dtype=bool)
        accepted[order] = y <= t_end  # y grows along each link's queue, so a prefix of it enters
        entry = np.empty(tried.size)
        entry[order] = y
        self._enter(queue_tried[accepted], first_tried[accepted], entry[accepted], t)
        held[tried[accepted]] = False
        return np.asarray(queue_tried[accepted]), held

    def _origin_servable(self, links: np.ndarray, dt: float) -> np.ndarray:
        """Which of the trips bound for ``links`` (sorted, each link's in queue order) its entry server could take
        in ``dt`` seconds: the first ``floor(c dt / p_min) + 2`` of each link of capacity ``c``.

        The ``j``-th trip bound for a link (0-based) gets in no earlier than ``C_j / c`` after the sub-step starts
        (:meth:`_entry_served`), with ``C_j >= j p_min`` vehicles ahead of it (``p_min``: the smallest platoon); past
        ``floor(c dt / p_min) + 1`` that is more than ``dt + p_min / c`` later, so those trips are held without
        computing their times (the times of the ones before them are prefix sums and running maxima, which do not
        depend on the ones after).
        """
        first = np.flatnonzero(segment_starts(links))
        rank = np.arange(links.size) - np.repeat(first, np.diff(np.append(first, links.size)))
        keep = np.floor(self.network.capacity_veh_s[links] * dt / self._smallest) + 2
        return np.asarray(rank < keep)

    def _origin_can_take(self, t_end: float) -> np.ndarray:
        """Nodes with a link out of them that is open and has room and entry capacity left before ``t_end``."""
        net = self.network
        free = self._has_room() & (self.state.entry_free_s < t_end) & ~self._closed
        return np.asarray(np.bincount(net.src, weights=free, minlength=net.n_nodes) > 0)

    def _origin_limits(self, dt: float) -> np.ndarray:
        """Trips read from each node's queue in a sub-step's first window: the vehicles its links could take in
        ``dt`` seconds, ``floor(c dt / p_min) + 1`` for each link leaving it, of capacity ``c`` (at least one: a
        node no link leaves still strands, or delivers, its first trip)."""
        net = self.network
        per_link = np.floor(net.capacity_veh_s * dt / self._smallest) + 1  # each link leaving the node
        limit = np.bincount(net.src, weights=per_link, minlength=net.n_nodes).astype(np.int64)
        return np.asarray(np.maximum(limit, 1))

    # ---------------------------------------------------------------- one exit/entry pass
    def _queue_arrivals(self, t_end: float) -> None:
        """Vehicles reaching their link's end by ``t_end`` join the link's end queue ``_q`` behind those there.

        Every vehicle already in ``_q`` reached the end before this sub-step, and every newcomer entered its link
        after that, so newcomers go after a link's queue and only they need sorting.
        """
        e, new = self.state.moving.pop(t_end)
        new = new[
            (self.state.status[new] == ON_LINK) & (self.state.exit_min_s[new] == e) & ~self.state.at_end[new]
        ]  # still there
        if new.size == 0:
            return
        new = new[np.lexsort((new, self.state.exit_min_s[new], self.state.link[new]))]
        at = np.searchsorted(self.state.link[self.state.end_queue], self.state.link[new], side="right")
        self.state.end_queue = insert_at(self.state.end_queue, at, new)
        self.state.at_end[new] = True

    def _heads(self, dt: float, blocked_e: np.ndarray) -> np.ndarray:
        """The vehicles at the front of each link's end queue that its server could let out in ``dt`` seconds.

        The ``j``-th vehicle in a queue (0-based) leaves no earlier than ``C_j / c`` after the sub-step starts, with
        ``C_j >= j p_min`` vehicles ahead of it (``p_min``: the smallest platoon), so only the first
        ``floor(c dt / p_min) + 1`` can leave; the first one past them holds every later arrival on its link for
        the sub-step (noted in ``blocked_e``).
        """
        q = self.state.end_queue
        if q.size == 0:
            return q
        net, links = self.network, self.state.link[q]
        first = np.flatnonzero(segment_starts(links))
        queue_links, length = links[first], np.diff(np.append(first, q.size))
        servable = net.capacity_veh_s[queue_links] * net.capacity_factor[queue_links] * dt / self._smallest
        limit = (np.floor(servable) + 1).astype(np.int64)
        count = np.minimum(limit, length)
        beyond = first[count < length] + count[count < length]
        np.minimum.at(blocked_e, links[beyond], self.state.exit_min_s[q[beyond]])
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        return np.asarray(q[np.repeat(first, count) + offset])

    def _server_times(
        self, links: np.ndarray, e: np.ndarray, weight: np.ndarray, starts: np.ndarray, t: float
    ) -> np.ndarray:
        """Exit times ``x_j = max(e_j, x_{j-1} + p_{j-1} / c)`` of the vehicles sorted by link, then arrival."""
        net = self.network
        capacity = net.capacity_veh_s[links] * net.capacity_factor[links]
        with np.errstate(divide="ignore", invalid="ignore"):
            free_at = np.maximum(self.state.last_exit_s[links] + self.state.last_weight[links] / capacity, t)
        return dd1_times(e, weight, starts, capacity, free_at)

    def _entry_served(
        self, links: np.ndarray, ready: np.ndarray, weight: np.ndarray, starts: np.ndarray, t: float
    ) -> np.ndarray:
        """Entry times through the links' entry servers: ``y_j = max(a_j, y_{j-1} + p_{j-1} / c)``.

        The receiving flow's ``q dt`` bound (Yperman 2007) as a deterministic server in continuous time (a D/D/1
        queue, Vickrey 1969, as at the links' exits): vehicles sorted by link, then in the order they are served,
        ready at ``a_j`` (their stop-line time, or later when room frees), the server free from the link's last
        entry plus its platoon over ``c`` (``entry_free_s``). Capacity idle earlier in a sub-step is not lent
        to vehicles that come later in it: a fluid budget per sub-step (``max(f, t) + C_j / c``) let a vehicle
        reaching the stop line late in a sub-step enter right behind one that entered just before it, so entry
        bursts grew with the sub-step and congested grids were faster at long sub-steps.
        """
        free = np.maximum(self.state.entry_free_s[links], t)
        return dd1_times(ready, weight, starts, self.network.capacity_veh_s[links], free)

    def _admission(
        self, ids: np.ndarray, source: np.ndarray, target: np.ndarray, x: np.ndarray, arrive: np.ndarray, t: float
    ) -> np.ndarray:
        """Node model: when each vehicle reaching its link's end at ``x`` gets into its next link ``target``.

        Vehicles bound for a link are served first come, first served at the stop line (by ``x``; priority
        classes first, ties in a seeded random order). The ``j``-th, with ``C_j`` vehicles before it, gets in at
        ``y_j = max(x_j, r_j, y_{j-1} + p_{j-1} / c)``: ``r_j`` is when the link's room first exceeds ``C_j``
        (space released ``L / w`` after vehicles leave its end, at exact times, :meth:`_room_times`), and the last
        term is its entry server (:meth:`_entry_served`). On saturated approaches this shares a link's room in
        proportion to the approaches' discharge rates (capacity-proportional, as in Tampere et al. 2011's
        generic node model). Vehicles whose link ends at their destination leave at ``x``. With
        ``options.squeeze_after_s``, the first vehicle on a link that has let nobody out for that long enters its
        next link without room (MATSim's stuck time, SUMO's time-to-teleport: a gridlock breaker). ``source``
        (the candidates' links) is sorted, so each link's first candidate starts its segment.
        """
        y = x.copy()
        entering = np.flatnonzero(~arrive)
        if entering.size == 0:
            return y
        key = self.rng.random(entering.size)
        order = entering[np.lexsort((key, x[entering], -self._priority[ids[entering]], target[entering]))]
        links = target[order]
        weight = self._weight[ids[order]]
        starts = segment_starts(links)
        ahead = exclusive_cumsum(weight, starts)
        room_at = self._room_times(links, ahead)
        squeeze = self.options.squeeze_after_s
        if squeeze is not None:  # the first vehicle of a link that has let nobody out for that long
            stuck = segment_starts(source) & (t - self.state.last_exit_s[source] > squeeze)
            room_at[stuck[order]] = -np.inf
        y[order] = self._entry_served(links, np.maximum(x[order], room_at), weight, starts, t)
        return y

    def _batch(self, cand: np.ndarray, presorted: bool) -> dict[str, np.ndarray]:
        """Candidates sorted by link, then arrival at its end, then id."""
        net = self.network
        if not presorted:
            cand = cand[np.lexsort((cand, self.state.exit_min_s[cand], self.state.link[cand]))]
        links = self.state.link[cand]
        return {"cand": cand, "links": links, "e": self.state.exit_min_s[cand], "node": net.dst[links]}

    def _choose_next(self, v: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
        """The next link of each candidate (-1 at its destination, :meth:`_next_links`); those with no route left
        are stranded here, at the end of their link, at ``x`` (they leave the road)."""
        dest = self.state.dest_index[v["cand"]]
        v["arrive"] = arrive = self.state.routes.destinations[dest] == v["node"]
        choice = self._next_links(v["cand"][~arrive], v["node"][~arrive], v["links"][~arrive], v["e"][~arrive], t)
        v["nxt"] = nxt = np.full(arrive.size, -1, dtype=np.int32)
        nxt[~arrive] = choice
        lost = (nxt < 0) & ~arrive
        if lost.any():
            cand, links, x = v["cand"][lost], v["links"][lost], v["x"][lost]
            self._remove(cand, links, x + self._wave_s[links])
            self._finish(cand, STRANDED, x, v["node"][lost])
            v = {k: a[~lost] for k, a in v.items()}
        return v

    def _next_links(
        self, ids: np.ndarray, node: np.ndarray, came_from: np.ndarray | None, since: np.ndarray, t: float
    ) -> np.ndarray:
        """The link each vehicle waiting at ``node`` (since ``since``) takes next (-1: no route left).

        A driver chooses when it reaches the link's end (or its origin's queue), by the kept trees' weights,
        preferring the links that have room then (:meth:`RouteChoice.choose`), and keeps that link while it
        waits: the turning movements are fixed while a vehicle queues, as in first-order node models (Daganzo
        1995's FIFO diverge: the vehicle at the head waits for its own link and holds those behind it; Tampere et
        al. 2011's generic node model takes the turning fractions as given). So how often a held driver
        reconsiders is no longer one draw per sub-step (a rate ``1 / dt``, a property of the discretisation, that
        made congested grids faster at short sub-steps). It chooses again only if that link has closed, and,
        with ``options.rechoice_every_s = T``, at the events of a Poisson process of rate ``1 / T`` (the gaps
        drawn from the run's generator, so runs repeat bit for bit): a re-choice due by the sub-step's start ``t``
        is made at ``t`` (several since then count as one: each draw would see the same links), and the next one
        is drawn ``Exp(T)`` after the choice. The choice is part of the checkpointed state (``next_link``,
        ``rechoice_s``).
        """
        st = self.state
        kept = st.next_link[ids]
        due = (kept < 0) | (st.rechoice_s[ids] <= t) | self._closed[np.maximum(kept, 0)]
        if not due.any():
            return np.asarray(kept)
        chosen_ids = ids[due]
        from_link = came_from[due] if came_from is not None else None
        drawn = st.routes.choose(
            st.dest_index[chosen_ids], node[due], from_link, self._closed, self.rng, self._has_room()
        )
        kept[due] = drawn
        st.next_link[chosen_ids] = drawn
        every = self.options.rechoice_every_s
        if every is not None:
            st.rechoice_s[chosen_ids] = np.maximum(since[due], t) + self.rng.exponential(every, chosen_ids.size)
        return np.asarray(kept)

    @staticmethod
    def _keep_ahead(v: dict[str, np.ndarray], blocking: np.ndarray, blocked_e: np.ndarray) -> dict[str, np.ndarray]:
        """Drop each ``blocking`` vehicle and every vehicle behind it on its link (noted in ``blocked_e``)."""
        head = inclusive_cumsum(blocking.astype(np.float64), segment_starts(v["links"])) == 0
        if head.all():
            return v
        np.minimum.at(blocked_e, v["links"][~head], v["e"][~head])
        return {k: a[head] for k, a in v.items()}

    def _pass(self, cand: np.ndarray, t: float, t_end: float, blocked_e: np.ndarray, presorted: bool) -> np.ndarray:
        """Move every candidate that can leave its link now; return the candidates of the next pass.

        A vehicle held back stays held for the rest of the sub-step (servers only get busier and room only
        shrinks), and so does every vehicle behind it: ``blocked_e`` keeps, per link, the earliest arrival at
        the end among held vehicles, and later passes only look at vehicles ahead of it.
        """
        v = self._batch(cand, presorted)
        v["x"] = self._server_times(v["links"], v["e"], self._weight[v["cand"]], segment_starts(v["links"]), t)
        v = self._keep_ahead(v, v["x"] > t_end, blocked_e)
        v = self._choose_next(v, t)
        if v["cand"].size == 0:
            return v["cand"]
        commit, deferred = self._admit(v, t, t_end, blocked_e)
        deferred_ids = v["cand"][deferred]
        m = {k: a[commit] for k, a in v.items()}
        gone = m["arrive"]
        self._leave(m["cand"], m["links"], m["y"])
        self._finish(m["cand"][gone], ARRIVED, m["y"][gone], m["node"][gone])
        entered, new_links = m["cand"][~gone], m["nxt"][~gone]
        self._enter(entered, new_links, m["y"][~gone], t)
        e_new = self.state.exit_min_s[entered]
        return np.concatenate((deferred_ids, entered[(e_new <= t_end) & (e_new < blocked_e[new_links])]))

    def _admit(
        self, v: dict[str, np.ndarray], t: float, t_end: float, blocked_e: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """FIFO at each link's end: which candidates go now (at ``v["y"]``), and which try again in the next pass.

        Per link, the candidates ahead of the first one that must wait for its next link (``y > x``) go; that
        one goes at ``y`` if ``y`` falls in the sub-step, and the ones behind it try again in the next pass,
        their exit times pushed back (deferred); if ``y`` is past the sub-step, it and the ones behind it are
        held for the sub-step. The entry times are computed twice: the second time without the deferred
        vehicles, so that room they will not use this pass is not kept from the others.
        """
        starts = segment_starts(v["links"])
        y = self._admission(v["cand"], v["links"], v["nxt"], v["x"], v["arrive"], t)
        first_round = exclusive_cumsum((y > v["x"]).astype(np.float64), starts) == 0  # no candidate ahead waits
        if not first_round.all():
            # only the links the deferred vehicles were bound for see their room and capacity change
            touched = np.zeros(self.network.n_links + 1, dtype=bool)
            touched[v["nxt"][~first_round]] = True  # -1 (arriving) lands on the spare last entry
            again = np.flatnonzero(first_round & touched[v["nxt"]])
            y[~first_round] = np.inf
            y[again] = self._admission(
                v["cand"][again], v["links"][again], v["nxt"][again], v["x"][again], v["arrive"][again], t
            )
        v["y"] = y
        late = first_round & (y > t_end)
        held = inclusive_cumsum(late.astype(np.float64), starts) > 0
        np.minimum.at(blocked_e, v["links"][held], v["e"][held])
        return first_round & ~held, ~first_round & ~held

    # ---------------------------------------------------------------- gridlock and records
    def _check_gridlock(self, now: float) -> None:
        limit = self.options.gridlock_s
        on, queue = self.state.end_queue, self.state.origin_queue
        stuck_on = (now - self.state.exit_min_s[on]) > limit
        stuck_q = (now - self.state.ready_s[queue]) > limit
        ids_on = on[stuck_on]
        n_links = self.network.n_links
        self.state.stuck_by_link = np.bincount(self.state.link[ids_on], weights=self._weight[ids_on], minlength=n_links)
        self.state.vehicles_stuck = float(self._weight[ids_on].sum() + self._weight[queue[stuck_q]].sum())
        if not self.options.abandon_gridlocked or self.state.vehicles_stuck == 0:
            return
        links = self.state.link[ids_on]
        self._remove(ids_on, links, np.full(ids_on.size, now))
        self._finish(ids_on, ABANDONED, np.full(ids_on.size, now), self.network.src[links])
        ids_q = queue[stuck_q]
        self._finish(ids_q, ABANDONED, np.full(ids_q.size, now), self.state.start_node[ids_q])
        self.state.end_queue, self.state.origin_queue = on[~stuck_on], queue[~stuck_q]
        self.state.recorder.abandoned_rows.append(
            (now, np.concatenate((ids_on, ids_q)), np.concatenate((links, np.full(ids_q.size, -1))))
        )

    def _record(self, t_s: float) -> None:
        counts = self.counts()
        row = {k: counts[k] for k in ("departed", "on_network", "arrived", "stranded", "abandoned")}
        row["queued_at_origin"] = counts["queued"]
        row["stuck"] = self.state.vehicles_stuck
        self.state.recorder.record(t_s, row, self.state.occupancy, self.state.stuck_by_link, self.network.length_m)

    def trips(self) -> pd.DataFrame:
        """The per-vehicle trips table now (see :class:`TrafficResult`)."""
        d = self.state
        arrived = self.state.status == ARRIVED
        arrival = np.where(arrived, self.state.end_s, np.nan)
        return pd.DataFrame(
            {
                "vehicle": np.arange(d.n_vehicles, dtype=np.int32),
                "origin": d.origin,
                "destination": d.destination,
                "vehicle_class": pd.Categorical.from_codes(d.vehicle_class, categories=pd.Index(VEHICLE_CLASSES)),
                "platoon": d.platoon,
                "departure_s": d.departure_s,
                "arrival_s": arrival,
                "travel_time_s": arrival - d.departure_s,
                "route_length_m": self.state.route_m,
                "status": pd.Categorical.from_codes(self.state.status, categories=pd.Index(STATUS_NAMES)),
                "end_s": self.state.end_s,
                "end_node": self.state.end_node,
                "link": self.state.link,
            }
        )

    def result(self) -> TrafficResult:
        """Trips and series so far (a last, partial interval is recorded if time passed since the last record)."""
        rows = self.state.recorder.network_rows
        if self.state.clock_s > 0 and (not rows or rows[-1]["t_s"] < self.state.clock_s):
            self._record(self.state.clock_s)
        rec = self.state.recorder
        return TrafficResult(self.trips(), rec.links_frame(), rec.network_frame(), rec.abandoned_frame())


def _ranges(begin: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The positions ``begin[i], ..., begin[i] + count[i] - 1`` for every ``i``, in order."""
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return np.asarray(np.repeat(begin, count) + offset)


def _redirect_problems(ids: np.ndarray, nodes: np.ndarray, n_vehicles: int, n_nodes: int) -> list[str]:
    """Every problem with the vehicle ids and destination nodes of a redirect."""
    problems = []
    if ids.ndim != 1 or nodes.shape != ids.shape:
        return [f"give one destination per vehicle, or one for all (got {nodes.size} for {ids.size} vehicles)"]
    if not np.issubdtype(ids.dtype, np.integer) or (ids.size and (ids.min() < 0 or ids.max() >= n_vehicles)):
        problems.append(f"vehicle ids must be whole numbers in 0..{n_vehicles - 1} (the ids add_trips returned)")
    if not np.issubdtype(nodes.dtype, np.integer) or (nodes.size and (nodes.min() < 0 or nodes.max() >= n_nodes)):
        problems.append(f"destinations must be node ids in 0..{n_nodes - 1}")
    return problems


def _listed(ids: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:5])
    return f"{shown}{', ...' if ids.size > 5 else ''} ({ids.size} in all)"


def simulate(
    network: TrafficNetwork,
    demand: Demand | pd.DataFrame,
    options: TrafficOptions | None = None,
    seed: int | np.random.Generator | None = None,
    until_s: float | None = None,
) -> TrafficResult:
    """Run a traffic simulation on its own and return its result.

    Runs to ``until_s``, or, when None, until every trip has ended (at most 24 h after the last departure).
    """
    sim = TrafficSim(network, demand, options, seed)
    if until_s is not None:
        sim.run(until_s)
        return sim.result()
    last = float(sim.demand.departure_s.max()) if sim.demand.n_vehicles else 0.0
    horizon = last + 86_400.0
    while not sim.done() and sim.clock_s < horizon:
        sim.step(min(sim.options.record_every_s, horizon - sim.clock_s))
    return sim.result()
