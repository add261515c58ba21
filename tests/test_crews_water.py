"""Flood rescue teams (twin.crews.water): a team's times through water by hand, the two-layer network on a line of
four nodes by hand, and on Andorra a rescue behind a flooded road reached by the boat team at the computed time
(shortest road times by networkx, not the phase's routing), never by a crew that only drives, and by nobody when
the water is beyond both the wading and the boat limits; checkpoints mid-journey restore bit for bit."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.test_crews import FIRE_DELAY, ONLY_FIRE, STEP, WORK, Reports, _crews, _scenario, _times_from
from twin.city.build import City
from twin.crews.water import WaterLimits, WaterRoutes, two_layer_graph, water_link_times_s
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext
from twin.traffic.engine import TrafficPhase

BOAT_MPS = 5.0 / 3.6  # the default 5 km/h
LAUNCH_S = 600.0
FLOOD_AT_S = 60.0
CALL_AT_S = 120.0
DEPTH_M = 1.0


def test_a_team_wades_shallow_slow_water_and_boats_deep_water_by_hand() -> None:
    limits = WaterLimits()
    depth = np.array([0.4, 1.0, 1.0, 0.45, 0.5, 0.3])
    velocity = np.array([0.5, 1.0, 2.5, 1.5, 0.5, 2.0])
    times = water_link_times_s(np.full(6, 100.0), depth, velocity, limits)
    wade_04 = 100.0 / (1.33 * (1.0 - 0.4 / 1.2))  # d v = 0.2: wading at the adults' pace in 0.4 m; too shallow to boat
    boat = 100.0 / BOAT_MPS  # 72 s
    # 1 m at 1 m/s: too deep to wade, a boat goes; 2.5 m/s: too fast for a boat; 0.45 m at 1.5 m/s: d v = 0.675 is
    # too much to wade and 0.45 m too shallow for the boat; 0.5 m at 0.5 m/s: both, the boat is faster (72 < 129 s);
    # 0.3 m at 2 m/s: d v = 0.6 > 0.5 and too shallow for a boat.
    expected = [wade_04, boat, np.inf, np.inf, boat, np.inf]
    np.testing.assert_allclose(times, expected, rtol=1e-12)
    slow = water_link_times_s(np.array([100.0]), np.array([0.5]), np.array([0.0]), WaterLimits(boat_mps=0.5))
    assert slow[0] == pytest.approx(100.0 / (1.33 * (1.0 - 0.5 / 1.2)), rel=1e-12)  # wading beats a 0.5 m/s boat


def test_the_two_layer_network_on_a_line_by_hand() -> None:
    # 0 -> 1 road (100 s), 1 -> 2 flooded (72 s in the water, closed to driving), 2 -> 3 road (50 s).
    src, dst = np.array([0, 1, 2]), np.array([1, 2, 3])
    road = np.array([100.0, np.inf, 50.0])
    water = np.array([np.inf, 72.0, np.inf])
    routes = WaterRoutes(two_layer_graph(4, src, dst, road, water, LAUNCH_S), 4)
    times = routes.pair_times(np.array([0, 0]), np.array([1, 2, 3]))
    # Node 2 in the water: drive, launch, boat. Node 3: ashore again (the boat recovered) and drive on.
    np.testing.assert_allclose(times[0], [100.0, 100.0 + LAUNCH_S + 72.0, 100.0 + 2 * LAUNCH_S + 72.0 + 50.0])
    beyond = WaterRoutes(two_layer_graph(4, src, dst, road, np.full(3, np.inf), LAUNCH_S), 4)
    assert np.isinf(beyond.pair_times(np.array([0]), np.array([2, 3]))).all()


class FloodOneRoad(Phase):
    """Closes both directions of a road by ``DEPTH_M`` of water from ``FLOOD_AT_S`` on (the rest of the map dry)."""

    name = "test_flood_one_road"
    order = "hazards"

    def __init__(self, links: np.ndarray) -> None:
        self.links = links

    def step(self, ctx: StepContext, dt_s: float) -> None:
        if ctx.clock_s + dt_s >= FLOOD_AT_S:
            ctx.state.link_closed_flood[self.links] = True
            ctx.state.link_flood_depth_m[self.links] = DEPTH_M
            ctx.state.link_speed_factor[self.links] = 0.0


def _dead_end(city: City) -> tuple[int, int, np.ndarray]:
    """A node ``t`` whose only road is a two-way street from ``u`` (no bridge or tunnel), ``u`` reachable by road
    from every fire station: ``(t, u, the street's two links)``."""
    links = city.drive.links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    plain = ~(links["bridge"].to_numpy(dtype=bool) | links["tunnel"].to_numpy(dtype=bool))
    stations = _stations(city)
    reach = [_times_from(city, s) for s in stations]
    for t in range(city.drive.n_nodes):
        touching = np.flatnonzero((src == t) | (dst == t))
        ends = set(src[touching].tolist()) | set(dst[touching].tolist())
        if len(touching) != 2 or len(ends) != 2 or not plain[touching].all():
            continue
        (u,) = ends - {t}
        if all(u in r for r in reach) and u not in stations:
            return t, int(u), touching
    raise AssertionError("no dead-end street on the map")


def _stations(city: City) -> list[int]:
    return [int(n) for n in city.facilities.loc[city.facilities["kind"] == "fire_station", "drive_node"]]


def _model(
    city: City, tmp_path: Path, flood_rescue: dict[str, Any] | None = None, **changes: Any
) -> tuple[CityModel, int, int]:
    crews = {**ONLY_FIRE, "policy": "nearest"}
    if flood_rescue is not None:
        crews["flood_rescue"] = flood_rescue
    model = CityModel(city, _scenario(tmp_path, crews, **{"duration": "2h", **changes}))
    t, u, street = _dead_end(city)
    model.add_phase(FloodOneRoad(street))
    model.add_phase(Reports([(CALL_AT_S, t, 1)]))
    return model, t, u


def _boat_travel_s(city: City, t: int, u: int) -> float:
    """Drive from the nearest fire station to the water's edge ``u``, launch, boat down the street to ``t``."""
    links = city.drive.links
    into = links[(links["src"] == u) & (links["dst"] == t)]["length_m"].min()
    to_edge = min(_times_from(city, s).get(u, np.inf) for s in _stations(city)) / 1.2
    return float(to_edge + LAUNCH_S + into / BOAT_MPS)


def test_a_rescue_behind_a_flooded_road_is_reached_by_boat_at_the_computed_time(
    andorra_city: City, tmp_path: Path
) -> None:
    model, t, u = _model(andorra_city, tmp_path)
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    links = andorra_city.drive.links
    out_of = links[(links["src"] == t) & (links["dst"] == u)]["length_m"].min()
    travel = _boat_travel_s(andorra_city, t, u)
    assert row["status"] == "done" and bool(row["by_water"])
    assert row["travel_s"] == pytest.approx(travel, rel=1e-9)
    assert row["response_s"] == pytest.approx(FIRE_DELAY + travel, rel=1e-9)
    done = CALL_AT_S + FIRE_DELAY + travel + WORK
    assert row["done_s"] == pytest.approx(done, rel=1e-9)
    # Home the same way back from the end of that step (decisions at step ends): launch, boat up the street, recover
    # the boat, drive; busy from the call to home.
    crews = _crews(model).crews_frame()
    team = crews[crews["jobs_done"] == 1].iloc[0]
    assert bool(team["flood_rescue"]) and team["status"] == "idle"
    back = LAUNCH_S + out_of / BOAT_MPS + LAUNCH_S + _times_from(andorra_city, u)[int(team["home_node"])] / 1.2
    leaves = math.ceil(done / STEP) * STEP
    assert team["busy_s"] == pytest.approx(leaves + back - CALL_AT_S, rel=1e-9)


def test_in_a_run_with_traffic_the_journey_through_water_takes_its_path_time(
    andorra_city: City, tmp_path: Path
) -> None:
    model, t, u = _model(andorra_city, tmp_path, duration="40min", traffic={})
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert bool(row["by_water"]) and row["travel_s"] == pytest.approx(_boat_travel_s(andorra_city, t, u), rel=1e-9)
    assert row["status"] == "done"
    traffic = model.phases["traffic"][0]
    # Not driven in the traffic model: no vehicle ever left for it.
    assert isinstance(traffic, TrafficPhase) and len(traffic.trips()) == 0


def test_a_crew_that_only_drives_never_reaches_it(andorra_city: City, tmp_path: Path) -> None:
    model, _, _ = _model(andorra_city, tmp_path, {"teams_per_station": 0})
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert row["status"] == "open" and np.isnan(row["arrived_s"])
    assert not _crews(model).crews_frame()["flood_rescue"].any()


def test_water_beyond_the_wading_and_boat_limits_stops_the_team_too(andorra_city: City, tmp_path: Path) -> None:
    # 1 m is above the 0.5 m a team wades; a boat here needs 1.5 m.
    model, _, _ = _model(andorra_city, tmp_path, {"boat_min_depth_m": 1.5})
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert row["status"] == "open" and not bool(row["by_water"])


def test_checkpoints_restore_a_team_on_the_water_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    whole, _, _ = _model(andorra_city, tmp_path)
    whole.run()
    half, _, _ = _model(andorra_city, tmp_path)
    half.run(until_s=CALL_AT_S + 300)  # the team is on its way
    assert _crews(half).incidents_frame()["status"].tolist() == ["assigned"]
    half.checkpoint(tmp_path / "c.npz")
    restored = CityModel.restore(tmp_path / "c.npz", andorra_city, half.spec)
    restored.add_phase(FloodOneRoad(_dead_end(andorra_city)[2]))
    restored.add_phase(Reports([(CALL_AT_S, _dead_end(andorra_city)[0], 1)]))
    restored.run()
    pd.testing.assert_frame_equal(_crews(restored).incidents_frame(), _crews(whole).incidents_frame())
    pd.testing.assert_frame_equal(_crews(restored).crews_frame(), _crews(whole).crews_frame())
    assert restored.recorder.timeseries().equals(whole.recorder.timeseries())
