"""Destination zones: routing toward thousands of destinations at the cost of a few hundred shortest-path trees.

With ``D`` distinct destinations, exact next-link tables cost ``D`` Dijkstras and ``D x nodes`` entries per
refresh (and the route choice keeps several). Zones bound both by the network instead:

* **Zones.** ``K = ceil(sqrt(2 n_nodes))`` seed nodes picked by farthest-point sampling on free-flow times
  with the links taken both ways (Gonzalez 1985, the 2-approximation of the K-center problem), each node in the
  zone of its nearest seed (a graph Voronoi partition). Zones are fixed for a run; the times are not.
* **Trip legs.** A vehicle bound for ``d`` in the zone of seed ``s`` drives toward ``s`` on the zone's tree
  (one Dijkstra per zone, ``K x nodes`` entries) until it reaches the *ball* of ``d``: the nodes within
  ``r_d = t(s -> d)`` of ``d`` (one Dijkstra from ``d`` on the reversed graph stopped at ``r_d``, about a zone's
  worth of nodes). Inside the ball it follows the exact shortest path to ``d``, and stays inside it. This is the
  traffic-analysis-zone and centroid idea of static and dynamic assignment (Ortuzar and Willumsen 2011, ch. 2;
  Zhou and Taylor 2014, DTALite), made exact on the last leg.
* **Bound.** ``s`` is in the ball, so a vehicle enters it at the latest at ``s``; the route from ``u`` costs at
  most ``t(u -> s) + r_d <= t(u -> d) + t(d -> s) + t(s -> d)``: the detour is at most the round trip between
  the destination and its zone's seed, and none for a vehicle already within ``r_d`` of ``d``.
* **Cost.** ``2K`` full Dijkstras (the zone trees and the times from the seeds) plus ``D`` searches bounded to
  a zone's size: with ``D`` near ``n_nodes``, ``O(n^1.5 log n)`` per refresh instead of ``O(n^2 log n)``, and
  ``K x nodes`` table entries instead of ``D x nodes``.

A seed cut off from a vehicle (by closures) while its destination is not: the destination's ball is widened
to the whole network (an exact tree) at the next sub-step (:class:`twin.traffic.routing.RouteChoice`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse.csgraph as csgraph

from twin.traffic.network import TrafficNetwork
from twin.traffic.paths import LinkGraph, bounded_next_links, times_from

NOT_IN_BALL = -2
"""What :meth:`ZoneBalls.local` gives at a node outside the destination's ball."""


def zone_count(n_nodes: int) -> int:
    """``ceil(sqrt(2 n_nodes))`` zones: the zone trees (``2K`` full searches) and the balls (``D`` searches of
    about ``2 n / K`` nodes each) cost the same for ``D = n`` destinations, the most a network has."""
    return max(1, math.ceil(math.sqrt(2.0 * n_nodes)))


@dataclass(frozen=True)
class DestinationZones:
    """Seeds and the zone of every node.

    Attributes
    ----------
    seeds
        Seed node of each zone (int32).
    zone_of
        Zone of each node (index into ``seeds``, int32).
    radius_s
        The K-center radius: every node is within this free-flow time of its seed, links taken both ways.
    """

    seeds: np.ndarray
    zone_of: np.ndarray
    radius_s: float

    @classmethod
    def build(cls, network: TrafficNetwork, n_zones: int | None = None) -> DestinationZones:
        """Farthest-point sampling (Gonzalez 1985): the first seed is node 0, each next one the node farthest
        from the seeds so far (ties: the lowest id); a node's zone is its nearest seed's (ties: the earliest)."""
        k = min(network.n_nodes, n_zones or zone_count(network.n_nodes))
        graph = LinkGraph(network, network.free_flow_time_s(), np.zeros(network.n_links, dtype=bool)).forward()
        nearest = np.full(network.n_nodes, np.inf)
        zone_of = np.zeros(network.n_nodes, dtype=np.int32)
        seeds = np.zeros(k, dtype=np.int32)
        seed = 0
        for i in range(k):
            seeds[i] = seed
            dist = csgraph.dijkstra(graph, directed=False, indices=seed)
            closer = dist < nearest
            zone_of[closer] = i
            nearest[closer] = dist[closer]
            seed = int(np.argmax(nearest))  # inf (another component) first, so every component gets a seed
        return cls(seeds, zone_of, float(nearest.max()))

    @property
    def n_zones(self) -> int:
        """Number of zones."""
        return int(self.seeds.size)


@dataclass
class ZoneBalls:
    """Every destination's ball: the exact next link toward it at the nodes within ``t(seed -> d)`` of it.

    Attributes
    ----------
    n_nodes
        Nodes of the network.
    keys, links
        ``keys = row x n_nodes + u`` (sorted, int64) and the link to take at ``u`` toward the destination of
        ``row`` (:func:`twin.traffic.paths.bounded_next_links`).
    """

    n_nodes: int
    keys: np.ndarray
    links: np.ndarray

    @classmethod
    def empty(cls, n_nodes: int) -> ZoneBalls:
        """No ball yet."""
        return cls(n_nodes, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32))

    @classmethod
    def compute(
        cls, graph: LinkGraph, zones: DestinationZones, destinations: np.ndarray, rows: np.ndarray, wide: np.ndarray
    ) -> ZoneBalls:
        """The balls of ``destinations[rows]``: radius ``t(seed -> d)`` on ``graph``, the whole network where the
        seed cannot reach ``d`` or where ``wide[rows]``."""
        nodes = destinations[rows]
        # the seed inside the ball, whatever the rounding of the two searches' sums
        radius = times_from(graph, zones.seeds[zones.zone_of[nodes]], nodes) * (1.0 + 1e-9)
        radius[wide[rows]] = np.inf
        keys, links = bounded_next_links(graph, nodes, radius)
        n = np.int64(graph.n_nodes)
        keys = rows.astype(np.int64)[keys // n] * n + keys % n  # position in ``rows`` -> row
        order = np.argsort(keys, kind="stable")
        return cls(graph.n_nodes, keys[order], links[order])

    def local(self, row: np.ndarray, node: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The ball's link at ``node`` toward the destination of ``row`` (``NOT_IN_BALL`` outside its ball; -1
        where ``at``, the vehicle's destination)."""
        out = np.full(row.size, NOT_IN_BALL, dtype=np.int32)
        if self.keys.size:
            keys = row.astype(np.int64) * self.n_nodes + node
            pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
            found = self.keys[pos] == keys
            out[found] = self.links[pos[found]]
        out[at] = -1
        return out

    def replace(self, rows: np.ndarray, new: ZoneBalls) -> ZoneBalls:
        """These balls with those of ``rows`` taken from ``new``."""
        old = np.isin(self.keys // np.int64(self.n_nodes), rows)
        keys = np.concatenate((self.keys[~old], new.keys))
        links = np.concatenate((self.links[~old], new.links))
        order = np.argsort(keys, kind="stable")
        return ZoneBalls(self.n_nodes, keys[order], links[order])

    @property
    def size(self) -> int:
        """Entries kept (nodes summed over the balls)."""
        return int(self.keys.size)
