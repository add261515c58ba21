"""The drill's clock, rate limit and journal, on an injected wall clock and hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.drill.clock import DrillClock
from twin.drill.journal import Journal, read_journal
from twin.drill.roles import RateLimit, Tokens, drill_roles
from twin.errors import RunError


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_clock_waits_for_the_start_then_runs_at_its_speed() -> None:
    wall = FakeWall()
    clock = DrillClock(end_s=14400, speed=60, now=wall)
    wall.t += 5
    assert clock.sim_s() == 0  # paused until the controller starts it
    clock.resume()
    wall.t += 2.5
    assert clock.sim_s() == pytest.approx(150.0, abs=1e-6)  # 2.5 s x 60


def test_pause_holds_the_time_and_resume_continues_without_a_jump() -> None:
    wall = FakeWall()
    clock = DrillClock(end_s=14400, speed=60, paused=False, now=wall)
    wall.t += 10
    clock.pause()
    wall.t += 100  # paused for 100 s of wall time
    assert clock.sim_s() == pytest.approx(600.0, abs=1e-6)
    clock.resume()
    assert clock.sim_s() == pytest.approx(600.0, abs=1e-6)
    wall.t += 1
    assert clock.sim_s() == pytest.approx(660.0, abs=1e-6)


def test_a_speed_change_reanchors_so_time_is_continuous() -> None:
    wall = FakeWall()
    clock = DrillClock(end_s=14400, speed=60, paused=False, now=wall)
    wall.t += 3.3
    before = clock.sim_s()
    clock.set_speed(600)
    assert clock.sim_s() == pytest.approx(before, abs=1e-6) == pytest.approx(198.0, abs=1e-6)
    wall.t += 0.7
    assert clock.sim_s() == pytest.approx(198.0 + 420.0, abs=1e-6)  # 0.7 s x 600
    clock.set_speed(0)
    wall.t += 50
    assert clock.paused and clock.sim_s() == pytest.approx(618.0, abs=1e-6)


def test_the_clock_stops_at_the_end_and_steps_by_hand() -> None:
    wall = FakeWall()
    clock = DrillClock(end_s=3600, speed=60, now=wall)
    clock.advance(60)
    assert clock.sim_s() == pytest.approx(60.0, abs=1e-6)
    clock.resume()
    wall.t += 3600
    assert clock.sim_s() == 3600.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(-5)


def test_behind_is_reported_as_the_lag_beyond_one_step() -> None:
    wall = FakeWall()
    clock = DrillClock(end_s=14400, speed=60, paused=False, now=wall)
    wall.t += 10  # the clock says 600 s
    assert clock.behind_s(engine_s=540.0, step_s=60.0) == 0.0  # one step behind is by design
    assert clock.behind_s(engine_s=300.0, step_s=60.0) == pytest.approx(240.0, abs=1e-6)


def test_the_rate_limit_is_a_token_bucket() -> None:
    wall = FakeWall()
    limit = RateLimit(rate=2.0, burst=3.0, now=wall)
    assert [limit.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("a") == pytest.approx(0.5)  # empty: one more in 1/2 s
    assert limit.take("b") == 0.0  # buckets are per token
    wall.t += 0.5
    assert limit.take("a") == 0.0


def test_tokens_are_fresh_secrets_that_name_their_role() -> None:
    tokens = Tokens(drill_roles(("close_road", "message")))
    other = Tokens(drill_roles(("close_road", "message")))
    police = tokens.token_of("police")
    assert len(police) >= 32 and police != other.token_of("police")
    role = tokens.role_of(police)
    assert (
        role is not None
        and role.name == "police"
        and role.commands == ("close_road", "open_road", "message", "door_to_door", "dispatch", "stage", "recall")
    )
    assert tokens.role_of("nope") is None and tokens.role_of(None) is None


def test_the_journal_drops_a_torn_last_line_and_appends_after_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal, _ = Journal.open(path)
    journal.append("command", "police", 3, 180.0, {"command": "close_road", "target": {"street": "Salou"}})
    journal.append("inject", "controller", 5, 300.0, {"command": "message", "text": "hi"}, msel="2")
    journal.close()
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"seq": 2, "type": "comm')  # kill -9 during a write
    read = read_journal(path)
    assert len(read.entries) == 2 and read.torn is not None and "line 3" in read.torn
    assert read.entries[1]["msel"] == "2" and read.entries[0]["t_s"] == 180.0
    journal, read = Journal.open(path)  # cuts the torn line off before appending
    journal.append("clock", "controller", 6, 360.0, {"action": "pause"})
    journal.close()
    again = read_journal(path)
    assert [e["seq"] for e in again.entries] == [0, 1, 2] and again.torn is None


def test_a_damaged_line_before_the_last_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal, _ = Journal.open(path)
    for step in range(3):
        journal.append("clock", "controller", step, 60.0 * step, {"action": "pause"})
    journal.close()
    lines = path.read_bytes().split(b"\n")
    lines[1] = b"garbage"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(RunError, match="line 2 is not a journal entry"):
        read_journal(path)
