"""Drill sessions on the Andorra flood drill: injects fire on time, commands are journaled before they apply,
a crash (kill -9, a torn journal line) loses nothing on resume, and a replay gives the same tables bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.city.build import City
from twin.drill.commands import CommandError
from twin.drill.journal import read_journal
from twin.drill.msel import load_msel
from twin.drill.roles import DESKS, drill_roles
from twin.drill.session import RUN_FOLDER, DrillSession, DrillSetup, RefusedError, replay_drill
from twin.errors import ScenarioError
from twin.results import Results

SCENARIO = ROOT / "scenarios" / "andorra-flood-drill.yaml"
MSEL = ROOT / "scenarios" / "andorra-flood-drill-msel.csv"
ROLES = {
    role.name: role
    for role in drill_roles(("close_road", "open_road", "message", "fail_component", "repair_component"))
}
CLOSE_SALOU = {"command": "close_road", "target": {"street": "Avinguda de Salou"}}


class FakeWall:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _run_for(session: DrillSession, wall: FakeWall, wall_s: float) -> None:
    """Move the wall clock in 0.5 s ticks, as the server's pacing task does."""
    for _ in range(round(wall_s / 0.5)):
        wall.t += 0.5
        session.tick(budget_s=10.0)


def _tables(results: Results) -> list[pd.DataFrame]:
    zones = results.zones if results.zones is not None else pd.DataFrame()
    return [results.timeseries, results.events, zones]


def test_the_shipped_msel_has_20_to_30_injects_over_3_hours(andorra_city: City) -> None:
    injects = load_msel(MSEL, andorra_city, tuple(DESKS), 4 * 3600)
    assert 20 <= len(injects) <= 30
    assert max(i.time_s for i in injects) <= 3.5 * 3600
    assert {i.payload["command"] for i in injects} >= {"message", "fail_component", "close_road"}


def test_every_msel_problem_is_reported_at_once(andorra_city: City, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,time,from,to,method,message,expected_action,objective,command,target\n"
        "1,00:10,a,police,phone,hello,x,y,,\n"
        "1,later,a,nobody,phone,hello,x,y,,\n"
        '3,09:00,a,police,phone,slide,x,y,close_road,"{""street"": ""Nowhere at all""}"\n'
    )
    with pytest.raises(ScenarioError) as caught:
        load_msel(bad, andorra_city, tuple(DESKS), 4 * 3600)
    text = "\n".join(caught.value.problems)
    assert "row 3, column time" in text and "row 3, column to: unknown desk 'nobody'" in text
    assert "row 4, column time: 09:00 is after the scenario's end" in text
    assert "row 4, column target" in text and "Nowhere at all" in text
    missing = tmp_path / "missing.csv"
    missing.write_text("number,time,message\n1,00:10,hello\n")
    with pytest.raises(ScenarioError, match="has no column 'from'"):
        load_msel(missing, andorra_city, tuple(DESKS), 4 * 3600)


def test_injects_fire_at_their_time_and_commands_are_journaled_first(andorra_city: City, tmp_path: Path) -> None:
    wall = FakeWall()
    setup = DrillSetup(SCENARIO, msel=MSEL, speed=60, checkpoint_every_s=1800)
    session = DrillSession.start(tmp_path / "d", setup, now=wall, city=andorra_city)
    session.control(ROLES["controller"], {"action": "start"})
    _run_for(session, wall, 21)  # 21 min of scenario time
    fired = [e["msel"] for e in session.entries if e["type"] == "inject"]
    assert fired == ["1", "2", "3"]  # at 5, 15 and 20 min
    ack = session.submit(ROLES["police"], CLOSE_SALOU)
    on_disk = read_journal(tmp_path / "d" / "journal.jsonl").entries
    assert on_disk[-1]["seq"] == ack["seq"] and on_disk[-1]["payload"] == CLOSE_SALOU
    assert on_disk[-1]["step"] == session.model.step_count  # applied before the next step
    session.tick()
    _run_for(session, wall, 1.5)
    assert session.model.state.link_closed_event.sum() > 0
    with pytest.raises(RefusedError, match="may not send close_road"):
        session.submit(ROLES["power"], CLOSE_SALOU)
    with pytest.raises(RefusedError, match="only watches"):
        session.submit(ROLES["observer"], {"command": "message", "text": "hi"})
    with pytest.raises(CommandError) as caught:
        session.submit(ROLES["police"], {"command": "close_road", "target": {"street": "Nowhere at all"}})
    assert caught.value.problems[0][0] == "target"
    session.journal.close()


@pytest.mark.slow  # 60-100 s: the whole 4-hour drill with residents and crews, then its replay
def test_resume_after_a_crash_equals_an_uninterrupted_run_of_the_same_journal(
    andorra_city: City, tmp_path: Path
) -> None:
    wall = FakeWall()
    folder = tmp_path / "drill"
    setup = DrillSetup(SCENARIO, msel=MSEL, speed=120, checkpoint_every_s=1800)
    session = DrillSession.start(folder, setup, now=wall, city=andorra_city)
    controller = ROLES["controller"]
    session.control(controller, {"action": "start"})
    _run_for(session, wall, 25)  # 50 min
    session.submit(ROLES["police"], {"command": "close_road", "target": {"bridges_over": "valira"}})
    session.control(controller, {"action": "speed", "speed": 300})
    _run_for(session, wall, 8)  # to 90 min: checkpoints at 30, 60 and 90 min
    session.submit(ROLES["fire_rescue"], {"command": "message", "text": "team at Tarragona", "to": "health"})
    session.fire(controller, "24")  # by hand, early
    _run_for(session, wall, 2)
    crashed_state = {k: v.copy() for k, v in session.model.state.arrays().items()}
    crashed_step = session.model.step_count
    # kill -9: the process is gone; the journal has what was fsynced, and a write was cut short.
    session.journal.close()
    with (folder / "journal.jsonl").open("ab") as handle:
        handle.write(b'{"seq": 99, "type": "command", "rol')
    resumed = DrillSession.resume(folder, now=wall, city=andorra_city)
    assert resumed.notes[0] == "resumed from the checkpoint at step 90"
    assert resumed.notes[1] == "4 journal entries replayed after it"  # injects 12 and 13, the message, inject 24
    assert any("cut short" in note for note in resumed.notes)
    # The engine is rebuilt from the checkpoint + journal: at the last journaled step, the same state.
    last_step = resumed.entries[-1]["step"]
    assert resumed.model.step_count == last_step <= crashed_step
    resumed.model.run(until_s=crashed_step * 60.0)
    for name, array in resumed.model.state.arrays().items():
        same_nan = array.dtype.kind == "f"
        assert np.array_equal(array, crashed_state[name], equal_nan=same_nan), name
    resumed.clock.advance(resumed.model.clock_s - resumed.clock.sim_s())
    resumed.control(controller, {"action": "resume"})
    resumed.submit(ROLES["police"], {"command": "open_road", "target": {"bridges_over": "valira"}})
    _run_for(resumed, wall, 60)  # to the end at 300x
    assert resumed.ended and resumed.entries[-1]["type"] == "end"
    drill = resumed.finish()
    replay = replay_drill(folder, tmp_path / "replay", city=andorra_city)
    for ours, theirs in zip(_tables(drill), _tables(replay), strict=True):
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert drill.metrics == replay.metrics
    assert (folder / RUN_FOLDER / "timeseries.parquet").exists()
    stored = Results.load(folder / RUN_FOLDER)
    pd.testing.assert_frame_equal(stored.timeseries, replay.timeseries, check_exact=True)
    assert len(drill.events[drill.events["kind"] == "close_link"]) >= 1


@pytest.mark.slow  # about a minute: the drill, its replay and its report's no-action run, each with residents
def test_the_after_action_report_pairs_injects_with_answers_and_compares_with_no_action(
    andorra_city: City, tmp_path: Path
) -> None:
    from twin.drill.report import answer_of, write_after_action

    wall = FakeWall()
    folder = tmp_path / "drill"
    session = DrillSession.start(folder, DrillSetup(SCENARIO, msel=MSEL, speed=60), now=wall, city=andorra_city)
    session.control(ROLES["controller"], {"action": "start"})
    _run_for(session, wall, 22)  # inject 3 (police, Avinguda de Salou) fired at 20 min
    session.submit(ROLES["police"], CLOSE_SALOU)  # at 22 min
    session.submit(ROLES["police"], {"command": "close_road", "target": {"bridges_over": "valira"}})
    session.control(ROLES["controller"], {"action": "end"})
    drill = session.finish()
    entries = read_journal(folder / "journal.jsonl").entries
    assert (
        entries[-1]["type"] == "end" and drill.timeseries["t_s"].iloc[-1] == 20 * 60.0
    )  # the last record (every 5 min) before the end
    replay = replay_drill(folder, tmp_path / "replay", city=andorra_city)  # stops where the controller ended
    pd.testing.assert_frame_equal(drill.timeseries, replay.timeseries, check_exact=True)
    inject_3 = next(e for e in entries if e.get("msel") == "3")
    answer = answer_of(inject_3, "police", entries)
    assert answer is not None and answer["payload"] == CLOSE_SALOU and answer["t_s"] - inject_3["t_s"] == 120.0
    path = write_after_action(folder, city=andorra_city)
    page = path.read_text(encoding="utf-8")
    for section in ("sec-exercise", "sec-objectives", "sec-timeline", "sec-outcome", "sec-evaluation"):
        assert f'id="{section}"' in page
    assert "police: close_road" in page and '<td class="nowrap">2min</td>' in page
    assert "no action journaled" in page  # injects nobody answered before the end
    zh = write_after_action(folder, tmp_path / "zh.html", city=andorra_city, lang="zh").read_text(encoding="utf-8")
    assert "zh-CN" in zh and "演练事后评估报告" in zh and "日志中无处置行动" in zh  # the same report, in Chinese
    assert "police：close_road" in zh and "no action journaled" not in zh and "Objectives" not in zh


def test_crew_commands_are_checked_per_field_and_reach_the_crews_phase_as_events(andorra_city: City) -> None:
    from twin.drill.commands import validate_command
    from twin.drill.roles import DESK_COMMANDS

    command = validate_command({"command": "dispatch", "crew": 3, "incident": 12}, andorra_city, DESKS)
    assert (command.event, command.params, command.target) == ("dispatch", {"crew": 3, "incident": 12}, {})
    with pytest.raises(CommandError) as caught:
        validate_command({"command": "stage", "crew": -1, "node": "812", "speed": 2}, andorra_city, DESKS)
    fields = [name for name, _ in caught.value.problems]
    assert sorted(fields) == ["crew", "node", "speed"]  # every bad field at once
    assert "dispatch" in DESK_COMMANDS["power"] and "close_road" not in DESK_COMMANDS["power"]
    assert "set_policy" not in DESK_COMMANDS["fire_rescue"]  # the controller's alone
