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
from twin.traffic.kernels import exclusive_cumsum, inclusive_cumsum, segment_cummax, segment_starts
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
from twin.traffic.routing import current_link_times_s, next_link_table

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
        self._on = np.empty(0, dtype=np.intp)  # on a link (may hold a few that just left; filtered by status)

    def _init_links(self) -> None:
        net, n_links = self.network, self.network.n_links
        self.storage_veh = net.storage_for(self.options.substep_s)
        self._wave_s = net.backward_wave_s()
        self.occupancy = np.zeros(n_links)
        self.cum_in = np.zeros(n_links)
        self.cum_out = np.zeros(n_links)
        self._released = np.zeros(n_links)  # N_out as seen from the upstream end (lagged by L / w)
        self._last_exit_s = np.full(n_links, -np.inf)  # the server: when the last vehicle left, and its size
        self._last_weight = np.zeros(n_links)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.stuck_by_link = np.zeros(n_links)
        self.vehicles_stuck = 0.0
        self._next_link = np.full((self.destinations.size, net.n_nodes), -1, dtype=np.int32)
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
        blocked_e = np.full(self.network.n_links, np.inf)  # earliest arrival at a link's end held this sub-step
        cand = self._candidates(t_end)
        for _ in range(self.options.max_passes):
            if cand.size == 0:
                break
            cand = self._pass(cand, t, t_end, blocked_e)
        self._on = self._on[self.status[self._on] == ON_LINK]
        self.clock_s = t_end
        self._check_gridlock(t_end)
        if t_end >= self._next_record_s - 1e-9:
            self._record(t_end)
            every = self.options.record_every_s
            self._next_record_s = (math.floor(t_end / every + 1e-9) + 1) * every

    # ---------------------------------------------------------------- routing
    def _refresh_routes(self, t: float) -> None:
        closed = self.network.closed_now()
        routed = self._routed_closed
        if routed is not None and t < self._next_route_s - 1e-9 and np.array_equal(closed, routed):
            return
        queued = waited = None
        if self.options.congestion_routing:
            on = self._on[(self.status[self._on] == ON_LINK) & (self.exit_min_s[self._on] <= t)]
            n_links, links, weight = self.network.n_links, self.link[on], self._weight[on]
            queued = np.bincount(links, weights=weight, minlength=n_links)
            wait = np.bincount(links, weights=weight * (t - self.exit_min_s[on]), minlength=n_links)
            waited = np.divide(wait, queued, out=np.zeros(n_links), where=queued > 0)
        weight = current_link_times_s(self.network, queued, waited)
        self._next_link = next_link_table(self.network, self.destinations, weight, closed)
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
        self.entered_s[ids] = t_in
        speed = net.free_speed_mps[links] * net.speed_factor[links] * self._class_speed[ids]
        self.exit_min_s[ids] = t_in + net.length_m[links] / speed
        self.route_m[ids] += net.length_m[links]
        weight = self._weight[ids]
        np.add.at(self.cum_in, links, weight)
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
        first = self._next_link[self._dest_idx[queue], origin]
        lost = ~home & (first < 0)
        self._finish(queue[home], ARRIVED, start[home], origin[home])
        self._finish(queue[lost], STRANDED, start[lost], origin[lost])
        wait = ~(home | lost)
        queue, first, start = queue[wait], first[wait], start[wait]
        order = np.argsort(first, kind="stable")
        sorted_first = first[order]
        ahead = exclusive_cumsum(self._weight[queue[order]], segment_starts(sorted_first))
        accepted = np.empty(queue.size, dtype=bool)
        accepted[order] = ahead < self._room(sorted_first)
        self._enter(queue[accepted], first[accepted], start[accepted])
        self._on = np.concatenate((self._on, queue[accepted]))
        self._queue = queue[~accepted]

    # ---------------------------------------------------------------- one exit/entry pass
    def _candidates(self, t_end: float, links: np.ndarray | None = None) -> np.ndarray:
        """Vehicles on links (all, or those flagged in ``links``) that reach their link's end by ``t_end``."""
        on = self._on[(self.status[self._on] == ON_LINK)]
        on = on[self.exit_min_s[on] <= t_end]
        return on if links is None else on[links[self.link[on]]]

    def _server_times(self, links: np.ndarray, e: np.ndarray, weight: np.ndarray, starts: np.ndarray,
                      t: float) -> np.ndarray:  # fmt: skip
        """Exit times ``x_j = max(e_j, x_{j-1} + p_{j-1} / c)`` of the vehicles sorted by link, then arrival."""
        net = self.network
        capacity = net.capacity_veh_s[links] * net.capacity_factor[links]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_vehicle = np.where(capacity > 0, 1.0 / capacity, np.inf)  # capacity 0: nobody leaves
            ahead = np.where(capacity > 0, exclusive_cumsum(weight, starts) * per_vehicle, 0.0)
            free_at = np.maximum(self._last_exit_s[links] + self._last_weight[links] * per_vehicle, t)
        free_at[capacity <= 0] = np.inf
        return np.asarray(np.maximum(ahead + np.maximum(free_at, segment_cummax(e - ahead, starts)), e))

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

    def _batch(self, cand: np.ndarray, t: float) -> dict[str, np.ndarray]:
        """Candidates sorted by link, then arrival at its end, then id, with their next link; the ones with no
        route left are stranded here (they leave the road at the link's end)."""
        net = self.network
        cand = cand[np.lexsort((cand, self.exit_min_s[cand], self.link[cand]))]
        links, e = self.link[cand], self.exit_min_s[cand]
        dest, node = self._dest_idx[cand], net.dst[links]
        arrive = self.destinations[dest] == node
        nxt = np.where(arrive, -1, self._next_link[dest, node])
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

    def _pass(self, cand: np.ndarray, t: float, t_end: float, blocked_e: np.ndarray) -> np.ndarray:
        """Move every candidate that can leave its link now; return the candidates of the next pass.

        A vehicle held back stays held for the rest of the sub-step (servers only get busier and room only
        shrinks), and so does every vehicle behind it: ``blocked_e`` keeps, per link, the earliest arrival at
        the end among held vehicles, and later passes only look at vehicles ahead of it.
        """
        v = self._batch(cand, t)
        v["x"] = self._server_times(v["links"], v["e"], self._weight[v["cand"]], segment_starts(v["links"]), t)
        v = self._keep_ahead(v, v["x"] > t_end, blocked_e)
        full = ~v["arrive"] & (self._room(v["nxt"]) <= 0)  # refused whatever the merge order
        v = self._keep_ahead(v, full, blocked_e)
        if v["cand"].size == 0:
            return v["cand"]
        moved = self._merge(v["cand"], v["nxt"], v["arrive"], segment_starts(v["links"]))
        np.minimum.at(blocked_e, v["links"][~moved], v["e"][~moved])
        m = {k: a[moved] for k, a in v.items()}
        gone = m["arrive"]
        self._leave(m["cand"], m["links"], m["x"])
        self._finish(m["cand"][gone], ARRIVED, m["x"][gone], m["node"][gone])
        entered, new_links = m["cand"][~gone], m["nxt"][~gone]
        self._enter(entered, new_links, m["x"][~gone])
        e_new = self.exit_min_s[entered]
        return entered[(e_new <= t_end) & (e_new < blocked_e[new_links])]

    # ---------------------------------------------------------------- gridlock and records
    def _check_gridlock(self, now: float) -> None:
        limit = self.options.gridlock_s
        on, queue = self._on, self._queue
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
        self._on, self._queue = on[~stuck_on], queue[~stuck_q]
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
