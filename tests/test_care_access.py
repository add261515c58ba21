"""CareAccess: the record phase's access to care, with the City read once, gives what the direct computation gives.

The direct computation is the one :func:`twin.sim.access.access_to_care` used before the City's arrays were kept:
``csr_adjacency`` (fastest of parallel links, closed links left out), transposed, then one multi-source Dijkstra.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import scipy.sparse.csgraph as csgraph

from twin.city.build import City
from twin.city.roads import Network, csr_adjacency
from twin.sim.access import CareAccess, cut_off_nodes
from twin.sim.state import SimState


def _direct(city: City, state: SimState, tau_s: float) -> tuple[int, np.ndarray]:
    """Residents within ``tau_s`` and the node times, computed from the City's tables as before."""
    links = city.drive.links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    closed = state.link_closed()
    cut = cut_off_nodes(city.drive.n_nodes, src, dst, closed, links["bridge"].to_numpy(dtype=bool))
    facilities = city.facilities
    working = (facilities["kind"] == "hospital").to_numpy() & state.comp_up
    sources = np.unique(facilities.loc[working, "drive_node"].to_numpy())
    sources = sources[~cut[sources]]
    speed = links["speed_mps"].to_numpy() * np.maximum(state.link_speed_factor, 1e-6)
    times_s = links["length_m"].to_numpy() / speed
    usable = ~(closed | cut[src] | cut[dst])
    reverse = csr_adjacency(city.drive.n_nodes, src, dst, times_s, closed=~usable).T.tocsr()
    times = csgraph.dijkstra(reverse, directed=True, indices=sources, min_only=True, limit=tau_s * 1.0001)
    times[cut] = np.inf
    within = times[city.homes["drive_node"].to_numpy()] <= tau_s
    return int(city.homes["population"].to_numpy()[within].sum()), times


def _disturbed(city: City, seed: int) -> SimState:
    """A state with random closures, slowed links and a hospital down."""
    rng = np.random.default_rng(seed)
    state = SimState.normal(city)
    state.link_closed_flood[:] = rng.random(city.drive.n_links) < 0.05
    state.link_closed_event[:] = rng.random(city.drive.n_links) < 0.01
    state.link_speed_factor[:] = rng.uniform(0.2, 1.0, city.drive.n_links)
    hospitals = np.flatnonzero((city.facilities["kind"] == "hospital").to_numpy())
    state.comp_up[hospitals[rng.integers(len(hospitals))]] = False
    return state


def test_reversed_graph_is_the_transposed_adjacency_entry_for_entry(andorra_city: City) -> None:
    care = CareAccess(andorra_city)
    links = andorra_city.drive.links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    for seed in range(3):
        state = _disturbed(andorra_city, seed)
        usable = ~state.link_closed()
        weight = care.link_times_s(state)
        expected = csr_adjacency(andorra_city.drive.n_nodes, src, dst, weight, closed=~usable).T.tocsr()
        got = care.reversed_graph(weight, usable)
        for name in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
            assert getattr(got, name).dtype == getattr(expected, name).dtype


def test_measure_gives_the_direct_computation_bit_for_bit(andorra_city: City) -> None:
    care = CareAccess(andorra_city)
    for state in (SimState.normal(andorra_city), *(_disturbed(andorra_city, seed) for seed in range(3))):
        for tau_s in (300.0, 900.0):
            within, times = _direct(andorra_city, state, tau_s)
            result = care.measure(state, tau_s)
            assert result.residents_within == within
            np.testing.assert_array_equal(result.time_to_care_s, times)


def test_parallel_links_keep_the_fastest_usable_one_by_hand() -> None:
    # Nodes 0 -> 1 by two parallel links of 100 s and 40 s, then 1 -> 2 by 30 s; the hospital at node 2. From
    # node 0: 40 + 30 = 70 s; with the fast link closed, 100 + 30 = 130 s, beyond tau = 100 s (the search stops
    # at tau: unreached). The link's ends keep another open link, so no node is cut off.
    links = pd.DataFrame(
        {
            "src": [0, 0, 1, 1, 2],
            "dst": [1, 1, 2, 0, 1],
            "bridge": False,
            "length_m": [1000.0, 400.0, 300.0, 1000.0, 300.0],
            "speed_mps": 10.0,
        }
    )
    city = SimpleNamespace(
        drive=Network(nodes=pd.DataFrame({"x": np.zeros(3)}), links=links),
        facilities=pd.DataFrame({"kind": ["hospital"], "drive_node": [2]}),
        homes=pd.DataFrame({"drive_node": [0, 1, 2], "population": [100, 10, 1]}),
    )
    care = CareAccess(city)  # a City of three nodes: the fields access reads
    closed = np.zeros(5, dtype=bool)
    state = SimpleNamespace(comp_up=np.array([True]), link_speed_factor=np.ones(5), link_closed=lambda: closed)
    result = care.measure(state, 100.0)
    np.testing.assert_array_equal(result.time_to_care_s, [70.0, 30.0, 0.0])
    assert result.residents_within == 111
    closed[1] = True
    result = care.measure(state, 100.0)
    np.testing.assert_array_equal(result.time_to_care_s, [np.inf, 30.0, 0.0])
    assert result.residents_within == 11
    assert care.measure(state, 130.0).time_to_care_s[0] == 130.0
