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
  3.33 sub-steps, with no accumulator rounding, and a capacity factor of 0 holds every vehicle. As in
  MATSim's queue model there is no separate inflow capacity: a link's entries are limited by its room and
  by its upstream links' outflow capacities.
* **Storage and spillback.** Link ``l`` takes a vehicle only while
  ``N_in(l) < storage(l) + N_out(l, t + dt - L / w)`` (Yperman 2007's receiving flow, cumulative counts):
  space freed at the downstream end reaches the upstream end one backward-wave time ``L / w`` later.
  ``N_out`` at the lagged time is kept exactly: every exit posts a release ``(link, x + L / w)``, applied when
  a sub-step's end passes it (not before the next sub-step, so the lag is at least one sub-step). Storage is
  ``k_j L lanes`` rounded up, and at least ``lanes x max(1, capacity per lane x dt)`` so short links do not
  fake gridlock (:meth:`TrafficNetwork.storage_for`). A platoon enters while any room is left, so a link
  can hold up to one platoon less one vehicle more than its storage when ``platoon_size > 1``.
* **Node model.** Departures enter first (a queue per first link, in departure order); then vehicles whose
  server time falls within the sub-step compete for their next link's room in a seeded random order
  (priority classes first), a demand-proportional merge (as in Jin & Zhang 2003 on average); a vehicle
  leaves only if every vehicle ahead of it on its link leaves too (FIFO at the exit); room granted to a
  vehicle that FIFO then holds back is offered again to the others, a few rounds at most. Vehicles whose
  link ends at their destination leave without needing room.
* **Several links per sub-step.** The exit/entry pass repeats within a sub-step (up to ``max_passes``) for
  the vehicles that entered a link in the last pass and reach its end within the sub-step ahead of any
  held vehicle; the entry time of the next link is the exit time of the last, so a vehicle crosses a chain
  of short links at exactly free-flow time. A held vehicle's exit time is the start of the sub-step in
  which it finally leaves (the only place where the sub-step shows in travel times).
* **Routing.** Next-hop tables toward each destination from shortest-path trees on current link times
  (:mod:`twin.traffic.routing`), refreshed every ``reroute_every_s`` and at once when closures change;
  vehicles choose their next link when they reach a node, so those heading for a closed link reroute. Link
  times add a queue delay to the free-flow time (:func:`current_link_times_s`). A vehicle with no route
  left is stranded where it is (kept in the trips table, counted; final, even if the link reopens later).
* **Gridlock.** A vehicle waiting longer than ``gridlock_s`` past its earliest exit (or at its origin) is
  stuck; stuck vehicles are counted per link, and removed as abandoned if ``abandon_gridlocked``.

Every sub-step operation is over all candidate vehicles or links at once; Python loops run only over
sub-steps and passes. Conservation holds after every sub-step:
``departed = on network (on links or queued at origin) + arrived + stranded + abandoned``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from twin.traffic.demand import VEHICLE_CLASSES, Demand, TrafficOptions
from twin.traffic.kernels import dd1_times, exclusive_cumsum, inclusive_cumsum, segment_starts
from twin.traffic.network import TrafficNetwork
from twin.traffic.result import (
    ABANDONED,
    ARRIVED,
    ON_LINK,
    QUEUED,
    STATUS_NAMES,
    STRANDED,
    WAITING,
    Recorder,
    TrafficResult,
)
from twin.traffic.routing import RouteChoice, current_link_times_s

_MERGE_ROUNDS = 8  # node-model rounds per pass (room held by FIFO-blocked vehicles is offered again)


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
        self.demand = demand
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.clock_s = 0.0
        self._init_vehicles()
        self._init_links()

    def _init_vehicles(self) -> None:
        d, n = self.demand, self.demand.n_vehicles
        destinations, dest_idx = np.unique(d.destination, return_inverse=True)
        self.destinations = destinations.astype(np.int32)
        self._dest_idx = dest_idx.astype(np.int32)
        self._weight = d.platoon.astype(np.float64)
        self._class_speed = np.array([self.options.class_speed[c] for c in VEHICLE_CLASSES])[d.vehicle_class]
        priority = np.array([c in self.options.priority_classes for c in VEHICLE_CLASSES], dtype=np.int8)
        self._priority = priority[d.vehicle_class]
        self.status = np.zeros(n, dtype=np.int8)
        self.link = np.full(n, -1, dtype=np.int32)
        self.entered_s = np.full(n, np.nan)
        self.exit_min_s = np.full(n, np.nan)
        self.route_m = np.zeros(n)
        self.end_s = np.full(n, np.nan)
        self.end_node = np.full(n, -1, dtype=np.int32)
        self._dep_order = np.argsort(d.departure_s, kind="stable")
        self._dep_sorted = d.departure_s[self._dep_order]
        self._dep_next = 0
        self._queue = np.empty(0, dtype=np.intp)  # departed, waiting to enter their first link (departure order)
        self._on = np.empty(0, dtype=np.intp)  # on a link, short of its end (may hold a few that just left)
        self._q = np.empty(0, dtype=np.intp)  # at their link's end, sorted by link, arrival there, id
        self._at_end = np.zeros(n, dtype=bool)  # in ``_q``

    def _init_links(self) -> None:
        net, n_links = self.network, self.network.n_links
        self.storage_veh = net.storage_for(self.options.substep_s)
        self._wave_s = net.backward_wave_s()
        self.occupancy = np.zeros(n_links)
        self.cum_in = np.zeros(n_links)
        self.cum_out = np.zeros(n_links)
        self._last_entry_s = np.full(n_links, -np.inf)  # the entry server: last vehicle in, and its size
        self._last_entry_weight = np.zeros(n_links)
        self._released = np.zeros(n_links)  # N_out as seen from the upstream end (lagged by L / w)
        self._last_exit_s = np.full(n_links, -np.inf)  # the server: when the last vehicle left, and its size
        self._last_weight = np.zeros(n_links)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.stuck_by_link = np.zeros(n_links)
        self.vehicles_stuck = 0.0
        self._routes = RouteChoice(net, self.destinations, self.options.route_memory, self.options.route_noise)
        self._closed = net.closed_now()
        self._routed_closed: np.ndarray | None = None
        self._next_route_s = 0.0
        self.route_refreshes = 0
        self._recorder = Recorder(n_links, self.options.record_links)
        self._next_record_s = self.options.record_every_s
        self._step_times = [0.0, 0.0]  # free-flow and actual time of traversals completed in the last step

    # ---------------------------------------------------------------- counts the engine reads
    def counts(self) -> dict[str, float]:
        """Vehicles (platoon sizes summed) per state now, with ``departed`` and ``on_network``."""
        by_status = np.bincount(self.status, weights=self._weight, minlength=len(STATUS_NAMES))
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
        free, actual = self._step_times
        return free / actual if actual > 0 else float("nan")

    # ---------------------------------------------------------------- stepping
    def step(self, dt_s: float) -> None:
        """Advance by ``dt_s`` seconds in equal sub-steps no longer than ``options.substep_s``."""
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"step needs a duration > 0 s (got {dt_s})")
        n = max(1, math.ceil(dt_s / self.options.substep_s - 1e-9))
        t0 = self.clock_s
        self._step_times = [0.0, 0.0]
        for i in range(n):
            self._substep(t0 + dt_s * i / n, t0 + dt_s * (i + 1) / n)

    def run(self, until_s: float) -> None:
        """Advance to ``until_s`` (s)."""
        if until_s > self.clock_s:
            self.step(until_s - self.clock_s)

    def done(self) -> bool:
        """Whether every trip has ended (arrived, stranded or abandoned)."""
        return bool(np.all(self.status >= ARRIVED))

    def _substep(self, t: float, t_end: float) -> None:
        self._refresh_routes(t)
        self._apply_releases(t_end)
        self._depart(t, t_end)
        self._queue_arrivals(t_end)
        blocked_e = np.full(self.network.n_links, np.inf)  # earliest arrival at a link's end held this sub-step
        cand = self._heads(t_end - t, blocked_e)
        for i in range(self.options.max_passes):
            if cand.size == 0:
                break
            cand = self._pass(cand, t, t_end, blocked_e, presorted=i == 0)
        self._q = self._q[self._at_end[self._q]]
        self._on = self._on[(self.status[self._on] == ON_LINK) & ~self._at_end[self._on]]
        self.clock_s = t_end
        self._check_gridlock(t_end)
        if t_end >= self._next_record_s - 1e-9:
            self._record(t_end)
            every = self.options.record_every_s
            self._next_record_s = (math.floor(t_end / every + 1e-9) + 1) * every

    # ---------------------------------------------------------------- routing
    def _refresh_routes(self, t: float) -> None:
        closed = self._closed = self.network.closed_now()
        routed = self._routed_closed
        if routed is not None and t < self._next_route_s - 1e-9 and np.array_equal(closed, routed):
            return
        queued = waited = None
        if self.options.congestion_routing:
            on = self._q
            n_links, links, weight = self.network.n_links, self.link[on], self._weight[on]
            queued = np.bincount(links, weights=weight, minlength=n_links)
            wait = np.bincount(links, weights=weight * (t - self.exit_min_s[on]), minlength=n_links)
            waited = np.divide(wait, queued, out=np.zeros(n_links), where=queued > 0)
        weight = current_link_times_s(self.network, queued, waited)
        self._routes.refresh(weight, closed, self.rng)
        self._routed_closed = closed.copy()
        self._next_route_s = t + self.options.reroute_every_s
        self.route_refreshes += 1

    # ---------------------------------------------------------------- links' space
    @property
    def room_veh(self) -> np.ndarray:
        """Receiving room of every link now (vehicles): ``storage + N_out(t - L / w) - N_in(t)``."""
        return np.asarray(self.storage_veh + self._released - self.cum_in)

    def _room(self, links: np.ndarray) -> np.ndarray:
        """Receiving room now: ``storage + N_out(t + dt - L / w) - N_in(t)`` (Yperman 2007)."""
        return np.asarray(self.storage_veh[links] + self._released[links] - self.cum_in[links])

    def _apply_releases(self, t_end: float) -> None:
        if not self._pending:
            return
        links, times, weight = (np.concatenate(parts) for parts in zip(*self._pending, strict=True))
        due = times <= t_end
        np.add.at(self._released, links[due], weight[due])
        keep = ~due
        self._pending = [(links[keep], times[keep], weight[keep])] if keep.any() else []

    # ---------------------------------------------------------------- vehicles in and out of links
    def _enter(self, ids: np.ndarray, links: np.ndarray, t_in: np.ndarray) -> None:
        if ids.size == 0:
            return
        net = self.network
        self.status[ids] = ON_LINK
        self.link[ids] = links
        self._at_end[ids] = False
        self.entered_s[ids] = t_in
        speed = net.free_speed_mps[links] * net.speed_factor[links] * self._class_speed[ids]
        self.exit_min_s[ids] = t_in + net.length_m[links] / speed
        self.route_m[ids] += net.length_m[links]
        weight = self._weight[ids]
        np.add.at(self.cum_in, links, weight)
        self._note_entries(links, t_in, weight)
        np.add.at(self.occupancy, links, weight)
        self._recorder.entered(links, weight)

    def _leave(self, ids: np.ndarray, links: np.ndarray, x: np.ndarray) -> None:
        """Vehicles pass the downstream end of ``links`` at times ``x``."""
        net, weight = self.network, self._weight[ids]
        np.subtract.at(self.occupancy, links, weight)
        np.add.at(self.cum_out, links, weight)
        last = np.ones(links.size, dtype=bool)  # sorted by link and exit time: the last exit of each link
        last[:-1] = links[1:] != links[:-1]
        self._last_exit_s[links[last]] = x[last]
        self._last_weight[links[last]] = weight[last]
        self._pending.append((links, x + self._wave_s[links], weight))
        time_on = x - self.entered_s[ids]
        free = net.length_m[links] / net.free_speed_mps[links]
        self._recorder.left(links, weight, time_on, free)
        self._step_times[0] += float(np.dot(weight, free))
        self._step_times[1] += float(np.dot(weight, time_on))

    def _remove(self, ids: np.ndarray, links: np.ndarray, release_s: np.ndarray) -> None:
        """Vehicles taken off ``links`` without passing their end (stranded or abandoned)."""
        weight = self._weight[ids]
        np.subtract.at(self.occupancy, links, weight)
        self._pending.append((links, release_s, weight))

    def _finish(self, ids: np.ndarray, status: int, t: np.ndarray, node: np.ndarray) -> None:
        self.status[ids] = status
        self._at_end[ids] = False
        self.end_s[ids] = t
        self.end_node[ids] = node
        self.link[ids] = -1

    # ---------------------------------------------------------------- departures
    def _depart(self, t: float, t_end: float) -> None:
        """Trips due before ``t_end`` join their first link's entry queue; the queue enters while there is room."""
        d = self.demand
        due = int(np.searchsorted(self._dep_sorted, t_end, side="left"))
        new = self._dep_order[self._dep_next : due]
        self._dep_next = due
        self.status[new] = QUEUED
        queue = np.concatenate((self._queue, new))
        if queue.size == 0:
            return
        origin = d.origin[queue]
        start = np.maximum(d.departure_s[queue], t)
        home = origin == d.destination[queue]
        first = self._routes.choose(self._dest_idx[queue], origin, None, self._closed, self.rng)
        lost = ~home & (first < 0)
        self._finish(queue[home], ARRIVED, start[home], origin[home])
        self._finish(queue[lost], STRANDED, start[lost], origin[lost])
        wait = ~(home | lost)
        queue, first, start = queue[wait], first[wait], start[wait]
        order = np.argsort(first, kind="stable")
        sorted_first, weight = first[order], self._weight[queue[order]]
        starts = segment_starts(sorted_first)
        ahead = exclusive_cumsum(weight, starts)
        y = self._entry_times(sorted_first, start[order], weight, starts)
        accepted = np.empty(queue.size, dtype=bool)
        accepted[order] = (ahead < self._room(sorted_first)) & (y <= t_end)  # both hold for a prefix per link
        entry = np.empty(queue.size)
        entry[order] = y
        self._enter(queue[accepted], first[accepted], entry[accepted])
        self._on = np.concatenate((self._on, queue[accepted]))
        self._queue = queue[~accepted]

    # ---------------------------------------------------------------- one exit/entry pass
    def _queue_arrivals(self, t_end: float) -> None:
        """Vehicles reaching their link's end by ``t_end`` join the link's end queue ``_q`` behind those there.

        Every vehicle already in ``_q`` reached the end before this sub-step, and every newcomer entered its link
        after that, so newcomers go after a link's queue and only they need sorting.
        """
        on = self._on
        due = self.exit_min_s[on] <= t_end
        new = on[due]
        if new.size == 0:
            return
        self._on = on[~due]
        new = new[np.lexsort((new, self.exit_min_s[new], self.link[new]))]
        at = np.searchsorted(self.link[self._q], self.link[new], side="right")
        self._q = np.insert(self._q, at, new)
        self._at_end[new] = True

    def _heads(self, dt: float, blocked_e: np.ndarray) -> np.ndarray:
        """The vehicles at the front of each link's end queue that its server could let out in ``dt`` seconds.

        The ``j``-th vehicle in a queue (0-based) leaves no earlier than ``C_j / c`` after the sub-step starts, with
        ``C_j >= j`` vehicles ahead of it, so only the first ``floor(c dt) + 1`` can leave; the first one past them
        holds every later arrival on its link for the sub-step (noted in ``blocked_e``).
        """
        q = self._q
        if q.size == 0:
            return q
        net, links = self.network, self.link[q]
        first = np.flatnonzero(segment_starts(links))
        rank = np.arange(q.size) - np.repeat(first, np.diff(np.append(first, q.size)))
        limit = np.floor(net.capacity_veh_s[links] * net.capacity_factor[links] * dt) + 1
        beyond = rank == limit
        np.minimum.at(blocked_e, links[beyond], self.exit_min_s[q[beyond]])
        return np.asarray(q[rank < limit])

    def _server_times(self, links: np.ndarray, e: np.ndarray, weight: np.ndarray, starts: np.ndarray,
                      t: float) -> np.ndarray:  # fmt: skip
        """Exit times ``x_j = max(e_j, x_{j-1} + p_{j-1} / c)`` of the vehicles sorted by link, then arrival."""
        net = self.network
        capacity = net.capacity_veh_s[links] * net.capacity_factor[links]
        with np.errstate(divide="ignore", invalid="ignore"):
            free_at = np.maximum(self._last_exit_s[links] + self._last_weight[links] / capacity, t)
        return dd1_times(e, weight, starts, capacity, free_at)

    def _entry_times(self, links: np.ndarray, x: np.ndarray, weight: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Entry times ``y_j = max(x_j, y_{j-1} + p_{j-1} / c)`` of vehicles sorted by the link they enter, then
        time: a link takes at most its capacity (the receiving flow's ``q dt`` bound, Yperman 2007)."""
        capacity = self.network.capacity_veh_s[links]
        free_at = self._last_entry_s[links] + self._last_entry_weight[links] / capacity
        return dd1_times(x, weight, starts, capacity, free_at)

    def _note_entries(self, links: np.ndarray, y: np.ndarray, weight: np.ndarray) -> None:
        """Record the last entry of each link among vehicles entering at ``y``."""
        if links.size == 0:
            return
        order = np.lexsort((y, links))
        last = order[np.append(links[order][1:] != links[order][:-1], True)]
        newer = y[last] >= self._last_entry_s[links[last]]
        self._last_entry_s[links[last[newer]]] = y[last[newer]]
        self._last_entry_weight[links[last[newer]]] = weight[last[newer]]

    def _merge(self, cand: np.ndarray, nxt: np.ndarray, arrive: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Node model for vehicles due at their link's end (sorted by link, then arrival): who moves.

        Vehicles entering another link are ranked per target link in a seeded random order (priority
        classes first) and accepted while ``ahead < room`` (a demand-proportional merge on average); a
        vehicle moves if it is accepted (or arrives) and so is every vehicle ahead of it on its link (FIFO).
        A vehicle accepted but held back by FIFO withdraws, and its target's room is offered again to the
        others, for a few rounds at most.
        """
        key = self.rng.random(cand.size)
        want = ~arrive
        competing, recompute = want.copy(), want.copy()
        accepted = np.zeros(cand.size, dtype=bool)
        for _ in range(_MERGE_ROUNDS):
            accepted[recompute] = False
            wi = np.flatnonzero(recompute & competing)
            if wi.size:
                order = wi[np.lexsort((key[wi], -self._priority[cand[wi]], nxt[wi]))]
                target = nxt[order]
                ahead = exclusive_cumsum(self._weight[cand[order]], segment_starts(target))
                accepted[order] = ahead < self._room(target)
            moved = inclusive_cumsum((~(arrive | accepted)).astype(np.float64), starts) == 0
            held = accepted & ~moved
            if not held.any():
                break
            competing &= ~held
            freed = np.zeros(self.network.n_links, dtype=bool)
            freed[nxt[held]] = True
            recompute = want & freed[nxt]
        return np.asarray(moved)

    def _batch(self, cand: np.ndarray, t: float, presorted: bool) -> dict[str, np.ndarray]:
        """Candidates sorted by link, then arrival at its end, then id, with their next link; the ones with no
        route left are stranded here (they leave the road at the link's end)."""
        net = self.network
        if not presorted:
            cand = cand[np.lexsort((cand, self.exit_min_s[cand], self.link[cand]))]
        links, e = self.link[cand], self.exit_min_s[cand]
        dest, node = self._dest_idx[cand], net.dst[links]
        arrive = self.destinations[dest] == node
        nxt = np.where(arrive, -1, self._routes.choose(dest, node, links, self._closed, self.rng))
        v = {"cand": cand, "links": links, "e": e, "node": node, "arrive": arrive, "nxt": nxt}
        lost = (nxt < 0) & ~arrive
        if lost.any():
            x = np.maximum(e[lost], t)
            self._remove(cand[lost], links[lost], x + self._wave_s[links[lost]])
            self._finish(cand[lost], STRANDED, x, node[lost])
            v = {k: a[~lost] for k, a in v.items()}
        return v

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
        v = self._batch(cand, t, presorted)
        v["x"] = self._server_times(v["links"], v["e"], self._weight[v["cand"]], segment_starts(v["links"]), t)
        v = self._keep_ahead(v, v["x"] > t_end, blocked_e)
        full = ~v["arrive"] & (self._room(v["nxt"]) <= 0)  # refused whatever the merge order
        v = self._keep_ahead(v, full, blocked_e)
        if v["cand"].size == 0:
            return v["cand"]
        moved = self._merge(v["cand"], v["nxt"], v["arrive"], segment_starts(v["links"]))
        np.minimum.at(blocked_e, v["links"][~moved], v["e"][~moved])
        m = {k: a[moved] for k, a in v.items()}
        commit, deferred = self._admit(m, t_end, blocked_e)
        deferred_ids = m["cand"][deferred]
        m = {k: a[commit] for k, a in m.items()}
        gone = m["arrive"]
        self._leave(m["cand"], m["links"], m["y"])
        self._finish(m["cand"][gone], ARRIVED, m["y"][gone], m["node"][gone])
        entered, new_links = m["cand"][~gone], m["nxt"][~gone]
        self._on = np.concatenate((self._on, entered[self._at_end[entered]]))  # the others are in ``_on``
        self._enter(entered, new_links, m["y"][~gone])
        e_new = self.exit_min_s[entered]
        return np.concatenate((deferred_ids, entered[(e_new <= t_end) & (e_new < blocked_e[new_links])]))

    def _admit(self, m: dict[str, np.ndarray], t_end: float, blocked_e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entry servers: when the movers (sorted by link, then exit time) get into their next link.

        Movers enter their next links in order of time at the links' capacities (``y``, :meth:`_entry_times`);
        one that must wait leaves its own link at ``y`` instead of ``x``. Per link, the movers ahead of the first
        one that waits go; that one goes at ``y`` if ``y`` falls in the sub-step, and the ones behind it try again
        in the next pass, their exit times being pushed back (``deferred``); if ``y`` is past the sub-step, it and
        the ones behind it are held. Returns the masks of movers that go (``m["y"]`` set) and of deferred ones.
        """
        y = m["x"].copy()
        entering = np.flatnonzero(~m["arrive"])
        if entering.size:
            order = entering[np.lexsort((m["cand"][entering], m["x"][entering], m["nxt"][entering]))]
            target = m["nxt"][order]
            y[order] = self._entry_times(target, m["x"][order], self._weight[m["cand"][order]], segment_starts(target))
        m["y"] = y
        late = y > t_end
        waits = late | (y > m["x"])
        starts = segment_starts(m["links"])
        clear = exclusive_cumsum(waits.astype(np.float64), starts) == 0  # no mover ahead waits
        behind_late = inclusive_cumsum((waits & clear & late).astype(np.float64), starts) > 0
        np.minimum.at(blocked_e, m["links"][behind_late], m["e"][behind_late])
        return clear & ~behind_late, ~clear & ~behind_late

    # ---------------------------------------------------------------- gridlock and records
    def _check_gridlock(self, now: float) -> None:
        limit = self.options.gridlock_s
        on, queue = self._q, self._queue
        stuck_on = (now - self.exit_min_s[on]) > limit
        stuck_q = (now - self.demand.departure_s[queue]) > limit
        ids_on = on[stuck_on]
        n_links = self.network.n_links
        self.stuck_by_link = np.bincount(self.link[ids_on], weights=self._weight[ids_on], minlength=n_links)
        self.vehicles_stuck = float(self._weight[ids_on].sum() + self._weight[queue[stuck_q]].sum())
        if not self.options.abandon_gridlocked or self.vehicles_stuck == 0:
            return
        links = self.link[ids_on]
        self._remove(ids_on, links, np.full(ids_on.size, now))
        self._finish(ids_on, ABANDONED, np.full(ids_on.size, now), self.network.src[links])
        ids_q = queue[stuck_q]
        self._finish(ids_q, ABANDONED, np.full(ids_q.size, now), self.demand.origin[ids_q])
        self._q, self._queue = on[~stuck_on], queue[~stuck_q]
        self._recorder.abandoned_rows.append(
            (now, np.concatenate((ids_on, ids_q)), np.concatenate((links, np.full(ids_q.size, -1))))
        )

    def _record(self, t_s: float) -> None:
        counts = self.counts()
        row = {k: counts[k] for k in ("departed", "on_network", "arrived", "stranded", "abandoned")}
        row["queued_at_origin"] = counts["queued"]
        row["stuck"] = self.vehicles_stuck
        self._recorder.record(t_s, row, self.occupancy, self.stuck_by_link, self.network.length_m)

    def trips(self) -> pd.DataFrame:
        """The per-vehicle trips table now (see :class:`TrafficResult`)."""
        d = self.demand
        arrived = self.status == ARRIVED
        arrival = np.where(arrived, self.end_s, np.nan)
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
                "route_length_m": self.route_m,
                "status": pd.Categorical.from_codes(self.status, categories=pd.Index(STATUS_NAMES)),
                "end_s": self.end_s,
                "end_node": self.end_node,
                "link": self.link,
            }
        )

    def result(self) -> TrafficResult:
        """Trips and series so far (a last, partial interval is recorded if time passed since the last record)."""
        rows = self._recorder.network_rows
        if self.clock_s > 0 and (not rows or rows[-1]["t_s"] < self.clock_s):
            self._record(self.clock_s)
        rec = self._recorder
        return TrafficResult(self.trips(), rec.links_frame(), rec.network_frame(), rec.abandoned_frame())


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
