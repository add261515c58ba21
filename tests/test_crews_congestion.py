"""Dispatch that sees congestion: the traffic service's current link times, and the crews' travel times over them,
on a hand-computed queue: a crew behind it on the short route is passed over for a farther crew on a free route."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_crews import ONLY_FIRE, Reports, _crews, _fire_station_node, _scenario, _school_nodes, _times_from
from tests.test_traffic import od
from twin.city.build import City
from twin.crews.policies import DispatchView, NearestAvailable
from twin.crews.travel import RoadGraph, Roads, class_factor, queue_delays_s
from twin.sim.model import CityModel
from twin.traffic.demand import TrafficOptions
from twin.traffic.engine import TrafficPhase
from twin.traffic.network import TrafficNetwork
from twin.traffic.service import TrafficService
from twin.traffic.sim import TrafficSim

# node 0 -> node 1: 1000 m at 10 m/s (100 s), where the queue builds; node 2 -> node 1: 1500 m at 10 m/s (150 s)
SRC, DST = np.array([0, 2]), np.array([1, 1])
LENGTH, SPEED = np.array([1000.0, 1500.0]), np.full(2, 10.0)
CARS, JAM_CAPACITY, JAM_FROM_S, DECIDE_S = 20, 0.05, 50.0, 125.0
FIRE = class_factor("fire")


def _jammed(route_cost: str = "queue") -> TrafficSim:
    """Twenty cars leave node 0 for node 1 at t = 0; at 50 s the 0 -> 1 link's end drops to 0.05 veh/s (a crash
    blocking most of it). By hand: the cars enter at 10 veh/s (0, 0.1, ..., 1.9 s) and reach the end at 100 s +
    0.1 s each; the end lets one out every 1 / 0.05 = 20 s from 100 s (100, 120, 140, ...), so at 125 s two have
    left and 18 stand queued there. Run to 125 s."""
    network = TrafficNetwork.from_arrays(3, SRC, DST, LENGTH, SPEED, np.array([10.0, 10.0]))
    sim = TrafficSim(network, od([0] * CARS, [1] * CARS, [0.0] * CARS), TrafficOptions(route_cost=route_cost), seed=1)
    sim.run(JAM_FROM_S)
    network.capacity_factor[0] = JAM_CAPACITY / 10.0
    sim.run(DECIDE_S)
    return sim


def test_the_service_gives_each_links_time_now_as_the_route_choice_sees_it() -> None:
    service = TrafficService(_jammed())
    # queue cost: 100 s free + the larger of 18 queued / 0.05 veh/s = 360 s and their mean wait (125 - 101.05 s)
    assert service.link_times_s().tolist() == pytest.approx([100.0 + 18 / JAM_CAPACITY, 150.0], rel=1e-12)
    # mean speed (UXsim's): all 18 on the link stand, so 100 x its free time; the empty link takes its free time
    assert TrafficService(_jammed("mean_speed")).link_times_s().tolist() == pytest.approx([100.0 * 100.0, 150.0])
    assert TrafficService(_jammed("free_flow")).link_times_s().tolist() == [100.0, 150.0]


def test_queue_delays_are_the_traffic_time_less_the_free_time_and_never_negative() -> None:
    free = np.array([100.0, 150.0, 20.0, np.inf])
    traffic = np.array([460.0, 150.0, np.inf, np.inf])  # link 2 was closed to traffic at its last step
    assert queue_delays_s(free, traffic).tolist() == [360.0, 0.0, 0.0, 0.0]
    assert queue_delays_s(np.array([100.0]), np.array([90.0])).tolist() == [0.0]  # a faster reading: no gain


def _view(response: np.ndarray) -> DispatchView:
    """Two fire crews (0 at node 0, 1 at node 2), one rescue at node 1."""
    return DispatchView(
        now_s=DECIDE_S,
        crew_id=np.array([0, 1]),
        crew_kind=np.array(["fire", "fire"]),
        incident_id=np.array([0]),
        incident_kind=np.array(["rescue"]),
        priority=np.array([1]),
        created_s=np.array([0.0]),
        criticality=np.array([0]),
        work_s=np.array([600.0]),
        response_s=response,
        customers=np.zeros(1),
    )


def test_the_crew_behind_the_queue_is_passed_over_for_the_farther_one_on_a_free_route() -> None:
    sim = _jammed()
    service = TrafficService(sim)
    graph = RoadGraph(n_nodes=3, src=SRC, dst=DST, length_m=LENGTH, speed_mps=SPEED)
    dry, open_ = np.ones(2), np.zeros(2, dtype=bool)
    crews, incident, factors = np.array([0, 2]), np.array([1]), np.full(2, FIRE)

    free = Roads(graph, dry, open_).pair_times(crews, incident, factors)  # what dispatch saw before: no queue
    assert free[:, 0].tolist() == pytest.approx([100.0 / FIRE, 150.0 / FIRE], rel=1e-12)
    assert NearestAvailable().assign(_view(free)) == [(0, 0)]  # the crew behind the jam

    live = Roads(graph, dry, open_, service.link_times_s()).pair_times(crews, incident, factors)
    # crew 0: 100 s / 1.2 along the link + 360 s in the queue (an emergency vehicle does not pass through it);
    # crew 1: 150 s / 1.2 on the free route
    assert live[0, 0] == pytest.approx(100.0 / FIRE + 18 / JAM_CAPACITY, rel=1e-12)
    assert live[1, 0] == pytest.approx(150.0 / FIRE, rel=1e-12)
    assert NearestAvailable().assign(_view(live)) == [(1, 0)]  # the farther crew goes

    # both driven in the traffic model from now: the chosen crew is there at 125 + 150 / 1.2 = 250 s; the other
    # would join the queue's end (18 cars, out every 20 s from 140 s) and leave it after them, at 500 s
    ids = service.add_trips(
        pd.DataFrame(
            {"origin": [2, 0], "destination": [1, 1], "departure_s": [DECIDE_S] * 2, "vehicle_class": ["emergency"] * 2}
        ),
        owner="crews",
    )
    sim.run(1000.0)
    arrived = service.take_reports("crews").of("arrived")
    at = dict(zip(arrived.vehicle.tolist(), arrived.t_s.tolist(), strict=True))
    assert at[int(ids[0])] == pytest.approx(DECIDE_S + 150.0 / FIRE, rel=1e-12)
    assert at[int(ids[1])] == pytest.approx(140.0 + 18 * 20.0, rel=1e-12)


def test_emergency_and_utility_crews_take_different_paths_past_the_same_queue() -> None:
    # 0 -> 1 direct: 120 s free + a 35 s queue; round by 2: 80 s + 80 s, free. A fire engine (1.2): direct
    # 120 / 1.2 + 35 = 135 s, round 160 / 1.2 = 133.3 s: it goes round. A power crew (1.0): direct 155 s,
    # round 160 s: it waits in the queue. (Dividing the whole congested time by 1.2 would send the fire engine
    # direct in 155 / 1.2 = 129.2 s: the queue does not move faster for it.)
    graph = RoadGraph(
        n_nodes=3,
        src=np.array([0, 0, 2]),
        dst=np.array([1, 2, 1]),
        length_m=np.array([1200.0, 800.0, 800.0]),
        speed_mps=np.full(3, 10.0),
    )
    roads = Roads(graph, np.ones(3), np.zeros(3, dtype=bool), np.array([155.0, 80.0, 80.0]))
    times = roads.pair_times(np.array([0, 0]), np.array([1]), np.array([FIRE, class_factor("power")]))
    assert times[:, 0].tolist() == pytest.approx([160.0 / FIRE, 155.0], rel=1e-12)


class JammedService(TrafficService):
    """The engine's traffic service, reporting ``extra_s`` more on some links than the traffic model sees: a jam
    only dispatch sees (the roads stay empty, so the crews' drives are at free flow), to test the wiring."""

    def __init__(self, sim: TrafficSim, links: np.ndarray, extra_s: float) -> None:
        super().__init__(sim)
        self.links, self.extra_s = links, extra_s

    def link_times_s(self) -> np.ndarray:
        times = super().link_times_s()
        times[self.links] += self.extra_s
        return times


def test_in_the_engine_dispatch_takes_the_traffic_services_link_times(andorra_city: City, tmp_path: Path) -> None:
    city = andorra_city
    station = _fire_station_node(city)
    depot = int(city.facilities.loc[city.facilities["kind"] == "hospital", "drive_node"].iloc[0])
    from_station, from_depot = _times_from(city, station), _times_from(city, depot)
    place = min(
        (n for n in _school_nodes(city) if n in from_station and n in from_depot and n not in (station, depot)),
        key=lambda n: from_station[n] - from_depot[n],
    )
    assert from_station[place] < from_depot[place]  # at free flow the station's engine is nearer
    nodes = city.drive.nodes
    crews = {
        **ONLY_FIRE,
        "depots": [{"kind": "fire", "at": [float(nodes["lon"].iloc[depot]), float(nodes["lat"].iloc[depot])]}],
    }
    model = CityModel(city, _scenario(tmp_path, crews, duration="1h", traffic={}))
    phase = model.phases["traffic"][0]
    assert isinstance(phase, TrafficPhase)
    leaving = np.flatnonzero(city.drive.links["src"].to_numpy() == station)
    model.services["traffic"] = JammedService(phase.sim, leaving, 3600.0)  # an hour's queue out of the station
    model.add_phase(Reports([(120.0, place, 1)]))
    model.run()
    crews_phase = _crews(model)
    assert [c.node for c in crews_phase.crews][:1] == [station] and crews_phase.crews[1].home == depot
    row = crews_phase.incidents_frame().iloc[0]
    assert row["crew"] == 1  # the depot's engine, farther but not behind the jam
    assert row["travel_s"] == pytest.approx(from_depot[place] / FIRE, rel=1e-9)  # empty roads: free flow / 1.2
