"""The rescue trigger (twin.residents.trigger): who needs rescue, by hand on arrays and on one building of Andorra
whose only exit is flooded (a request when the water at the floor passes 0.5 m, its deadline when it passes 1.5 m)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_crews import ONLY_FIRE, _crews, _scenario
from tests.test_rescues import STAYING, _building, _residents
from tests.test_residents import _tiny_population
from twin.city.build import City
from twin.metrics.response import rescue_metrics
from twin.residents import trigger
from twin.residents.people import HOME, PeopleState
from twin.residents.walking import ADULTS, VULNERABLE, Routes
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

NAN = np.float32(np.nan)


def test_indoors_a_person_needs_rescue_above_half_a_metre_only_with_no_way_out() -> None:
    depth = np.array([0.4, 0.6, 0.6, 1.6, 1.6, 0.0])
    indoors = np.array([True, True, True, True, True, False])
    no_way_out = np.array([True, True, False, False, True, False])
    nobody = np.zeros(6, dtype=bool)
    need = trigger.in_need(depth, indoors, no_way_out, nobody, nobody, np.full(6, NAN), t_s=600.0)
    # 0.4 m: below the exposure threshold; 0.6 m: only without a way out; 1.6 m: whatever the streets
    assert need.tolist() == [False, True, False, True, True, False]


def test_a_walker_asks_after_the_wait_or_at_once_in_water_unsafe_for_them() -> None:
    depth = np.array([0.2, 0.2, 0.2, 0.3, 1.6, 0.2])
    walking = np.array([True, True, True, True, True, False])
    unsafe_here = np.array([False, False, False, True, False, False])
    since = np.array([0.0, 300.0, NAN, NAN, NAN, 0.0], dtype=np.float32)
    nobody = np.zeros(6, dtype=bool)
    need = trigger.in_need(depth, nobody, nobody, walking, unsafe_here, since, t_s=1200.0, wait_s=900.0)
    # trapped 1200 s and 900 s: asks; trapped 0 s (NaN): no; in unsafe water or above 1.5 m: at once; a person
    # who is not walking is not a trapped walker
    assert need.tolist() == [True, True, False, True, True, False]


def test_a_walker_freed_before_the_wait_never_asks_and_one_trapped_through_it_asks_at_the_wait() -> None:
    # Steps of 300 s. Walker 0 is trapped at 300 and 600 s and free at 900 s (a route opened), trapped again at
    # 1200 s; walker 1 is trapped from 300 s on. With a 900 s wait, walker 1 asks at 1200 s (300 + 900), walker 0
    # never within these steps: their time trapped starts again at 1200 s.
    trapped = {300: [True, True], 600: [True, True], 900: [False, True], 1200: [True, True], 1500: [True, True]}
    since = np.full(2, NAN)
    walking = np.ones(2, dtype=bool)
    nobody = np.zeros(2, dtype=bool)
    first_need: list[float] = [np.nan, np.nan]
    for t, now in trapped.items():
        trigger.note_trapped(since, np.array(now), float(t))
        need = trigger.in_need(np.zeros(2), nobody, nobody, walking, nobody, since, float(t), wait_s=900.0)
        for k in np.flatnonzero(need):
            if np.isnan(first_need[k]):
                first_need[k] = float(t)
    assert np.isnan(first_need[0]) and first_need[1] == 1200.0
    assert since.tolist() == [1200.0, 300.0]


def test_a_way_out_is_a_safe_node_or_a_next_hop_for_the_group_or_a_shelter_to_go_into() -> None:
    # Nodes 0..4; one shelter at node 4; target 1 (places to stay) is node 0 (safe). Adults have a next hop from
    # node 2 towards the places to stay, the vulnerable none (their links are unsafe); node 3 has no route at all.
    hop = np.full((2, 2, 5), -1, dtype=np.int32)
    hop[ADULTS, 1, 2] = 1
    safe = np.array([True, False, False, False, False])
    routes = Routes(hop=hop, shelter_node=np.array([4]), safe=safe, nearest_safe=np.full(5, -1))
    node = np.array([0, 2, 2, 3, 4, 4])
    group = np.array([VULNERABLE, ADULTS, VULNERABLE, ADULTS, ADULTS, ADULTS])
    in_shelter = np.array([False, False, False, False, False, True])
    out = trigger.way_out(routes, node, group, in_shelter)
    # at a safe node; adults by the hop; the vulnerable not; no route; at a shelter's door; already in it
    assert out.tolist() == [True, True, False, False, True, False]


# --- one building of Andorra whose only exit is flooded --------------------------------------------------------------

ASK_AT_S, DEEP_AT_S = 600.0, 660.0
STEP_S = 60.0  # tests.test_crews._scenario's step
STREET_M = 1.3
"""Water on the street around the building: deeper than ARR's 1.2 m H3 bound, unsafe for everyone."""


class FloodAroundOneBuilding(Phase):
    """Floods the street at a building's walkable node (its cell and the cells of every walk link from it) with
    ``STREET_M`` of water from the start, and the building with 0.4 m from 300 s, 1.0 m from ``ASK_AT_S`` and 2.0 m
    from ``DEEP_AT_S``; or, with ``street`` False, the building only (its streets dry)."""

    name = "test_flood_around_one_building"
    order = "hazards"

    def __init__(self, building: int, cells: np.ndarray, street: bool = True) -> None:
        self.building, self.cells, self.street = building, cells, street

    def step(self, ctx: StepContext, dt_s: float) -> None:
        end = ctx.clock_s + dt_s
        if self.street:
            ctx.state.water_depth_m.reshape(-1)[self.cells] = STREET_M
        depth = 2.0 if end >= DEEP_AT_S else 1.0 if end >= ASK_AT_S else 0.4 if end >= 300.0 else 0.0
        ctx.state.building_depth_m[self.building] = depth


def _flood_around_home(city: City, model: CityModel, street: bool = True) -> int:
    """Flood one building (depth by :class:`FloodAroundOneBuilding`) and, with ``street``, the streets out of the
    node most of its residents live at; return the building."""
    residents = _residents(model)
    building, _ = _building(city, model)
    pop = residents.population
    node = int(np.bincount(pop.home_node[pop.home_building == building]).argmax())
    graph = residents.graph
    links = np.flatnonzero(graph.src == node)
    cells = np.unique(np.concatenate([graph.cell[np.isin(graph.cell_edge, links)], [residents.places.cell[node]]]))
    model.add_phase(FloodAroundOneBuilding(building, cells[cells >= 0], street))
    return building


def _flooded_exit(city: City, tmp_path: Path, street: bool) -> tuple[CityModel, np.ndarray]:
    spec = _scenario(tmp_path, ONLY_FIRE, residents=STAYING, duration="20min")
    model = CityModel(city, spec)
    building = _flood_around_home(city, model, street)
    pop = _residents(model).population
    inside = np.flatnonzero((pop.home_building == building) & (pop.floor == 0))
    return model, inside


def test_people_whose_only_exit_is_flooded_ask_at_half_a_metre_with_the_deadline_at_one_and_a_half(
    andorra_city: City, tmp_path: Path
) -> None:
    model, inside = _flooded_exit(andorra_city, tmp_path, street=True)
    residents = _residents(model)
    p = residents.people
    while model.clock_s + STEP_S < ASK_AT_S:  # 0.4 m at the floor from 300 s: exposed no, rescue no
        model.step()
        assert not p.need_rescue[inside].any()
    model.run()
    table = _crews(model).incidents_frame()
    mine = table[table["request"] == p.rescue_ref[inside[0]]]
    assert len(mine) == 1
    row = mine.iloc[0]
    assert row["created_s"] == ASK_AT_S and row["deadline_s"] == DEEP_AT_S  # asked at 1.0 m, 1.5 m passed next step
    assert row["people"] >= len(inside) and (p.rescue_ref[inside] == row["request"]).all()
    figures = rescue_metrics(mine, model.clock_s)
    assert figures["water_reached_1_5m"] == 1 and figures["already_1_5m_when_asked"] == 0
    events = model.recorder.events_table()
    asked = events[events["kind"] == "rescue_request"]
    details = [json.loads(d) for d in asked["details"]]
    assert [d["request"] for d in details].count(int(row["request"])) == 1


def test_people_with_a_dry_street_wade_out_rather_than_ask_below_one_and_a_half(
    andorra_city: City, tmp_path: Path
) -> None:
    model, inside = _flooded_exit(andorra_city, tmp_path, street=False)
    p = _residents(model).people
    while model.clock_s + STEP_S < DEEP_AT_S:  # 1.0 m at the floor, but a safe way out: exposed, no request
        model.step()
        if model.clock_s >= ASK_AT_S:
            assert p.exposed[inside].all() and not p.need_rescue[inside].any()
    assert (p.rescue_ref[inside] < 0).all() and (p.status[inside] == HOME).all()
    model.step()  # 2.0 m at the floor: rescue whatever the streets
    assert p.need_rescue[inside].all() and (p.rescue_ref[inside] >= 0).all()


@pytest.mark.parametrize("wait", ["5min", "1h"])
def test_the_trapped_wait_is_a_scenario_option(tmp_path: Path, wait: str) -> None:
    spec = _scenario(tmp_path, {}, residents={"trapped_wait": wait})
    assert spec.residents is not None and spec.residents.trapped_wait_s == {"5min": 300.0, "1h": 3600.0}[wait]


def test_people_ready_to_leave_with_no_safe_way_out_and_no_car_stay_in(andorra_city: City, tmp_path: Path) -> None:
    # Everyone who sees water decides to leave (intercept +30); those of the building whose street is under 1.3 m
    # have no walk route safe for anyone: without a car they stay at home and wait, never walk into the water.
    spec = _scenario(tmp_path, ONLY_FIRE, residents={"decision": {"intercept": 30.0}}, duration="1h")
    model = CityModel(andorra_city, spec)
    residents = _residents(model)
    building = _flood_around_home(andorra_city, model)
    pop = residents.population
    model.run()
    p = residents.people
    inside = np.flatnonzero((pop.home_building == building) & ~pop.car)
    assert len(inside) and np.isfinite(p.decided_s[inside]).all() and (p.depart_s[inside] < model.clock_s).all()
    assert (p.status[inside] == HOME).all() and np.isnan(p.left_s[inside]).all()


def test_a_checkpoint_from_before_the_trapped_time_restores_with_nobody_trapped_yet() -> None:
    people = PeopleState.start(_tiny_population(3))
    arrays = people.arrays()
    del arrays["trapped_since_s"]
    restored = PeopleState.from_arrays(arrays)
    assert np.isnan(restored.trapped_since_s).all() and restored.trapped_since_s.dtype == np.float32
    assert restored.status.tolist() == people.status.tolist()
