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
    """Residents within ``tau_s`` seconds of a working hospital over the current drivable network."""
    sources = hospital_nodes(city, state)
    if len(sources) == 0:
        return AccessResult(0, np.full(city.drive.n_nodes, np.inf))
    # Reversed graph: distances from the hospitals along reversed links = times from each node to care.
    reverse = city.drive.adjacency(link_times_s(city, state), closed=state.link_closed()).T.tocsr()
    times = csgraph.dijkstra(reverse, directed=True, indices=sources, min_only=True, limit=tau_s * 1.0001)
    homes = city.homes
    within = times[homes["drive_node"].to_numpy()] <= tau_s
    return AccessResult(int(homes["population"].to_numpy()[within].sum()), times)
