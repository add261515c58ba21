"""Startup benchmark: what a user waits for before twin does anything, and how much of a run is the run.

Run from the project root: ``python benchmarks/startup.py [repeats]``. Each figure is the best of ``repeats``
fresh interpreters (so no import is cached in the process):

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "andorra-bridge-closures.yaml"


def wall_time(command: list[str], repeats: int) -> float:
    """Best wall time (s) of ``repeats`` runs of ``command`` in the project root; raises if it fails."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def demo_run(repeats: int) -> tuple[float, float]:
    """Best (wall time, engine time) of the demo ``twin run`` into a temporary folder."""
    best_wall, engine = float("inf"), float("nan")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo"
            command = [sys.executable, "-m", "twin.cli", "run", str(DEMO), "--out", str(out), "--quiet"]
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            wall = time.perf_counter() - start
            if wall < best_wall:
                best_wall = wall
                engine = float(json.loads((out / "provenance.json").read_text())["wall_time_s"])
    return best_wall, engine


_BREAKDOWN = """
import json, sys, time
marks = [("imports", time.perf_counter())]
from twin.run import run_scenario
marks.append(("validation and map", time.perf_counter()))
def progress(p):
    stage = {"map": "validation and map", "run": "engine steps"}.get(p.stage, "write " + p.message)
    if stage != marks[-1][0]:
        marks.append((stage, time.perf_counter()))
run_scenario(sys.argv[1], out=sys.argv[2], progress=progress)
marks.append(("end", time.perf_counter()))
spans = {}
for (name, t0), (_, t1) in zip(marks, marks[1:]):
    spans[name] = spans.get(name, 0.0) + (t1 - t0)
print(json.dumps(spans))
"""


def breakdown() -> dict[str, float]:
    """Seconds of the demo run per stage, from one fresh interpreter (the stage names of :class:`RunProgress`).

    A span runs from its stage's first progress call to the next stage's: "validation and map" from the end of
    the imports to the first engine step, and "engine steps" includes loading the report's modules (matplotlib),
    which happens just before the tables are written.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-c", _BREAKDOWN, str(DEMO), str(Path(tmp) / "demo")]
        out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    spans: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return spans


def main(argv: list[str]) -> int:
    """Print the startup figures as a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=3, help="fresh interpreters per figure (best of)")
    repeats = parser.parse_args(argv).repeats
    if repeats < 1:
        parser.error(f"repeats is a whole number from 1, not {repeats}")
    python = [sys.executable]
    bare = wall_time([*python, "-c", "pass"], repeats)
    rows = [
        ("import twin.cli", wall_time([*python, "-c", "import twin.cli"], repeats) - bare),
        ("import twin.run", wall_time([*python, "-c", "import twin.run"], repeats) - bare),
        ("twin --help", wall_time([*python, "-m", "twin.cli", "--help"], repeats)),
        ("twin run --help", wall_time([*python, "-m", "twin.cli", "run", "--help"], repeats)),
    ]
    wall, engine = demo_run(repeats)
    rows += [("demo twin run (wall)", wall), ("demo engine time", engine)]
    for name, seconds in rows:
        print(f"{name:<24} {seconds:7.2f} s")
    print(f"{'demo wall / engine':<24} {wall / engine:7.2f}")
    print("\nwhere the demo's wall time goes (one fresh interpreter):")
    for name, seconds in breakdown().items():
        print(f"  {name:<30} {seconds:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
