"""Routing at city scale: exact trees, destination zones against the grid's Manhattan distances, the fallback
when a zone's seed is cut off, lazy refreshes (the same trees bit for bit), closures and conservation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import floyd_warshall

from tests.test_traffic import chain, grid, od
from tests.test_traffic_engine import _spec
from tests.test_traffic_service import assert_conserved
from twin.errors import ScenarioError
from twin.sim.traffic import RouteChoice, TrafficNetwork, TrafficOptions, TrafficSim
from twin.traffic import routing
from twin.traffic.paths import LinkGraph, bounded_next_links
from twin.traffic.zones import DestinationZones, zone_count

TAU = 10.0
"""Free-flow time of every link of :func:`uniform_grid` (s)."""


def uniform_grid(n: int) -> TrafficNetwork:
    """An n x n grid of two-way links, all 100 m at 10 m/s (10 s): the shortest time between nodes (i, j) and
    (k, l) is 10 (|i - k| + |j - l|), the Manhattan distance."""
    node = np.arange(n * n).reshape(n, n)
    pairs = [(node[i, j], node[i, j + 1]) for i in range(n) for j in range(n - 1)]
    pairs += [(node[i, j], node[i + 1, j]) for i in range(n - 1) for j in range(n)]
    src = np.array([a for a, b in pairs] + [b for a, b in pairs])
    dst = np.array([b for a, b in pairs] + [a for a, b in pairs])
    m = src.size
    return TrafficNetwork.from_arrays(n * n, src, dst, np.full(m, 100.0), np.full(m, 10.0), np.full(m, 0.5))


def manhattan_s(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The grid's exact shortest times between nodes ``a`` and ``b``."""
    return TAU * (np.abs(a // n - b // n) + np.abs(a % n - b % n))


def route_times(routes: RouteChoice, network: TrafficNetwork, origin: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Drive every (origin, destination row) pair by ``routes.choose`` (all-or-nothing on the newest trees) and
    return the time each takes; inf where a route gets stuck or loops."""
    node, came = origin.copy(), np.full(origin.size, -1)
    time = np.zeros(origin.size)
    rng = np.random.default_rng(0)
    closed = np.zeros(network.n_links, dtype=bool)
    for _ in range(4 * network.n_nodes):
        going = routes.destinations[row] != node
        if not going.any():
            return time
        ids = np.flatnonzero(going)
        came_from = np.where(came[ids] >= 0, came[ids], 0)
        link = routes.choose(row[ids], node[ids], came_from, closed, rng)
        stuck = link < 0
        time[ids[stuck]] = np.inf
        node[ids[stuck]] = routes.destinations[row[ids[stuck]]]
        ids, link = ids[~stuck], link[~stuck]
        time[ids] += network.length_m[link] / network.free_speed_mps[link]
        node[ids], came[ids] = network.dst[link], link
    time[routes.destinations[row] != node] = np.inf
    return time


def every_pair(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    origin, dest = np.meshgrid(np.arange(n_nodes), np.arange(n_nodes), indexing="ij")
    return origin.ravel(), dest.ravel()


def refreshed(network: TrafficNetwork, exact_destinations: int) -> RouteChoice:
    """Route choice toward every node, refreshed once on free-flow times, all-or-nothing, no noise."""
    routes = RouteChoice(
        network, np.arange(network.n_nodes), memory=0.0, noise=0.0, exact_destinations=exact_destinations
    )
    routes.refresh(network.free_flow_time_s(), np.zeros(network.n_links, dtype=bool), np.random.default_rng(1))
    return routes


def test_exact_trees_give_the_manhattan_distance_between_every_pair() -> None:
    n = 6
    network = uniform_grid(n)
    routes = refreshed(network, exact_destinations=1000)
    assert not routes.zoned
    origin, dest = every_pair(n * n)
    np.testing.assert_array_equal(route_times(routes, network, origin, dest), manhattan_s(n, origin, dest))


def test_zones_stay_within_the_round_trip_to_the_seed_and_are_exact_inside_the_ball() -> None:
    """Through zones, the route from u to d costs at most t(u, d) + t(d, s) + t(s, d) (s: d's seed), and exactly
    t(u, d) when u is within t(s, d) of d (its ball); most pairs of a grid are exact."""
    n = 9
    network = uniform_grid(n)
    routes = refreshed(network, exact_destinations=10)
    assert routes.zoned and routes.zones is not None
    assert routes.zones.n_zones == zone_count(n * n) == 13
    assert routes.trees.shape == (1, 13, n * n)  # K x nodes, not destinations x nodes
    origin, dest = every_pair(n * n)
    times = route_times(routes, network, origin, dest)
    exact = manhattan_s(n, origin, dest)
    seed = routes.zones.seeds[routes.zones.zone_of[dest]]
    round_trip = 2.0 * manhattan_s(n, dest, seed)
    assert np.all(times >= exact) and np.all(times <= exact + round_trip)
    inside = exact <= manhattan_s(n, seed, dest)
    np.testing.assert_array_equal(times[inside], exact[inside])
    assert np.mean(times == exact) > 0.8


def test_farthest_point_zones_cover_the_grid_within_their_radius() -> None:
    """Gonzalez's seeds: node 0, then the farthest corner; every node within the K-center radius of its seed."""
    n = 9
    zones = DestinationZones.build(uniform_grid(n))
    assert zones.seeds[0] == 0 and zones.seeds[1] == n * n - 1
    nodes = np.arange(n * n)
    to_seed = manhattan_s(n, nodes, zones.seeds[zones.zone_of])
    assert to_seed.max() == zones.radius_s
    nearest = np.min([manhattan_s(n, nodes, np.full(n * n, s)) for s in zones.seeds], axis=0)
    np.testing.assert_array_equal(to_seed, nearest)  # each node in its nearest seed's zone


def test_a_ball_holds_the_nodes_within_its_radius_with_their_exact_next_link() -> None:
    """A chain 0 -> 1 -> 2 -> 3 -> 4, 10 s per link: the ball of node 4 with radius 25 s is nodes 2 and 3."""
    network = chain([100.0] * 4)
    graph = LinkGraph(network, network.free_flow_time_s(), np.zeros(4, dtype=bool))
    keys, links = bounded_next_links(graph, np.array([4, 1]), np.array([25.0, np.inf]))
    assert keys.tolist() == [0 * 5 + 2, 0 * 5 + 3, 1 * 5 + 0]
    assert links.tolist() == [2, 3, 0]


def cut_off_seed() -> tuple[TrafficNetwork, DestinationZones]:
    """0 -> 1 -> 2 (10 s each) and 3 -> 2 (5 s): node 3, the seed of node 2's zone, can be reached from nowhere."""
    network = TrafficNetwork.from_arrays(
        4, np.array([0, 1, 3]), np.array([1, 2, 2]), np.full(3, 100.0), np.array([10.0, 10.0, 20.0]), np.ones(3)
    )
    zones = DestinationZones(np.array([0, 3], dtype=np.int32), np.array([0, 0, 1, 1], dtype=np.int32), 10.0)
    return network, zones


def test_a_vehicle_cut_off_from_its_zones_seed_is_routed_exactly_one_substep_later() -> None:
    network, zones = cut_off_seed()
    options = TrafficOptions(route_exact_destinations=0, substep_s=1.0)
    sim = TrafficSim(network, od(0, 2, [0.0]), options, seed=1)
    sim.state.routes = RouteChoice(network, np.array([2], dtype=np.int32), 0.5, 0.01, exact_destinations=0, zones=zones)
    sim.run(100.0)
    trips = sim.result().trips
    assert trips["status"].tolist() == ["arrived"]
    assert trips["arrival_s"].iloc[0] == pytest.approx(21.0)  # 20 s of driving, 1 s stranded at the origin
    assert sim.state.routes.wide.tolist() == [True]


@pytest.mark.parametrize("exact_destinations", [1000, 0])
def test_a_closed_link_is_avoided_after_the_refresh(exact_destinations: int) -> None:
    """Two ways from 0 to 3: 0 -> 1 -> 3 (20 s) and 0 -> 2 -> 3 (40 s). Link 0 -> 1 closes at 30 s: trips leaving
    after it take 40 s, those before 20 s."""
    network = TrafficNetwork.from_arrays(
        4,
        np.array([0, 1, 0, 2]),
        np.array([1, 3, 2, 3]),
        np.array([100.0, 100.0, 200.0, 200.0]),
        np.full(4, 10.0),
        np.ones(4),
    )
    options = TrafficOptions(route_exact_destinations=exact_destinations, substep_s=1.0, route_noise=0.0)
    sim = TrafficSim(network, od(0, 3, [0.0, 10.0, 40.0, 50.0]), options, seed=3)
    assert sim.state.routes.zoned == (exact_destinations == 0)
    sim.run(30.0)
    network.closed[0] = True
    sim.run(200.0)
    trips = sim.result().trips
    assert (trips["status"] == "arrived").all()
    np.testing.assert_allclose(trips["travel_time_s"], [20.0, 20.0, 40.0, 40.0])


def many_destinations(seed: int) -> tuple[TrafficNetwork, pd.DataFrame]:
    """400 trips on a 9 x 9 grid, to destinations drawn among all nodes, over 10 minutes."""
    rng = np.random.default_rng(seed)
    network = uniform_grid(9)
    origin = rng.integers(0, 81, 400)
    trips = pd.DataFrame(
        {
            "origin": origin,
            "destination": (origin + rng.integers(1, 81, 400)) % 81,
            "departure_s": rng.uniform(0, 600, 400),
        }
    )
    return network, trips


def test_through_zones_every_vehicle_is_conserved_and_arrives_and_the_same_seed_gives_the_same_trips() -> None:
    network, trips = many_destinations(5)
    options = TrafficOptions(route_exact_destinations=10, record_links=False)
    runs = []
    for _ in range(2):
        sim = TrafficSim(network, trips, options, seed=11)
        assert sim.state.routes.zoned
        for _ in range(40):
            sim.step(60.0)
            assert_conserved(sim, len(trips))
        runs.append(sim.result().trips)
    assert (runs[0]["status"] == "arrived").all()
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_refreshes_wait_until_read_and_give_the_same_trees_bit_for_bit() -> None:
    """Ten refreshes read after each one, or read only at the end: the same kept trees (the searches of all but
    the last ``depth`` are skipped) and the same random stream."""
    network = uniform_grid(5)
    closed = np.zeros(network.n_links, dtype=bool)
    rng_times = np.random.default_rng(2)
    series = [network.free_flow_time_s() * rng_times.uniform(1, 3, network.n_links) for _ in range(10)]
    eager = RouteChoice(network, np.arange(25), memory=0.5, noise=0.05)
    lazy = RouteChoice(network, np.arange(25), memory=0.5, noise=0.05)
    rng_eager, rng_lazy = np.random.default_rng(9), np.random.default_rng(9)
    for times in series:
        eager.refresh(times, closed, rng_eager)
        eager.newest  # noqa: B018 (read: search now)
        lazy.refresh(times, closed, rng_lazy)
    assert len(lazy.deferred) == lazy.depth == 6 and lazy.n_trees == 6
    np.testing.assert_array_equal(lazy.newest, eager.newest)
    np.testing.assert_array_equal(lazy.trees, eager.trees)
    assert rng_lazy.random() == rng_eager.random()


def count_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at every search of the route trees."""
    searches: list[int] = []
    real = routing.tables_on

    def counted(graph: LinkGraph, destinations: np.ndarray) -> np.ndarray:
        searches.append(destinations.size)
        return real(graph, destinations)

    monkeypatch.setattr(routing, "tables_on", counted)
    return searches


def test_without_noise_a_refresh_on_unchanged_times_runs_no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    network = uniform_grid(4)
    closed = np.zeros(network.n_links, dtype=bool)
    routes = RouteChoice(network, np.arange(16), memory=0.5, noise=0.0)
    searches = count_searches(monkeypatch)
    rng = np.random.default_rng(0)
    for _ in range(3):
        routes.refresh(network.free_flow_time_s(), closed, rng)
        routes.newest  # noqa: B018
    assert len(searches) == 1 and routes.n_trees == 3
    slower = network.free_flow_time_s()
    slower[0] *= 2
    routes.refresh(slower, closed, rng)
    routes.newest  # noqa: B018
    assert len(searches) == 2


def test_an_empty_network_runs_no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """One trip, then an hour of nothing: refreshes every 5 minutes, but no tree is searched after the trip."""
    network = chain([100.0, 100.0])
    sim = TrafficSim(network, od(0, 2, [0.0]), seed=1)
    searches = count_searches(monkeypatch)
    sim.run(3600.0)
    assert sim.route_refreshes == 12 and len(searches) == 1


def test_zones_on_irregular_link_times_reach_every_destination_within_the_bound() -> None:
    """Random lengths and speeds (sums of link times rounded differently by the two searches of a ball): every
    route arrives, within the round trip to its destination's seed of the shortest time (scipy's Floyd-Warshall
    on the same links as the reference)."""
    network = grid(8, np.random.default_rng(12))
    routes = refreshed(network, exact_destinations=5)
    assert routes.zones is not None
    times = network.free_flow_time_s()
    dense = np.full((64, 64), np.inf)
    np.minimum.at(dense, (network.src, network.dst), times)
    shortest = floyd_warshall(np.where(np.isfinite(dense), dense, 0.0))
    origin, dest = every_pair(64)
    driven = route_times(routes, network, origin, dest)
    seed = routes.zones.seeds[routes.zones.zone_of[dest]]
    exact = shortest[origin, dest]
    assert np.all(np.isfinite(driven))
    assert np.all(driven >= exact - 1e-9)
    assert np.all(driven <= exact + shortest[dest, seed] + shortest[seed, dest] + 1e-9)


def test_the_seed_is_inside_its_destinations_ball_whatever_the_rounding() -> None:
    """4 -> 0 -> 1 -> 2 -> 3 with 1, 0.3, 0.2 and 0.1 s: from the seed 0, 0.3 + 0.2 + 0.1 = 0.6, but the search
    from 3 sums 0.1 + 0.2 + 0.3 = 0.6000000000000001. The vehicle from 4 still finds its way on at the seed."""
    network = TrafficNetwork.from_arrays(
        5, np.array([4, 0, 1, 2]), np.array([0, 1, 2, 3]), np.array([10.0, 3, 2, 1]), np.full(4, 10.0), np.ones(4)
    )
    zones = DestinationZones(np.array([0], dtype=np.int32), np.zeros(5, dtype=np.int32), 1.0)
    routes = RouteChoice(network, np.array([3], dtype=np.int32), 0.0, 0.0, exact_destinations=0, zones=zones)
    routes.refresh(network.free_flow_time_s(), np.zeros(4, dtype=bool), np.random.default_rng(0))
    assert route_times(routes, network, np.array([4]), np.array([0]))[0] == pytest.approx(1.6)


def test_a_scenario_sets_how_many_destinations_are_routed_exactly(tmp_path: Path) -> None:
    trips = pd.DataFrame({"origin": [1], "destination": [2], "departure": [0]})
    spec = _spec(tmp_path, trips, traffic={"demand": "trips.csv", "route_exact_destinations": 5})
    assert spec.traffic is not None and spec.traffic.options().route_exact_destinations == 5
    with pytest.raises(ScenarioError) as error:
        _spec(tmp_path, trips, traffic={"demand": "trips.csv", "route_exact_destinations": -1})
    assert "route_exact_destinations" in str(error.value) and ">= 0" in str(error.value)


@pytest.mark.parametrize("exact_destinations", [1000, 5])
def test_a_checkpoint_keeps_the_refreshes_not_searched_yet(exact_destinations: int) -> None:
    network = uniform_grid(5)
    closed = np.zeros(network.n_links, dtype=bool)
    rng = np.random.default_rng(4)
    routes = RouteChoice(network, np.arange(25), exact_destinations=exact_destinations)
    routes.refresh(network.free_flow_time_s(), closed, rng)
    routes.newest  # noqa: B018
    for factor in (2.0, 3.0):
        routes.refresh(network.free_flow_time_s() * rng.uniform(1, factor, network.n_links), closed, rng)
    saved = {name: np.array(a) for name, a in routes.arrays().items()}
    restored = RouteChoice(network, np.zeros(0, dtype=np.int32), exact_destinations=exact_destinations)
    restored.load_arrays(saved)
    assert len(restored.deferred) == 2 and restored.n_trees == 3 and restored.zoned == routes.zoned
    np.testing.assert_array_equal(restored.newest, routes.newest)
    np.testing.assert_array_equal(restored.trees, routes.trees)
    dest, node = np.repeat(np.arange(25), 25), np.tile(np.arange(25), 25)
    np.testing.assert_array_equal(restored.has_way(dest, node), routes.has_way(dest, node))
    chosen = [r.choose(dest, node, None, closed, np.random.default_rng(1)) for r in (routes, restored)]
    np.testing.assert_array_equal(*chosen)


def test_without_noise_a_destination_added_since_the_last_trees_gets_its_tree_on_unchanged_times() -> None:
    network = chain([100.0] * 3)
    closed = np.zeros(3, dtype=bool)
    routes = RouteChoice(network, np.array([1], dtype=np.int32), memory=0.5, noise=0.0)
    rng = np.random.default_rng(0)
    routes.refresh(network.free_flow_time_s(), closed, rng)
    row = routes.rows_for(np.array([3]), np.ones(1, dtype=bool))
    routes.refresh(network.free_flow_time_s(), closed, rng)
    assert routes.newest[row[0]].tolist() == [0, 1, 2, -1]
