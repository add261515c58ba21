"""Crew shifts (``crews.shifts``, twin/crews/shifts.py) against hand-computed rosters: the stagger of a base's crews,
relief at the end of a shift when idle or after a short job (overtime), a stood-down crew's rest, dispatch never
sending an off-duty crew, jobs handed over at the scene or suspended (twin/crews/handover.py), checkpoints,
determinism and the scenario's errors."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from tests.test_crews import FIRE_DELAY, ONLY_FIRE, STEP, _crews, _scenario
from twin.city.build import City
from twin.crews import incidents as inc
from twin.crews.agents import ASSIGNED, IDLE, Crew
from twin.crews.handover import at_shift_end
from twin.crews.shifts import DEFAULT_SHIFTS, Shifts, shift_table
from twin.errors import ScenarioError
from twin.scenario import Scenario
from twin.scenario.crews import CrewsSpec
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

H = 3600.0


class Reports(Phase):
    """Reports one rescue to the crews' desk at a given time, with a given time on scene."""

    name = "test_reports"
    order = "residents"

    def __init__(self, t_s: float, node: int, work_s: float) -> None:
        self.t_s, self.node, self.work_s = t_s, node, work_s

    def step(self, ctx: StepContext, dt_s: float) -> None:
        if ctx.clock_s < self.t_s <= ctx.clock_s + dt_s:
            ctx.services["crews"].report("rescue", np.array([self.node]), self.t_s, np.array([self.work_s]))


def _fake(status: int, node: int = 0, post: int = 0, free_s: float = math.nan) -> Crew:
    return cast("Crew", SimpleNamespace(status=status, node=node, post=post, free_s=free_s))


def _log() -> tuple[list[tuple[float, str, dict[str, Any]]], Any]:
    lines: list[tuple[float, str, dict[str, Any]]] = []
    return lines, lambda t, kind, target, cause, details: lines.append((t, target, details))


# --- the roster by hand ------------------------------------------------------------------------------------------


def test_a_base_s_crews_are_staggered_over_the_cycle() -> None:
    # three power crews at one base, 16 h on and 8 h off: cycle 24 h, offsets 0, 8 and 16 h
    shifts = Shifts(["power"] * 3 + ["fire"], ["a", "a", "a", "b"], {"power": (16 * H, 8 * H), "fire": (24 * H, 0.0)})
    assert shifts.on.tolist() == [True, True, False, True]
    np.testing.assert_array_equal(shifts.since_s[:2], [0.0, -8 * H])
    np.testing.assert_array_equal(shifts.due_s, [16 * H, 8 * H, 8 * H, 24 * H])  # crew 2 back on at 24 - 16 = 8 h
    assert shifts.ready(0.0).tolist() == [True, True, False, True]


def test_an_idle_crew_is_relieved_at_the_end_of_its_shift_a_busy_one_after_its_job() -> None:
    shifts = Shifts(["ems", "ems"], ["a", "b"], {"ems": (12 * H, 0.0)})  # one crew per base: both start at 0
    lines, log = _log()
    crews = [_fake(IDLE, free_s=2 * H), _fake(ASSIGNED, node=5)]
    shifts.change(12 * H + 30, crews, log)
    assert lines == [(12 * H, "crew 0", {"to": "relief team", "overtime_s": 0.0})]
    np.testing.assert_array_equal(shifts.since_s, [12 * H, 0.0])  # crew 1: the same team, still on its job
    assert shifts.ready(12 * H + 30).tolist() == [True, False]  # crew 1 takes no new job
    crews[1] = _fake(IDLE, free_s=30.5 * H)  # back at its post at 30.5 h: 18.5 h of overtime
    shifts.change(31 * H, crews, log)
    assert lines[-1] == (30.5 * H, "crew 1", {"to": "relief team", "overtime_s": 18.5 * H})
    # the team on at 30.5 h is the rota's 24 h team, relieved at 36 h
    np.testing.assert_array_equal(shifts.since_s, [24 * H, 24 * H])
    np.testing.assert_array_equal(shifts.due_s, [36 * H, 36 * H])
    assert shifts.overtime_s.tolist() == [0.0, 18.5 * H] and shifts.longest_s.tolist() == [12 * H, 30.5 * H]
    columns = shifts.columns(40 * H)  # at 40 h both units' 24 h teams are 4 h into overtime (no handover yet)
    assert columns["overtime_s"].tolist() == [4 * H, 22.5 * H]
    assert columns["duty_s"].tolist() == [40 * H, 40 * H] and columns["shifts_ended"].tolist() == [2, 1]


def test_a_stood_down_crew_rests_after_its_overtime_and_comes_back_for_a_full_shift() -> None:
    shifts = Shifts(["power"], ["a"], {"power": (16 * H, 8 * H)})
    lines, log = _log()
    shifts.change(17 * H, [_fake(IDLE, free_s=17 * H - 600)], log)  # back at 16 h 50 min: 50 min overtime
    assert not shifts.on[0] and shifts.due_s[0] == 17 * H - 600 + 8 * H
    assert lines[-1][2] == {"to": "rest", "overtime_s": 3000.0}
    shifts.change(25 * H, [_fake(IDLE, free_s=17 * H - 600)], log)
    assert shifts.on[0] and shifts.since_s[0] == 25 * H - 600 and shifts.due_s[0] == 41 * H - 600
    assert lines[-1] == (25 * H - 600, "crew 0", {"to": "on duty"})
    columns = shifts.columns(30 * H)
    assert columns["duty_s"][0] == pytest.approx(17 * H - 600 + 5 * H + 600)
    assert columns["longest_duty_s"][0] == 17 * H - 600


def test_shifts_key_off_on_and_overrides_keep_the_kind_s_other_default() -> None:
    assert set(DEFAULT_SHIFTS) == {"fire", "ems", "police", "power", "water", "telecom", "road"}
    assert shift_table(CrewsSpec.model_validate({})) is None
    assert shift_table(CrewsSpec.model_validate({"shifts": False})) is None
    assert shift_table(CrewsSpec.model_validate({"shifts": True})) == DEFAULT_SHIFTS
    table = shift_table(CrewsSpec.model_validate({"shifts": {"power": {"shift": "12h"}, "ems": {"rest": "12h"}}}))
    assert table is not None
    assert table["power"] == (12 * H, 8 * H) and table["ems"] == (12 * H, 12 * H) and table["fire"] == (24 * H, 0.0)


# --- in the engine, on Andorra -------------------------------------------------------------------------------------


def _times_from(city: City, source: int) -> dict[int, float]:
    """Shortest free-speed times (s) from ``source`` by networkx, parallel links taking the faster."""
    links = city.drive.links
    graph = nx.DiGraph()
    for u, v, t in zip(
        links["src"].to_numpy(),
        links["dst"].to_numpy(),
        (links["length_m"] / links["speed_mps"]).to_numpy(),
        strict=True,
    ):
        if not graph.has_edge(u, v) or graph[u][v]["t"] > t:
            graph.add_edge(int(u), int(v), t=float(t))
    return dict(nx.single_source_dijkstra_path_length(graph, source, weight="t"))


def test_in_a_run_the_busy_crew_is_relieved_at_its_post_after_the_job_with_the_overtime_by_hand(
    andorra_city: City, tmp_path: Path
) -> None:
    facilities = andorra_city.facilities
    station = int(facilities.loc[facilities["kind"] == "fire_station", "drive_node"].iloc[0])
    there = _times_from(andorra_city, station)
    schools = [int(n) for n in facilities.loc[facilities["kind"] == "school", "drive_node"]]
    place = max((n for n in schools if n in there), key=lambda n: there[n])
    back = _times_from(andorra_city, place)[station] / 1.2  # an engine drives at 1.2 x the limit
    crews = {**ONLY_FIRE, "shifts": {"fire": {"shift": "2h"}}}
    model = CityModel(andorra_city, _scenario(tmp_path, crews))
    model.add_phase(Reports(1.5 * H, place, 3600.0))  # a rescue at 1.5 h with 1 h on scene: past the 2 h change
    model.run()
    done = 1.5 * H + FIRE_DELAY + there[place] / 1.2 + 3600.0
    hand = math.ceil(done / STEP) * STEP + back  # drives back from the step end after the work, hands over there
    row = _crews(model).crews_frame().iloc[0]
    assert row["overtime_s"] == pytest.approx(hand - 2 * H, rel=1e-9)
    assert row["shifts_ended"] == 2  # at the handover, then at 4 h (idle at its post)
    assert row["longest_duty_s"] == pytest.approx(hand, rel=1e-9)
    events = model.recorder.events_table()
    changes = events[events["kind"] == "shift_change"]
    assert changes["t_s"].tolist() == pytest.approx([hand, 4 * H])
    series = model.recorder.timeseries().set_index("t_s")
    assert (series["crews_on_duty_fire"] == 1).all()  # relieved: the unit is never without a team


def test_dispatch_never_sends_an_off_duty_crew(andorra_city: City, tmp_path: Path) -> None:
    # every fire crew (one per station) works 1 h and rests 2 h: a rescue at 1.5 h waits until they are back at 3 h
    facilities = andorra_city.facilities
    school = int(facilities.loc[facilities["kind"] == "school", "drive_node"].iloc[0])
    crews = {**ONLY_FIRE, "shifts": {"fire": {"shift": "1h", "rest": "2h"}}}
    model = CityModel(andorra_city, _scenario(tmp_path, crews))
    model.add_phase(Reports(1.5 * H, school, 600.0))
    model.run(until_s=1.5 * H + STEP)
    model.inject("dispatch", crew=0, incident=0)  # nor can a drill send it
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert row["assigned_s"] == 3 * H
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[1.5 * H, "crews_on_duty_fire"] == 0 and series.loc[3 * H, "crews_on_duty"] == 1
    events = model.recorder.events_table()
    refused = events.loc[events["kind"] == "dispatch", "details"].astype(str).tolist()
    assert any("crew 0 is off duty (resting) until 3 h into the run" in d for d in refused)
    assert any("crews: shifts (fire 1 h on, 2 h off" in a for a in _crews(model).assumptions())


SHIFTED: dict[str, Any] = {
    "medical": {"rate_per_1000_day": 20},
    "policy": "nearest",
    "shifts": {"ems": {"shift": "1h"}},
}


def test_shifts_checkpoint_restores_bit_for_bit_and_same_seed_same_results(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, SHIFTED)
    first = CityModel(andorra_city, spec)
    first.run(until_s=2 * H + 1800)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    again = CityModel(andorra_city, spec)
    again.run()
    crews = _crews(first).crews_frame()
    ems = crews[crews["kind"] == "ems"]  # 1 h shifts: every EMS unit changed teams, some after a job (overtime)
    assert ems["overtime_s"].gt(0).any() and ems["shifts_ended"].gt(0).all()
    for other in (restored, again):
        pd.testing.assert_frame_equal(crews, _crews(other).crews_frame())
        pd.testing.assert_frame_equal(_crews(first).incidents_frame(), _crews(other).incidents_frame())
        assert first.recorder.timeseries().equals(other.recorder.timeseries())
        assert first.recorder.events_table().equals(other.recorder.events_table())


def test_without_shifts_nothing_changes_in_the_tables(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE, duration="10min"))
    model.run()
    assert "overtime_s" not in _crews(model).crews_frame()
    assert "crews_on_duty" not in model.recorder.timeseries()


def test_bad_shifts_are_all_reported_in_the_users_words(tmp_path: Path) -> None:
    bad = {"shifts": {"ems": {"shift": "30min"}, "power": {"rest": "50h"}, "boat": {"shift": "2h"}}}
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path, bad)
    text = str(caught.value)
    assert "crews.shifts.ems.shift: a shift must last from 1h to 48h, got '30min'" in text
    assert "crews.shifts.power.rest: the rest between shifts must be at most 48h, got '50h'" in text
    assert "got 'boat'" in text and "3 problems" in text
    with pytest.raises(ScenarioError, match="work left under which a team finishes must be at most 12h"):
        _scenario(tmp_path, {"shifts": {"water": {"finish_under": "13h"}}})
    with pytest.raises(ScenarioError, match="must be true, false or crew kinds with their shifts"):
        _scenario(tmp_path, {"shifts": "yes"})


# --- jobs at the scene at a shift's end (twin/crews/handover.py) ---------------------------------------------------


def test_a_relieved_crew_s_long_job_is_handed_over_at_the_scene_by_hand(andorra_city: City, tmp_path: Path) -> None:
    # a 20 h job started at 2 h (plus the drive) by a fire crew on 12 h shifts: the relief team leaves the base at
    # 12 h and takes over on arrival, r later; the work goes on, done at arrival + 20 h; the outgoing team's
    # overtime is its wait r and its ride home; with 10-minute steps
    step = 600.0
    facilities = andorra_city.facilities
    schools = [int(n) for n in facilities.loc[facilities["kind"] == "school", "drive_node"]]
    crews = {**ONLY_FIRE, "policy": "nearest", "shifts": {"fire": {"shift": "12h"}}}
    model = CityModel(andorra_city, _scenario(tmp_path, crews, duration="24h", step="10min"))
    model.add_phase(Reports(2 * H, schools[0], 20 * H))
    model.run()
    phase = _crews(model)
    row = phase.incidents_frame().iloc[0]
    crew = int(row["crew"])
    home = phase.crews[crew].home
    there = _times_from(andorra_city, home)[schools[0]] / 1.2
    back = _times_from(andorra_city, schools[0])[home] / 1.2
    arrive = 2 * H + FIRE_DELAY + there
    assert row["arrived_s"] == pytest.approx(arrive, rel=1e-9)
    assert row["done_s"] == pytest.approx(arrive + 20 * H, rel=1e-9)  # no work lost
    assert row["handovers"] == 1 and row["suspensions"] == 0 and row["suspended_s"] == 0.0
    hand = 12 * H + there  # the relief drives from the same base to the same scene
    columns = phase.crews_frame().iloc[crew]
    assert columns["overtime_s"] == pytest.approx(hand - 12 * H + back, rel=1e-9)
    assert columns["longest_duty_s"] == pytest.approx(hand + back, rel=1e-9)
    assert columns["shifts_ended"] == 2  # at the scene, then at 24 h at its post (back from the job by then)
    events = model.recorder.events_table()
    changes = events[(events["kind"] == "shift_change") & (events["target"] == f"crew {crew}")]
    assert changes["t_s"].tolist() == pytest.approx([hand, 24 * H])
    assert "relief team at the scene" in str(changes["details"].iloc[0])
    assert math.ceil((arrive + 20 * H) / step) * step + back < 24 * H  # the hand-computed drive home fits


STOOD_DOWN: dict[str, Any] = {
    **ONLY_FIRE,
    "per_station": {"fire_station": 2, "hospital": 0, "police": 0},
    "policy": "nearest",
    "shifts": {"fire": {"shift": "2h", "rest": "2h"}},
}


def _suspension_run(andorra_city: City, spec: Scenario, checkpoint: Path | None = None) -> CityModel:
    # two fire crews a station, 2 h on and 2 h off, staggered: crew 0 of each on 0-2 h, crew 1 on 2-4 h
    facilities = andorra_city.facilities
    school = int(facilities.loc[facilities["kind"] == "school", "drive_node"].iloc[0])
    model = CityModel(andorra_city, spec) if checkpoint is None else CityModel.restore(checkpoint, andorra_city, spec)
    model.add_phase(Reports(1 * H, school, 2.5 * H))  # a 2.5 h job at 1 h
    return model


def test_a_resting_crew_s_job_is_suspended_and_finished_by_another_with_the_work_left(
    andorra_city: City, tmp_path: Path
) -> None:
    model = _suspension_run(andorra_city, _scenario(tmp_path, STOOD_DOWN))
    model.run()
    phase = _crews(model)
    row = phase.incidents_frame().iloc[0]
    school = int(phase.incidents.node[0])
    first = int(np.flatnonzero([c.jobs_done == 0 and c.free_s > 0 for c in phase.crews])[0])  # suspended, went home
    second = int(row["crew"])
    assert phase.crews[first].kind == phase.crews[second].kind == "fire" and first != second
    t1 = _times_from(andorra_city, phase.crews[first].home)[school] / 1.2
    t2 = _times_from(andorra_city, phase.crews[second].home)[school] / 1.2
    arrive = 1 * H + FIRE_DELAY + t1
    left = arrive + 2.5 * H - 2 * H  # the work left at the shift's end, 2 h
    assert row["arrived_s"] == pytest.approx(arrive, rel=1e-9) and row["work_s"] == pytest.approx(left, rel=1e-9)
    resumed = 2 * H + FIRE_DELAY + t2  # dispatched at the 2 h step end, as the next teams come on
    assert row["resumed_s"] == pytest.approx(resumed, rel=1e-9)
    assert row["done_s"] == pytest.approx(resumed + left, rel=1e-9)
    assert row["suspensions"] == 1 and row["handovers"] == 0
    assert row["suspended_s"] == pytest.approx(resumed - 2 * H, rel=1e-9)
    events = model.recorder.events_table()
    stopped = events[events["kind"] == "job_suspended"]
    assert stopped["t_s"].tolist() == [2 * H] and stopped["target"].tolist() == [f"crew {first}"]
    back = _times_from(andorra_city, school)[phase.crews[first].home] / 1.2
    assert phase.crews_frame().iloc[first]["overtime_s"] == pytest.approx(back, rel=1e-9)  # drives back from 2 h


def test_a_checkpoint_mid_suspension_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, STOOD_DOWN)
    first = _suspension_run(andorra_city, spec)
    first.run(until_s=2 * H + STEP)  # suspended at 2 h, the next crew on its way
    first.checkpoint(tmp_path / "mid.npz")
    first.run()
    restored = _suspension_run(andorra_city, spec, tmp_path / "mid.npz")
    restored.run()
    assert _crews(first).incidents_frame()["suspensions"].tolist() == [1]
    pd.testing.assert_frame_equal(_crews(first).incidents_frame(), _crews(restored).incidents_frame())
    pd.testing.assert_frame_equal(_crews(first).crews_frame(), _crews(restored).crews_frame())
    assert first.recorder.events_table().equals(restored.recorder.events_table())


def test_at_a_shift_s_end_a_job_is_relieved_finished_or_left_when_no_relief_can_reach_it() -> None:
    table = inc.Incidents()
    table.add("rescue", np.array([7, 8, 9]), 0.0, work_s=np.full(3, 20 * H))
    shifts = Shifts(["fire"] * 3, ["a", "b", "c"], {"fire": (12 * H, 0.0)})  # one crew a base: all due at 12 h
    done = [23 * H, 12.5 * H, 23 * H]  # crew 1 has half an hour left at 12 h: under finish_under, it finishes
    crews = [
        cast("Crew", SimpleNamespace(crew_id=i, status=ASSIGNED, incident=i, job=1, home=i, arrive_s=3 * H, done_s=d))
        for i, d in enumerate(done)
    ]

    def travel(origins: np.ndarray, targets: np.ndarray, factors: np.ndarray) -> np.ndarray:
        return np.where(origins == 2, np.inf, 600.0 + 60.0 * (origins > targets))  # base 2 cut off; home 60 s longer

    lines, log = _log()
    at_shift_end(12 * H + 60, crews, table, shifts, travel, np.ones(3), (None, np.zeros(0)), log)
    assert lines == [(12 * H + 600, "crew 0", {"to": "relief team at the scene", "overtime_s": 600.0 + 660.0})]
    assert table.handovers.tolist() == [1, 0, 0] and shifts.finish_job.tolist() == [-1, 1, 1]
    assert shifts.since_s.tolist() == [12 * H, 0.0, 0.0] and shifts.due_s.tolist() == [24 * H, 12 * H, 12 * H]
    at_shift_end(12 * H + 120, crews, table, shifts, travel, np.ones(3), (None, np.zeros(0)), log)
    assert len(lines) == 1  # decided once per team and job
