"""Routing: the link times drivers perceive, and their stochastic route choice among recent shortest-path trees
(:class:`RouteChoice`), toward each destination exactly (:mod:`twin.traffic.paths`) or, past
``exact_destinations`` distinct destinations, through destination zones (:mod:`twin.traffic.zones`).
"""

from __future__ import annotations

import numpy as np

from twin.traffic.network import TrafficNetwork
from twin.traffic.paths import LinkGraph, next_link_table, tables_on
from twin.traffic.zones import NOT_IN_BALL, DestinationZones, ZoneBalls

__all__ = ["RouteChoice", "current_link_times_s", "mean_speed_link_times_s", "next_link_table", "reverse_links"]

MIXED = -3
"""What :func:`agreed_links` gives where the kept trees do not all give the same link."""


def current_link_times_s(
    network: TrafficNetwork, queued_veh: np.ndarray | None = None, waited_s: np.ndarray | None = None
) -> np.ndarray:
    """Travel time of each link now (s): ``length / (free speed x speed factor)`` plus a queue delay.

    The queue delay is the larger of the time to discharge the vehicles queued at the link's end,
    ``queued / (capacity x capacity factor)`` (a point queue, Vickrey 1969), and the mean time those vehicles
    have already waited there (``waited_s``), which sees a queue held by spillback from downstream that the
    link's own capacity would not. Links with a speed factor <= 0 get ``inf`` (they are closed).
    """
    speed = network.free_speed_mps * network.speed_factor
    times = np.where(speed > 0, network.length_m / np.where(speed > 0, speed, 1.0), np.inf)
    delay = np.zeros(network.n_links)
    if queued_veh is not None:
        capacity = np.maximum(network.capacity_veh_s * network.capacity_factor, 1e-6)
        delay = queued_veh / capacity
    if waited_s is not None:
        delay = np.maximum(delay, waited_s)
    return np.asarray(times + delay)


def mean_speed_link_times_s(network: TrafficNetwork, on_link_veh: np.ndarray, stopped_veh: np.ndarray) -> np.ndarray:
    """Travel time of each link from the mean speed of the vehicles on it (UXsim's instantaneous travel time).

    ``length / v_mean`` with ``v_mean = v_free x speed factor x moving / on link`` (vehicles short of the link's
    end drive at its free speed, those queued at its end stand still); an empty link takes its free-flow time,
    and one whose vehicles all stand takes 100 times it (UXsim's convention). Links with a speed factor <= 0
    get ``inf``.
    """
    speed = network.free_speed_mps * network.speed_factor
    moving = np.clip(on_link_veh - stopped_veh, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(on_link_veh > 0, speed * moving / on_link_veh, speed)
        times = np.where(mean > 0, network.length_m / mean, 100.0 * network.length_m / speed)
    return np.asarray(np.where(speed > 0, times, np.inf))


def reverse_links(network: TrafficNetwork) -> np.ndarray:
    """``reverse[l]``: a link from ``dst[l]`` back to ``src[l]`` (the U-turn at the end of ``l``), or -1."""
    n = np.int64(network.n_nodes)
    key = network.src.astype(np.int64) * n + network.dst
    back = network.dst.astype(np.int64) * n + network.src
    order = np.argsort(key, kind="stable")
    pos = np.minimum(np.searchsorted(key[order], back), key.size - 1)
    found = key[order][pos] == back
    return np.where(found, order[pos], -1).astype(np.int32)


def agreed_links(trees: np.ndarray) -> np.ndarray:
    """The link every tree of ``trees`` (trees x rows x nodes) gives at each (row, node), ``MIXED`` where they differ.

    Where they agree, :meth:`RouteChoice.choose` draws that link whatever the draw and the weights (every tree
    a draw can fall on gives it), so it needs the draw only where they differ.
    """
    first = trees[0]
    same = np.ones(first.shape, dtype=bool)
    for tree in trees[1:]:
        same &= tree == first
    return np.asarray(np.where(same, first, MIXED).astype(np.int32))


class RouteChoice:
    """Stochastic dynamic user-optimal route choice: next links drawn from recent shortest-path trees.

    Every refresh computes a shortest-path tree toward each destination on the current link times, each
    multiplied by a perception error drawn from ``U(1, 1 + noise)`` (which also breaks the ties of a grid's
    many equal routes at random instead of always the same way). A vehicle reaching a node draws its next link
    with probability ``P(l) = sum_j w_j [tree_j(node) = l]``: tree ``j`` is the ``j``-th most recent, with
    weight ``w_j = (1 - m) m^j`` and the oldest kept taking the remaining ``m^(n-1)``. This is exactly the
    exponentially smoothed link preference of the homogeneous DUO model (``pref <- m pref + (1 - m) 1[l on the
    newest tree]``; Seo, UXsim, 2025), kept as the last ``depth`` trees instead of a destination x link matrix.
    ``m = 0`` gives all-or-nothing routing on the newest tree. A drawn link that is closed now, missing (-1) or
    a U-turn is replaced by the newest tree's link, which respects the current closures.

    **Exact or through zones.** Up to ``exact_destinations`` distinct destinations, the trees are exact, one
    per destination (``trees[j, row, node]``). Past that, they are one per destination zone
    (:mod:`twin.traffic.zones`: ``trees[j, zone, node]``, toward the zone's seed), and a vehicle within its
    destination's ball follows the newest exact path to it (:class:`~twin.traffic.zones.ZoneBalls`), so the
    cost grows with the network, not with the destinations; the switch happens once, when a destination
    beyond the limit is added. A vehicle whose zone's seed is cut off while its destination is not gets no
    link; its destination's ball is then widened to the whole network at the next :meth:`route_stale`
    (:meth:`choose` and :meth:`has_way` ask for it), so it is stranded for at most one sub-step.

    **Lazy refreshes.** :meth:`refresh` draws the perception errors at once (the random stream does not
    depend on who reads the trees) but runs the searches only when a tree is read (:meth:`choose`,
    :meth:`has_way`, :meth:`rows_for`, :meth:`route_stale`), replaying the refreshes since in order: the trees
    are the same bit for bit, and refreshes on an empty network cost nothing. With ``noise = 0``, a refresh
    on the same times and closures as the last one copies its trees instead of searching again.

    **Agreeing trees.** Where every kept tree gives the same link, the draw gives that link whatever it is, so
    :meth:`choose` takes it from a table of the links the trees agree on (:func:`agreed_links`, rows x nodes:
    one tree's worth of memory, recomputed when the trees change) and weighs the trees only where they differ;
    it still takes one draw per vehicle from the random stream, so the stream and every choice are the same.

    Destinations may be added while a simulation runs (:meth:`rows_for`): a new destination gets a row (a row
    no vehicle heads for any more is reused, so the trees hold only the destinations in use, not one row per
    destination ever seen), and its tree is computed at the next :meth:`refresh` or :meth:`route_stale`,
    filling every kept tree with it (drivers toward it have no older trees to draw from).

    Parameters
    ----------
    network
        The links.
    destinations
        Destination node ids (distinct).
    memory
        ``m`` in [0, 1): the weight left to older trees at each refresh.
    noise
        Upper bound of the multiplicative perception error of link times.
    depth
        Trees kept (the oldest takes the weight of all older ones).
    exact_destinations
        Distinct destinations routed exactly; past this, destination zones.
    zones
        The zones to use past ``exact_destinations`` (default: :meth:`DestinationZones.build`).
    """

    def __init__(
        self,
        network: TrafficNetwork,
        destinations: np.ndarray,
        memory: float = 0.5,
        noise: float = 0.01,
        depth: int = 6,
        exact_destinations: int = 1000,
        zones: DestinationZones | None = None,
    ) -> None:
        self.network = network
        self.destinations = destinations
        self.memory = memory
        self.noise = noise
        self.exact_destinations = exact_destinations
        self.depth = depth if memory > 0 else 1
        self.zones: DestinationZones | None = None
        self.given_zones = zones
        self.balls = ZoneBalls.empty(network.n_nodes)
        self.wide = np.zeros(destinations.size, dtype=bool)  # rows whose ball is the whole network
        self.trees = np.full((self.depth, 0, network.n_nodes), -1, dtype=np.int32)
        self.n_trees = 0  # trees kept, counting the refreshes not searched yet
        self.searched = 0  # trees searched
        self.stale = np.zeros(0, dtype=np.intp)  # rows whose destination changed since the last trees
        self.deferred: list[tuple[np.ndarray, np.ndarray]] = []  # (times, closed) of refreshes not searched yet
        self.routed_on: tuple[np.ndarray, np.ndarray] | None = None  # (times, closed) of the newest trees
        self.reverse = reverse_links(network)
        self.zone_trees_due = False  # switched to zones since the last trees
        self._agree: np.ndarray | None = None  # agreed_links of the kept trees (None: to compute)
        self._agree_stale = np.zeros(0, dtype=np.intp)  # its rows whose trees changed since
        if destinations.size > exact_destinations:
            self._use_zones()
        else:
            self.trees = np.full((self.depth, destinations.size, network.n_nodes), -1, dtype=np.int32)

    @property
    def zoned(self) -> bool:
        """Whether the trees are per destination zone (past ``exact_destinations``)."""
        return self.zones is not None

    @property
    def newest(self) -> np.ndarray:
        """The newest trees' next-link table (destination row x node; zone x node when :attr:`zoned`)."""
        self._search_deferred()
        return self.trees[0]

    # ------------------------------------------------------------------ refreshes
    def refresh(self, link_times_s: np.ndarray, closed: np.ndarray, rng: np.random.Generator) -> None:
        """Add the shortest-path trees on ``link_times_s`` (with perception errors) as the newest; the searches
        wait until a tree is read (see the class notes)."""
        times = link_times_s * rng.uniform(1.0, 1.0 + self.noise, link_times_s.size) if self.noise > 0 else link_times_s
        self.deferred.append((np.array(times, dtype=np.float64), np.array(closed, dtype=bool)))
        del self.deferred[: -self.depth]  # ``depth`` refreshes later, nothing of the older ones is left
        self.n_trees = min(self.n_trees + 1, self.depth)

    def _search_deferred(self) -> None:
        """Run the searches of the refreshes not searched yet, oldest first (the balls only for the last)."""
        deferred, self.deferred = self.deferred, []
        for i, (times, closed) in enumerate(deferred):
            self._search(times, closed, balls=i == len(deferred) - 1)

    def _search(self, times: np.ndarray, closed: np.ndarray, balls: bool) -> None:
        """One refresh: shift the kept trees and compute the newest."""
        self._agree = None
        # the same inputs give the same trees (rows added since then still need theirs)
        same = self.noise == 0 and self.stale.size == 0 and self._routed_on(times, closed)
        self.trees[1:] = self.trees[:-1].copy()
        graph = None if same else LinkGraph(self.network, times, closed)
        if graph is None:
            self.trees[0] = self.trees[min(1, self.depth - 1)]
        else:
            self.trees[0] = tables_on(graph, self.zones.seeds if self.zones is not None else self.destinations)
        self.routed_on = (times, closed)
        self.searched = min(self.searched + 1, self.depth)
        if self.zones is None:
            self.trees[1 : self.searched, self.stale] = self.trees[0, self.stale]  # no older trees toward them
            self.stale = np.zeros(0, dtype=np.intp)
            return
        if self.zone_trees_due:  # just switched to zones: no older zone trees
            self.trees[1 : self.searched] = self.trees[0]
            self.zone_trees_due = False
        if balls and (graph is not None or self.stale.size):
            graph = graph or LinkGraph(self.network, times, closed)
            rows = np.arange(self.destinations.size)
            self.balls = ZoneBalls.compute(graph, self.zones, self.destinations, rows, self.wide)
            self.stale = np.zeros(0, dtype=np.intp)

    def _routed_on(self, times: np.ndarray, closed: np.ndarray) -> bool:
        """Whether the newest trees were computed on exactly these times and closures."""
        if self.routed_on is None or self.searched == 0:
            return False
        return bool(np.array_equal(self.routed_on[0], times) and np.array_equal(self.routed_on[1], closed))

    def route_stale(self, link_times_s: np.ndarray, closed: np.ndarray, rng: np.random.Generator) -> bool:
        """Compute the trees of the destinations added since the last refresh (every kept tree gets the same
        tree toward them); return whether there were any. Before the first refresh there is nothing to do."""
        self._search_deferred()
        stale, self.stale = self.stale, np.zeros(0, dtype=np.intp)
        if stale.size == 0 or self.n_trees == 0:
            return False
        times = link_times_s * rng.uniform(1.0, 1.0 + self.noise, link_times_s.size) if self.noise > 0 else link_times_s
        if self.zones is None:
            self.trees[: self.n_trees, stale] = next_link_table(self.network, self.destinations[stale], times, closed)
            self._agree_stale = np.union1d(self._agree_stale, stale).astype(np.intp)
            return True
        graph = LinkGraph(self.network, times, closed)
        if self.zone_trees_due:  # just switched to zones: every kept tree gets the newest
            self.trees[: self.n_trees] = tables_on(graph, self.zones.seeds)
            self.zone_trees_due = False
            self._agree = None
        fresh = ZoneBalls.compute(graph, self.zones, self.destinations, stale, self.wide)
        self.balls = self.balls.replace(stale, fresh)
        return True

    # ------------------------------------------------------------------ destinations
    def rows_for(self, nodes: np.ndarray, in_use: np.ndarray) -> np.ndarray:
        """The row of the trees toward each of ``nodes``, adding rows for destinations not held yet.

        ``in_use`` marks the rows some vehicle still heads for; the others are reused for new destinations
        before the trees grow. New rows are stale until the next :meth:`refresh` or :meth:`route_stale`.
        """
        self._search_deferred()
        order = np.argsort(self.destinations, kind="stable")
        held = self.destinations[order]
        rows = np.full(nodes.size, -1, dtype=np.intp)
        found = np.zeros(nodes.size, dtype=bool)
        if held.size:
            pos = np.minimum(np.searchsorted(held, nodes), held.size - 1)
            found = held[pos] == nodes
            rows[found] = order[pos[found]]
        new = np.unique(nodes[~found])
        if new.size == 0:
            return rows
        busy = in_use.copy()
        busy[rows[found]] = True
        free = np.flatnonzero(~busy)[: new.size]
        grow = new.size - free.size
        if grow:
            self.destinations = np.concatenate((self.destinations, np.zeros(grow, dtype=self.destinations.dtype)))
            self.wide = np.concatenate((self.wide, np.zeros(grow, dtype=bool)))
            if self.zones is None:
                extra = np.full((self.trees.shape[0], grow, self.trees.shape[2]), -1, dtype=np.int32)
                self.trees = np.concatenate((self.trees, extra), axis=1)
        added = np.concatenate((free, np.arange(self.destinations.size - grow, self.destinations.size)))
        self.destinations[added] = new
        self.wide[added] = False
        if self.zones is None:
            self.trees[:, added] = -1
            self._agree = None if grow else self._agree
            self._agree_stale = np.union1d(self._agree_stale, added).astype(np.intp)
        self.stale = np.union1d(self.stale, added).astype(np.intp)
        rows[~found] = added[np.searchsorted(new, nodes[~found])]
        if self.zones is None and self.destinations.size > self.exact_destinations:
            self._use_zones()
        return rows

    def _use_zones(self) -> None:
        """Route through destination zones from now on: every row is stale, the zone trees are computed at the
        next :meth:`refresh` or :meth:`route_stale`."""
        self.zones = self.given_zones or DestinationZones.build(self.network)
        self.trees = np.full((self.depth, self.zones.n_zones, self.network.n_nodes), -1, dtype=np.int32)
        self._agree = None
        self.stale = np.arange(self.destinations.size, dtype=np.intp)
        self.routed_on = None
        self.zone_trees_due = True

    def _widen(self, rows: np.ndarray) -> None:
        """Give these rows a ball over the whole network at the next :meth:`route_stale` (their zone's seed was
        out of reach)."""
        rows = np.unique(rows[~self.wide[rows]])
        if rows.size:
            self.wide[rows] = True
            self.stale = np.union1d(self.stale, rows).astype(np.intp)

    # ------------------------------------------------------------------ reading the trees
    def _options(self, dest: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The kept trees' links (trees x vehicles) at ``node`` toward ``destinations[dest]``, and where the
        destination's ball gave them (all False when exact)."""
        if self.zones is None:
            return self.trees[: self.n_trees, dest, node], np.zeros(dest.size, dtype=bool)
        zone = self.zones.zone_of[self.destinations[dest]]
        local = self.balls.local(dest, node, self.destinations[dest] == node)
        inside = local != NOT_IN_BALL
        return np.where(inside, local, self.trees[: self.n_trees, zone, node]), inside

    def has_way(self, dest: np.ndarray, node: np.ndarray) -> np.ndarray:
        """Whether the newest trees lead from ``node`` to ``destinations[dest]`` (or it is there)."""
        self._search_deferred()
        options, inside = self._options(dest, node)
        at = self.destinations[dest] == node
        way = at | (options[0] >= 0 if options.shape[0] else np.zeros(dest.size, dtype=bool))
        if self.zones is not None:
            self._widen(dest[~way & ~inside])
        return np.asarray(way)

    def arrays(self) -> dict[str, np.ndarray]:
        """The destinations, kept trees, balls and refreshes not searched yet (for checkpoints)."""
        times = [t for t, _ in self.deferred]
        closed = [c for _, c in self.deferred]
        n_links = self.network.n_links
        arrays = {
            "destinations": self.destinations,
            "trees": self.trees[: self.searched],
            "stale": self.stale,
            "wide": self.wide,
            "ball_keys": self.balls.keys,
            "ball_links": self.balls.links,
            "deferred_times": np.array(times).reshape(len(times), n_links),
            "deferred_closed": np.array(closed, dtype=bool).reshape(len(closed), n_links),
        }
        if self.zones is not None:
            arrays |= {"zone_seeds": self.zones.seeds, "zone_of": self.zones.zone_of}
            arrays["zone_radius_s"] = np.array([self.zones.radius_s])
        arrays["zone_trees_due"] = np.array([self.zone_trees_due])
        if self.routed_on is not None:
            arrays |= {"routed_times": self.routed_on[0], "routed_closed": self.routed_on[1]}
        return arrays

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.destinations = np.asarray(arrays["destinations"], dtype=np.int32)
        kept = np.asarray(arrays["trees"], dtype=np.int32)
        self.zones = None
        if "zone_seeds" in arrays:
            radius = float(np.asarray(arrays["zone_radius_s"])[0])
            self.zones = DestinationZones(np.asarray(arrays["zone_seeds"]), np.asarray(arrays["zone_of"]), radius)
        rows = self.zones.n_zones if self.zones is not None else self.destinations.size
        self.trees = np.full((self.depth, rows, self.network.n_nodes), -1, dtype=np.int32)
        self.searched = kept.shape[0]
        self.trees[: self.searched] = kept
        self._agree = None
        self.stale = np.asarray(arrays["stale"], dtype=np.intp)
        self.wide = np.asarray(arrays.get("wide", np.zeros(self.destinations.size, dtype=bool)), dtype=bool)
        keys = np.asarray(arrays.get("ball_keys", np.zeros(0)), dtype=np.int64)
        self.balls = ZoneBalls(self.network.n_nodes, keys, np.asarray(arrays.get("ball_links", keys), dtype=np.int32))
        times = np.asarray(arrays.get("deferred_times", np.zeros((0, self.network.n_links))), dtype=np.float64)
        closed = np.asarray(arrays.get("deferred_closed", np.zeros(times.shape)), dtype=bool)
        self.deferred = [(times[i].copy(), closed[i].copy()) for i in range(times.shape[0])]
        self.n_trees = min(self.searched + len(self.deferred), self.depth)
        self.zone_trees_due = bool(np.asarray(arrays.get("zone_trees_due", [False]))[0])
        self.routed_on = None
        if "routed_times" in arrays:
            self.routed_on = (np.asarray(arrays["routed_times"]), np.asarray(arrays["routed_closed"], dtype=bool))

    def tree_weights(self) -> np.ndarray:
        """Probability of drawing each kept tree, newest first (sums to 1)."""
        m, n = self.memory, self.n_trees
        weights = (1.0 - m) * m ** np.arange(n, dtype=np.float64)
        weights[n - 1] = m ** (n - 1)
        return weights

    def choose(
        self,
        dest: np.ndarray,
        node: np.ndarray,
        came_from: np.ndarray | None,
        closed: np.ndarray,
        rng: np.random.Generator,
        has_room: np.ndarray | None = None,
    ) -> np.ndarray:
        """Next link of vehicles heading for ``destinations[dest]`` at ``node`` (-1: no route left).

        ``came_from`` is the link each arrived by (None at the origin), to rule out U-turns. With ``has_room``
        (per link), a driver whose drawn link is full takes another link of the kept trees that has room, drawn
        by the trees' weights (a blocked driver's immediate re-choice, UXsim's re-drawing at every step in the
        limit of short steps); with none, the draw stands and the vehicle waits.
        """
        if dest.size == 0:
            return np.zeros(0, dtype=np.int32)
        self._search_deferred()
        uniform = rng.random(dest.size)  # one draw per vehicle, used only where the trees differ
        chosen, inside = self._agreed(dest, node)
        mixed = np.flatnonzero(chosen == MIXED)
        if mixed.size:
            back = None if came_from is None else came_from[mixed]
            chosen[mixed] = self._draw(dest[mixed], node[mixed], back, closed, uniform[mixed], has_room)
        if self.zones is not None:  # cut off from the zone's seed, not known to be from the destination
            self._widen(dest[(chosen < 0) & ~inside])
        return np.asarray(chosen)

    def _agreed(self, dest: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The link all kept trees give at ``node`` toward ``destinations[dest]`` (``MIXED`` where they differ), and
        where the destination's ball gave it (all False when exact)."""
        if self._agree is None:
            self._agree = agreed_links(self.trees[: self.n_trees])
        elif self._agree_stale.size:
            rows = self._agree_stale
            self._agree[rows] = agreed_links(self.trees[: self.n_trees, rows])
        self._agree_stale = np.zeros(0, dtype=np.intp)
        if self.zones is None:
            return self._agree[dest, node], np.zeros(dest.size, dtype=bool)
        zone = self.zones.zone_of[self.destinations[dest]]
        local = self.balls.local(dest, node, self.destinations[dest] == node)
        inside = local != NOT_IN_BALL
        return np.where(inside, local, self._agree[zone, node]), inside

    def _draw(
        self,
        dest: np.ndarray,
        node: np.ndarray,
        came_from: np.ndarray | None,
        closed: np.ndarray,
        uniform: np.ndarray,
        has_room: np.ndarray | None,
    ) -> np.ndarray:
        """:meth:`choose` where the kept trees differ: tree ``j`` is drawn with probability proportional to
        ``w_j`` over the trees whose link is usable (and has room, if any has), by ``uniform`` (U(0, 1) each)."""
        options, _ = self._options(dest, node)  # trees x vehicles
        newest = options[0]
        usable = options >= 0
        usable &= ~closed[options]
        if came_from is not None:
            usable &= options != self.reverse[came_from]
        weights = self.tree_weights()[:, None] * usable
        if has_room is not None:
            free = weights * has_room[options]
            weights = np.where(free.sum(axis=0) > 0, free, weights)
        cumulative = np.cumsum(weights, axis=0)
        total = cumulative[-1]
        draw = uniform * total
        tree = np.minimum((cumulative <= draw).sum(axis=0), self.n_trees - 1)
        chosen = options[tree, np.arange(dest.size)]
        # the newest tree's link, even a U-turn, when nothing else is left
        return np.asarray(np.where(total > 0, chosen, newest))
