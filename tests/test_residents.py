"""Residents: known answers for warnings, decisions, shelters, walking, cars, metrics, and whole runs."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.residents import cars, decision
from twin.residents.metrics import clearance_s, theil, theil_decomposed
from twin.residents.needs import note_peaks
from twin.residents.people import DRIVING, ELSEWHERE, SHELTER, PeopleState
from twin.residents.phase import ResidentsPhase
from twin.residents.population import ADULT, AT_WORK, CHILD, ELDERLY, Population, synthesise, work_buildings
from twin.residents.shelters import allocate, elsewhere_nodes
from twin.residents.velocity import MANNING_N, surface_slope, velocity_grid
from twin.residents.walking import ADULTS, VULNERABLE, Routes, Walkers, WalkGraph, advance, hazard_class, unsafe_for
from twin.residents.warnings import combined_share, logistic_share, receive, word_of_mouth
from twin.scenario import Scenario
from twin.scenario.residents import DecisionSpec
from twin.sim.model import CityModel
from twin.sim.phase import StepContext
from twin.sim.state import SimState
from twin.traffic.engine import TrafficPhase
from twin.traffic.reports import TrafficReport


def _scenario(tmp_path: Path, **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "residents-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-12T03:00",  # a Sunday night: everyone at home
        "duration": "2h",
        "step": "5min",
        "seed": 7,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


class Log:
    """Collects the rows a phase logs."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def __call__(self, *row: Any) -> None:
        self.rows.append(row)


def _ctx(city: City, state: SimState, clock_s: float, services: dict[str, Any] | None = None) -> StepContext:
    return StepContext(
        clock_s=clock_s,
        step_count=0,
        city=city,
        state=state,
        rng=np.random.default_rng(0),
        log=Log(),
        schedule=lambda event: event,
        services=services or {},
    )


def _run_phase(phase: ResidentsPhase, city: City, state: SimState, until_s: float, step_s: float = 300.0) -> None:
    """Step the phase alone, with a traffic phase of no demand of its own taking its cars."""
    traffic = TrafficPhase(city, None, np.random.default_rng(1))
    t = 0.0
    while t < until_s:
        ctx = _ctx(city, state, t, traffic.services())
        phase.step(ctx, step_s)
        traffic.step(ctx, step_s)
        t += step_s


# --- warnings -----------------------------------------------------------------------------------------------


def test_logistic_reach_and_channels_combine_as_independent_draws() -> None:
    assert float(logistic_share(0.0, 0.8, 600.0)) == 0.0
    assert float(logistic_share(-5.0, 0.8, 600.0)) == 0.0
    assert math.isclose(float(logistic_share(1e6, 0.8, 600.0)), 0.8)
    l0 = 1 / (1 + math.exp(4))
    assert math.isclose(float(logistic_share(600.0, 0.8, 600.0)), 0.8 * (0.5 - l0) / (1 - l0))
    assert combined_share([0.5, 0.5]) == 0.75
    rng = np.random.default_rng(1)
    u = rng.random((2, 200_000))
    everyone = np.ones(200_000, dtype=bool)
    got = receive(u[0], everyone, 0.5) | receive(u[1], everyone, 0.5)
    assert abs(got.mean() - 0.75) < 0.005


def test_a_channel_of_reach_one_reaches_everyone_in_its_area_and_nobody_outside(
    andorra_city: City, tmp_path: Path
) -> None:
    warning = {"at": "0s", "area": {"zones": ["Encamp"]}, "channels": ["tv_radio"], "reach": {"tv_radio": 1.0}}
    spec = _scenario(tmp_path, warnings=[warning], duration="12h")
    phase = ResidentsPhase(andorra_city, spec, np.random.default_rng(0))
    _run_phase(phase, andorra_city, SimState.normal(andorra_city), 8 * 3600)
    in_area = phase.areas.mask[0][phase.population.start_node]
    warned = np.isfinite(phase.people.warned_s)
    assert in_area.sum() > 1000 and not in_area.all()
    assert np.array_equal(warned, in_area)
    assert set(np.unique(phase.people.warned_by[warned]).tolist()) == {2}  # tv_radio


def test_cell_broadcast_reaches_nobody_whose_cell_site_is_down(andorra_city: City, tmp_path: Path) -> None:
    warning = {"at": "0s", "channels": ["cell_broadcast"], "reach": {"cell_broadcast": 1.0}}
    spec = _scenario(tmp_path, warnings=[warning])
    phase = ResidentsPhase(andorra_city, spec, np.random.default_rng(0))
    state = SimState.normal(andorra_city)
    sites = andorra_city.lifelines.site_rows
    state.comp_up[sites[: len(sites) // 2]] = False
    _run_phase(phase, andorra_city, state, 3 * 3600)
    signal = phase.reader.served(state)["telecom"][phase.population.start_node]
    warned = np.isfinite(phase.people.warned_s)
    assert (~signal).sum() > 100 and signal.sum() > 100
    assert not warned[~signal].any()
    assert warned[signal].all()


# --- decisions and delays --------------------------------------------------------------------------------------


def test_decisions_with_p_zero_and_p_one() -> None:
    u = np.random.default_rng(2).random(10_000)
    assert not decision.decides(u, np.zeros_like(u)).any()
    assert decision.decides(u, np.ones_like(u)).all()


def test_decision_model_is_calibrated_to_eighty_and_ten_percent() -> None:
    spec = DecisionSpec.model_validate({})
    one, zero = np.ones(1), np.zeros(1)
    ordered = decision.leave_probability(spec, one, one, zero, zero, zero)[0]
    shadow = decision.leave_probability(spec, zero, zero, zero, zero, zero)[0]
    assert abs(ordered - 0.80) < 1e-3 and abs(shadow - 0.10) < 1e-3
    assert decision.leave_probability(spec, one, one, one, zero, zero)[0] > ordered


def test_rayleigh_delay_quantiles() -> None:
    # F(t) = 1 - exp(-(t - tau)^2 / (2 sigma^2)): the median is tau + sigma sqrt(2 ln 2).
    delay = decision.rayleigh_delay(np.array([0.0, 0.5]), 300.0, 600.0)
    assert delay[0] == 300.0 and math.isclose(delay[1], 300.0 + 600.0 * math.sqrt(2 * math.log(2)))


# --- shelters --------------------------------------------------------------------------------------------------


def test_a_full_shelter_redirects_exactly_the_excess_to_the_next() -> None:
    preference = np.array([[0, 1, 2], [1, 0, 2]])
    zone = np.zeros(15, dtype=np.int64)
    room = np.array([10, 3, 100])
    choice = allocate(preference, zone, room)
    assert np.array_equal(choice, [0] * 10 + [1] * 3 + [2] * 2)
    assert np.array_equal(room, [0, 0, 98])
    full = np.array([1, 1, 0])
    # The second person of zone 1 finds shelter 1 taken, then shelter 0 taken by zone 0's person: none left.
    assert np.array_equal(allocate(preference, np.array([1, 1, 0]), full), [1, -1, 0])


def test_places_to_stay_lie_beyond_the_hazard_area_by_the_documented_distance() -> None:
    # Six nodes 100 m apart on a line, the first two in the hazard area, people living at all but node 5.
    xy = np.column_stack([np.arange(6) * 100.0, np.zeros(6)])
    hazard = np.array([True, True, False, False, False, False])
    lodging = np.array([True, True, True, True, True, False])
    # 250 m from node 1 (x = 100) is x = 350: nodes 4 and 5 are beyond it, and only node 4 has homes.
    assert elsewhere_nodes(xy, lodging, hazard, 250.0).tolist() == [False] * 4 + [True, False]
    assert elsewhere_nodes(xy, lodging, hazard, 0.0).tolist() == [False, False, True, True, True, False]
    assert elsewhere_nodes(xy, lodging, np.zeros(6, dtype=bool), 250.0).tolist() == lodging.tolist()
    # An evacuee from node 0 walks the line to node 4, 400 m, not to node 2 a street away.
    pairs = [(k, k + 1) for k in range(5)]
    src = np.array([a for a, b in pairs] + [b for a, b in pairs])
    dst = np.array([b for a, b in pairs] + [a for a, b in pairs])
    order = np.argsort(src * 6 + dst)
    src, dst = src[order], dst[order]
    graph = WalkGraph(6, src, dst, np.full(10, 100.0), src * 6 + dst, np.zeros(0, np.int64), np.zeros(0, np.int64))
    safe = elsewhere_nodes(xy, lodging, hazard, 250.0)
    routes = Routes.build(graph, np.zeros((2, 10), dtype=bool), np.zeros(0, np.int64), safe)
    assert routes.nearest_safe[0] == 4
    walkers = Walkers(np.zeros(1, np.int32), np.full(1, -1, np.int32), np.zeros(1, np.float32))
    arrived, _ = advance(
        walkers,
        np.arange(1),
        np.zeros(1, np.int64),
        np.array([ADULTS]),
        np.ones(1),
        399.0,
        graph,
        routes,
        np.zeros(10),
        np.zeros((2, 10), dtype=bool),
    )
    assert not arrived[0]  # 400 m at 1 m/s: not there after 399 s
    arrived, _ = advance(
        walkers,
        np.arange(1),
        np.zeros(1, np.int64),
        np.array([ADULTS]),
        np.ones(1),
        1.0,
        graph,
        routes,
        np.zeros(10),
        np.zeros((2, 10), dtype=bool),
    )
    assert arrived[0] and walkers.node[0] == 4


# --- walking ---------------------------------------------------------------------------------------------------


def _square_graph() -> WalkGraph:
    """0-1-2 straight (100 m each), and a detour 0-3-4-2 (3 x 100 m); no grid cells."""
    pairs = [(0, 1), (1, 2), (0, 3), (3, 4), (4, 2)]
    src = np.array([a for a, b in pairs] + [b for a, b in pairs])
    dst = np.array([b for a, b in pairs] + [a for a, b in pairs])
    order = np.argsort(src * 5 + dst)
    src, dst = src[order], dst[order]
    return WalkGraph(5, src, dst, np.full(len(src), 100.0), src * 5 + dst, np.zeros(0, np.int64), np.zeros(0, np.int64))


def test_walk_hazard_classes_follow_arr_2019() -> None:
    depth = np.array([0.0, 0.2, 0.4, 1.0, 1.5, 3.0, 5.0, 0.2])
    velocity = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5])
    assert hazard_class(depth, velocity).tolist() == [0, 1, 2, 3, 4, 5, 6, 5]
    unsafe = unsafe_for(np.array([0.4, 0.6, 1.3]))
    assert unsafe[ADULTS].tolist() == [False, False, True] and unsafe[VULNERABLE].tolist() == [False, True, True]


def test_walkers_never_step_onto_water_unsafe_for_them() -> None:
    graph = _square_graph()
    depth = np.zeros(graph.n_edges)
    middle = np.flatnonzero((graph.src + graph.dst == 3) & (np.minimum(graph.src, graph.dst) == 1))  # 1-2
    depth[middle] = 0.8  # H3: unsafe for the vulnerable, safe for adults
    unsafe = unsafe_for(depth)
    routes = Routes.build(graph, unsafe, np.array([2]), np.zeros(5, dtype=bool))
    walkers = Walkers(np.zeros(2, np.int32), np.full(2, -1, np.int32), np.zeros(2, np.float32))
    who, group = np.arange(2), np.array([ADULTS, VULNERABLE])
    seen: list[set[tuple[int, int]]] = [set(), set()]
    for _ in range(40):
        arrived, trapped = advance(
            walkers, who, np.zeros(2, np.int64), group, np.array([1.0, 1.0]), 30.0, graph, routes, depth, unsafe
        )
        for i in range(2):
            if walkers.nxt[i] >= 0:
                seen[i].add((int(walkers.node[i]), int(walkers.nxt[i])))
        assert not trapped.any()
        if arrived.all():
            break
    assert arrived.all()
    assert (1, 2) not in seen[1] and (0, 3) in seen[1]  # the vulnerable walker took the detour
    assert (0, 1) in seen[0] or (1, 2) in seen[0]  # the adult went straight through shallow water
    closed = unsafe_for(np.full(graph.n_edges, 1.5))
    routes = Routes.build(graph, closed, np.array([2]), np.zeros(5, dtype=bool))
    stuck = Walkers(np.zeros(1, np.int32), np.full(1, -1, np.int32), np.zeros(1, np.float32))
    arrived, trapped = advance(
        stuck, np.arange(1), np.zeros(1, np.int64), np.array([ADULTS]), np.ones(1), 60.0, graph, routes, depth, closed
    )
    assert trapped.all() and not arrived.any() and stuck.node[0] == 0


# --- population --------------------------------------------------------------------------------------------------


def test_same_seed_same_people_and_census_shares(andorra_city: City, tmp_path: Path) -> None:
    start = _scenario(tmp_path, start="2025-10-14T10:00").start  # a Tuesday morning
    one = synthesise(andorra_city, start, np.random.default_rng(5))
    two = synthesise(andorra_city, start, np.random.default_rng(5))
    other = synthesise(andorra_city, start, np.random.default_rng(6))
    assert one.table().equals(two.table()) and not one.table().equals(other.table())
    spec = andorra_city.config.population.demographics
    assert one.size == andorra_city.population
    shares = np.bincount(one.group, minlength=3) / one.size
    assert abs(shares[CHILD] - spec.share_children) < 0.01 and abs(shares[ELDERLY] - spec.share_elderly) < 0.01
    # Day: workers are adults in non-residential buildings; nobody is at work at night.
    at_work = one.start_place == AT_WORK
    assert at_work.sum() > 10_000 and (one.group[at_work] == ADULT).all()
    assert np.isin(one.start_building[at_work], work_buildings(andorra_city.buildings)).all()
    night = synthesise(andorra_city, _scenario(tmp_path).start, np.random.default_rng(5))
    assert not night.start_place.any()


# --- cars through the traffic service -----------------------------------------------------------------------------


def test_each_car_ends_once_at_its_first_arrival_or_stranding() -> None:
    # Vehicle 5 arrived; 7 stranded, resumed and arrived within the same reports (its people left it: stranded,
    # nothing to park); 9 stranded and is still stranded (to park at node 42).
    report = TrafficReport(
        kind=np.array([1, 0, 1, 2, 0], np.int8),  # stranded, arrived, stranded, resumed, arrived
        vehicle=np.array([7, 5, 9, 7, 7], np.int64),
        t_s=np.array([10.0, 20.0, 30.0, 40.0, 50.0]),
        node=np.array([3, 4, 42, 3, 8], np.int32),
    )
    end = cars.outcomes(report)
    assert end.arrived.tolist() == [5] and end.arrived_s.tolist() == [20.0]
    assert end.stranded.tolist() == [7, 9] and end.stranded_node.tolist() == [3, 42]
    assert end.park.tolist() == [False, True]
    first, vehicle_of = cars.vehicles_of(np.array([0, 0, 1, 0]), np.array([5, 5, 5, 6]))
    assert vehicle_of.tolist() == [0, 0, 2, 1] and first.tolist() == [0, 3, 2]  # one car per household and node


def test_car_trips_handed_to_traffic_come_back_as_arrivals(andorra_city: City, tmp_path: Path) -> None:
    """Cars are vehicles of the traffic model: each driver arrives when their car does in trips.parquet."""
    warning = {"at": "0s", "channels": ["cell_broadcast"], "area": {"zones": ["Encamp"]}}
    spec = _scenario(tmp_path, warnings=[warning], residents={"departure_tau": "1min", "departure_sigma": "1min"})
    model = CityModel(andorra_city, spec)
    phase = model.phases["residents"][0]
    traffic = model.phases["traffic"][0]
    assert isinstance(phase, ResidentsPhase) and isinstance(traffic, TrafficPhase)
    model.run()
    p = phase.people
    by_car = p.mode == 1
    trips = traffic.trips().set_index("vehicle")
    assert by_car.sum() > 100 and len(trips) < by_car.sum()  # household members share a car
    arrived = by_car & np.isfinite(p.arrived_s)
    assert arrived.sum() > 100
    np.testing.assert_allclose(p.arrived_s[arrived], trips.loc[p.vehicle[arrived], "arrival_s"], atol=1e-3)
    np.testing.assert_allclose(p.left_s[by_car], trips.loc[p.vehicle[by_car], "departure_s"], atol=1e-3)
    on_road = by_car & ~arrived
    assert (p.status[on_road] == DRIVING).all() == (trips.loc[p.vehicle[on_road], "status"] != "arrived").all()
    assert set(np.unique(p.status[arrived]).tolist()) <= {SHELTER, ELSEWHERE}


# --- metrics ---------------------------------------------------------------------------------------------------------


def test_theil_index_and_its_decomposition_by_hand() -> None:
    x = np.array([1.0, 1.0, 2.0, 4.0])
    mu = 2.0
    by_hand = np.mean([(v / mu) * math.log(v / mu) for v in x])
    assert math.isclose(theil(x) or 0.0, by_hand)
    assert theil(np.full(5, 3.0)) == 0.0 and theil(np.zeros(3)) is None
    parts = theil_decomposed(x, np.array([0, 0, 1, 1]), 2)
    # Groups: {1, 1} (mean 1, share 2/8) and {2, 4} (mean 3, share 6/8).
    between = 0.25 * math.log(1 / 2) + 0.75 * math.log(3 / 2)
    within = 0.75 * np.mean([(v / 3) * math.log(v / 3) for v in (2.0, 4.0)])
    assert math.isclose(parts["between"] or 0.0, between) and math.isclose(parts["within"] or 0.0, within)
    assert math.isclose(parts["total"] or 0.0, between + within)


def test_clearance_times_are_the_ninetieth_and_last_arrivals() -> None:
    arrived = np.array([100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0])
    assert clearance_s(arrived, 0.0, 0.9) == 900.0 and clearance_s(arrived, 100.0, 1.0) == 900.0
    arrived[-1] = np.nan
    assert clearance_s(arrived, 0.0, 0.9) == 900.0 and clearance_s(arrived, 0.0, 1.0) is None


# --- word of mouth and water velocity --------------------------------------------------------------------------


def test_word_of_mouth_accumulates_beta_times_the_warned_share_at_the_node() -> None:
    # Node 0: persons 0 (warned), 1 and 2 (not): f = 1/3. Node 1: person 3, nobody warned there: f = 0.
    # Person 4 is elsewhere (not present) at node 0: neither counted nor listening.
    node = np.array([0, 0, 0, 1, 0], np.int32)
    warned = np.array([True, False, False, False, True])
    present = np.array([True, True, True, True, False])
    hazard = np.zeros(5, np.float32)
    beta, dt = 0.001, 600.0  # beta f dt = 0.2 per step at node 0
    threshold = np.array([9.0, 0.3, 0.5, 0.01, 0.0], np.float32)
    heard = word_of_mouth(node, warned, present, hazard, threshold, 2, dt, beta)
    assert heard.tolist() == [] and np.allclose(hazard, [0, 0.2, 0.2, 0, 0])
    heard = word_of_mouth(node, warned, present, hazard, threshold, 2, dt, beta)
    assert heard.tolist() == [1] and np.allclose(hazard, [0, 0.4, 0.4, 0, 0])  # 0.4 >= 0.3; 0.4 < 0.5
    warned[1] = True  # f = 2/3 now: +0.4 for person 2
    heard = word_of_mouth(node, warned, present, hazard, threshold, 2, dt, beta)
    assert heard.tolist() == [2] and math.isclose(float(hazard[2]), 0.8, rel_tol=1e-6)
    assert hazard[3] == 0.0  # nobody warned at node 1: nothing heard however low the threshold


def test_water_velocity_is_mannings_on_the_water_surface_slope() -> None:
    # A plane falling 0.3 m per 30 m cell eastwards (S = 0.01) under 1 m of water: v = 1^(2/3) 0.01^(1/2) / n.
    ground = np.tile(-0.3 * np.arange(6, dtype=float), (4, 1))
    depth = np.ones((4, 6))
    v = velocity_grid(ground, depth, 30.0)
    np.testing.assert_allclose(v, 0.1 / MANNING_N)
    # 0.2 m deep over the same plane: v = 0.2^(2/3) * 0.1 / 0.035 = 0.977 m/s.
    np.testing.assert_allclose(velocity_grid(ground, np.full((4, 6), 0.2), 30.0), 0.2 ** (2 / 3) * 0.1 / 0.035)
    # Steep ground (S = 0.5) under 1 m: Manning gives 20.2 m/s; critical flow limits it to sqrt(9.81) = 3.13 m/s.
    steep = np.tile(-15.0 * np.arange(6, dtype=float), (4, 1))
    np.testing.assert_allclose(velocity_grid(steep, depth, 30.0), math.sqrt(9.81))
    # A level pond in a bowl (surface flat at 1 m) stands still; dry cells and NaN ground have no velocity.
    bowl = np.array([[2.0, 2.0, 2.0, 2.0], [2.0, 0.0, 0.5, 2.0], [2.0, 2.0, 2.0, np.nan]])
    pond = np.where(bowl < 1.0, 1.0 - bowl, 0.0)
    assert not velocity_grid(bowl, pond, 30.0).any()
    # One-sided at the water's edge: wet cells 0 and 1 of a row, surfaces 10.0 and 9.7: S = 0.3 / 30.
    edge = surface_slope(np.array([[9.0, 8.5, 20.0]]), np.array([[1.0, 1.2, 0.0]]), 30.0)
    np.testing.assert_allclose(edge, [[0.01, 0.01, 0.0]])
    # ARR 2019 with velocity: 0.4 m at 1.4 m/s (dv 0.56) is H2; 0.8 m at 0.7 m/s (d > 0.5, dv 0.56 <= 0.6) is
    # H3, unsafe for children and the elderly only; 0.4 m at 3 m/s (v > 2) is H5, unsafe for everyone.
    assert hazard_class(np.array([0.4, 0.8, 0.4]), np.array([1.4, 0.7, 3.0])).tolist() == [2, 3, 5]
    unsafe = unsafe_for(np.array([0.8, 0.4]), np.array([0.7, 3.0]))
    assert unsafe[ADULTS].tolist() == [False, True] and unsafe[VULNERABLE].tolist() == [True, True]


def test_people_keep_the_deepest_water_and_fastest_flow_they_were_in() -> None:
    people = PeopleState.start(_tiny_population())
    note_peaks(people, np.array([0.2, 1.1]), np.array([0.5, 0.0]))
    note_peaks(people, np.array([0.6, 0.3]), np.array([0.1, 0.4]))
    np.testing.assert_allclose(people.peak_depth_m, [0.6, 1.1])
    np.testing.assert_allclose(people.peak_velocity_mps, [0.5, 0.4])


def _tiny_population(n: int = 2) -> Population:
    """n people at home at walkable node 0 (every per-person field zero)."""
    return Population(**{f.name: np.zeros(n, dtype=np.int64) for f in dataclasses.fields(Population)})
