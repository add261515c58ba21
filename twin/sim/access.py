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
    care nor give it.
    """
    links = city.drive.links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    closed = state.link_closed()
    cut = cut_off_nodes(city.drive.n_nodes, src, dst, closed, links["bridge"].to_numpy(dtype=bool))
    sources = hospital_nodes(city, state)
    sources = sources[~cut[sources]]
    if len(sources) == 0:
        return AccessResult(0, np.full(city.drive.n_nodes, np.inf))
    # Reversed graph: distances from the hospitals along reversed links = times from each node to care.
    usable = ~(closed | cut[src] | cut[dst])
    reverse = city.drive.adjacency(link_times_s(city, state), closed=~usable).T.tocsr()
    times = csgraph.dijkstra(reverse, directed=True, indices=sources, min_only=True, limit=tau_s * 1.0001)
    times[cut] = np.inf
    homes = city.homes
    within = times[homes["drive_node"].to_numpy()] <= tau_s
    return AccessResult(int(homes["population"].to_numpy()[within].sum()), times)
