"""Every script in ``benchmarks/`` answers ``--help`` and refuses a bad argument with a usage error, no traceback.

The scripts run as ``__main__`` in this process (``runpy``), as ``python benchmarks/x.py`` runs them, so the twin
they import is loaded once for all of them; one of them also runs as a real command.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.traffic_vs_peers import peer_departures, plan
from benchmarks.versions import table

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LIBRARIES = {"mutations.py", "timing.py"}
"""Modules the scripts import, not scripts themselves (no ``__main__`` block)."""
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name not in LIBRARIES)


def run_script(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``benchmarks/name`` as ``__main__`` with ``args``; its exit code (0 when it returns)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as python puts a script's folder first on the path
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / name), *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(BENCHMARKS / name), run_name="__main__")
    code = exit_info.value.code
    return code if isinstance(code, int) else 1


def test_scripts_and_libraries_are_told_apart() -> None:
    """A library has no ``__main__`` block and every script has one (a new script is not left out by mistake)."""
    for path in BENCHMARKS.glob("*.py"):
        has_main = 'if __name__ == "__main__":' in path.read_text()
        assert has_main == (path.name not in LIBRARIES), path.name
    assert len(SCRIPTS) >= 15


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints a usage and a description and exits 0, without running anything."""
    assert run_script(name, ["--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: "), out[:200]
    assert "options:" in out and "-h, --help" in out
    assert len(out.splitlines()) >= 4  # a description, not only the usage line


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_option(name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An option no script has is a usage error (exit 2), before any work."""
    assert run_script(name, ["--no-such-option"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and "error: " in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("name", "args", "said"),
    [
        ("city_build.py", ["no/such/map"], "no/such/map: not a map folder (no city.yaml in it)"),
        ("city_build.py", ["--init", "benchmarks"], "benchmarks: not a map folder"),
        ("engine_run.py", ["no-such.yaml"], "no-such.yaml: no such file; give a scenario like"),
        ("engine_run.py", ["scenarios/andorra-baseline.yaml", "0"], "'0': the number of repeats is a whole number"),
        ("crews.py", ["figure.svg"], "figure.svg: give a .png file in an existing folder"),
        ("traffic.py", ["city-scale", "--trips", "0"], "--trips and --before-trips are whole numbers from 1"),
        ("traffic.py", ["city-scale", "--before", "benchmarks"], "benchmarks: not a checkout of twin"),
        ("traffic.py", ["andorra"], "invalid choice: 'andorra'"),
        ("versions.py", ["--only", "engine:nowhere"], "unknown workload engine:nowhere; choose among engine:"),
        ("versions.py", ["--repeats", "0"], "--repeats must be at least 1, not 0"),
        ("versions.py", ["--commits", "HEAD"], "--commits takes two or more commits"),
        ("versions.py", ["--table", "no.json"], "--table no.json: no such file"),
        ("versions.py", ["--chicago", "benchmarks"], "--chicago benchmarks: no links.csv there"),
        ("versions.py", ["--only", "traffic:chicago-p1"], "the traffic:chicago-* workloads need --chicago FOLDER"),
        ("traffic_vs_peers.py", ["manhattan"], "invalid choice: 'manhattan'"),
        ("traffic_vs_peers.py", ["--seeds", "0"], "--seeds is a whole number from 1, not 0"),
        ("traffic_vs_peers.py", ["--models", "twin,uxsim"], "--models takes names among twin, twin-per-vehicle,"),
        ("traffic_vs_peers.py", ["--sizes", "30,0"], "--sizes are whole numbers from 1 and --substeps positive"),
        ("traffic_vs_peers.py", ["--substeps", "five"], "--sizes takes whole numbers and --substeps numbers"),
        ("traffic_vs_peers.py", ["--sizes", "30,10", "--release", "20"], "--release 20 must be a multiple of every"),
        ("same_results.py", ["compare", "no/such", "runs"], "no/such: no such folder"),
        ("startup.py", ["0"], "repeats is a whole number from 1, not 0"),
        ("sweep.py", ["--levels", "0"], "--levels is a whole number from 1, not 0"),
        ("whatif.py", ["--cost", "levee=lots"], "write VARIANT=AMOUNT"),
    ],
)
def test_bad_argument(
    name: str, args: list[str], said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value is a usage error that says what is wrong and what to give instead."""
    monkeypatch.chdir(BENCHMARKS.parent)
    assert run_script(name, args, monkeypatch) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err, err


def test_city_build_help_as_a_command() -> None:
    """The reported case as a user runs it: ``--help`` was read as a map folder and ended in a traceback."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "city_build.py"), "--help"],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: benchmarks/city_build.py") and "--init" in done.stdout
    assert done.stderr == ""


def test_versions_table_by_hand() -> None:
    """benchmarks/versions.py's table: medians per version, and the median of the ratios within a repeat (under a
    load that changes between repeats, the pairs keep the ratio: here 2 s / 1 s, then 6 s / 3 s, then 1 s / 2 s)."""
    old = [
        {"first_s": 1.0, "first_cpu_s": 1.0, "arrived": 5.0, "on_network": 0.0},
        {"first_s": 3.0, "first_cpu_s": 1.0, "arrived": 5.0, "on_network": 0.0},
        {"first_s": 2.0, "first_cpu_s": 1.0, "arrived": 5.0, "on_network": 0.0},
    ]
    new = [
        {"first_s": 2.0, "first_cpu_s": 1.5, "arrived": 6.0, "on_network": 0.0},
        {"first_s": 6.0, "first_cpu_s": 1.5, "arrived": 5.0, "on_network": 0.0},
        {"first_s": 1.0, "first_cpu_s": 1.5, "arrived": 5.0, "on_network": 0.0},
    ]
    lines = table({"traffic:grid-p5": {"a": old, "b": new}}, ["a", "b"])
    assert lines[0] == "| workload | a: wall (CPU) | b: wall (CPU) | b / a: wall (CPU) | same work |"
    # medians: old 2 s wall, 1 s CPU; new 2 s wall, 1.5 s CPU; paired wall ratios 2, 2, 0.5 -> 2; the new version
    # delivered one vehicle more: not the same work, and said so
    assert lines[2] == (
        "| traffic:grid-p5 | 2.00 s (1.00 s) | 2.00 s (1.50 s) | 2.00 (1.50) "
        "| DIFFERENT: arrived 5 / 6, on_network 0 / 0 |"
    )
    same = table({"traffic:grid-p5": {"a": old, "b": old}}, ["a", "b"])[2]
    assert same.endswith("| 1.00 (1.00) | arrived 5, on_network 0 |")


def test_peer_plan_picks_models() -> None:
    """benchmarks/traffic_vs_peers.py runs the models it is given, seed by seed, at the case's platoon size (30 on
    Chicago, 1 for twin per vehicle), and UXsim per vehicle only when asked (never on Chicago)."""
    assert plan("chicago", 2, False, True, ("twin", "uxsim-cpp")) == [
        ("twin", 30, 0, None),
        ("twin", 30, 1, None),
        ("uxsim-cpp", 30, 0, None),
        ("uxsim-cpp", 30, 1, None),
    ]
    grid = plan("grid", 1, False, True, ("twin-per-vehicle",))
    assert grid[:2] == [("twin", 1, 0, None), ("uxsim-cpp", 1, 0, None)]
    assert [run[:2] for run in plan("grid", 1, False, False)][:4] == [
        ("twin", 5),
        ("twin", 1),
        ("twin-uxcost", 5),
        ("uxsim-cpp", 5),
    ]


def test_peer_plan_sweeps_sizes_and_substeps() -> None:
    """``--sizes`` replaces the case's platoon size for twin and UXsim (not twin per vehicle), and each twin run is
    repeated at each ``--substeps`` value; UXsim has no sub-step of its own (its step is ``deltan`` s)."""
    runs = plan("chicago", 1, False, False, ("twin", "twin-per-vehicle", "uxsim-yield"), (30, 10), (30.0, 5.0))
    assert runs == [
        ("twin", 30, 0, 30.0),
        ("twin", 30, 0, 5.0),
        ("twin", 10, 0, 30.0),
        ("twin", 10, 0, 5.0),
        ("twin", 1, 0, 30.0),
        ("twin", 1, 0, 5.0),
        ("uxsim-yield", 30, 0, None),
        ("uxsim-yield", 10, 0, None),
    ]


def test_peer_departures_split_the_release_into_platoons() -> None:
    """25 vehicles over [0, 100) s released as UXsim does with ``deltan = 10`` (10 s steps, 2.5 vehicles a step):
    10 have built up at the end of step 3 (30 s) and again at step 7 (70 s), and the last 5 are dropped; split
    into platoons of 5, each release is two platoons at its time, so every platoon size departs the same
    vehicles."""
    import pandas as pd

    from twin.traffic.peers import PeerInput

    demand = pd.DataFrame({"orig": [0], "dest": [1], "t_start": [0.0], "t_end": [100.0], "volume": [25.0]})
    case = PeerInput(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 0.0]}), pd.DataFrame(), demand)
    released = peer_departures(case, 10)
    assert released["departure_s"].tolist() == [30.0, 70.0] and set(released["platoon"]) == {10}
    split = peer_departures(case, 5, release=10)
    assert split["departure_s"].tolist() == [30.0, 30.0, 70.0, 70.0] and set(split["platoon"]) == {5}
    with pytest.raises(ValueError, match="a release of 10 vehicles cannot be split into platoons of 3"):
        peer_departures(case, 3, release=10)
