"""Crews benchmark: about 200 crews and 5,000 incidents over a 48 h storm on Andorra; wall time of the crews phase
per step (City loaded, model built).

The storm is ``scenarios/andorra-compound.yaml`` (rain, river flood, landslides, the flooded substation) run for
48 h in 5-minute steps, with 200 crews (40 fire at the one fire station, 45 EMS at each of the two hospitals, 5
police at each of the four stations, 15 power, 10 water, 5 telecom and 20 road crews at their depots) and medical
calls at 40 per 1,000 residents per day (a stress rate, about 270 times the default, to reach some 5,000
incidents). The crews drive as vehicles in the traffic model (a ``traffic`` section with no trips of its own:
the crews' trips are the traffic), or, with ``--no-traffic``, by shortest path times. Each crews step and each
traffic step is timed alone (the other phases run untimed); the figure shows the open incidents, the busy crews
and the crews phase's time per step.

The crews work round the clock as in the README's figure (``shifts: false``, whatever the compound scenario says);
``--shifts`` puts them on their default shifts (:mod:`twin.crews.shifts`) and prints what the shifts cost: the
crews on duty, the overtime and the longest continuous duty.

Run: ``python benchmarks/crews.py [--no-traffic] [--shifts] [figure.png]`` (default ``docs/crews-benchmark.png``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twin.city.build import load_city
from twin.scenario import load_scenario
from twin.sim.model import CityModel
from twin.sim.phase import StepContext

ROOT = Path(__file__).resolve().parents[1]
CREWS = {
    "policy": "priority",
    "damage_state": "slight",
    "per_station": {"fire_station": 40, "hospital": 45, "police": 5},
    "depot_crews": {"power": 15, "water": 10, "telecom": 5, "road": 20},
    "medical": {"rate_per_1000_day": 40},
    "shifts": False,
}


def main(figure: Path, traffic: bool, shifts: bool = False) -> None:
    scenario = {
        "name": "crews-benchmark",
        "extends": str(ROOT / "scenarios" / "andorra-compound.yaml"),
        "duration": "48h",
        "crews": {**CREWS, "shifts": shifts},
    }
    if traffic:
        scenario["traffic"] = {}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "crews-benchmark.yaml"
        path.write_text(yaml.safe_dump(scenario))
        spec = load_scenario(path)
    city = load_city(spec.map)
    model = CityModel(city, spec)
    phase = model.phases["crews"][0]
    times = _timed(phase)
    traffic_times = _timed(model.phases["traffic"][0]) if traffic else []
    start = time.perf_counter()
    model.run()
    total = time.perf_counter() - start
    incidents = phase.incidents_frame()  # type: ignore[attr-defined]
    print(f"crews: {len(phase.crews)}, incidents: {len(incidents)}, steps: {len(times)}")  # type: ignore[attr-defined]
    print(incidents.groupby("kind", observed=True)["status"].value_counts().unstack(fill_value=0).to_string())
    print(f"travel: {'in the traffic model' if traffic else 'shortest path times'}")
    print(_figures("crews phase", np.array(times), total))
    if traffic:
        print(_figures("traffic phase (the crews' vehicles)", np.array(traffic_times), total))
    reached = incidents.dropna(subset=["response_s"]).groupby("kind", observed=True)["response_s"]
    print("response (s), median by kind: " + ", ".join(f"{k} {v:.0f}" for k, v in reached.median().items()))
    if shifts:
        _print_shifts(model.recorder.timeseries(), phase.crews_frame())  # type: ignore[attr-defined]
    crews = len(phase.crews)  # type: ignore[attr-defined]
    title = f"{crews} crews ({'in traffic' if traffic else 'path times'}), 40 medical calls per 1,000 a day"
    _plot(model.recorder.timeseries(), np.array(times), float(spec.step_s), figure, crews, title)
    print(f"figure: {figure}")


def _print_shifts(series: Any, crews: Any) -> None:
    """Crews on duty over the run, overtime and the longest continuous duty, by crew kind."""
    print(f"crews on duty: min {series['crews_on_duty'].min():.0f}, median {series['crews_on_duty'].median():.0f}")
    hours = crews.assign(overtime_h=crews["overtime_s"] / 3600, longest_duty_h=crews["longest_duty_s"] / 3600)
    by_kind = hours.groupby("kind")[["overtime_h", "longest_duty_h", "shifts_ended"]].agg(["mean", "max"])
    print("by kind (overtime and longest duty in hours):")
    print(by_kind.round(2).to_string())


def _timed(phase: object) -> list[float]:
    """Time every step of ``phase`` (its ``step`` wrapped); the list fills as the model runs."""
    step_s: list[float] = []
    original: Callable[[StepContext, float], None] = phase.step  # type: ignore[attr-defined]

    def timed(ctx: StepContext, dt_s: float) -> None:
        start = time.perf_counter()
        original(ctx, dt_s)
        step_s.append(time.perf_counter() - start)

    phase.step = timed  # type: ignore[attr-defined]
    return step_s


def _figures(what: str, times: np.ndarray, total: float) -> str:
    return (
        f"{what} per step: median {np.median(times) * 1e3:.2f} ms, p90 {np.percentile(times, 90) * 1e3:.2f} ms, "
        f"max {times.max() * 1e3:.1f} ms, total {times.sum():.2f} s of {total:.1f} s engine time"
    )


def _plot(series: object, times: np.ndarray, step_s: float, figure: Path, crews: int, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = series  # a DataFrame
    hours = frame["t_s"].to_numpy() / 3600
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, constrained_layout=True)
    top.plot(hours, frame["incidents_open"], label="incidents open")
    top.plot(hours, frame["crews_busy"], label=f"crews busy (of {crews})")
    top.plot(hours, frame["repairs_done"] + frame["links_cleared"], label="repairs + links cleared")
    top.set_ylabel("count")
    top.legend(loc="upper left", frameon=False)
    top.set_title(f"Andorra 48 h storm: {title}")
    step_end_h = np.arange(1, len(times) + 1) * step_s / 3600
    bottom.plot(step_end_h, times * 1e3, lw=0.8, color="0.3")
    bottom.set_ylabel("crews phase, ms per step")
    bottom.set_xlabel("hours since the start")
    fig.savefig(figure, dpi=110)


def figure_path(text: str) -> Path:
    """The figure argument: a .png in an existing folder."""
    path = Path(text)
    if path.suffix.lower() != ".png" or not path.resolve().parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: give a .png file in an existing folder, like crews.png")
    return path


def parse(argv: list[str]) -> tuple[Path, bool, bool]:
    """The figure's path from the command line, whether crews drive in the traffic model and work shifts."""
    parser = argparse.ArgumentParser(prog="benchmarks/crews.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "figure",
        nargs="?",
        type=figure_path,
        default=ROOT / "docs" / "crews-benchmark.png",
        help="where to draw the figure (default docs/crews-benchmark.png)",
    )
    parser.add_argument("--no-traffic", action="store_true", help="crews travel by shortest path times")
    parser.add_argument("--shifts", action="store_true", help="crews work their default shifts")
    args = parser.parse_args(argv)
    figure: Path = args.figure
    return figure, not args.no_traffic, args.shifts


if __name__ == "__main__":
    main(*parse(sys.argv[1:]))
