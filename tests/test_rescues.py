"""People needing rescue become the crews' incidents (twin.residents.rescues): one flooded building, one fire crew,
travel computed by hand (networkx, not the phase's routing); the rescue figures by hand; checkpoints mid-rescue."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.test_crews import FIRE_DELAY, ONLY_FIRE, _crews, _fire_station_node, _scenario, _times_from
from twin.city.build import City
from twin.metrics.response import rescue_metrics
from twin.residents import rescues
from twin.residents.people import ELSEWHERE, HOME, WALKING, PeopleState
from twin.residents.phase import ResidentsPhase
from twin.residents.population import Population
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

FLOOD_AT_S = 600.0
DEPTH_M = 2.0
STAYING = {"decision": {"intercept": -30.0, "cues": 0.0}}
"""Nobody decides to leave: the people of the flooded building wait for the crew."""


class FloodOneBuilding(Phase):
    """Puts ``DEPTH_M`` of water in one building from ``start_s`` (``FLOOD_AT_S``) on, until ``end_s`` if given (its
    streets stay dry)."""

    name = "test_flood_one_building"
    order = "hazards"

    def __init__(self, building: int, start_s: float = FLOOD_AT_S, end_s: float = np.inf) -> None:
        self.building, self.start_s, self.end_s = building, start_s, end_s

    def step(self, ctx: StepContext, dt_s: float) -> None:
        end = ctx.clock_s + dt_s
        wet = self.start_s <= end < self.end_s
        ctx.state.building_depth_m[self.building] = DEPTH_M if wet else 0.0


def _residents(model: CityModel) -> ResidentsPhase:
    phase = model.phases["residents"][0]
    assert isinstance(phase, ResidentsPhase)
    return phase


def _building(city: City, model: CityModel, skip: int = 0) -> tuple[int, int]:
    """The ``skip``-th home building with at least two people on its ground floor, reachable from the fire
    station; with its drivable node."""
    pop = _residents(model).population
    times = _times_from(city, _fire_station_node(city))
    homes = city.homes
    ground = np.bincount(pop.home_building[(pop.floor == 0) & (pop.home_building >= 0)], minlength=len(city.buildings))
    for building, node in zip(homes["building"].to_numpy(), homes["drive_node"].to_numpy(), strict=True):
        if building >= 0 and ground[building] >= 2 and int(node) in times:
            if skip == 0:
                return int(building), int(node)
            skip -= 1
    raise AssertionError("no suitable building on the map")


def _model(city: City, tmp_path: Path, crews: dict[str, Any] | None) -> tuple[CityModel, int, int]:
    changes: dict[str, Any] = {"residents": STAYING, "duration": "2h"}
    spec = _scenario(tmp_path, crews or {}, **changes)
    if crews is None:
        spec = spec.model_copy(update={"crews": None})
    model = CityModel(city, spec)
    building, node = _building(city, model)
    model.add_phase(FloodOneBuilding(building))
    return model, building, node


def test_a_flooded_building_is_rescued_by_the_one_crew_at_the_computed_time(andorra_city: City, tmp_path: Path) -> None:
    model, building, node = _model(andorra_city, tmp_path, ONLY_FIRE)
    residents = _residents(model)
    pop = residents.population
    inside = np.flatnonzero((pop.home_building == building) & (pop.floor == 0))
    while not model.finished:
        model.step()
        assert residents.people.counts().sum() == andorra_city.population
    table = _crews(model).incidents_frame()
    assert len(table) == 1
    row = table.iloc[0]
    travel = _times_from(andorra_city, _fire_station_node(andorra_city))[node] / 1.2  # emergency class
    work = 900.0 + 300.0 * len(inside)  # rescues.work_s: 15 min to set up, 5 min per person
    assert row["kind"] == "rescue" and row["node"] == node and row["people"] == len(inside)
    assert row["created_s"] == FLOOD_AT_S and row["deadline_s"] == FLOOD_AT_S  # asked when the floor hit 2 m
    assert row["response_s"] == pytest.approx(FIRE_DELAY + travel, rel=1e-9)
    assert row["work_s"] == work and row["status"] == "done"
    done = FLOOD_AT_S + FIRE_DELAY + travel + work
    assert row["done_s"] == pytest.approx(done, rel=1e-9)
    p = residents.people
    assert (p.status[inside] == ELSEWHERE).all() and np.isnan(p.left_s[inside]).all()
    np.testing.assert_allclose(p.rescued_s[inside], done, rtol=1e-6)
    assert (p.rescue_ref[inside] == row["request"]).all() and np.isfinite(p.rescued_s).sum() == len(inside)
    upstairs = np.flatnonzero((pop.home_building == building) & (pop.floor > 0))
    assert (p.status[upstairs] == HOME).all()  # 2 m of water less 3 m per floor: dry upstairs
    figures = rescue_metrics(table, model.clock_s)
    assert figures["requests"] == 1 and figures["not_reached_before_1_5m"] == 1
    assert figures["already_1_5m_when_asked"] == 1 and figures["not_reached_before_1_5m_after_asking"] == 0
    series = model.recorder.timeseries().set_index("t_s")
    assert series["people_rescued"].iloc[-1] == len(inside) and series["people_need_rescue"].iloc[-1] == 0


def test_a_request_nobody_needs_any_more_is_withdrawn_before_a_crew_comes(andorra_city: City, tmp_path: Path) -> None:
    # Building A floods at 600 s and takes the one crew for over 25 min; building B floods at 660 s and waits; its
    # water is gone at 900 s, so its request is withdrawn and closed then, and its people stay at home.
    model, first, _ = _model(andorra_city, tmp_path, ONLY_FIRE)
    second = _building(andorra_city, model, skip=1)[0]
    model.add_phase(FloodOneBuilding(second, start_s=FLOOD_AT_S + 60, end_s=900.0))
    model.run()
    table = _crews(model).incidents_frame()
    assert table["status"].tolist() == ["done", "resolved_otherwise"] and table["done_s"].isna().tolist()[1]
    assert table["people"].tolist()[1] > 0 and table["created_s"].tolist() == [FLOOD_AT_S, FLOOD_AT_S + 60]
    p, pop = _residents(model).people, _residents(model).population
    in_second = np.flatnonzero((pop.home_building == second) & (pop.floor == 0))
    assert (p.status[in_second] == HOME).all() and not p.rescue_asked[in_second].any()
    assert np.isnan(p.rescued_s[in_second]).all() and first != second
    assert rescue_metrics(table, model.clock_s)["withdrawn"] == 1


def test_without_crews_requests_are_logged_and_nobody_is_rescued(andorra_city: City, tmp_path: Path) -> None:
    model, building, _ = _model(andorra_city, tmp_path, None)
    assert "crews" not in model.services
    model.run()
    p, pop = _residents(model).people, _residents(model).population
    inside = np.flatnonzero((pop.home_building == building) & (pop.floor == 0))
    assert (p.status[inside] == HOME).all() and p.need_rescue[inside].all() and np.isnan(p.rescued_s).all()
    events = model.recorder.events_table()
    requests = events[events["kind"] == "rescue_request"]
    assert len(requests) == 1 and json.loads(requests["details"].iloc[0])["people"] == len(inside)


def test_checkpoints_restore_a_rescue_under_way_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    whole, _, _ = _model(andorra_city, tmp_path, ONLY_FIRE)
    whole.run()
    half, _, _ = _model(andorra_city, tmp_path, ONLY_FIRE)
    half.run(until_s=FLOOD_AT_S + 300)  # the crew is on its way
    assert _crews(half).incidents_frame()["status"].tolist() == ["assigned"]
    half.checkpoint(tmp_path / "c.npz")
    restored = CityModel.restore(tmp_path / "c.npz", andorra_city, half.spec)
    restored.add_phase(FloodOneBuilding(_building(andorra_city, restored)[0]))
    restored.run()
    assert _residents(restored).table().equals(_residents(whole).table())
    pd.testing.assert_frame_equal(_crews(restored).incidents_frame(), _crews(whole).incidents_frame())


# --- the parts, by hand ------------------------------------------------------------------------------------------


def _people(status: list[int], node: list[int]) -> tuple[PeopleState, Population]:
    n = len(status)
    pop = Population(**{f.name: np.zeros(n, dtype=np.int64) for f in dataclasses.fields(Population)})
    people = PeopleState.start(pop)
    people.status[:] = status
    people.node[:] = node
    return people, pop


def test_requests_are_one_per_place_at_its_drivable_node() -> None:
    # Persons 0, 1 at home in building 4 (home 2), person 2 walking at walkable node 7, person 3 at home, not in need.
    people, pop = _people([HOME, HOME, WALKING, HOME], [3, 3, 7, 3])
    pop.home_building[:] = [4, 4, 9, 4]
    pop.home[:] = [2, 2, 5, 2]
    home_drive = np.arange(10) * 10  # home h's drivable node: 10 h
    walk_drive = np.arange(10) + 100  # walkable node w's: 100 + w
    made = rescues.make_requests(people, pop, np.array([True, True, True, False]), home_drive, walk_drive)
    # Places sort as walk node 7 (-8) then building 4: requests 0 and 1.
    assert made.place.tolist() == [-8, 4] and made.ref.tolist() == [0, 1]
    assert made.drive_node.tolist() == [107, 20] and made.people.tolist() == [1, 2]
    assert people.rescue_ref.tolist() == [1, 1, 0, -1]
    assert rescues.work_s(made.people).tolist() == [1200.0, 1500.0]
    again = rescues.make_requests(people, pop, np.array([False, False, False, True]), home_drive, walk_drive)
    assert again.ref.tolist() == [2]  # numbers keep growing


def test_a_finished_request_brings_out_those_still_in_need() -> None:
    people, _ = _people([HOME, WALKING, WALKING, HOME], [0, 1, 1, 0])
    people.rescue_ref[:] = [0, 1, 1, 2]
    people.need_rescue[:] = [True, True, False, True]
    people.rescue_asked[:] = True
    people.nxt[1] = 4
    rescued = rescues.rescue(people, np.array([1, 0]), np.array([500.0, 800.0]), n_shelters=3)
    assert rescued.tolist() == [0, 1]
    assert people.status.tolist() == [ELSEWHERE, ELSEWHERE, WALKING, HOME]
    assert people.rescued_s[:2].tolist() == [800.0, 500.0] and np.isnan(people.rescued_s[2:]).all()
    assert people.nxt[1] == -1 and people.target[:2].tolist() == [3, 3]
    assert people.rescue_asked.tolist() == [True, True, False, True]  # person 2 found a way out: may ask again


def test_a_request_nobody_needs_is_withdrawn_and_its_people_may_ask_again() -> None:
    people, _ = _people([HOME, WALKING, WALKING, HOME], [0, 1, 1, 0])
    people.rescue_ref[:] = [0, 0, 1, 2]
    people.need_rescue[:] = [False, False, True, False]
    people.rescue_asked[:] = True
    assert rescues.withdraw(people).tolist() == [0, 2]
    assert people.rescue_asked.tolist() == [False, False, True, False]
    assert rescues.withdraw(people).tolist() == []  # withdrawn once


def test_rescues_not_reached_before_the_water_reached_one_and_a_half_metres_by_hand() -> None:
    # 0: asked at 100 (trapped walker), 1.5 m at 900, crew there at 600: in time.
    # 1: asked at 100, 1.5 m at 400, crew at 600: late.  2: asked at 1.5 m (300), crew at 700: late, already deep.
    # 3: asked at 200, water never 1.5 m, crew never came: not counted late.  4: a medical call: not a rescue.
    table = pd.DataFrame(
        {
            "kind": ["rescue", "rescue", "rescue", "rescue", "medical"],
            "status": ["done", "done", "assigned", "open", "done"],
            "created_s": [100.0, 100.0, 300.0, 200.0, 0.0],
            "arrived_s": [600.0, 600.0, 700.0, np.nan, 50.0],
            "deadline_s": [900.0, 400.0, 300.0, np.nan, np.nan],
            "people": [1, 2, 3, 4, 0],
        }
    )
    figures = rescue_metrics(table, end_s=1000.0)
    assert figures == {
        "requests": 4,
        "people": 10,
        "reached": 3,
        "withdrawn": 0,
        "people_at_requests_worked": 3,
        "water_reached_1_5m": 3,
        "not_reached_before_1_5m": 2,
        "already_1_5m_when_asked": 1,
        "not_reached_before_1_5m_after_asking": 1,
    }
    assert rescue_metrics(table, end_s=650.0)["not_reached_before_1_5m"] == 2  # 2's crew is not there yet: late
