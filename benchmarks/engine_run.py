"""Engine benchmark: wall time of a whole scenario run with the City already loaded (best of N).

Run: ``python benchmarks/engine_run.py [scenarios/andorra-bridge-closures.yaml] [repeats]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from twin.city.build import load_city
from twin.errors import TwinError
from twin.scenario import load_scenario
from twin.sim.model import CityModel

ROOT = Path(__file__).resolve().parents[1]


def scenario_file(text: str) -> Path:
    """A scenario argument: an existing YAML file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file; give a scenario like scenarios/andorra-compound.yaml")
    return path


def repeat_count(text: str) -> int:
    """A number of repeats: a whole number from 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of repeats is a whole number from 1, like 3")
    return int(text)


def main(argv: list[str]) -> int:
    """Print the scenario, its steps and the engine's times per repeat."""
    parser = argparse.ArgumentParser(prog="benchmarks/engine_run.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario",
        nargs="?",
        type=scenario_file,
        default=ROOT / "scenarios" / "andorra-bridge-closures.yaml",
        help="the scenario to run (default scenarios/andorra-bridge-closures.yaml)",
    )
    parser.add_argument("repeats", nargs="?", type=repeat_count, default=3, help="runs in this process (default 3)")
    args = parser.parse_args(argv)
    try:
        spec = load_scenario(args.scenario)
        city = load_city(spec.map)
    except TwinError as exc:
        print(f"benchmarks/engine_run.py: error: {exc}", file=sys.stderr)
        return 1
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model = CityModel(city, spec)
        model.run()
        times.append(time.perf_counter() - start)
    print(f"{spec.name}: {model.step_count} steps, engine {', '.join(f'{t:.3f}' for t in times)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
