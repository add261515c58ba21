"""Startup benchmark: what a user waits for before twin does anything, and how much of a run is the run.

Run from the project root: ``python benchmarks/startup.py [repeats]``. Each figure is the best of ``repeats``
fresh interpreters (so no import is cached in the process), as wall time and as CPU time (user + system of the
child): on a machine that others load, wall time grows with the queue for the cores while CPU time moves much less:

- the import time of ``twin.cli`` and ``twin.run`` (``python -c "import ..."`` minus a bare ``python -c pass``);
- the wall time of ``twin --help`` and ``twin run --help``;
- the wall time of the demo ``twin run`` (map from its cache) against its engine time (``provenance.json``'s
  ``engine_time_s``: building the engine on the loaded map, its steps and the metrics): the ratio is what
  startup, validation, loading the map and writing the run folder cost;
- where the demo's wall time goes, from one fresh interpreter that imports :mod:`twin.run`, validates the scenario
  and calls :func:`twin.run.run_scenario` with a progress callback: imports, validation, the map's load, the
  engine's build, steps and metrics (from ``provenance.json``'s ``times_s``), loading the report's modules
  (matplotlib), and each output written (tables, the phases' outputs, the curves, the HTML report with its maps);
- with ``--all``, the same wall / engine ratio for every shipped scenario (``scenarios/*.yaml``, maps from their
  cache), and the fixed cost of a run folder: wall time less engine time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "andorra-bridge-closures.yaml"
#: The engine's parts in ``provenance.json``'s ``times_s``, as the breakdown names them.
ENGINE_PARTS = {"build": "engine build", "steps": "engine steps", "metrics": "metrics"}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command`` in the project root; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_time(command: list[str], repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time (s) of ``repeats`` runs of ``command``."""
    runs = [timed(command) for _ in range(repeats)]
    return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def scenario_run(scenario: Path, repeats: int) -> tuple[float, float, float]:
    """Best wall time, best CPU time, and the engine time of the fastest of ``repeats`` ``twin run`` of a scenario."""
    best_wall, best_cpu, engine = float("inf"), float("inf"), float("nan")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            wall, cpu = timed([sys.executable, "-m", "twin.cli", "run", str(scenario), "--out", str(out), "--quiet"])
            best_cpu = min(best_cpu, cpu)
            if wall < best_wall:
                best_wall = wall
                engine = float(json.loads((out / "provenance.json").read_text())["engine_time_s"])
    return best_wall, best_cpu, engine


_BREAKDOWN = """
import json, sys, time
def now():
    return time.perf_counter(), time.process_time()
marks = [("import twin.run", *now())]
from twin.run import run_scenario
from twin.scenario import load_scenario
marks.append(("scenario validation", *now()))
spec = load_scenario(sys.argv[1])
marks.append(("import City loader, engine", *now()))
import twin.city.build, twin.sim.model  # what run_scenario imports once the scenario is valid
marks.append(("map, engine, report modules", *now()))
def progress(p):
    if p.stage == "write":
        marks.append(("write " + p.message, *now()))
results = run_scenario(spec, out=sys.argv[2], progress=progress)
marks.append(("end", *now()))
spans = {}
for (name, w0, c0), (_, w1, c1) in zip(marks, marks[1:]):
    wall, cpu = spans.get(name, (0.0, 0.0))
    spans[name] = (wall + w1 - w0, cpu + c1 - c0)
print(json.dumps({"spans": spans, "times": results.provenance["times_s"]}))
"""


def breakdown() -> dict[str, tuple[float, float | None]]:
    """(wall, CPU) seconds of the demo run per stage, from one fresh interpreter.

    The imports are those of :mod:`twin.run` and then of the City loader and the engine (which ``run_scenario``
    itself imports only once the scenario is valid). The span from there to the first output written holds the
    map's load and the engine's
    build, steps and metrics (wall times from ``provenance.json``'s ``times_s``, no CPU time) and, what is left,
    loading the report's modules (matplotlib) before the tables are written.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", _BREAKDOWN, str(DEMO), str(Path(tmp) / "demo")]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    spans: dict[str, tuple[float, float | None]] = {name: (w, c) for name, (w, c) in found["spans"].items()}
    times: dict[str, float] = found["times"]
    middle, _ = spans.pop("map, engine, report modules")
    parts: dict[str, tuple[float, float | None]] = {"map load": (times["map"], None)}
    parts |= {label: (times[key], None) for key, label in ENGINE_PARTS.items()}
    rest = middle - sum(wall for wall, _ in parts.values())
    ordered = dict(list(spans.items())[:3]) | parts | {"report modules (matplotlib)": (rest, None)}
    return ordered | dict(list(spans.items())[3:])


def every_scenario(repeats: int) -> list[tuple[str, float, float, float]]:
    """(scenario, best wall, best CPU, engine time) of ``twin run`` for every shipped scenario."""
    rows = []
    for scenario in sorted((ROOT / "scenarios").glob("*.yaml")):
        rows.append((scenario.stem, *scenario_run(scenario, repeats)))
    return rows


def main(argv: list[str]) -> int:
    """Print the startup figures as a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=3, help="fresh interpreters per figure (best of)")
    parser.add_argument("--all", action="store_true", help="also every shipped scenario's wall time against its engine")
    args = parser.parse_args(argv)
    repeats = args.repeats
    if repeats < 1:
        parser.error(f"repeats is a whole number from 1, not {repeats}")
    python = [sys.executable]
    bare_wall, bare_cpu = best_time([*python, "-c", "pass"], repeats)
    rows = []
    for name, command, minus_bare in (
        ("import twin.cli", [*python, "-c", "import twin.cli"], True),
        ("import twin.run", [*python, "-c", "import twin.run"], True),
        ("twin --help", [*python, "-m", "twin.cli", "--help"], False),
        ("twin run --help", [*python, "-m", "twin.cli", "run", "--help"], False),
    ):
        wall, cpu = best_time(command, repeats)
        rows.append((name, wall - bare_wall * minus_bare, cpu - bare_cpu * minus_bare))
    wall, cpu, engine = scenario_run(DEMO, repeats)
    rows.append(("demo twin run", wall, cpu))
    print(f"{'':<24} {'wall':>9} {'CPU':>9}")
    for name, wall_s, cpu_s in rows:
        print(f"{name:<24} {wall_s:7.2f} s {cpu_s:7.2f} s")
    print(f"{'demo engine time':<24} {engine:7.2f} s")
    print(f"{'demo wall / engine':<24} {wall / engine:7.2f}")
    print(f"{'interpreter alone':<24} {bare_wall:7.2f} s {bare_cpu:7.2f} s")
    print("\nwhere the demo's time goes (one fresh interpreter; the engine's parts and the map in wall time only):")
    for name, (part_wall, part_cpu) in breakdown().items():
        print(f"  {name:<30} {part_wall:7.2f} s " + (f"{part_cpu:7.2f} s" if part_cpu is not None else ""))
    if args.all:
        print_every_scenario(every_scenario(repeats))
    return 0


def print_every_scenario(rows: list[tuple[str, float, float, float]]) -> None:
    """The per-scenario table: wall and CPU time, engine time, wall less engine, and their ratio."""
    print(f"\nevery shipped scenario (best of the runs, map cached):\n{'scenario':<34} {'wall':>8} {'CPU':>8} ", end="")
    print(f"{'engine':>8} {'wall - engine':>14} {'wall / engine':>14}")
    for name, wall, cpu, engine in rows:
        print(f"{name:<34} {wall:6.2f} s {cpu:6.2f} s {engine:6.2f} s {wall - engine:12.2f} s {wall / engine:14.2f}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
