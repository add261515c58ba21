"""Travel of crews on the current road network: shortest times by Dijkstra (scipy.sparse.csgraph).

A link's time now is ``length / (free speed x speed factor x class factor)``: the speed factor is the hazards'
(water on the road, Pregnolato et al. 2017, ``SimState.link_speed_factor``) and the class factor the traffic
model's for the crew's vehicle class (``emergency`` 1.2 for fire, EMS and police, which drive above the limit
with lights and sirens; ``crew`` 1.0 for utility and road crews; :data:`twin.traffic.demand.DEFAULT_CLASS_SPEED`).
Closed links (any closure flag, or a speed factor of 0) are left out, so a place behind a closed link is
unreachable (``inf``) until a road crew clears the link or a detour opens.

In a run with traffic, dispatch sees congestion (:class:`Roads`): each link's queue delay is the traffic model's
current link time (:meth:`twin.traffic.service.TrafficService.link_times_s`, the times its own route choice uses)
less the link's free time now, and a crew's link time is ``free time / class factor + queue delay``: the class
factor speeds a crew along the link but not through the queue at its end (the traffic model's passing queue,
Agarwal et al. 2015, :mod:`twin.traffic.sim`). These times choose the crew; the crew then drives in the traffic
model (:mod:`twin.crews.driving`), whose arrival counts. In a run without traffic they are the travel times.

The emergency factor 1.2 is assumed, chosen within what studies of lights-and-sirens driving measured against
the same trips driven normally: 30.9 % less time on rural responses (12.14 to 8.51 min, a factor of 1.43; Ho
and Lindquist 2001, Prehospital Emergency Care 5(2)), 1.8 min saved on urban responses (Brown et al. 2000,
Prehospital Emergency Care 4(1)), 43.5 s on urban transports (Hunt et al. 1995, Annals of Emergency Medicine
25(4)), 2.9 min (urban) and 8.9 min (rural) on transports (Petzäll et al. 2011, Accident Analysis and
Prevention 43(3)): less in towns, where junctions and traffic limit the gain, than on open roads.

Without congestion the class factor scales every link alike, so the shortest path is the same for every class and
its time is the free-speed time divided by the factor: one Dijkstra from the distinct crew positions serves every
crew. With congestion the queue delay is not scaled, so the paths differ by class: one Dijkstra per class factor
(two: emergency and crew), each from that class's crews or back from the incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.city.roads import csr_adjacency
from twin.traffic.demand import DEFAULT_CLASS_SPEED

EMERGENCY_KINDS = ("fire", "ems", "police")
"""Crew kinds that drive as emergency vehicles (lights and sirens)."""
EMERGENCY_SPEED_FACTOR = DEFAULT_CLASS_SPEED["emergency"]
"""Speed of an emergency vehicle over a link's current speed (the traffic model's ``emergency`` class; assumed,
see the module docstring)."""


def class_factor(kind: str) -> float:
    """The traffic model's speed multiplier of a crew kind's vehicle class (emergency or crew)."""
    return DEFAULT_CLASS_SPEED["emergency" if kind in EMERGENCY_KINDS else "crew"]


@dataclass(frozen=True)
class RoadGraph:
    """The drivable links as arrays (link id = index), enough to route crews.

    Attributes
    ----------
    n_nodes
        Number of nodes.
    src, dst
        End nodes of each directed link.
    length_m, speed_mps
        Length and free speed of each link.
    """

    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    length_m: np.ndarray
    speed_mps: np.ndarray

    @classmethod
    def from_links(cls, n_nodes: int, links: object) -> RoadGraph:
        """From a links table with ``src``, ``dst``, ``length_m``, ``speed_mps`` (``City.drive.links``)."""
        frame = links  # a DataFrame; typed loosely so that this module needs no pandas
        return cls(
            n_nodes=n_nodes,
            src=np.asarray(frame["src"], dtype=np.int64),  # type: ignore[index]
            dst=np.asarray(frame["dst"], dtype=np.int64),  # type: ignore[index]
            length_m=np.asarray(frame["length_m"], dtype=np.float64),  # type: ignore[index]
            speed_mps=np.asarray(frame["speed_mps"], dtype=np.float64),  # type: ignore[index]
        )

    def link_times_s(self, speed_factor: np.ndarray) -> np.ndarray:
        """Time of each link at the free speed times the hazards' speed factor (``inf`` where the factor is 0)."""
        speed = self.speed_mps * speed_factor
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(speed > 0, self.length_m / np.where(speed > 0, speed, 1.0), np.inf))

    def now(self, speed_factor: np.ndarray, closed: np.ndarray) -> Network:
        """The network as it is now (speed factors and closures), for any number of time look-ups in one step."""
        return Roads(self, speed_factor, closed).network(1.0)

    def times_from(self, sources: np.ndarray, speed_factor: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """Shortest times (s) from each source node to every node, ``(len(sources), n_nodes)``; ``inf``: no way.

        Parameters
        ----------
        sources
            Node ids (the distinct positions of the crews that may move).
        speed_factor, closed
            Per link: the hazards' speed factor and the closure (any cause) now.
        """
        return self.now(speed_factor, closed).times_from(np.asarray(sources, dtype=np.int64))


class Network:
    """The drivable graph at one moment (CSR, closed links left out): shortest times between sets of nodes.

    :meth:`pair_times` runs Dijkstra from whichever side has fewer distinct nodes: forward from the origins, or
    on the reversed graph from the destinations (the time from ``u`` to ``d`` on the reversed graph from ``d``),
    so a step with many crews and few incidents, or the reverse, costs the smaller number of searches.
    """

    def __init__(self, graph: sp.csr_matrix) -> None:
        self.graph = graph
        self._reverse: sp.csr_matrix | None = None

    def times_from(self, sources: np.ndarray) -> np.ndarray:
        """``(len(sources), n_nodes)``: shortest times from each source to every node (``inf``: no way)."""
        if len(sources) == 0:
            return np.zeros((0, self.graph.shape[0]))
        return np.asarray(csgraph.dijkstra(self.graph, directed=True, indices=sources))

    def times_to(self, targets: np.ndarray) -> np.ndarray:
        """``(len(targets), n_nodes)``: shortest times from every node to each target."""
        if len(targets) == 0:
            return np.zeros((0, self.graph.shape[0]))
        if self._reverse is None:
            self._reverse = self.graph.T.tocsr()
        return np.asarray(csgraph.dijkstra(self._reverse, directed=True, indices=targets))

    def pair_times(self, origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
        """``(len(origins), len(destinations))``: the shortest time from each origin to each destination."""
        if len(origins) == 0 or len(destinations) == 0:
            return np.zeros((len(origins), len(destinations)))
        from_nodes, from_row = np.unique(np.asarray(origins, dtype=np.int64), return_inverse=True)
        to_nodes, to_col = np.unique(np.asarray(destinations, dtype=np.int64), return_inverse=True)
        if len(from_nodes) <= len(to_nodes):
            table = self.times_from(from_nodes)[:, to_nodes]
        else:
            table = self.times_to(to_nodes)[:, from_nodes].T
        return np.asarray(table[from_row][:, to_col])


def queue_delays_s(free_s: np.ndarray, traffic_s: np.ndarray) -> np.ndarray:
    """Queue delay of each link now (s): the traffic model's link time less the free time, at least 0.

    Parameters
    ----------
    free_s
        ``length / (free speed x speed factor)`` now (:meth:`RoadGraph.link_times_s`).
    traffic_s
        The traffic model's current link times (:meth:`twin.traffic.service.TrafficService.link_times_s`).

    Returns
    -------
    numpy.ndarray
        ``max(traffic - free, 0)``; 0 where either is not finite (a link closed to traffic at its last step but
        open now has no queue yet; one closed now is left out of the graph anyway).
    """
    with np.errstate(invalid="ignore"):
        delay = np.maximum(traffic_s - free_s, 0.0)
    return np.asarray(np.where(np.isfinite(free_s) & np.isfinite(traffic_s), delay, 0.0))


class Roads:
    """The drivable network at one decision time for crews of every class: shortest times with congestion.

    A link's time for a crew of class factor ``f`` is ``free / f + delay`` (the module docstring): ``free`` from
    the hazards' speed factors now, ``delay`` from :func:`queue_delays_s` (none without traffic). The graph of
    each class factor is built once, on first use, so one decision round costs one Dijkstra per class, not per
    crew. Without delays every class shares the free-speed graph and its times are divided by ``f``, exactly as
    before congestion was seen.

    Parameters
    ----------
    graph
        The drivable links.
    speed_factor, closed
        Per link: the hazards' speed factor and the closure (any cause) now.
    traffic_s
        The traffic model's current link times, or None (no traffic in the run).
    """

    def __init__(
        self, graph: RoadGraph, speed_factor: np.ndarray, closed: np.ndarray, traffic_s: np.ndarray | None = None
    ) -> None:
        self.graph = graph
        self.free_s = graph.link_times_s(speed_factor)
        self.blocked = np.asarray(closed, dtype=bool) | ~np.isfinite(self.free_s)
        self.delay_s = None if traffic_s is None else queue_delays_s(self.free_s, np.asarray(traffic_s))
        self._networks: dict[float, Network] = {}

    def network(self, factor: float) -> Network:
        """The graph on which a crew of class factor ``factor`` is routed (the free-speed one without delays)."""
        key = 1.0 if self.delay_s is None else float(factor)
        if key not in self._networks:
            g = self.graph
            times = self.free_s if self.delay_s is None else self.free_s / key + self.delay_s
            weights = np.where(self.blocked, 1.0, times)
            self._networks[key] = Network(csr_adjacency(g.n_nodes, g.src, g.dst, weights, closed=self.blocked))
        return self._networks[key]

    def link_times_s(self, factor: float) -> np.ndarray:
        """Per link: the time of a crew of class factor ``factor`` now, ``free / f + delay`` (``inf``: closed)."""
        delay = 0.0 if self.delay_s is None else self.delay_s
        return np.asarray(np.where(self.blocked, np.inf, self.free_s / factor + delay))

    def pair_times(self, origins: np.ndarray, destinations: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """``(len(origins), len(destinations))``: the shortest time of a crew of class factor ``factors[i]`` from
        ``origins[i]`` to each destination (``inf``: no way)."""
        origins = np.asarray(origins, dtype=np.int64)
        factors = np.broadcast_to(np.asarray(factors, dtype=np.float64), origins.shape)
        if self.delay_s is None:  # one search for every class: the same paths, times over the factor
            return np.asarray(self.network(1.0).pair_times(origins, destinations) / factors[:, None])
        out = np.empty((len(origins), len(destinations)))
        for factor in np.unique(factors).tolist():
            rows = factors == factor
            out[rows] = self.network(factor).pair_times(origins[rows], destinations)
        return out
