"""Shortest paths on the traffic network's links (scipy.sparse.csgraph): exact next-link tables toward given
destinations, and the same bounded to a travel-time radius around each destination.

One Dijkstra per destination on the *reversed* graph (as in :mod:`twin.sim.access`) gives, for every node, its
successor on a shortest path to that destination (Dijkstra 1959); many destinations go to csgraph in one batched
call (``indices=array``). Parallel links between the same two nodes keep the fastest one (``scipy.sparse`` would
add their weights). Closed links are left out; a node with no path gets ``-1``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.traffic.network import TrafficNetwork

BATCH_DESTINATIONS = 256
"""Destinations per csgraph call of :func:`bounded_next_links`: its distance and predecessor arrays are
``batch x nodes``, 46 MB for 15,000 nodes, whatever the number of destinations."""


class LinkGraph:
    """The open links with finite weights, parallel links reduced to the fastest (ties: the lowest link id).

    Parameters
    ----------
    network
        The links (``src``, ``dst``).
    weight
        Link weights (s), > 0 where open.
    closed
        Links left out.
    """

    def __init__(self, network: TrafficNetwork, weight: np.ndarray, closed: np.ndarray) -> None:
        self.n_nodes = n = network.n_nodes
        keep = np.flatnonzero(~closed & np.isfinite(weight))
        src, dst, w = network.src[keep], network.dst[keep], weight[keep]
        order = np.lexsort((keep, w, dst, src))
        first = np.ones(order.size, dtype=bool)
        first[1:] = (src[order][1:] != src[order][:-1]) | (dst[order][1:] != dst[order][:-1])
        best = order[first]
        self.src, self.dst, self.weight = src[best], dst[best], w[best]
        self.pair_key = self.src.astype(np.int64) * n + self.dst  # sorted (by src, then dst)
        self.link = keep[best].astype(np.int32)

    @property
    def empty(self) -> bool:
        """Whether no link is open."""
        return self.link.size == 0

    def reverse(self) -> sp.csr_matrix:
        """The graph with every link turned around: a search from ``d`` finds the times *to* ``d``."""
        n = self.n_nodes
        return sp.csr_matrix((self.weight, (self.dst, self.src)), shape=(n, n))

    def forward(self) -> sp.csr_matrix:
        """The graph as driven: a search from ``s`` finds the times *from* ``s``."""
        n = self.n_nodes
        return sp.csr_matrix((self.weight, (self.src, self.dst)), shape=(n, n))

    def links(self, nodes: np.ndarray, successors: np.ndarray) -> np.ndarray:
        """The (fastest) link from each of ``nodes`` to the matching successor (both must be linked)."""
        keys = nodes.astype(np.int64) * self.n_nodes + successors
        return np.asarray(self.link[np.searchsorted(self.pair_key, keys)])


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
    return tables_on(LinkGraph(network, weight, closed), destinations)


def tables_on(graph: LinkGraph, destinations: np.ndarray) -> np.ndarray:
    """:func:`next_link_table` on a :class:`LinkGraph` already built."""
    table = np.full((destinations.size, graph.n_nodes), -1, dtype=np.int32)
    if destinations.size == 0 or graph.empty:
        return table
    _, pred = csgraph.dijkstra(graph.reverse(), directed=True, indices=destinations, return_predecessors=True)
    rows, nodes = np.nonzero(pred >= 0)
    table[rows, nodes] = graph.links(nodes, pred[rows, nodes])
    return table


def bounded_next_links(
    graph: LinkGraph, destinations: np.ndarray, radius_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The next link toward ``destinations[k]`` at every node within ``radius_s[k]`` of it (time to it).

    A Dijkstra from each destination on the reversed graph that stops at the radius (csgraph's ``limit``),
    batched by increasing radius. Every node on a shortest path from a node inside the radius is inside it too
    (link times are > 0), so following these links never leaves the ball.

    Returns
    -------
    keys, links
        ``keys = k x n_nodes + u`` (sorted, int64) and the link to take at ``u`` toward destination ``k``;
        nodes outside the radius, and the destination itself, are absent.
    """
    n = graph.n_nodes
    keys: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    links: list[np.ndarray] = [np.zeros(0, dtype=np.int32)]
    if graph.empty:
        return keys[0], links[0]
    reverse = graph.reverse()
    order = np.argsort(radius_s, kind="stable")
    for start in range(0, order.size, BATCH_DESTINATIONS):
        batch = order[start : start + BATCH_DESTINATIONS]
        radius = radius_s[batch]
        limit = float(radius.max()) * (1.0 + 1e-9) if np.isfinite(radius.max()) else np.inf
        dist, pred = csgraph.dijkstra(
            reverse, directed=True, indices=destinations[batch], return_predecessors=True, limit=limit
        )
        rows, nodes = np.nonzero((pred >= 0) & (dist <= radius[:, None]))
        keys.append(batch[rows].astype(np.int64) * n + nodes)
        links.append(graph.links(nodes, pred[rows, nodes]))
    all_keys, all_links = np.concatenate(keys), np.concatenate(links)
    order = np.argsort(all_keys, kind="stable")
    return all_keys[order], all_links[order]


def times_from(graph: LinkGraph, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The shortest time from each of ``sources`` to the matching one of ``targets`` (inf: unreachable).

    One Dijkstra per distinct source on the graph as driven, batched like :func:`bounded_next_links`.
    """
    times = np.full(sources.size, np.inf)
    times[sources == targets] = 0.0
    if graph.empty or sources.size == 0:
        return times
    distinct, which = np.unique(sources, return_inverse=True)
    forward = graph.forward()
    for start in range(0, distinct.size, BATCH_DESTINATIONS):
        batch = distinct[start : start + BATCH_DESTINATIONS]
        dist = csgraph.dijkstra(forward, directed=True, indices=batch)
        mine = (which >= start) & (which < start + batch.size)
        times[mine] = dist[which[mine] - start, targets[mine]]
    return times
