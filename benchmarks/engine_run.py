"""Engine benchmark: wall time of a whole scenario run with the City already loaded (best of N).

Run: ``python benchmarks/engine_run.py [scenarios/andorra-bridge-closures.yaml] [repeats]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from twin.city.build import load_city
from twin.scenario import load_scenario
from twin.sim.model import CityModel

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    """Print the scenario, its steps and the engine's times per repeat."""
    scenario = Path(argv[0]) if argv else ROOT / "scenarios" / "andorra-bridge-closures.yaml"
    repeats = int(argv[1]) if len(argv) > 1 else 3
    spec = load_scenario(scenario)
    city = load_city(spec.map)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = CityModel(city, spec)
        model.run()
        times.append(time.perf_counter() - start)
    print(f"{spec.name}: {model.step_count} steps, engine {', '.join(f'{t:.3f}' for t in times)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
