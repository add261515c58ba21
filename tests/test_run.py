"""The library runner (twin.run_scenario) and its run folders: sealed, refused when in use, never lying."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import twin
import twin.atomic as atomic_module
import twin.city.build as build_module
import twin.run as run_module
import twin.sim.model as model_module
from tests.conftest import ROOT
from twin.city.build import City
from twin.errors import RunError, ScenarioError
from twin.report.curves import plot_service_levels
from twin.results import Results, read_provenance
from twin.run import RunProgress, run_model, run_provenance, run_scenario, write_run_folder
from twin.runfolder import begin_run_folder
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

CLOSE_BRIDGES = {"kind": "close_link", "at": "4min", "target": {"bridges_over": "valira"}}
OPEN_BRIDGES = {"kind": "open_link", "at": "8min", "target": {"bridges_over": "valira"}}


def _scenario_file(tmp_path: Path, **changes: object) -> Path:
    """A 10-minute scenario on Andorra that closes and reopens the Valira bridges."""
    data: dict[str, object] = {
        "name": "short",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "10min",
        "step": "60s",
        "seed": 3,
        "events": [CLOSE_BRIDGES, OPEN_BRIDGES],
    }
    data.update(changes)
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- the library call ----------------------------------------------------------------------------------------


def test_twin_exports_run_scenario_lazily() -> None:
    assert twin.run_scenario is run_scenario
    with pytest.raises(AttributeError):
        _ = getattr(twin, "no_such_name")  # noqa: B009 - the missing attribute is the point


def test_run_without_a_folder_writes_nothing_prints_nothing_and_reports_progress(
    andorra_city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _scenario_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    reports: list[RunProgress] = []
    results = run_scenario(path, progress=reports.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.yaml"]
    assert capsys.readouterr() == ("", "")
    steps = [r for r in reports if r.stage == "run"]
    assert [r.clock_s for r in steps] == [60.0 * i for i in range(1, 11)] and steps[-1].duration_s == 600.0
    assert not [r for r in reports if r.stage == "write"]
    # the same as the engine run by hand
    model = CityModel(andorra_city, load_scenario(path))
    model.run()
    pd.testing.assert_frame_equal(results.timeseries, model.recorder.timeseries())
    pd.testing.assert_frame_equal(results.events, model.recorder.events_table())
    assert results.provenance["scenario_file"] == str(path) and results.provenance["seed"] == 3
    assert results.timeseries.set_index("t_s").loc[240.0, "links_closed"] > 50


class _FakeClock:
    """A ``time`` module for twin.run whose clock moves only when a part of the run says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


def _taking(clock: _FakeClock, seconds: float, function: Any) -> Any:
    """``function`` that takes ``seconds`` on ``clock``."""

    def slow(*args: Any, **kwargs: Any) -> Any:
        clock.now += seconds
        return function(*args, **kwargs)

    return slow


def test_the_engine_time_is_the_build_the_steps_and_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Map 1 s, build 2 s, steps 4 s, metrics 8 s on a fake clock: engine time 14 s, the map's load apart."""
    clock = _FakeClock()
    monkeypatch.setattr(run_module, "time", clock)
    monkeypatch.setattr(
        build_module, "load_city", _taking(clock, 1.0, build_module.load_city)
    )  # run_scenario imports it
    monkeypatch.setattr(model_module, "CityModel", _taking(clock, 2.0, CityModel))
    monkeypatch.setattr(CityModel, "run", _taking(clock, 4.0, CityModel.run))
    monkeypatch.setattr(run_module, "results_of", _taking(clock, 8.0, run_module.results_of))
    out = tmp_path / "run"
    results = run_scenario(_scenario_file(tmp_path), out=out)
    written = read_provenance(out)
    for provenance in (results.provenance, written):
        assert provenance["times_s"] == {"map": 1.0, "build": 2.0, "steps": 4.0, "metrics": 8.0}
        assert provenance["engine_time_s"] == 14.0 and "wall_time_s" not in provenance
    assert "twin 0.1.0 / 14.0 s" in (out / "report.html").read_text(encoding="utf-8")


def test_a_model_built_elsewhere_counts_its_steps_and_metrics(andorra_city: City, tmp_path: Path) -> None:
    """Without the build's time (a resumed run, a model built by hand) the engine time is what this call ran."""
    model = CityModel(andorra_city, load_scenario(_scenario_file(tmp_path)))
    first = run_model(model, until_s=300.0).provenance
    assert set(first["times_s"]) == {"steps", "metrics"} and first["stopped_at_s"] == 300.0
    assert first["engine_time_s"] == pytest.approx(first["times_s"]["steps"] + first["times_s"]["metrics"], abs=2e-3)
    second = run_model(model, build_s=0.25).provenance
    assert second["times_s"]["build"] == 0.25 and second["stopped_at_s"] == 600.0
    assert second["engine_time_s"] == pytest.approx(0.25 + second["times_s"]["steps"] + second["times_s"]["metrics"])


def test_many_runs_in_one_process_are_identical(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    first = run_scenario(path, seed=5, out=tmp_path / "a")
    second = run_scenario(load_scenario(path), seed=5, out=tmp_path / "b")
    for name in ("timeseries.parquet", "events.parquet", "zones.parquet", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)


def test_a_run_folder_is_sealed_and_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "run"
    results = run_scenario(_scenario_file(tmp_path), out=out, provenance={"command": "twin run short.yaml"})
    loaded = Results.load(out)
    pd.testing.assert_frame_equal(loaded.timeseries, results.timeseries)
    assert loaded.provenance["status"] == "complete" and loaded.provenance["command"] == "twin run short.yaml"
    assert len(loaded.provenance["scenario_hash"]) == 64
    kinds = {f["name"]: f["kind"] for f in json.loads((out / "manifest.json").read_text())["files"]}
    assert kinds["service_levels.png"] == "figure" and kinds["lifelines.gpkg"] == "layer"
    assert set(kinds) == {p.name for p in out.iterdir()} - {"manifest.json"}
    assert _leftovers(out) == []


def test_a_run_stopped_on_purpose_is_whole_but_not_complete(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_scenario(_scenario_file(tmp_path), until="5min", out=out)
    assert read_provenance(out)["status"] == "incomplete" and (out / "manifest.json").is_file()
    with pytest.raises(RunError, match=r"incomplete run \(it stopped at 300 s\)"):
        Results.load(out)
    assert Results.load(out, allow_incomplete=True).timeseries["t_s"].iloc[-1] == 300.0


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("100h", r"is outside the scenario, which runs 10min; give a time after the start and at most"),
        (0, "outside the scenario"),
        ("soon", "until"),
        (True, "expected a duration"),
    ],
)
def test_until_outside_the_scenario_is_refused(tmp_path: Path, until: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        run_scenario(_scenario_file(tmp_path), until=until, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_bad_seed_and_overrides_on_a_scenario_object_are_refused(tmp_path: Path) -> None:
    path = _scenario_file(tmp_path)
    with pytest.raises(ScenarioError, match=r"seed \(--seed\): must be a whole number >= 0, got -1"):
        run_scenario(path, seed=-1)
    with pytest.raises(ScenarioError, match="overrides change a scenario file"):
        run_scenario(load_scenario(path), overrides=["seed=4"])
    results = run_scenario(path, overrides=["seed=4"], until="1min")
    assert results.scenario["seed"] == 4


# --- folders that hold one run only --------------------------------------------------------------------------


def test_a_folder_in_use_is_refused_before_the_map_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "flood_peak_depth.tif").write_bytes(b"an older run's raster")

    def no_map(*args: object, **kwargs: object) -> None:
        raise AssertionError("the map was loaded before the folder was checked")

    monkeypatch.setattr(build_module, "load_city", no_map)  # where run_scenario imports it from
    with pytest.raises(RunError, match=r"not empty \(it holds flood_peak_depth\.tif\)"):
        run_scenario(_scenario_file(tmp_path), out=out)
    assert (out / "flood_peak_depth.tif").read_bytes() == b"an older run's raster"


def test_overwrite_replaces_an_older_run_entirely(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "flood_peak_depth.tif").write_bytes(b"an older flood run's raster")
    (out / "provenance.json").write_text('{"status": "complete", "seed": 99}')
    run_scenario(_scenario_file(tmp_path), out=out, overwrite=True)
    assert not (out / "flood_peak_depth.tif").exists()
    assert Results.load(out).provenance["seed"] == 3


def test_overwrite_waits_until_the_scenario_fits_the_map(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("the previous run")
    bad = {"kind": "close_link", "at": "1min", "target": {"street": "Champs-Elysees"}}
    with pytest.raises(ScenarioError, match="Champs-Elysees"):
        run_scenario(_scenario_file(tmp_path, events=[bad]), out=out, overwrite=True)
    assert (out / "keep.txt").read_text() == "the previous run"


# --- interruptions -------------------------------------------------------------------------------------------


def test_ctrl_c_while_the_outputs_are_written_keeps_the_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(model: CityModel, folder: Path) -> list[Path]:
        raise KeyboardInterrupt

    monkeypatch.setattr(CityModel, "write_outputs", interrupted)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(_scenario_file(tmp_path), out=out)
    provenance = read_provenance(out)
    assert provenance["status"] == "incomplete" and provenance["interrupted"] == "while writing the outputs"
    assert not (out / "manifest.json").exists() and not (out / "service_levels.png").exists()
    assert pd.read_parquet(out / "timeseries.parquet")["t_s"].iloc[-1] == 600.0
    with pytest.raises(RunError, match="incomplete run"):
        Results.load(out)
    assert len(Results.load(out, allow_incomplete=True).events) > 0


def test_ctrl_c_while_running_saves_what_was_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = CityModel.step

    def interrupt(self: CityModel) -> None:
        if self.clock_s >= 300:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(CityModel, "step", interrupt)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(_scenario_file(tmp_path), out=out)
    provenance = read_provenance(out)
    assert provenance["status"] == "incomplete" and provenance["interrupted"] == "while running"
    assert provenance["stopped_at_s"] == 300.0
    assert pd.read_parquet(out / "timeseries.parquet")["t_s"].iloc[-1] == 300.0


class FaultError(Exception):
    """The failure the hook injects (a full disk, a kill) at the n-th file."""


def _fail_at(monkeypatch: pytest.MonkeyPatch, n: int, error: BaseException) -> list[str]:
    """Make the n-th atomic file write (1-based) fail before its rename; return the names written."""
    written: list[str] = []
    real = atomic_module._replace

    def hook(tmp: Path, target: Path) -> None:
        if len(written) + 1 == n:
            raise error
        written.append(target.name)
        real(tmp, target)

    monkeypatch.setattr(atomic_module, "_replace", hook)
    return written


@pytest.mark.slow
def test_a_fault_at_any_file_leaves_a_whole_folder_or_one_marked_incomplete(
    andorra_city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_scenario(_scenario_file(tmp_path))
    model = CityModel(andorra_city, spec)
    results = run_model(model)
    facts = run_provenance(model, andorra_city)

    begin_run_folder(tmp_path / "whole", facts)
    with monkeypatch.context() as patch:
        names = _fail_at(patch, 0, FaultError())
        write_run_folder(model, results, tmp_path / "whole", None)
    assert names[-2:] == ["manifest.json", "provenance.json"] and "service_levels.png" in names
    for n in range(1, len(names) + 1):
        folder = tmp_path / f"fault-{n}"
        begin_run_folder(folder, facts)
        with monkeypatch.context() as patch:
            _fail_at(patch, n, KeyboardInterrupt() if n % 2 else FaultError(f"disk full at file {n}"))
            with pytest.raises((FaultError, KeyboardInterrupt)):
                write_run_folder(model, results, folder, None)
        assert _leftovers(folder) == [], n
        assert read_provenance(folder)["status"] == "incomplete", n
        with pytest.raises(RunError, match="incomplete run"):
            Results.load(folder)
        if n > 2:  # the tables (written first, after the mark) are kept
            assert len(pd.read_parquet(folder / "timeseries.parquet")) == 11, n
    loaded = Results.load(tmp_path / "whole")
    assert loaded.provenance["status"] == "complete"


# --- user text in plots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cost $x{ of $5", "$\\frac{$", "{braces} and $"])
def test_a_scenario_name_is_never_read_as_markup(tmp_path: Path, name: str) -> None:
    series = pd.DataFrame({"t_s": [0.0, 60.0], "Q_access": [1.0, 0.5]})
    events = pd.DataFrame({"t_s": [60.0], "kind": ["close_link"], "cause": ["scenario"]})
    plot_service_levels(series, events, tmp_path / "curves.png", name)
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_the_curves_never_write_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    (tmp_path / "service_levels.png").symlink_to(victim)
    series = pd.DataFrame({"t_s": [0.0, 60.0], "Q_access": [1.0, 0.5]})
    events = pd.DataFrame({"t_s": [60.0], "kind": ["close_link"], "cause": ["scenario"]})
    plot_service_levels(series, events, tmp_path / "service_levels.png", "x")
    assert victim.read_text() == "someone else's file"
    assert not (tmp_path / "service_levels.png").is_symlink()


def test_a_run_named_with_dollars_and_braces_completes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_scenario(_scenario_file(tmp_path, name="budget $2M {draft} $x"), out=out)
    assert Results.load(out).scenario["name"] == "budget $2M {draft} $x"


def test_results_of_a_scenario_object_name_no_file(andorra_city: City, tmp_path: Path) -> None:
    spec: Scenario = load_scenario(_scenario_file(tmp_path))
    results = run_scenario(spec, until=120)
    assert "scenario_file" not in results.provenance and results.timeseries["t_s"].iloc[-1] == 120.0
