"""``twin drill`` as people run it: a real server process killed with SIGKILL mid-drill, resumed from its folder,
and replayed to the same tables; and the command line's refusals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.city.build import City
from twin.cli import main
from twin.drill.journal import read_journal
from twin.drill.loopback import free_port
from twin.drill.roles import drill_roles
from twin.drill.session import DrillSession, replay_drill

SCENARIO = ROOT / "scenarios" / "andorra-flood-drill.yaml"
MSEL = ROOT / "scenarios" / "andorra-flood-drill-msel.csv"
CONTROLLER = drill_roles(("message",))[0]


class FakeWall:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _tokens(process: subprocess.Popen[str]) -> dict[str, str]:
    """The role links the server prints once its City is loaded."""
    tokens: dict[str, str] = {}
    assert process.stdout is not None
    while len(tokens) < 9:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("twin drill stopped before printing its links")
        found = re.match(r"\s+(\w+)\s+http://\S+/join\?token=(\S+)", line)
        if found:
            tokens[found[1]] = found[2]
    return tokens


@pytest.mark.slow
def test_kill_9_mid_drill_then_resume_and_replay_give_the_same_tables(andorra_city: City, tmp_path: Path) -> None:
    port, folder = free_port(), tmp_path / "drill"
    command = [sys.executable, "-m", "twin.cli", "drill", str(SCENARIO), "--msel", str(MSEL), "--speed", "600"]
    command += ["--port", str(port), "--out", str(folder), "--checkpoint-every", "10min"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        tokens = _tokens(process)
        base, acked = f"http://127.0.0.1:{port}", []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(200):  # the server is up once it answers
                try:
                    client.get("/api/me", headers={"Authorization": f"Bearer {tokens['observer']}"})
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            control = {"Authorization": f"Bearer {tokens['controller']}"}
            police = {"Authorization": f"Bearer {tokens['police']}"}
            assert client.post("/api/clock", headers=control, json={"action": "start"}).status_code == 200
            close = {"command": "close_road", "target": {"bridges_over": "valira"}}
            acked.append(client.post("/api/command", headers=police, json=close).json()["seq"])
            time.sleep(3)  # about 30 simulated minutes at 600x: checkpoints at 10, 20, 30 min
            note = {"command": "message", "text": "bridges closed", "to": "health"}
            acked.append(client.post("/api/command", headers=police, json=note).json()["seq"])
            time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    entries = read_journal(folder / "journal.jsonl").entries
    assert {e["seq"] for e in entries if e["type"] == "command"} == set(acked)  # nothing acknowledged is lost
    assert not (folder / "run").exists()  # killed: no chance to write its tables
    wall = FakeWall()
    resumed = DrillSession.resume(folder, now=wall, city=andorra_city)
    assert resumed.notes[0].startswith("resumed from the checkpoint at step")
    resumed.control(CONTROLLER, {"action": "speed", "speed": 3600})
    resumed.control(CONTROLLER, {"action": "resume"})
    while not resumed.ended:
        wall.t += 1
        resumed.tick(budget_s=10.0)
    drill = resumed.finish()
    replay = replay_drill(folder, tmp_path / "replay", city=andorra_city)
    pd.testing.assert_frame_equal(drill.timeseries, replay.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(drill.events, replay.events, check_exact=True)
    assert drill.metrics == replay.metrics


def test_the_command_line_refuses_what_it_cannot_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drill"]) == 1
    assert "give a scenario file, --resume DIR or replay DIR" in capsys.readouterr().err
    assert main(["drill", "replay"]) == 1
    assert "give the drill folder" in capsys.readouterr().err
    assert main(["drill", "replay", str(tmp_path)]) == 1
    assert "not a drill folder" in capsys.readouterr().err
    assert main(["drill", str(SCENARIO), "--resume", str(tmp_path)]) == 1
    assert main(["drill", str(SCENARIO), "--port", "70000"]) == 1
    assert "--port" in capsys.readouterr().err
