"""The `twin` command end to end: run folders that meet the Results contract, validate, schema, --help."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pandas as pd
import pytest

import twin
from tests.conftest import ROOT
from twin.cli import main
from twin.sim.model import CityModel

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SERIES = [
    "t_s",
    "Q_access",
    "links_closed",
    "people_exposed",
    "people_need_rescue",
    "buildings_damaged",
    "components_down",
    "flooded_area_m2",
]


def _check_run_folder(run: Path) -> None:
    """The Results contract (DESIGN.md): files, the t = 0 normal row, Q in [0, 1], bare metric keys."""
    for name in (
        "timeseries.parquet",
        "events.parquet",
        "metrics.json",
        "provenance.json",
        "assumptions.json",
        "scenario.json",
    ):
        assert (run / name).is_file(), name
    series = pd.read_parquet(run / "timeseries.parquet")
    assert series.columns[0] == "t_s"
    assert set(SERIES) <= set(series.columns)
    assert series["t_s"].iloc[0] == 0 and series["t_s"].is_monotonic_increasing
    assert series["Q_access"].between(0, 1).all() and series["Q_access"].iloc[0] == 1
    events = pd.read_parquet(run / "events.parquet")
    assert list(events.columns) == ["t_s", "kind", "target", "cause", "details"]
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["status"] == "complete" and "seed" in provenance and provenance["map_hash"]
    assert all(not key.startswith("Q_") for key in json.loads((run / "metrics.json").read_text()))


def test_run_bridge_closures_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "scenarios" / "andorra-bridge-closures.yaml"), "--out", str(out), "--quiet"]) == 0
    _check_run_folder(out)
    assert (out / "service_levels.png").stat().st_size > 10_000
    series = pd.read_parquet(out / "timeseries.parquet")
    assert series["Q_access"].min() < 0.8 and series["Q_access"].iloc[-1] == 1.0  # drops and recovers
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["access"]["time_to_recover_s"] is not None and metrics["access"]["resilience_loss_h"] > 0
    assumptions = json.loads((out / "assumptions.json").read_text())
    assert assumptions["map"] and assumptions["scenario"]
    printed = capsys.readouterr().out
    assert "access" in printed and "run folder" in printed


def test_run_with_overrides_and_until(tmp_path: Path) -> None:
    out = tmp_path / "run"
    scenario = ROOT / "scenarios" / "andorra-baseline.yaml"
    assert (
        main(
            [
                "run",
                str(scenario),
                "--out",
                str(out),
                "--quiet",
                "--until",
                "30min",
                "--seed",
                "9",
                "--set",
                "metrics.access_tau=5min",
            ]
        )
        == 0
    )
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["status"] == "incomplete" and provenance["seed"] == 9  # stopped before the end on purpose
    assert pd.read_parquet(out / "timeseries.parquet")["t_s"].iloc[-1] == 1800
    assert json.loads((out / "scenario.json").read_text())["metrics"]["access_tau"] == 300


def test_interrupted_run_is_marked_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = CityModel.step

    def interrupt(self: CityModel) -> None:
        if self.clock_s >= 600:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(CityModel, "step", interrupt)
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "scenarios" / "andorra-baseline.yaml"), "--out", str(out), "--quiet"]) == 130
    assert json.loads((out / "provenance.json").read_text())["status"] == "incomplete"
    assert pd.read_parquet(out / "timeseries.parquet")["t_s"].iloc[-1] == 600


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_validate(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(scenario)]) == 0
    assert capsys.readouterr().out.strip() == "ok"


def test_validate_lists_problems_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmap: nowhere\nstart: '2025-10-14T06:00'\nduration: -2h\nseeed: 1\n")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "bad.yaml:2 map" in out and "bad.yaml:4 duration" in out and "did you mean 'seed'" in out


def test_validate_checks_rivers_and_targets_against_the_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "flood.yaml"
    scenario.write_text(
        f"name: x\nmap: {ROOT / 'maps' / 'andorra'}\nstart: '2025-10-14T06:00'\nduration: 2h\nstep: 60s\n"
        "hazards:\n  - type: river_flood\n    rivers: [Danube]\n"
        "    hydrograph: {peak_stage_m: 2, time_to_peak: 1h, duration: 2h}\n"
        "events:\n  - {kind: close_link, at: 1h, target: {street: Champs-Elysees}}\n"
    )
    assert main(["validate", "--no-map", str(scenario)]) == 0
    capsys.readouterr()
    assert main(["validate", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "flood.yaml:7 hazards[0]" in out and "'Danube'" in out and "Riu Valira" in out
    assert "flood.yaml:11 events[0]" in out and "Champs-Elysees" in out


def test_run_with_a_bad_scenario_prints_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    assert main(["run", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_schema_is_json_with_the_scenario_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"name", "map", "duration", "events", "hazards"} <= set(schema["properties"])


@pytest.mark.parametrize(
    "command", [[], ["map"], ["map", "build"], ["map", "info"], ["map", "show"], ["validate"], ["schema"], ["run"]]
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: twin" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"twin {twin.__version__}"


def test_run_refuses_a_folder_in_use_unless_told_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "flood_peak_depth.tif").write_bytes(b"an older flood run")
    scenario = ROOT / "scenarios" / "andorra-baseline.yaml"
    assert main(["run", str(scenario), "--out", str(out), "--quiet", "--until", "10min"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the run folder") and "--overwrite" in err and "Traceback" not in err
    command = ["run", str(scenario), "--out", str(out), "--quiet", "--until", "10min", "--overwrite"]
    assert main(command) == 0
    assert not (out / "flood_peak_depth.tif").exists()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["command"] == shlex.join(["twin", *command]) and provenance["scenario_file"] == str(scenario)


def test_run_refuses_an_until_beyond_the_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = ROOT / "scenarios" / "andorra-baseline.yaml"
    assert main(["run", str(scenario), "--out", str(tmp_path / "run"), "--until", "100h"]) == 1
    assert "which runs 6h" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_schema_to_a_folder_that_does_not_exist_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--out", str(tmp_path / "no" / "schema.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot write") and "Traceback" not in err
