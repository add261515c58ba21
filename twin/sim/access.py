"""Access to care: the share of residents within tau minutes of a working hospital by road.

One multi-source Dijkstra (scipy.sparse.csgraph) on the *reversed* drivable graph from every working
hospital's node gives each node's travel time *to* the nearest hospital in a single pass; residents are
counted at their home's nearest drivable node. Closed links are left out and speeds are scaled by the
hazards' speed factors, so road damage shows up here.

``Q_access(t) = A(t) / A(0)`` with ``A(t)`` the number of residents within tau of a working hospital at
time t over the current network: a served-demand over normal-demand ratio, the same form as the other
service levels (InfraRisk's PCS, Balakrishnan & Cassottana 2022), so Q = 1 in the normal state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.city.build import City
from twin.sim.state import SimState


@dataclass(frozen=True)
class AccessResult:
    """Residents within tau of care now, and the node travel times behind it."""

    residents_within: int
    time_to_care_s: np.ndarray  # per drivable node; inf where no hospital is reachable


def cut_off_nodes(n_nodes: int, src: np.ndarray, dst: np.ndarray, closed: np.ndarray, bridge: np.ndarray) -> np.ndarray:
    """Nodes nobody can reach or leave now: every link at them closed, or every ground (non-bridge) link.

    Rule: a node whose every link is closed is cut off, and so is a node whose every ground link is closed
    even if a bridge there stays open: a bridge's deck can stand above the water while the road at its
    abutment is under it (closed by the same flood), and a bridge between two such nodes leads nowhere.
    Nodes without links are not cut off (nothing changed there). Residents at a cut-off node are not
    served, and a hospital at one serves nobody, not even the residents snapped to its own node.

    Parameters
    ----------
    n_nodes
        Number of nodes.
    src, dst
        End nodes of each link.
    closed
        bool per link: closed now.
    bridge
        bool per link: a bridge.

    Returns
    -------
    numpy.ndarray
        bool per node.
    """
    ends = np.concatenate([src, dst])
    link_closed = np.concatenate([closed, closed])
    ground = ~np.concatenate([bridge, bridge])
    links_at = np.bincount(ends, minlength=n_nodes)
    open_at = np.bincount(ends, weights=~link_closed, minlength=n_nodes)
    ground_at = np.bincount(ends, weights=ground, minlength=n_nodes)
    open_ground_at = np.bincount(ends, weights=ground & ~link_closed, minlength=n_nodes)
    return ((links_at > 0) & (open_at == 0)) | ((ground_at > 0) & (open_ground_at == 0))


def hospital_nodes(city: City, state: SimState) -> np.ndarray:
    """Drivable nodes of hospitals that work now (``comp_up``)."""
    facilities = city.facilities
    working = (facilities["kind"] == "hospital").to_numpy() & state.comp_up
    return np.unique(facilities.loc[working, "drive_node"].to_numpy())


def link_times_s(city: City, state: SimState) -> np.ndarray:
    """Current travel time of every drivable link (s): length / (free speed x speed factor)."""
    links = city.drive.links
    speed = links["speed_mps"].to_numpy() * np.maximum(state.link_speed_factor, 1e-6)
    return links["length_m"].to_numpy() / speed


def access_to_care(city: City, state: SimState, tau_s: float) -> AccessResult:
    """Residents within ``tau_s`` seconds of a working hospital over the current drivable network.

    Nodes cut off by closures (:func:`cut_off_nodes`) are taken out of the network: they neither reach
    care nor give it. A caller that measures the same city again and again keeps a :class:`CareAccess`.
    """
    return CareAccess(city).measure(state, tau_s)


class CareAccess:
    """Access to care on one City, measured again and again (the record phase measures it every few steps).

    What does not change during a run is read from the City once: the links' ends, lengths, speeds and bridges,
    the hospitals' nodes, the homes' nodes and residents, and the layout of the reversed graph (the order of its
    entries, parallel links grouped). :meth:`measure` then only weighs the links, drops the closed ones and runs
    the Dijkstra search; it gives exactly what :func:`twin.city.roads.csr_adjacency` followed by a transpose
    gives (the same matrix, entry for entry), so the results do not move.

    Parameters
    ----------
    city
        The compiled City (read only).
    """

    def __init__(self, city: City) -> None:
        links = city.drive.links
        self.n_nodes = int(city.drive.n_nodes)
        self.src = links["src"].to_numpy()
        self.dst = links["dst"].to_numpy()
        self.bridge = links["bridge"].to_numpy(dtype=bool)
        self.length_m = links["length_m"].to_numpy()
        self.speed_mps = links["speed_mps"].to_numpy()
        facilities = city.facilities
        self.hospital = (facilities["kind"] == "hospital").to_numpy()
        self.facility_node = facilities["drive_node"].to_numpy()
        homes = city.homes
        self.home_node = homes["drive_node"].to_numpy()
        self.home_population = homes["population"].to_numpy()
        # The reversed graph's entries sorted by (row = link's end, column = link's start), as a CSR matrix keeps
        # them; parallel links (same two nodes, same way) form one group whose entry is their fastest open link.
        self._order = np.lexsort((self.src, self.dst))
        rows, cols = self.dst[self._order], self.src[self._order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        self._starts = np.flatnonzero(first)
        self._rows, self._cols = rows[self._starts], cols[self._starts]

    def link_times_s(self, state: SimState) -> np.ndarray:
        """Current travel time of every drivable link (s): length / (free speed x speed factor)."""
        return self.length_m / (self.speed_mps * np.maximum(state.link_speed_factor, 1e-6))

    def reversed_graph(self, weight: np.ndarray, usable: np.ndarray) -> sp.csr_matrix:
        """The reversed drivable graph weighted per link, the fastest usable one of parallel links, unusable
        links left out: ``csr_adjacency(n, src, dst, weight, closed=~usable).T.tocsr()``, built directly."""
        if len(self._starts) == 0:
            return sp.csr_matrix((self.n_nodes, self.n_nodes))
        sorted_weight = np.where(usable, weight, np.inf)[self._order]
        fastest = np.minimum.reduceat(sorted_weight, self._starts)
        keep = np.logical_or.reduceat(usable[self._order], self._starts)
        rows = self._rows[keep]
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=self.n_nodes), out=indptr[1:])
        indices = self._cols[keep].astype(np.int32)
        return sp.csr_matrix((fastest[keep], indices, indptr), shape=(self.n_nodes, self.n_nodes))

    def measure(self, state: SimState, tau_s: float) -> AccessResult:
        """Residents within ``tau_s`` seconds of a working hospital now (see :func:`access_to_care`)."""
        closed = state.link_closed()
        if closed.any():
            cut = cut_off_nodes(self.n_nodes, self.src, self.dst, closed, self.bridge)
        else:  # nothing closed: no node is cut off (every node with links has an open one)
            cut = np.zeros(self.n_nodes, dtype=bool)
        sources = np.unique(self.facility_node[self.hospital & state.comp_up])
        sources = sources[~cut[sources]]
        if len(sources) == 0:
            return AccessResult(0, np.full(self.n_nodes, np.inf))
        # Reversed graph: distances from the hospitals along reversed links = times from each node to care.
        usable = ~(closed | cut[self.src] | cut[self.dst])
        reverse = self.reversed_graph(self.link_times_s(state), usable)
        times = csgraph.dijkstra(reverse, directed=True, indices=sources, min_only=True, limit=tau_s * 1.0001)
        times[cut] = np.inf
        within = times[self.home_node] <= tau_s
        return AccessResult(int(self.home_population[within].sum()), times)
