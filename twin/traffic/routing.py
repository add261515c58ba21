"""Routing: next-hop tables toward every destination from shortest-path trees (scipy.sparse.csgraph), and the
drivers' stochastic route choice among the recent trees (:class:`RouteChoice`).

One Dijkstra per destination on the *reversed* graph (as in :mod:`twin.sim.access`) gives, for every node,
its successor on a shortest path to that destination; all destinations go to csgraph in one batched call
(``indices=array``). Parallel links between the same two nodes keep the fastest one (``scipy.sparse`` would
add their weights). Closed links are left out; a node with no path gets ``-1``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.traffic.network import TrafficNetwork


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


def next_link_table(
    network: TrafficNetwork, destinations: np.ndarray, weight: np.ndarray, closed: np.ndarray
) -> np.ndarray:
    """``next_link[k, u]``: the link to take at node ``u`` toward ``destinations[k]`` (-1: none or arrived).

    Parameters
    ----------
    network
        The links (``src``, ``dst``).
    destinations
        Destination node ids (distinct).
    weight
        Link weights (s), finite and > 0 where open.
    closed
        Links left out of the graph.
    """
    n = network.n_nodes
    table = np.full((destinations.size, n), -1, dtype=np.int32)
    keep = np.flatnonzero(~closed & np.isfinite(weight))
    if destinations.size == 0 or keep.size == 0:
        return table
    src, dst, w = network.src[keep], network.dst[keep], weight[keep]
    order = np.lexsort((keep, w, dst, src))
    first = np.ones(order.size, dtype=bool)
    first[1:] = (src[order][1:] != src[order][:-1]) | (dst[order][1:] != dst[order][:-1])
    best = order[first]
    pair_key = src[best].astype(np.int64) * n + dst[best]
    best_link = keep[best].astype(np.int32)
    reverse = sp.csr_matrix((w[best], (dst[best], src[best])), shape=(n, n))
    _, pred = csgraph.dijkstra(reverse, directed=True, indices=destinations, return_predecessors=True)
    has = pred >= 0
    rows, nodes = np.nonzero(has)
    keys = nodes.astype(np.int64) * n + pred[rows, nodes]
    table[rows, nodes] = best_link[np.searchsorted(pair_key, keys)]
    return table


def reverse_links(network: TrafficNetwork) -> np.ndarray:
    """``reverse[l]``: a link from ``dst[l]`` back to ``src[l]`` (the U-turn at the end of ``l``), or -1."""
    n = np.int64(network.n_nodes)
    key = network.src.astype(np.int64) * n + network.dst
    back = network.dst.astype(np.int64) * n + network.src
    order = np.argsort(key, kind="stable")
    pos = np.minimum(np.searchsorted(key[order], back), key.size - 1)
    found = key[order][pos] == back
    return np.where(found, order[pos], -1).astype(np.int32)


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

    Destinations may be added while a simulation runs (:meth:`rows_for`): a new destination gets a row of the
    trees (a row no vehicle heads for any more is reused, so the trees hold only the destinations in use, not
    one row per destination ever seen), and its tree is computed at the next :meth:`refresh` or
    :meth:`route_stale`, filling every kept tree with it (drivers toward it have no older trees to draw from).

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
    """

    def __init__(
        self,
        network: TrafficNetwork,
        destinations: np.ndarray,
        memory: float = 0.5,
        noise: float = 0.01,
        depth: int = 6,
    ) -> None:
        self.network = network
        self.destinations = destinations
        self.memory = memory
        self.noise = noise
        self.trees = np.full((depth if memory > 0 else 1, destinations.size, network.n_nodes), -1, dtype=np.int32)
        self.n_trees = 0
        self.stale = np.zeros(0, dtype=np.intp)  # rows whose destination changed since the last trees
        self.reverse = reverse_links(network)

    @property
    def newest(self) -> np.ndarray:
        """The newest tree's next-link table (destination index x node)."""
        return self.trees[0]

    def refresh(self, link_times_s: np.ndarray, closed: np.ndarray, rng: np.random.Generator) -> None:
        """Add the shortest-path trees on ``link_times_s`` (with perception errors) as the newest."""
        times = link_times_s * rng.uniform(1.0, 1.0 + self.noise, link_times_s.size) if self.noise > 0 else link_times_s
        self.trees[1:] = self.trees[:-1].copy()
        self.trees[0] = next_link_table(self.network, self.destinations, times, closed)
        self.n_trees = min(self.n_trees + 1, self.trees.shape[0])
        self.trees[1 : self.n_trees, self.stale] = self.trees[0, self.stale]  # no older trees toward them
        self.stale = np.zeros(0, dtype=np.intp)

    def route_stale(self, link_times_s: np.ndarray, closed: np.ndarray, rng: np.random.Generator) -> bool:
        """Compute the trees of the destinations added since the last refresh (every kept tree gets the same
        tree toward them); return whether there were any. Before the first refresh there is nothing to do."""
        stale, self.stale = self.stale, np.zeros(0, dtype=np.intp)
        if stale.size == 0 or self.n_trees == 0:
            return False
        times = link_times_s * rng.uniform(1.0, 1.0 + self.noise, link_times_s.size) if self.noise > 0 else link_times_s
        self.trees[: self.n_trees, stale] = next_link_table(self.network, self.destinations[stale], times, closed)
        return True

    def rows_for(self, nodes: np.ndarray, in_use: np.ndarray) -> np.ndarray:
        """The row of the trees toward each of ``nodes``, adding rows for destinations not held yet.

        ``in_use`` marks the rows some vehicle still heads for; the others are reused for new destinations
        before the trees grow. New rows are stale until the next :meth:`refresh` or :meth:`route_stale`.
        """
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
            extra = np.full((self.trees.shape[0], grow, self.trees.shape[2]), -1, dtype=np.int32)
            self.trees = np.concatenate((self.trees, extra), axis=1)
        added = np.concatenate((free, np.arange(self.destinations.size - grow, self.destinations.size)))
        self.destinations[added] = new
        self.trees[:, added] = -1
        self.stale = np.union1d(self.stale, added).astype(np.intp)
        rows[~found] = added[np.searchsorted(new, nodes[~found])]
        return rows

    def arrays(self) -> dict[str, np.ndarray]:
        """The destinations and kept trees (for checkpoints)."""
        return {"destinations": self.destinations, "trees": self.trees[: self.n_trees], "stale": self.stale}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.destinations = np.asarray(arrays["destinations"], dtype=np.int32)
        kept = np.asarray(arrays["trees"], dtype=np.int32)
        self.trees = np.full((self.trees.shape[0], self.destinations.size, self.network.n_nodes), -1, dtype=np.int32)
        self.n_trees = kept.shape[0]
        self.trees[: self.n_trees] = kept
        self.stale = np.asarray(arrays["stale"], dtype=np.intp)

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
        newest = self.trees[0, dest, node]
        if dest.size == 0:
            return np.asarray(newest)
        options = self.trees[: self.n_trees, dest, node]  # trees x vehicles
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
        draw = rng.random(dest.size) * total
        tree = np.minimum((cumulative <= draw).sum(axis=0), self.n_trees - 1)
        chosen = options[tree, np.arange(dest.size)]
        return np.where(total > 0, chosen, newest)  # the newest tree's link, even a U-turn, when nothing else is left
