"""Junctions and route choice: capacity kept through merges and spillback whatever the sub-step, a link's
inflow bound, the drivers' stochastic route choice, and UXsim's congested grid end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.sim.traffic import RouteChoice, TrafficNetwork, TrafficOptions, TrafficSim, simulate
from twin.traffic.peers import grid_11x11, uxsim_departures
from twin.traffic.routing import reverse_links


def merge_network(c_exit_factor: float = 1.0) -> TrafficNetwork:
    """Approaches A (0->2) and B (1->2), 500 m each, merging into C (2->3), 1000 m; 10 m/s, 1 veh/s, one lane."""
    network = TrafficNetwork.from_arrays(
        4,
        np.array([0, 1, 2]),
        np.array([2, 2, 3]),
        np.array([500.0, 500.0, 1000.0]),
        np.full(3, 10.0),
        np.full(3, 1.0),
    )
    network.capacity_factor[2] = c_exit_factor
    return network


def both_approaches(rate: float, duration: float) -> pd.DataFrame:
    """``rate`` veh/s from each of nodes 0 and 1 to node 3 over ``duration`` seconds."""
    times = np.arange(0.0, duration, 1.0 / rate)
    return pd.DataFrame({"origin": np.repeat([0, 1], times.size), "destination": 3, "departure_s": np.tile(times, 2)})


@pytest.mark.parametrize("substep_s", [1.0, 5.0, 7.0])
def test_a_merge_into_a_throttled_link_keeps_its_exit_busy_whatever_the_substep(substep_s: float) -> None:
    """C lets 0.5 veh/s out (a capacity factor, as at a dark signal) and takes 1 veh/s in; 1.2 veh/s arrive. C
    fills, the queue spills back over A and B to the origins, yet C's exit never starves: the k-th vehicle
    out leaves at x_0 + k / 0.5, with x_0 = 50 + 100 s the free-flow time of the first one. Whichever
    vehicle goes when depends on the merges, but the exit times, and so the total travel time, are exact."""
    demand = both_approaches(0.6, 500.0)
    n = len(demand)
    sim = TrafficSim(merge_network(0.5), demand, TrafficOptions(substep_s=substep_s), seed=2)
    least_room = np.full(3, np.inf)
    while sim.clock_s < 2000.0:
        sim.step(substep_s)
        least_room = np.minimum(least_room, sim.room_veh)
    trips = sim.result().trips
    assert (trips["status"] == "arrived").all()
    assert least_room[2] <= 0 and least_room[0] <= 0 and least_room[1] <= 0  # C fills, then the approaches
    arrival = np.sort(trips["arrival_s"].to_numpy())
    np.testing.assert_allclose(arrival, 150.0 + 2.0 * np.arange(n), rtol=0, atol=1e-9)
    assert trips["travel_time_s"].sum() == pytest.approx(150.0 * n + n * (n - 1) - demand["departure_s"].sum())


def test_a_link_takes_vehicles_no_faster_than_its_capacity() -> None:
    """Two saturated approaches (1 veh/s each) feed C (1 veh/s): C never holds more than it carries at capacity
    in free flow (c L / v = 100 vehicles, plus one sub-step's worth), while the approaches queue."""
    demand = both_approaches(1.0, 400.0)
    sim = TrafficSim(merge_network(), demand, TrafficOptions(substep_s=5.0), seed=3)
    peak_c, queued_on_approaches = 0.0, 0
    while sim.clock_s < 600.0:
        sim.step(5.0)
        peak_c = max(peak_c, float(sim.occupancy[2]))
        waiting = (sim.link <= 1) & (sim.link >= 0) & (sim.exit_min_s < sim.clock_s)
        queued_on_approaches = max(queued_on_approaches, int(np.count_nonzero(waiting)))
    assert peak_c <= 100 + 5 + 1
    assert queued_on_approaches > 50


# ---------------------------------------------------------------- route choice
def square() -> TrafficNetwork:
    """Two routes from 0 to 3 of equal length (0->1->3 and 0->2->3), every street both ways."""
    src = np.array([0, 1, 0, 2, 1, 3, 2, 3])
    dst = np.array([1, 3, 2, 3, 0, 1, 0, 2])
    return TrafficNetwork.from_arrays(4, src, dst, np.full(8, 100.0), np.full(8, 10.0), np.full(8, 1.0))


def test_reverse_links_pair_each_street_with_its_other_direction() -> None:
    np.testing.assert_array_equal(reverse_links(square()), [4, 5, 6, 7, 0, 1, 2, 3])


def test_tree_weights_follow_uxsims_smoothed_preference() -> None:
    """pref <- m pref + (1 - m) [l on the newest tree], the first tree taking all: after three refreshes with
    m = 0.5 the trees weigh 0.5, 0.25, 0.25; with m = 0 only the newest counts."""
    network, rng = square(), np.random.default_rng(0)
    routes = RouteChoice(network, np.array([3]), memory=0.5)
    times = network.free_flow_time_s()
    closed = np.zeros(8, dtype=bool)
    expected = [[1.0], [0.5, 0.5], [0.5, 0.25, 0.25], [0.5, 0.25, 0.125, 0.125]]
    for weights in expected:
        routes.refresh(times, closed, rng)
        np.testing.assert_allclose(routes.tree_weights(), weights)
    assert RouteChoice(network, np.array([3]), memory=0.0).trees.shape[0] == 1


def test_drivers_draw_their_next_link_by_the_trees_weights() -> None:
    """Tree 1 sends drivers at node 0 by node 1 (link 0), the newer tree 2 by node 2 (link 2): with m = 0.5
    half go each way (10,000 draws, seeded: within 3 standard deviations)."""
    network, rng = square(), np.random.default_rng(1)
    routes = RouteChoice(network, np.array([3]), memory=0.5, noise=0.0)
    closed = np.zeros(8, dtype=bool)
    routes.refresh(np.array([1.0, 1, 9, 9, 1, 1, 1, 1]), closed, rng)
    routes.refresh(np.array([9.0, 9, 1, 1, 1, 1, 1, 1]), closed, rng)
    n = 10_000
    chosen = routes.choose(np.zeros(n, dtype=np.intp), np.zeros(n, dtype=np.intp), None, closed, rng)
    assert set(chosen.tolist()) == {0, 2}
    assert abs(np.mean(chosen == 2) - 0.5) < 3 * np.sqrt(0.25 / n)


def test_drivers_avoid_closed_full_and_u_turn_links_when_another_link_is_left() -> None:
    network, rng = square(), np.random.default_rng(2)
    routes = RouteChoice(network, np.array([3]), memory=0.5, noise=0.0)
    closed = np.zeros(8, dtype=bool)
    routes.refresh(np.array([1.0, 1, 9, 9, 1, 1, 1, 1]), closed, rng)
    routes.refresh(np.array([9.0, 9, 1, 1, 1, 1, 1, 1]), closed, rng)
    at_origin = (np.zeros(500, dtype=np.intp), np.zeros(500, dtype=np.intp))
    has_room = np.ones(8, dtype=bool)
    has_room[2] = False  # the newest tree's link is full: everyone takes the other one, which has room
    assert (routes.choose(*at_origin, None, closed, rng, has_room) == 0).all()
    closed[0] = True  # the older tree's link closes: everyone takes the newest tree's
    assert (routes.choose(*at_origin, None, closed, rng) == 2).all()
    # at node 1, coming from node 0 (link 0): the trees say 1->3 (link 1); the U-turn back (link 4) never
    at_node_1 = (np.zeros(500, dtype=np.intp), np.ones(500, dtype=np.intp))
    assert (routes.choose(*at_node_1, np.zeros(500, dtype=np.intp), np.zeros(8, dtype=bool), rng) == 1).all()


# ---------------------------------------------------------------- UXsim's grid, end to end
@pytest.fixture(scope="module")
def grid_runs() -> dict[tuple[int, float], pd.DataFrame]:
    """UXsim's 11 x 11 grid (60,500 vehicles in platoons of 5; 60,984 singly, departing as UXsim's with ``deltan``
    5 and 1) with DUO updates every 600 s."""
    case = grid_11x11()
    network = TrafficNetwork.from_frames(len(case.nodes), case.links)
    runs = {}
    for platoon, substep in ((5, 1.0), (5, 5.0), (5, 10.0), (1, 5.0)):
        options = TrafficOptions(platoon_size=platoon, substep_s=substep, reroute_every_s=600.0, record_links=False)
        runs[platoon, substep] = simulate(
            network, uxsim_departures(case.demand, platoon), options, seed=0, until_s=7200.0
        ).trips
    return runs


@pytest.mark.slow
def test_uxsims_grid_clears_with_no_vehicle_lost(grid_runs: dict[tuple[int, float], pd.DataFrame]) -> None:
    for (platoon, _), trips in grid_runs.items():
        assert (trips["status"] == "arrived").all()
        assert trips["platoon"].sum() == (60_500 if platoon == 5 else 60_984)


@pytest.mark.slow
def test_uxsims_grid_does_not_depend_on_the_substep_or_platoon_size(
    grid_runs: dict[tuple[int, float], pd.DataFrame],
) -> None:
    """The mean travel time of the congested grid (about 1,250 s against 680 s at free flow) is the same at 1, 5
    and 10 s sub-steps to within the grid's seed-to-seed spread at one sub-step, taking the smallest one measured
    at the default ``rechoice_every_s = 60``: 6.7 % (seeds 0-2 at 5 s; 7.1 % at 10 s and 8.4 % at 1 s;
    ``benchmarks/traffic_substep.py``, docs/validation-traffic.md "The sub-step"). This seed gives 1,311.0,
    1,244.5 and 1,270.6 s (5.3 %). Drivers keep their next link while they wait, re-choosing at their own rate
    rather than at every sub-step, and a link's entry is a server in continuous time. (When a held driver
    re-drew its next link at every sub-step and the entry was a fluid budget per sub-step, this seed gave 961,
    971 and 1,017 s: 1 s was 6 % faster than 10 s, and so on every seed. That code fails the bound on the level
    below, 971 s at 5 s, but its 5.8 % would pass the bound on the sub-steps: one seed cannot tell a trend over
    seeds from the sub-step reshuffling the seeded draws, which on this grid moves a seed's result as much as
    another seed does (docs/validation-traffic.md, "Where the lean comes from"). The sub-step check that code
    fails at every sub-step is tests/test_traffic_cases.py's small cases in platoons of 5.) Platoons of 5
    against single vehicles move it by less than 16 % (coarser merges queue differently; UXsim's own deltan=5 is
    25-35 % slower than its deltan=1)."""
    mean = {key: float(np.average(t["travel_time_s"], weights=t["platoon"])) for key, t in grid_runs.items()}
    by_substep = [mean[5, dt] for dt in (1.0, 5.0, 10.0)]
    reference = mean[5, 5.0]
    assert 1000.0 < reference < 1500.0
    assert max(by_substep) / min(by_substep) - 1 < 0.067
    assert abs(mean[1, 5.0] / reference - 1) < 0.16


def test_the_squeeze_lets_a_blocked_link_push_one_vehicle_on_per_stuck_time() -> None:
    """Link 2 lets nobody out (capacity factor 0): links 2, 1 and 0 fill and stay full. With
    ``squeeze_after_s=60``, link 1, having let nobody out for 60 s, pushes its first vehicle into link 2 anyway
    (MATSim's stuck time): one vehicle a minute, so link 2 holds more than its storage; without, it never does.
    No vehicle is lost either way."""
    demand = pd.DataFrame({"origin": 0, "destination": 3, "departure_s": np.arange(60) * 1.0})
    occupancy = {}
    for squeeze in (None, 60.0):
        network = TrafficNetwork.from_arrays(
            4, np.arange(3), np.arange(1, 4), np.full(3, 100.0), np.full(3, 10.0), np.full(3, 1.0)
        )
        network.capacity_factor[2] = 0.0
        sim = TrafficSim(network, demand, TrafficOptions(squeeze_after_s=squeeze), seed=1)
        sim.run(1200.0)
        counts = sim.counts()
        assert counts["departed"] == counts["on_network"] == 60
        assert sim.occupancy.sum() + counts["queued"] == 60
        occupancy[squeeze] = sim.occupancy[2] - sim.storage_veh[2]
    assert occupancy[None] <= 0
    assert 10 <= occupancy[60.0] <= 20  # about one a minute once the links are full


def blocked_branch_network() -> TrafficNetwork:
    """Origin 0 with two out-links: A (0->1, 1 veh/s) leading to C (1->3), whose exit is shut (capacity factor
    0), and B (0->2, 0.5 veh/s); 100 m each at 10 m/s, one lane, A and C holding 5 vehicles each."""
    network = TrafficNetwork.from_arrays(
        4,
        np.array([0, 1, 0]),
        np.array([1, 3, 2]),
        np.full(3, 100.0),
        np.full(3, 10.0),
        np.array([1.0, 1.0, 0.5]),
        storage_veh=np.array([5.0, 5.0, 20.0]),
    )
    network.capacity_factor[1] = 0.0
    return network


@pytest.mark.parametrize("substep_s", [1.0, 5.0])
def test_an_origin_does_not_hold_trips_for_a_free_link_behind_one_for_a_full_link(substep_s: float) -> None:
    """30 trips for node 3 (over A, then the shut C) queue at node 0 ahead of 10 for node 2 (over B), all due at
    0 s. C fills with 5 and A with 5, so the 11th trip for node 3 waits for ever; the trips for node 2 are not
    held behind it (UXsim's origin queue): they enter B at its capacity, the k-th at 2 k s (k = 0..9), and
    arrive 10 s later, at 10 + 2 k s exactly."""
    demand = pd.DataFrame(
        {"origin": 0, "destination": [3] * 30 + [2] * 10, "departure_s": 0.0},
    )
    sim = TrafficSim(blocked_branch_network(), demand, TrafficOptions(substep_s=substep_s), seed=1)
    sim.run(200.0)
    trips = sim.result().trips
    to_two = trips[trips["destination"] == 2]
    assert (to_two["status"] == "arrived").all()
    np.testing.assert_allclose(np.sort(to_two["arrival_s"].to_numpy()), 10.0 + 2.0 * np.arange(10), rtol=0, atol=1e-9)
    to_three = trips[trips["destination"] == 3]
    assert (to_three["status"] == "queued").sum() == 20  # A and C hold 10; the rest wait at the origin
