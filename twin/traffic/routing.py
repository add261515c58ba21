"""Routing: next-hop tables toward every destination from shortest-path trees (scipy.sparse.csgraph).

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
