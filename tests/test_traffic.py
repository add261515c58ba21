"""Traffic model (twin.sim.traffic): exact answers on small networks, invariants on random ones, Andorra."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.city.build import City
from twin.errors import TwinError
from twin.sim.traffic import Demand, TrafficNetwork, TrafficOptions, TrafficSim, simulate


def chain(
    lengths: list[float], speed: float = 10.0, capacity: list[float] | float = 1.0, lanes: float = 1.0
) -> TrafficNetwork:
    """Links 0->1->2->... with the given lengths (m), free speed (m/s) and capacities (veh/s)."""
    n = len(lengths)
    caps = np.broadcast_to(np.asarray(capacity, dtype=float), (n,))
    return TrafficNetwork.from_arrays(
        n + 1, np.arange(n), np.arange(1, n + 1), np.array(lengths), np.full(n, speed), caps, lanes=np.full(n, lanes)
    )


def od(
    origin: int | list[int], destination: int | list[int], departures: np.ndarray | list[float], **extra: object
) -> pd.DataFrame:
    """An OD table of trips between two nodes."""
    return pd.DataFrame({"origin": origin, "destination": destination, "departure_s": departures, **extra})


def grid(n: int, rng: np.random.Generator) -> TrafficNetwork:
    """An n x n grid of two-way streets, 40-200 m long, one or two lanes, 600-1800 veh/h per lane."""
    node = np.arange(n * n).reshape(n, n)
    pairs = [(node[i, j], node[i, j + 1]) for i in range(n) for j in range(n - 1)]
    pairs += [(node[i, j], node[i + 1, j]) for i in range(n - 1) for j in range(n)]
    src = np.array([a for a, b in pairs] + [b for a, b in pairs])
    dst = np.array([b for a, b in pairs] + [a for a, b in pairs])
    m = src.size
    lanes = rng.integers(1, 3, m).astype(float)
    return TrafficNetwork.from_arrays(
        n * n,
        src,
        dst,
        rng.uniform(40, 200, m),
        rng.uniform(8, 14, m),
        rng.uniform(600, 1800, m) / 3600 * lanes,
        lanes=lanes,
    )


def random_demand(network: TrafficNetwork, n: int, rng: np.random.Generator, until_s: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": rng.integers(0, network.n_nodes, n),
            "destination": rng.choice(rng.integers(0, network.n_nodes, 4), n),
            "departure_s": rng.uniform(0, until_s, n),
        }
    )


def assert_conserved(sim: TrafficSim) -> None:
    """departed = on network + arrived + stranded + abandoned, and link occupancies match the vehicles."""
    c = sim.counts()
    assert c["departed"] == c["on_network"] + c["arrived"] + c["stranded"] + c["abandoned"]
    assert c["departed"] == np.count_nonzero(sim.demand.departure_s < sim.clock_s)  # platoons of 1
    on_links = np.bincount(sim.link[sim.link >= 0], minlength=sim.network.n_links)
    np.testing.assert_array_equal(sim.occupancy, on_links)
    assert np.all(sim.occupancy <= sim.storage_veh)


# ---------------------------------------------------------------- free flow: exact
@pytest.mark.parametrize("substep_s", [1.0, 5.0, 7.0])
def test_single_link_at_free_flow_takes_length_over_speed(substep_s: float) -> None:
    result = simulate(chain([1000.0]), od(0, 1, [0.0, 13.0]), TrafficOptions(substep_s=substep_s), seed=1)
    assert result.trips["travel_time_s"].tolist() == [100.0, 100.0]
    assert result.trips["route_length_m"].tolist() == [1000.0, 1000.0]
    assert (result.trips["status"] == "arrived").all()


@pytest.mark.parametrize("substep_s", [1.0, 5.0, 7.0])
def test_chain_of_fifty_short_links_takes_total_length_over_speed(substep_s: float) -> None:
    """10 m links at 10 m/s: up to seven links per sub-step, each vehicle on its own clock."""
    result = simulate(chain([10.0] * 50), od(0, 50, [0.0, 2.5]), TrafficOptions(substep_s=substep_s), seed=1)
    assert result.trips["travel_time_s"].tolist() == [50.0, 50.0]
    assert result.trips["route_length_m"].tolist() == [500.0, 500.0]


@pytest.mark.parametrize("substep_s", [1.0, 5.0, 20.0])
def test_vehicles_behind_a_waiting_one_cross_a_chain_of_short_links_within_one_substep(substep_s: float) -> None:
    """Five cars leave node 0 at t = 0 for node 4 over four 10 m links at 10 m/s (1 s each); link B (the second)
    takes 0.5 veh/s, the others 1 veh/s. The link transmission model's answer (Yperman 2007; every server a
    D/D/1 queue, Vickrey 1969), by hand for car j = 0..4: A's entry server lets it in at j, it reaches A's end
    at j + 1, B's entry server takes it at max(j + 1, 1 + 2j) = 1 + 2j (so cars 1-4 wait at A's end, each
    holding those behind it), it reaches B's end at 2 + 2j, B's exit server lets it out at 2 + 2j (no earlier
    than the last exit plus 2 s), and it crosses C and D at free flow: it arrives at 4 + 2j. With a 20 s
    sub-step every car crosses all four links, and all but the first wait behind another, in one sub-step."""
    network = chain([10.0] * 4, capacity=[1.0, 0.5, 1.0, 1.0])
    sim = TrafficSim(network, od(0, 4, [0.0] * 5), TrafficOptions(substep_s=substep_s), seed=1)
    sim.step(20.0)
    trips = sim.trips()
    assert (trips["status"] == "arrived").all()
    assert trips["arrival_s"].tolist() == [4.0 + 2.0 * j for j in range(5)]
    assert trips["route_length_m"].tolist() == [40.0] * 5


def test_emergency_vehicles_drive_faster_by_their_class_factor() -> None:
    demand = od(0, 1, [0.0, 10.0], vehicle_class=["car", "emergency"])  # apart: a lane takes one at a time
    result = simulate(chain([1200.0]), demand, TrafficOptions(), seed=1)
    assert result.trips["travel_time_s"].tolist() == [120.0, 100.0]


# ---------------------------------------------------------------- queues
def test_bottleneck_delay_equals_the_d_d_1_queue() -> None:
    r"""Arrivals at rate a > c for T seconds at a server of capacity c (a D/D/1 queue, Vickrey 1969).

    Continuous: the queue grows at a - c until T, to (a - c) T, then drains at c in (a - c) T / c; the total
    delay is the area between the cumulative curves, 1/2 (a - c) T (T + (a - c) T / c) = 1/2 T^2 a (a - c) / c.
    Discrete: vehicle i (i = 0..N-1, N = aT) reaches the bottleneck at i / a and leaves at i / c, so the
    total delay is sum_i i (1/c - 1/a) = (1/c - 1/a) N (N - 1) / 2, which is the continuous area less
    (a - c) T / (2c). The model serves the bottleneck as a continuous-time server, so the discrete sum holds
    to floating-point rounding whatever the sub-step (tolerance 1e-6 s in total, not one sub-step per vehicle).
    The bottleneck is long enough to store the whole queue, so no spillback interferes.
    """
    a, c, big_t = 0.5, 0.2, 200.0
    n = int(a * big_t)
    network = chain([1000.0, 1000.0], capacity=[1.0, c])
    free_flow = 200.0
    discrete = (1 / c - 1 / a) * n * (n - 1) / 2
    continuous = 0.5 * big_t**2 * a * (a - c) / c
    assert discrete == pytest.approx(continuous - (a - c) * big_t / (2 * c))
    for substep_s in (1.0, 5.0, 7.0):
        trips = simulate(network, od(0, 2, np.arange(n) / a), TrafficOptions(substep_s=substep_s), seed=3).trips
        delay = float((trips["travel_time_s"] - free_flow).sum())
        assert delay == pytest.approx(discrete, abs=1e-6)


def test_capacity_factor_scales_a_bottleneck_throughput() -> None:
    """Signals without power: capacity factor 0.5 halves the bottleneck's discharge (DESIGN.md, Lifelines)."""
    demand = od(0, 2, np.arange(400) * 0.5)  # 2 veh/s into a 0.25 veh/s bottleneck: a standing queue

    def arrived_by(factor: float, t_s: float) -> int:
        network = chain([2000.0, 4000.0], capacity=[2.0, 0.25])
        network.capacity_factor[1] = factor
        sim = TrafficSim(network, demand, TrafficOptions(), seed=1)
        sim.run(t_s)
        return int(sim.vehicles_arrived)

    window = 800.0  # the first vehicle arrives at 200 + 400 = 600 s; count the next 800 s
    full, half = arrived_by(1.0, 600 + window), arrived_by(0.5, 600 + window)
    assert full == pytest.approx(0.25 * window, abs=1)
    assert half == pytest.approx(0.125 * window, abs=1)


def test_spillback_respects_storage_and_queues_upstream_links() -> None:
    """A long link, a short one, then a link whose exit lets 0.05 veh/s out (a capacity factor, as at a dark
    signal): that link fills (no room left), then the short link, and the queue reaches the long one; no link
    ever holds more than its storage. (A link of low capacity all along would take vehicles in no faster than
    it lets them out, so its queue would form upstream: the entry bound of the receiving flow, Yperman 2007.)"""
    network = chain([600.0, 30.0, 200.0], capacity=1.0)
    network.capacity_factor[2] = 0.05
    sim = TrafficSim(network, od(0, 3, np.arange(120) * 1.0), TrafficOptions(substep_s=5.0), seed=1)
    peak = np.zeros(3)
    least_room = np.full(3, np.inf)
    queued_upstream = 0
    for _ in range(240):
        sim.step(5.0)
        assert_conserved(sim)
        peak = np.maximum(peak, sim.occupancy)
        least_room = np.minimum(least_room, sim.room_veh)
        on_first = sim.link == 0
        queued_upstream = max(queued_upstream, int(np.count_nonzero(on_first & (sim.exit_min_s < sim.clock_s))))
    assert least_room[2] == 0 and peak[2] > 0.9 * sim.storage_veh[2]  # the bottleneck fills (27 vehicles)
    assert peak[1] == sim.storage_veh[1]  # then the short link (4)
    assert queued_upstream > 10  # and vehicles wait at the end of the long link


@pytest.mark.parametrize("h", [1.0, 5.0, 7.0])
def test_space_freed_downstream_reaches_the_upstream_end_exactly_one_wave_time_later(h: float) -> None:
    """Link 1 (300 m, 0.5 veh/s, w = q / (k_j - q/v) = 0.5 / (1/7.5 - 0.05) = 6 m/s) is held full by a capacity
    factor of 0 until T0; once it discharges at T0, its upstream end admits the vehicle waiting there exactly
    L / w = 50 s later (Yperman 2007), whatever the sub-step: releases are laid out in continuous time."""
    network = chain([100.0, 300.0, 300.0], capacity=0.5)
    assert network.wave_speed_mps[1] == pytest.approx(6.0)
    tau = 300.0 / 6.0
    network.capacity_factor[1] = 0.0
    t0 = 600.0
    sim = TrafficSim(network, od(0, 3, np.arange(200) * 1.0), TrafficOptions(substep_s=h), seed=1)
    sim.run(t0)
    assert sim.occupancy[1] == sim.storage_veh[1] == 40
    network.capacity_factor[1] = 1.0
    entered_after: list[float] = []
    while sim.clock_s < t0 + 3 * tau:
        sim.step(h)
        times = sim.entered_s[sim.link == 1]
        entered_after.extend(times[times >= t0].tolist())
    assert min(entered_after) == pytest.approx(t0 + tau, abs=1e-9)


# ---------------------------------------------------------------- routing
def two_paths() -> TrafficNetwork:
    """0 -a-> 1 -b-> 3 (short, 100 + 100 m) or 1 -c-> 2 -d-> 3 (detour, 300 + 300 m)."""
    return TrafficNetwork.from_arrays(
        4,
        np.array([0, 1, 1, 2]),
        np.array([1, 3, 2, 3]),
        np.array([100.0, 100.0, 300.0, 300.0]),
        np.full(4, 10.0),
        np.full(4, 1.0),
    )


def test_closure_forces_the_computed_detour() -> None:
    network = two_paths()
    demand = od([0, 1, 0], 3, [0.0, 0.0, 20.0])  # on link a, already past the junction, not yet left
    sim = TrafficSim(network, demand, TrafficOptions(), seed=1)
    sim.run(5.0)
    network.closed[1] = True  # link b closes while vehicle 0 is on link a
    sim.run(300.0)
    trips = sim.result().trips
    assert trips["route_length_m"].tolist() == [700.0, 100.0, 700.0]
    assert trips["travel_time_s"].tolist() == [70.0, 10.0, 70.0]
    network.closed[1] = False
    assert (trips["status"] == "arrived").all()


def test_unreachable_destinations_strand_vehicles_without_an_exception() -> None:
    network = chain([100.0, 100.0])
    demand = od([2, 0], [0, 2], [0.0, 0.0])  # no way back from 2; vehicle 1 loses its second link mid-trip
    sim = TrafficSim(network, demand, TrafficOptions(), seed=1)
    sim.run(5.0)
    network.closed[1] = True
    sim.run(600.0)
    assert_conserved(sim)
    assert sim.vehicles_stranded == 2
    trips = sim.result().trips
    assert trips["status"].tolist() == ["stranded", "stranded"]
    assert trips["end_node"].tolist() == [2, 1]
    assert trips["arrival_s"].isna().all()
    assert trips["end_s"].tolist() == [0.0, 10.0]


def test_gridlocked_vehicles_are_reported_and_can_be_abandoned() -> None:
    demand = od(0, 2, np.arange(30) * 1.0)
    for abandon in (False, True):
        network = chain([100.0, 100.0], capacity=1.0)
        network.capacity_factor[1] = 0.0  # nothing ever leaves link 1
        sim = TrafficSim(network, demand, TrafficOptions(gridlock_s=120.0, abandon_gridlocked=abandon), seed=1)
        sim.run(100.0)
        assert sim.vehicles_stuck == 0
        sim.run(600.0)
        assert_conserved(sim)
        result = sim.result()
        if not abandon:
            assert sim.vehicles_stuck == 30  # 14 on each link, 2 still at the origin
            assert sim.stuck_by_link.tolist() == [14.0, 14.0]
            assert result.network["stuck"].iloc[-1] == 30
            assert result.links.query("t_s == 600")["stuck"].tolist() == [14.0, 14.0]
        else:
            assert sim.counts()["abandoned"] == 30
            # checked once a minute (gridlock builds over minutes): both links' queues are found stuck at the
            # same check and abandoned where they stand; the last two never left their origin
            assert result.abandoned["link"].value_counts().to_dict() == {0: 14, 1: 14, -1: 2}
            assert (result.trips["status"] == "abandoned").all()


# ---------------------------------------------------------------- invariants and determinism
@pytest.mark.parametrize("abandon", [False, True])
def test_conservation_at_every_substep_on_a_random_grid(abandon: bool) -> None:
    rng = np.random.default_rng(11)
    network = grid(7, rng)
    demand = random_demand(network, 1500, rng, 900.0)
    options = TrafficOptions(gridlock_s=300.0, abandon_gridlocked=abandon, reroute_every_s=120.0)
    sim = TrafficSim(network, demand, options, seed=5)
    closures = rng.choice(network.n_links, 12, replace=False)
    for k in range(360):
        if k == 60:
            network.closed[closures] = True
        if k == 200:
            network.closed[closures[:6]] = False
        sim.step(5.0)
        assert_conserved(sim)
    counts = sim.counts()
    assert counts["arrived"] > 0.5 * counts["departed"]
    assert sim.route_refreshes >= 3 + 2  # 0, 120, 240, ... s and the two closure changes
    network_series = sim.result().network
    assert len(network_series) == 30  # one row a minute
    arrived_after = sim.result().trips.query("status == 'arrived'")
    assert (arrived_after["arrival_s"] >= arrived_after["departure_s"]).all()


def test_same_seed_same_trips_and_seeds_only_change_merge_order() -> None:
    rng = np.random.default_rng(2)
    network = grid(5, rng)
    demand = random_demand(network, 800, rng, 300.0)
    options = TrafficOptions(route_cost="free_flow")
    first = simulate(network, demand, options, seed=42).trips
    again = simulate(network, demand, options, seed=42).trips
    pd.testing.assert_frame_equal(first, again)
    other = simulate(network, demand, options, seed=43).trips
    pd.testing.assert_series_equal(first["route_length_m"], other["route_length_m"])  # same routes
    assert not first["arrival_s"].equals(other["arrival_s"])  # different merge order
    no_merges = chain([100.0, 50.0, 200.0], capacity=0.1)
    chain_demand = od(0, 3, np.arange(50) * 2.0)
    pd.testing.assert_frame_equal(
        simulate(no_merges, chain_demand, seed=1).trips, simulate(no_merges, chain_demand, seed=2).trips
    )


def test_platoons_stand_for_several_vehicles() -> None:
    network = chain([500.0, 500.0], capacity=[1.0, 0.1])
    demand = od(0, 2, [0.0, 0.0], platoon=[3, 1])
    sim = TrafficSim(network, demand, TrafficOptions(), seed=1)
    sim.run(20.0)
    assert sim.counts()["on_network"] == 4
    assert sim.occupancy[0] == 4
    sim.run(400.0)
    trips = sim.result().trips
    assert trips["travel_time_s"].tolist() == [100.0, 130.0]  # the platoon of 3 holds the bottleneck 30 s


def test_link_series_record_flows_occupancy_and_speeds() -> None:
    result = simulate(chain([600.0]), od(0, 1, [0.0, 10.0, 20.0]), TrafficOptions(record_every_s=30.0), seed=1)
    links = result.links.set_index("t_s")
    assert links["inflow"].sum() == links["outflow"].sum() == 3
    assert links.loc[30.0, "occupancy"] == 3
    assert links.loc[90.0, "mean_speed_mps"] == pytest.approx(10.0)
    assert result.network["mean_speed_ratio"].dropna().eq(1.0).all()


# ---------------------------------------------------------------- inputs
def test_demand_problems_are_all_reported() -> None:
    bad = pd.DataFrame(
        {
            "origin": [0, 9, 1],
            "destination": [1, 1, -1],
            "departure_s": [0.0, -5.0, np.nan],
            "vehicle_class": ["car", "tank", "bus"],
        }
    )
    with pytest.raises(TwinError) as error:
        Demand.from_frame(bad, n_nodes=3)
    message = str(error.value)
    for part in ("origin", "destination", "departure_s", "vehicle_class", "tank"):
        assert part in message
    assert len(error.value.problems) == 4
    with pytest.raises(ValueError, match="no column 'departure_s'"):
        Demand.from_frame(pd.DataFrame({"origin": [0], "destination": [1]}), n_nodes=3)


def test_network_problems_are_all_reported() -> None:
    links = pd.DataFrame(
        {
            "src": [0, 5],
            "dst": [1, 0],
            "length_m": [0.0, 10.0],
            "speed_mps": [10.0, -1.0],
            "capacity_veh_h": [600.0, 600.0],
        }
    )
    with pytest.raises(TwinError) as error:
        TrafficNetwork.from_frames(2, links)
    assert len(error.value.problems) == 3
    with pytest.raises(TwinError, match="no length_m"):
        TrafficNetwork.from_frames(2, links.drop(columns="length_m"))


def test_short_links_store_at_least_one_substep_of_capacity() -> None:
    network = chain([0.6, 30.0, 7.5], capacity=[2000 / 3600, 600 / 3600, 1.0], lanes=2.0)
    np.testing.assert_array_equal(network.storage_for(5.0), [4.0, 8.0, 6.0])  # floor, jam, floor


# ---------------------------------------------------------------- the real map
@pytest.mark.slow
def test_andorra_network_loads_two_thousand_cars(andorra_city: City) -> None:
    """2,000 cars from random drivable nodes, leaving over 10 minutes, to 3 destinations on main roads (at least
    4,000 veh/h of incoming capacity, as shelters on through roads would be), for 30 simulated minutes."""
    network = TrafficNetwork.from_network(andorra_city.drive)
    assert network.n_links == andorra_city.drive.n_links
    rng = np.random.default_rng(0)
    capacity_in = np.bincount(network.dst, weights=network.capacity_veh_s * 3600, minlength=network.n_nodes)
    destinations = rng.choice(np.flatnonzero(capacity_in >= 4000), 3, replace=False)
    demand = pd.DataFrame(
        {
            "origin": rng.integers(0, network.n_nodes, 2000),
            "destination": rng.choice(destinations, 2000),
            "departure_s": rng.uniform(0, 600, 2000),
        }
    )
    sim = TrafficSim(network, demand, TrafficOptions(), seed=1)
    for _ in range(30):
        sim.step(60.0)
        assert_conserved(sim)
    counts = sim.counts()
    assert counts["stranded"] == 0  # the drivable network is strongly connected
    assert counts["arrived"] > 0.9 * 2000
    trips = sim.result().trips.query("status == 'arrived'")
    assert (trips["travel_time_s"] > 0).all() and (trips["route_length_m"] > 0).all()
