"""Crews driving in the traffic model: on a small chain of links against hand-computed arrival times (free flow
over the class speed factor, a queue at a bottleneck, a closure on the way), then in the engine on Andorra (the
arrival is the traffic model's, a road crew clears the way first, checkpoints, the assumptions say which travel)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_crews import (
    FIRE_DELAY,
    ONLY_FIRE,
    STEP,
    Debris,
    Reports,
    _crews,
    _fire_station_node,
    _scenario,
    _school_nodes,
    _times_from,
)
from tests.test_traffic import chain, od
from twin.city.build import City
from twin.crews.driving import CrewTrips
from twin.sim.model import CityModel
from twin.traffic.engine import TrafficPhase
from twin.traffic.service import TrafficService
from twin.traffic.sim import TrafficSim

NO_TRIPS = od([], [], [])


def _drive(sim: TrafficSim, kind: str, depart_s: float, until_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Crew 0 of ``kind`` drives from node 0 to node 3 of ``sim``; its arrivals (times, nodes) by ``until_s``."""
    service = TrafficService(sim)
    trips = CrewTrips()
    trips.drive(0, kind, 0, 3, depart_s)
    vehicles = trips.flush(service)
    assert list(vehicles) == [0]
    sim.run(until_s)
    out = CrewTrips.take(service, vehicles)
    assert out.arrived_crew.tolist() == [0]
    return out.arrived_s, out.arrived_node


def test_a_crew_arrives_after_its_free_flow_time_over_its_class_speed_factor() -> None:
    # three 100 m links at 10 m/s: 30 s at the limit; a fire engine (emergency class) 1.2 x faster
    arrived, node = _drive(TrafficSim(chain([100.0, 100.0, 100.0]), NO_TRIPS, seed=1), "fire", 5.0, 100.0)
    assert arrived[0] == pytest.approx(5.0 + 300.0 / (10.0 * 1.2), abs=1e-9) and node.tolist() == [3]
    arrived, _ = _drive(TrafficSim(chain([100.0, 100.0, 100.0]), NO_TRIPS, seed=1), "power", 5.0, 100.0)
    assert arrived[0] == pytest.approx(5.0 + 300.0 / 10.0, abs=1e-9)  # a utility crew drives at traffic's speed


def test_a_queue_on_the_only_route_makes_the_crew_later_by_the_hand_computed_time() -> None:
    # ten cars leave node 0 at t = 0 for node 3; the last link takes 0.1 veh/s (one per 10 s, in and out). By
    # hand: the cars reach its start at 20 s and enter it at 20, 30, ..., 110 s, leaving at 30, ..., 120 s; the
    # engine (leaving at 5 s) reaches its start at 5 + 200/12 = 21.7 s, queues behind them (no overtaking
    # through a queue), enters at 120 s and leaves at max(120 + 100/12, 120 + 10) = 130 s, not 30 s.
    network = chain([100.0, 100.0, 100.0], capacity=[10.0, 10.0, 0.1])
    arrived, _ = _drive(TrafficSim(network, od([0] * 10, [3] * 10, [0.0] * 10), seed=1), "fire", 5.0, 600.0)
    assert arrived[0] == pytest.approx(130.0, abs=1e-9)


def test_a_crew_stranded_by_a_closure_on_the_way_is_reported_where_it_stopped() -> None:
    sim = TrafficSim(chain([100.0, 100.0, 100.0]), NO_TRIPS, seed=1)
    service = TrafficService(sim)
    trips = CrewTrips()
    trips.drive(4, "power", 0, 3, 0.0)
    vehicles = trips.flush(service)
    sim.run(10.0)
    sim.network.closed[2] = True  # the last link closes while the crew is on the first
    sim.run(100.0)
    out = CrewTrips.take(service, vehicles)
    assert out.arrived_crew.size == 0
    assert out.stranded_crew.tolist() == [4] and out.stranded_node.tolist() == [2]
    assert out.stranded_s[0] == pytest.approx(200.0 / 10.0, abs=1e-9)  # where the way ends, at free flow
    assert len(CrewTrips.take(service, vehicles).stranded_crew) == 0  # taken once


def _traffic(model: CityModel) -> TrafficPhase:
    phase = model.phases["traffic"][0]
    assert isinstance(phase, TrafficPhase)
    return phase


def test_in_a_run_with_traffic_the_crew_arrives_when_the_traffic_model_says(andorra_city: City, tmp_path: Path) -> None:
    station = _fire_station_node(andorra_city)
    times = _times_from(andorra_city, station)
    place = max((n for n in _school_nodes(andorra_city) if n in times), key=lambda n: times[n])
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE, traffic={}))
    model.add_phase(Reports([(120.0, place, 1)]))
    model.run(until_s=3600)
    row = _crews(model).incidents_frame().iloc[0]
    trips = _traffic(model).trips()
    out, back = trips.iloc[0], trips.iloc[1]
    # the engine leaves after the dispatch delay and drives the shortest way at 1.2 x the limit (empty roads)
    assert (out["origin"], out["destination"], out["departure_s"]) == (station, place, 120.0 + FIRE_DELAY)
    assert row["arrived_s"] == out["end_s"]
    assert row["travel_s"] == pytest.approx(times[place] / 1.2, rel=1e-9)
    assert row["done_s"] == pytest.approx(120.0 + FIRE_DELAY + times[place] / 1.2 + 600.0, rel=1e-9)
    # it drives back from the end of the step its work ended in, and is free once the traffic model says so
    assert (back["origin"], back["destination"]) == (place, station)
    assert back["departure_s"] == math.ceil(row["done_s"] / STEP) * STEP
    crew = _crews(model).crews_frame().iloc[0]
    assert crew["status"] == "idle" and crew["busy_s"] == pytest.approx(back["end_s"] - 120.0, rel=1e-12)
    notes = " ".join(model.assumptions())
    assert "crews: drive as vehicles in the traffic model" in notes and "no traffic model" not in notes


def test_without_traffic_the_assumptions_say_path_times(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE, duration="10min"))
    model.run()
    assert "traffic" not in model.services
    assert "crews: no traffic model in this run: travel times are shortest paths" in " ".join(model.assumptions())


def test_in_traffic_the_road_crew_clears_the_closed_link_before_the_repair_crew_gets_through(
    andorra_city: City, tmp_path: Path
) -> None:
    city = andorra_city
    substation = int(city.lifelines.power_sources[0])
    node = int(city.facilities["drive_node"].iloc[substation])
    links = city.drive.links
    touching = np.flatnonzero((links["src"].to_numpy() == node) | (links["dst"].to_numpy() == node))
    crews = {
        "per_station": {"fire_station": 0, "hospital": 0, "police": 0},
        "depot_crews": {"power": 1, "water": 0, "telecom": 0, "road": 1},
        "medical": {"rate_per_1000_day": 0},
        "dispatch_delay": {"power": 300, "road": 600},
        "repair": {"substation": {"mean": "1h", "sd": 0}},
        "debris_m3_per_h": 200,
    }
    events = [{"kind": "fail_component", "at": 0, "target": {"components": [substation]}}]
    model = CityModel(city, _scenario(tmp_path, crews, events=events, duration="8h", traffic={}))
    model.add_phase(Debris(touching, np.full(len(touching), 100.0)))
    model.run()
    table = _crews(model).incidents_frame()
    repair = table[table["kind"] == "power"].iloc[0]
    debris = table[table["kind"] == "debris"]
    assert repair["status"] == "done" and (debris["status"] == "done").any()
    # the substation is cut off until the first road into it is cleared: the repair crew is sent only then
    assert repair["assigned_s"] >= debris["done_s"].min()
    trips = _traffic(model).trips()  # every trip in this run is a crew's
    to_substation = trips[trips["destination"] == node]
    assert repair["arrived_s"] in set(to_substation["end_s"])  # the arrival is the traffic model's
    assert repair["done_s"] == pytest.approx(repair["arrived_s"] + 3600.0, rel=1e-12)
    q = model.recorder.timeseries().set_index("t_s")["Q_power"]
    back = math.ceil(repair["done_s"] / STEP) * STEP
    assert q.loc[back - STEP] < 1.0 and q.loc[back] == 1.0


def test_in_traffic_a_checkpoint_mid_drive_restores_crews_and_vehicles_bit_for_bit(
    andorra_city: City, tmp_path: Path
) -> None:
    spec = _scenario(tmp_path, {"medical": {"rate_per_1000_day": 20}, "policy": "nearest"}, traffic={}, duration="2h")
    first = CityModel(andorra_city, spec)
    first.run(until_s=3600)
    assert any(crew.vehicle >= 0 for crew in _crews(first).crews)  # someone is on the road
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    pd.testing.assert_frame_equal(_crews(first).incidents_frame(), _crews(restored).incidents_frame())
    pd.testing.assert_frame_equal(_crews(first).crews_frame(), _crews(restored).crews_frame())
    pd.testing.assert_frame_equal(_traffic(first).trips(), _traffic(restored).trips())


def test_in_traffic_a_crew_recalled_on_the_road_turns_for_home_then_takes_the_call_again(
    andorra_city: City, tmp_path: Path
) -> None:
    station = _fire_station_node(andorra_city)
    times = _times_from(andorra_city, station)
    place = max((n for n in _school_nodes(andorra_city) if n in times), key=lambda n: times[n])
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE, traffic={}, duration="2h"))
    model.add_phase(Reports([(60.0, place, 1)]))
    model.run(until_s=300)  # sent at 60 s, on the road from 160 s (about 11 min to go)
    model.inject("recall", crew=0)
    model.run()
    trips = _traffic(model).trips()
    first = trips.iloc[0]
    assert first["destination"] == station and first["end_node"] == station  # turned for home at 360 s
    assert 360.0 < first["end_s"] < 360.0 + times[place] / 1.2
    row = _crews(model).incidents_frame().iloc[0]
    # the call waited; the crew took it again once the traffic model's report of its arrival home was in (at the
    # end of the step after the one it arrived in: traffic drives after the crews decide), and drove out anew
    assert row["assigned_s"] == (math.ceil(first["end_s"] / STEP) + 1) * STEP
    assert trips.iloc[1]["departure_s"] == row["assigned_s"] + FIRE_DELAY and row["status"] == "done"
    assert row["arrived_s"] == trips.iloc[1]["end_s"]
