"""Traffic as a service: trips added while the simulation runs, redirects, reports per owner, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_traffic import chain, grid, od
from tests.test_traffic_engine import _spec
from twin.city.build import City
from twin.errors import TwinError
from twin.scenario.traffic import TrafficSpec
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext
from twin.traffic.demand import TrafficOptions
from twin.traffic.engine import TrafficPhase
from twin.traffic.network import TrafficNetwork
from twin.traffic.result import STATUS_NAMES
from twin.traffic.service import TrafficService
from twin.traffic.sim import TrafficSim
from twin.traffic.state import TrafficState


def two_way_chain(lengths: list[float], speed: float = 10.0) -> TrafficNetwork:
    """Nodes 0-1-2-... joined both ways: link i goes i -> i+1, link n + i goes i+1 -> i."""
    n = len(lengths)
    src = np.concatenate((np.arange(n), np.arange(1, n + 1)))
    dst = np.concatenate((np.arange(1, n + 1), np.arange(n)))
    length = np.array(lengths * 2, dtype=float)
    return TrafficNetwork.from_arrays(n + 1, src, dst, length, np.full(2 * n, speed), np.full(2 * n, 1.0))


def assert_conserved(sim: TrafficSim, added: int) -> None:
    """waiting + queued + on links + arrived + stranded + abandoned = every vehicle ever added, and the links,
    queues and vehicles agree."""
    st = sim.state
    by_status = np.bincount(st.status, minlength=len(STATUS_NAMES))
    assert by_status.sum() == st.n_vehicles == added
    on = st.link >= 0
    assert np.array_equal(on, st.status == STATUS_NAMES.index("on_link"))
    np.testing.assert_array_equal(
        sim.occupancy, np.bincount(st.link[on], weights=st.platoon[on], minlength=sim.network.n_links)
    )
    assert np.array_equal(np.sort(st.origin_queue), np.flatnonzero(st.status == STATUS_NAMES.index("queued")))
    assert np.all(st.status[st.end_queue] == STATUS_NAMES.index("on_link"))


def test_a_trip_added_mid_run_drives_at_free_flow_and_is_reported_to_its_owner() -> None:
    network = chain([100.0, 200.0, 300.0])  # 10 m/s: 60 s from node 0 to node 3
    sim = TrafficSim(network, od(0, 3, [0.0]), seed=1)
    sim.run(100.0)
    ids = sim.add_trips(od(0, 3, [130.0]), owner="residents")
    crew = sim.add_trips(od(1, 2, [100.0], vehicle_class="emergency"), owner="crews")
    assert ids.tolist() == [1] and crew.tolist() == [2]
    sim.run(400.0)
    report = sim.take_reports("residents")
    assert report.of("arrived").vehicle.tolist() == [1]
    assert report.t_s[0] == pytest.approx(130.0 + 60.0, abs=1e-9)
    assert report.node.tolist() == [3]
    crews = sim.take_reports("crews")
    assert crews.vehicle.tolist() == [2] and crews.t_s[0] == pytest.approx(100.0 + 200.0 / 12.0, abs=1e-9)
    assert len(sim.take_reports("residents")) == 0  # taken once
    assert len(sim.take_reports("nobody")) == 0


def test_bad_trips_are_all_reported_in_the_owners_words() -> None:
    sim = TrafficSim(chain([100.0, 100.0]), od(0, 2, [0.0]), seed=1)
    sim.run(60.0)
    bad = pd.DataFrame(
        {
            "origin": [0, 7, 1],
            "destination": [2, 1, 2],
            "departure_s": [70.0, 80.0, 10.0],
            "vehicle_class": ["car", "car", "tank"],
        }
    )
    with pytest.raises(TwinError) as error:
        sim.add_trips(bad, owner="residents")
    text = str(error.value)
    assert "the trips residents added to traffic: some trips are invalid" in text
    assert "origin must be a node id in 0..2" in text and "row(s), 1" in text
    assert "departure_s" in text and "now, 60 s" in text and "row(s), 2" in text
    assert "tank" in text
    assert len(error.value.problems) == 3
    late = sim.add_trips(od(0, 2, [60.0 - 1e-9]), owner="residents")  # the engine's clock, to the last bit
    assert sim.demand.departure_s[late].tolist() == [60.0]
    with pytest.raises(TwinError, match="owner"):
        sim.add_trips(od(0, 2, [70.0]), owner="scenario")
    assert sim.state.n_vehicles == 2  # nothing bad was added


def test_new_destinations_get_routes_and_reuse_the_rows_of_finished_ones() -> None:
    network = chain([100.0, 100.0, 100.0, 100.0])  # nodes 0..4
    sim = TrafficSim(network, od(0, 1, [0.0]), seed=1)
    sim.run(60.0)  # the first trip arrived at node 1: its row of the route trees is free
    assert sim.destinations.tolist() == [1]
    sim.add_trips(od(0, 4, [60.0]), owner="residents")
    assert sim.destinations.tolist() == [4]  # the row was reused, no tree grew
    sim.add_trips(od(1, 3, [60.0]), owner="residents")
    assert sorted(sim.destinations.tolist()) == [3, 4] and sim.state.routes.trees.shape[1] == 2
    sim.run(200.0)
    arrived = sim.take_reports("residents").of("arrived")
    assert arrived.vehicle.tolist() == [2, 1]
    np.testing.assert_allclose(arrived.t_s, [60.0 + 20.0, 60.0 + 40.0])


def test_redirected_vehicles_continue_from_where_they_are() -> None:
    network = two_way_chain([100.0, 100.0, 100.0])  # 10 s per link
    trips = od(0, 3, [0.0, 0.0, 100.0])
    sim = TrafficSim(network, trips, seed=1)
    ids = sim.add_trips(od(3, 0, [5.0]), owner="crews")
    sim.run(5.0)  # vehicle 0 is halfway along link 0 -> 1 (entered at 0; the second behind it)
    positions = sim.vehicle_positions(np.array([0]))
    assert positions["link"].tolist() == [0] and positions["offset_m"].iloc[0] == pytest.approx(50.0)
    sim.redirect(np.array([0, 2]), np.array([0, 2]))  # back home (via node 1), and a waiting one to node 2
    sim.redirect(ids, 2)
    sim.run(200.0)
    trips_now = sim.trips().set_index("vehicle")
    assert trips_now.loc[0, "arrival_s"] == pytest.approx(20.0, abs=1e-9)  # to node 1 and back: 2 links
    assert trips_now.loc[0, "end_node"] == 0 and trips_now.loc[0, "destination"] == 0
    assert trips_now.loc[2, "arrival_s"] == pytest.approx(120.0, abs=1e-9) and trips_now.loc[2, "end_node"] == 2
    assert trips_now.loc[1, "end_node"] == 3
    report = sim.take_reports("crews")
    assert report.vehicle.tolist() == [3] and report.node.tolist() == [2] and report.t_s[0] == pytest.approx(15.0)
    with pytest.raises(TwinError) as error:
        sim.redirect(np.array([0, 9]), np.array([1, 99]))
    assert "vehicle ids" in str(error.value) and "destinations must be node ids" in str(error.value)
    with pytest.raises(TwinError, match="already arrived"):
        sim.redirect(np.array([0]), np.array([1]))


@pytest.mark.parametrize(  # exact trees, destination zones, and held drivers re-choosing (their clocks saved)
    ("exact_destinations", "rechoice_every_s"), [(1000, None), (5, None), (1000, 20.0)]
)
def test_a_restored_run_with_added_and_redirected_trips_continues_bit_for_bit(
    exact_destinations: int, rechoice_every_s: float | None
) -> None:
    rng = np.random.default_rng(3)
    network = grid(5, rng)
    demand = pd.DataFrame(
        {
            "origin": rng.integers(0, 25, 60),
            "destination": rng.integers(0, 25, 60),
            "departure_s": rng.uniform(0, 300, 60),
        }
    )

    def run(sim: TrafficSim, until: float) -> None:
        while sim.clock_s < until:
            t = sim.clock_s
            if t in (60.0, 240.0):
                more = pd.DataFrame(
                    {"origin": [int(t) % 25, 3], "destination": [24, 11], "departure_s": [t, t + 30], "platoon": [2, 1]}
                )
                sim.add_trips(more, owner="residents")
            if t == 120.0:
                sim.redirect(np.flatnonzero(sim.status < STATUS_NAMES.index("arrived"))[:3], np.array([7, 7, 2]))
            sim.step(60.0)

    options = TrafficOptions(
        record_links=False, route_exact_destinations=exact_destinations, rechoice_every_s=rechoice_every_s
    )
    first = TrafficSim(network, demand, options, seed=np.random.default_rng(9))
    assert first.state.routes.zoned == (exact_destinations == 5)
    run(first, 180.0)
    saved, rng_state = first.state.arrays(), first.rng.bit_generator.state
    run(first, 900.0)
    again = TrafficSim(network, demand, options, seed=np.random.default_rng(0))
    again.restore(TrafficState.from_arrays(saved, network, again.options))
    again.rng.bit_generator.state = rng_state
    run(again, 900.0)
    pd.testing.assert_frame_equal(first.trips(), again.trips())
    pd.testing.assert_frame_equal(first.take_reports("residents").frame(), again.take_reports("residents").frame())
    assert first.state.n_vehicles == 64


def test_conservation_holds_every_substep_as_trips_come_and_go() -> None:
    rng = np.random.default_rng(5)
    network = grid(6, rng)
    sim = TrafficSim(network, od(0, 35, rng.uniform(0, 200, 30)), seed=2)
    added = 30
    for k in range(120):  # one 5 s sub-step per call
        if k % 10 == 0:
            n = 8
            frame = pd.DataFrame(
                {
                    "origin": rng.integers(0, 36, n),
                    "destination": rng.integers(0, 36, n),
                    "departure_s": sim.clock_s + rng.uniform(0, 60, n),
                }
            )
            added += sim.add_trips(frame, owner="residents").size
        if k % 25 == 12:
            travelling = np.flatnonzero(sim.status < STATUS_NAMES.index("arrived"))[:5]
            sim.redirect(travelling, rng.integers(0, 36, travelling.size))
        sim.step(5.0)
        assert_conserved(sim, added)
    assert (sim.status == STATUS_NAMES.index("arrived")).sum() > 50


# ---------------------------------------------------------------- in the engine: the traffic phase as a service


class CarsToShelter(Phase):
    """A stand-in for the residents phase: at 10 min it hands ten cars to traffic, and it collects its reports."""

    name = "residents"
    order = "residents"

    def __init__(self, service: TrafficService, homes: np.ndarray, shelter: int) -> None:
        self.service, self.homes, self.shelter = service, homes, shelter
        self.reports: list[pd.DataFrame] = []

    def step(self, ctx: StepContext, dt_s: float) -> None:
        if ctx.clock_s == 600.0:
            trips = pd.DataFrame({"origin": self.homes, "destination": self.shelter, "departure_s": 600.0})
            self.service.add_trips(trips, owner="residents")
        self.reports.append(self.service.take_reports("residents").frame())


def _cars_to_shelter(city: City, model: CityModel) -> tuple[TrafficPhase, CarsToShelter]:
    phase = next(c for c in model.phases["traffic"] if isinstance(c, TrafficPhase))
    shelter = int(city.facilities.loc[city.facilities["kind"] == "shelter", "drive_node"].iloc[0])
    homes = city.homes["drive_node"].to_numpy()[:10]
    residents = CarsToShelter(phase.service, homes[homes != shelter], shelter)
    model.add_phase(residents)
    return phase, residents


def test_a_phase_hands_cars_to_traffic_and_learns_who_arrived(andorra_city: City, tmp_path: Path) -> None:
    spec = _spec(tmp_path, pd.DataFrame(), traffic={"substep": "5s"}, duration="40min")  # no demand of its own
    model = CityModel(andorra_city, spec)
    phase, residents = _cars_to_shelter(andorra_city, model)
    model.run()
    reports = pd.concat(residents.reports, ignore_index=True)
    trips = phase.trips()
    assert len(trips) == len(residents.homes) and (trips["status"] == "arrived").all()
    arrived = reports[reports["kind"] == "arrived"].set_index("vehicle").sort_index()
    np.testing.assert_array_equal(arrived.index, trips["vehicle"])  # every car reported once, when it arrived
    np.testing.assert_array_equal(arrived["t_s"], trips["arrival_s"])
    assert (arrived["node"] == residents.shelter).all()
    series = model.recorder.timeseries()
    assert series["vehicles_arrived"].iloc[-1] == len(trips)


def test_a_run_whose_trips_were_handed_over_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _spec(tmp_path, pd.DataFrame(), traffic={}, duration="30min")
    first = CityModel(andorra_city, spec)
    _cars_to_shelter(andorra_city, first)
    first.run(until_s=12 * 60)  # the cars are on the roads
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    _cars_to_shelter(andorra_city, restored)
    restored.run()
    first_phase, restored_phase = (
        next(c for c in m.phases["traffic"] if isinstance(c, TrafficPhase)) for m in (first, restored)
    )
    pd.testing.assert_frame_equal(first_phase.trips(), restored_phase.trips())
    assert first.recorder.timeseries().equals(restored.recorder.timeseries())


def test_the_scenario_section_reads_the_options_one_definition() -> None:
    assert TrafficSpec.model_validate({}).options() == TrafficOptions()
    with pytest.raises(TwinError) as error:
        TrafficOptions(route_memory=1.5, platoon_size=0, substep_s=float("nan"), route_cost="fastest")
    text = str(error.value)
    assert "route_memory must be >= 0 and < 1" in text and "platoon_size must be >= 1 and <= 1000" in text
    assert "substep_s must be > 0" in text and "route_cost" in text


# ---------------------------------------------------------------- stranded vehicles resume


def test_a_stranded_vehicle_resumes_when_its_link_reopens_and_vehicles_are_conserved() -> None:
    network = two_way_chain([100.0, 100.0, 100.0])  # 10 s per link; link 1 is 1 -> 2, the only way on
    sim = TrafficSim(network, od(0, 3, [2.0]), seed=1)  # a scenario trip behind it, stranded too
    crew = sim.add_trips(od(0, 3, [0.0]), owner="crews")
    added = 2
    for k in range(30):  # 5 s sub-steps
        if k == 1:
            network.closed[1] = True  # at 5 s, while the crew is on link 0
        if k == 12:
            network.closed[1] = False  # at 60 s
        sim.step(5.0)
        assert_conserved(sim, added)
        if k == 11:
            assert sim.counts()["stranded"] == 2 and sim.counts()["on_network"] == 0
    report = sim.take_reports("crews").frame()
    assert report["kind"].tolist() == ["stranded", "resumed", "arrived"]
    assert report["vehicle"].tolist() == [crew[0]] * 3
    np.testing.assert_allclose(report["t_s"], [10.0, 60.0, 80.0])  # at node 1; back on at 60 s; 2 links on
    assert report["node"].tolist() == [1, 1, 3]
    trips = sim.trips().set_index("vehicle")
    assert (trips["status"] == "arrived").all()
    assert trips["arrival_s"].to_numpy()[0] > 80.0 and trips["route_length_m"].to_numpy()[1] == 300.0


def test_a_stranded_vehicle_redirected_within_reach_goes_on() -> None:
    network = two_way_chain([100.0, 100.0, 100.0])
    network.closed[1] = True
    sim = TrafficSim(network, pd.DataFrame({"origin": [], "destination": [], "departure_s": []}), seed=1)
    ids = sim.add_trips(od(0, 3, [0.0]), owner="residents")
    sim.run(30.0)
    assert sim.take_reports("residents").kind.tolist() == [1]  # stranded at its origin
    sim.redirect(ids, 1)
    sim.run(60.0)
    report = sim.take_reports("residents")
    assert report.frame()["kind"].tolist() == ["resumed", "arrived"]
    np.testing.assert_allclose(report.t_s, [30.0, 40.0])
