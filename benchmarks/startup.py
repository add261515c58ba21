"""Startup benchmark: what a user waits for before twin does anything, and how much of a run is the run.

Run from the project root: ``python benchmarks/startup.py [repeats]``. Each figure is the best of ``repeats``
fresh interpreters (so no import is cached in the process), as wall time and as CPU time (user + system of the
child): on a machine that others load, wall time grows with the queue for the cores while CPU time moves much less:

- the import time of ``twin.cli`` and ``twin.run`` (``python -c "import ..."`` minus a bare ``python -c pass``);
- the wall time of ``twin --help`` and ``twin run --help``;
- the wall time of the demo ``twin run`` (map from its cache) against the engine's own time for the same run
  (``provenance.json``'s ``wall_time_s``): the ratio is what startup, validation, map loading and writing cost;
- where the demo's wall time goes, from one fresh interpreter that imports :mod:`twin.run` and calls
  :func:`twin.run.run_scenario` with a progress callback: imports, validation, map load, engine steps, and each output
  written (tables, the phases' outputs, the curves, the HTML report with its maps).
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


def demo_run(repeats: int) -> tuple[float, float, float]:
    """Best wall time, best CPU time and the engine time of the fastest run of the demo ``twin run``."""
    best_wall, best_cpu, engine = float("inf"), float("inf"), float("nan")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo"
            wall, cpu = timed([sys.executable, "-m", "twin.cli", "run", str(DEMO), "--out", str(out), "--quiet"])
            best_cpu = min(best_cpu, cpu)
            if wall < best_wall:
                best_wall = wall
                engine = float(json.loads((out / "provenance.json").read_text())["wall_time_s"])
    return best_wall, best_cpu, engine


_BREAKDOWN = """
import json, sys, time
def now():
    return time.perf_counter(), time.process_time()
marks = [("import twin.run", *now())]
from twin.run import run_scenario
marks.append(("import City loader, engine", *now()))
import twin.city.build, twin.sim.model  # what run_scenario imports once the scenario is valid
marks.append(("validation and map", *now()))
def progress(p):
    stage = {"map": "validation and map", "run": "engine steps"}.get(p.stage, "write " + p.message)
    if stage != marks[-1][0]:
        marks.append((stage, *now()))
run_scenario(sys.argv[1], out=sys.argv[2], progress=progress)
marks.append(("end", *now()))
spans = {}
for (name, w0, c0), (_, w1, c1) in zip(marks, marks[1:]):
    wall, cpu = spans.get(name, (0.0, 0.0))
    spans[name] = (wall + w1 - w0, cpu + c1 - c0)
print(json.dumps(spans))
"""


def breakdown() -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of the demo run per stage, from one fresh interpreter (the stages of :class:`RunProgress`).

    A span runs from its stage's first progress call to the next stage's: the imports are those of
    :mod:`twin.run` and then of the City loader and the engine (which ``run_scenario`` itself imports only once the
    scenario is valid), "validation and map" from the end of the imports to the first engine step, and "engine
    steps" includes loading the report's modules (matplotlib), which happens just before the tables are written.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", _BREAKDOWN, str(DEMO), str(Path(tmp) / "demo")]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    spans: dict[str, list[float]] = json.loads(out.strip().splitlines()[-1])
    return {name: (wall, cpu) for name, (wall, cpu) in spans.items()}


def main(argv: list[str]) -> int:
    """Print the startup figures as a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=3, help="fresh interpreters per figure (best of)")
    repeats = parser.parse_args(argv).repeats
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
    wall, cpu, engine = demo_run(repeats)
    rows.append(("demo twin run", wall, cpu))
    print(f"{'':<24} {'wall':>9} {'CPU':>9}")
    for name, wall_s, cpu_s in rows:
        print(f"{name:<24} {wall_s:7.2f} s {cpu_s:7.2f} s")
    print(f"{'demo engine time':<24} {engine:7.2f} s")
    print(f"{'demo wall / engine':<24} {wall / engine:7.2f}")
    print("\nwhere the demo's time goes (one fresh interpreter):")
    for name, (wall_s, cpu_s) in breakdown().items():
        print(f"  {name:<30} {wall_s:7.2f} s {cpu_s:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
