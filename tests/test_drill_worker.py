"""The engine steps in a worker thread: while a step is held (a slow step), the server still answers, every page
is told how far the engine is behind, commands are journaled at once with the step they will be applied at and
applied in journal order when the step ends; the replay of that journal gives the drill's tables bit for bit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from starlette.testclient import TestClient

from tests.conftest import ROOT
from twin.city.build import City
from twin.drill import session as session_module
from twin.drill.journal import read_journal
from twin.drill.server import DrillApp
from twin.drill.session import DrillSession, DrillSetup, replay_drill

SCENARIO = ROOT / "scenarios" / "andorra-flood-drill.yaml"
CLOSE = {"command": "close_road", "target": {"street": "Avinguda de Salou"}}


def _until(condition: Callable[[], Any], what: str, timeout_s: float = 120.0) -> Any:
    """Poll ``condition`` (a liveness bound on a loaded machine, not a timing assertion)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"never: {what}")


class HeldStep:
    """Wraps the engine's step: the step with the given number waits, inside the worker, until released."""

    def __init__(self, step: Callable[[], None], hold: int) -> None:
        self.step, self.hold = step, hold
        self.entered, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls == self.hold:
            self.entered.set()
            assert self.release.wait(300), "the test never released the step"
        self.step()


@pytest.mark.slow
def test_a_slow_step_does_not_block_the_server_and_commands_wait_for_its_end(
    andorra_city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The drill without residents and crews: a replay of a few steps with them trips a matplotlib raster overflow
    # in the run folder's service-level figure (twin.report.curves), a separate bug.
    spec = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    spec = {**{k: v for k, v in spec.items() if k not in ("residents", "crews")}, "map": str(ROOT / "maps" / "andorra")}
    scenario = tmp_path / "drill.yaml"
    scenario.write_text(yaml.safe_dump(spec), encoding="utf-8")
    session = DrillSession.start(tmp_path / "d", DrillSetup(scenario, speed=600), city=andorra_city)
    held = HeldStep(session.model.step, hold=3)
    session.model.step = held  # type: ignore[method-assign]
    applied: list[tuple[int, int]] = []  # (seq, the engine's step when applied)
    apply = session_module.apply_entry

    def recording(model: Any, entry: dict[str, Any]) -> None:
        applied.append((entry["seq"], model.step_count))
        apply(model, entry)

    monkeypatch.setattr(session_module, "apply_entry", recording)
    app = DrillApp(session, ["testserver"])
    head = {role: {"Authorization": f"Bearer {app.tokens.token_of(role)}"} for role in ("controller", "police")}
    with TestClient(app.app) as client:
        assert client.post("/api/clock", headers=head["controller"], json={"action": "start"}).status_code == 200
        assert held.entered.wait(120), "the worker never reached the held step"
        assert session.model.step_count == 2  # steps 0->1 and 1->2 done; 2->3 is held in the worker
        # The server answers while the step is held; the clock runs on and every page is told the lag.
        behind = _until(lambda: client.get("/api/state", headers=head["police"]).json()["clock"]["behind_s"], "lag")
        assert behind > 0
        with client.websocket_connect("/ws", headers=head["police"]) as ws:
            first = ws.receive_json()
            assert first["type"] == "delta" and first["clock"]["behind_s"] > 0 and first["clock"]["engine_s"] == 120
        acks = [client.post("/api/command", headers=head["police"], json=CLOSE).json() for _ in range(3)]
        message = {"command": "message", "text": "roads closing", "to": "health"}
        acks.append(client.post("/api/command", headers=head["controller"], json=message).json())
        assert [a["step"] for a in acks] == [3] * 4 and [a["t_s"] for a in acks] == [180.0] * 4
        assert applied == []  # journaled (on disk) but not applied while the step runs
        assert [e["seq"] for e in read_journal(session.folder / "journal.jsonl").entries][-4:] == [
            a["seq"] for a in acks
        ]
        held.release.set()
        _until(lambda: len(applied) == 4, "the queued commands applied")
        assert applied == [(a["seq"], 3) for a in acks]  # in journal order, at the step the journal says
        client.post("/api/clock", headers=head["controller"], json={"action": "pause"})
        stop = client.post("/api/clock", headers=head["controller"], json={"action": "end"}).json()
        _until(lambda: session.closed, "the drill's tables written")
    journal = read_journal(session.folder / "journal.jsonl").entries
    assert [e["seq"] for e in journal] == list(range(len(journal)))
    assert journal[-1]["type"] == "end" and journal[-1]["seq"] == stop["seq"]
    assert session.model.step_count == stop["step"]  # the engine stopped where the end was journaled
    monkeypatch.setattr(session_module, "apply_entry", apply)
    replay_drill(session.folder, city=andorra_city)
    for name in ("timeseries.parquet", "events.parquet"):
        drill, again = (pd.read_parquet(session.folder / run / name) for run in ("run", "replay"))
        pd.testing.assert_frame_equal(drill, again, check_exact=True)
