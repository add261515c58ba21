"""Travel of crews on the current road network: shortest times by Dijkstra (scipy.sparse.csgraph).

A link's time now is ``length / (free speed x speed factor x class factor)``: the speed factor is the hazards'
(water on the road, Pregnolato et al. 2017, ``SimState.link_speed_factor``) and the class factor the traffic
model's for the crew's vehicle class (``emergency`` 1.2 for fire, EMS and police, which drive above the limit
with lights and sirens; ``crew`` 1.0 for utility and road crews; :data:`twin.traffic.demand.DEFAULT_CLASS_SPEED`).
Closed links (any closure flag, or a speed factor of 0) are left out, so a place behind a closed link is
unreachable (``inf``) until a road crew clears the link or a detour opens. Congestion is not in these times: in
a run with traffic they only choose the crew, and the crew then drives in the traffic model
(:mod:`twin.crews.driving`); in a run without, they are the travel times.

The emergency factor 1.2 is assumed, chosen within what studies of lights-and-sirens driving measured against
the same trips driven normally: 30.9 % less time on rural responses (12.14 to 8.51 min, a factor of 1.43; Ho
and Lindquist 2001, Prehospital Emergency Care 5(2)), 1.8 min saved on urban responses (Brown et al. 2000,
Prehospital Emergency Care 4(1)), 43.5 s on urban transports (Hunt et al. 1995, Annals of Emergency Medicine
25(4)), 2.9 min (urban) and 8.9 min (rural) on transports (Petzäll et al. 2011, Accident Analysis and
Prevention 43(3)): less in towns, where junctions and traffic limit the gain, than on open roads.

Because the class factor scales every link alike, the shortest path is the same for every class and its time is
the free-speed time divided by the factor: one Dijkstra from the distinct crew positions serves every crew.
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
        times = self.link_times_s(speed_factor)
        blocked = closed | ~np.isfinite(times)
        graph = csr_adjacency(self.n_nodes, self.src, self.dst, np.where(blocked, 1.0, times), closed=blocked)
        return Network(graph)

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
