"""Does twin's traffic depend on its sub-step? UXsim's 11 x 11 grid at several sub-steps and seeds.

Runs UXsim's grid demo (:func:`twin.traffic.peers.grid_11x11`, UXsim's departures for ``deltan = P``, UXsim's
route-choice settings: a new shortest-path tree every 600 s, weight 0.5, 1 % noise) for every sub-step and seed,
each run in its own process, and prints the mean travel time of each run, the spread over seeds per sub-step, and
whether every sub-step's range of means overlaps the others'. The mean travel times are simulated figures: the
machine's load does not change them, only the wall times.

To compare two versions of twin in one run (interleaved, so that both see the same load), give each source tree
with ``--tree``; every run then imports ``twin`` from that tree::

    python benchmarks/traffic_substep.py --substeps 1 5 10 --seeds 0 1 2 --tree ../old-checkout --tree .

Options of :class:`twin.traffic.demand.TrafficOptions` can be set with ``--set name=value`` (for every tree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TMAX_S = 7200.0
UXSIM_DUO: dict[str, Any] = {"reroute_every_s": 600.0, "route_memory": 0.5, "route_noise": 0.01}  # UXsim's defaults


def run_one(platoon: int, substep_s: float, seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """One grid run in this process: mean travel time and route length of the arrived vehicles, wall time."""
    from twin.sim.traffic import TrafficNetwork, TrafficOptions, simulate
    from twin.traffic.peers import grid_11x11, uxsim_departures

    case = grid_11x11()
    network = TrafficNetwork.from_frames(len(case.nodes), case.links)
    demand = uxsim_departures(case.demand, platoon)
    options = TrafficOptions(platoon_size=platoon, substep_s=substep_s, record_links=False, **{**UXSIM_DUO, **settings})
    start = time.perf_counter()
    trips = simulate(network, demand, options, seed=seed, until_s=TMAX_S).trips
    wall = time.perf_counter() - start
    done = (trips["status"] == "arrived").to_numpy()
    weight = trips["platoon"].to_numpy(float)[done]
    return {
        "wall_s": wall,
        "arrived": float(weight.sum()),
        "vehicles": float(trips["platoon"].sum()),
        "mean_travel_time_s": float(np.average(trips["travel_time_s"].to_numpy(float)[done], weights=weight)),
        "mean_route_m": float(np.average(trips["route_length_m"].to_numpy(float)[done], weights=weight)),
    }


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs as options (numbers as numbers, true/false as booleans, the rest as text)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        value: Any = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            try:
                value = float(text) if any(c in text for c in ".eE") else int(text)
            except ValueError:
                value = text
        settings[name] = value
    return settings


def sweep(args: argparse.Namespace) -> pd.DataFrame:
    """Every (seed, sub-step, tree), each in its own process, trees interleaved run by run."""
    rows = []
    trees = args.tree or [str(ROOT)]
    for seed in args.seeds:
        for substep in args.substeps:
            for tree in trees:
                command = [sys.executable, __file__, "--one", str(args.platoon), str(substep), str(seed)]
                command += [f"--set={pair}" for pair in args.set]
                env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
                done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
                if done.returncode != 0:
                    print(f"  {tree} sub-step {substep} seed {seed} failed:\n{done.stderr[-2000:]}", flush=True)
                    continue
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append({"tree": Path(tree).name, "substep_s": substep, "seed": seed, **figures})
                print(
                    f"  {Path(tree).name:12s} sub-step {substep:4g} s seed {seed}: "
                    f"mean travel time {figures['mean_travel_time_s']:8.1f} s, route {figures['mean_route_m']:8.0f} m, "
                    f"arrived {figures['arrived']:.0f}/{figures['vehicles']:.0f}, wall {figures['wall_s']:6.1f} s",
                    flush=True,
                )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per tree and sub-step: the range of the means over seeds, the seeds' spread, and the summed wall time."""
    grouped = table.groupby(["tree", "substep_s"], sort=False)
    out = grouped.agg(
        seeds=("seed", "size"),
        low=("mean_travel_time_s", "min"),
        high=("mean_travel_time_s", "max"),
        mean=("mean_travel_time_s", "mean"),
        wall_s=("wall_s", "sum"),
    )
    out["spread_pct"] = 100 * (out["high"] - out["low"]) / out["low"]
    return out


def overlaps(table: pd.DataFrame) -> dict[str, bool]:
    """Per tree: whether every two sub-steps' ranges of means over seeds overlap."""
    result = {}
    for tree, rows in summary(table).groupby(level=0):
        low, high = rows["low"].to_numpy(), rows["high"].to_numpy()
        result[str(tree)] = bool(low.max() <= high.min())
    return result


def main(argv: list[str]) -> int:
    """Parse the command line, run the sweep, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--substeps", type=float, nargs="+", default=[1.0, 5.0, 10.0], help="sub-steps (s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    parser.add_argument("--platoon", type=int, default=5, help="vehicles per platoon (default 5; 1: per vehicle)")
    parser.add_argument("--tree", action="append", default=[], help="a twin source tree to run (repeatable)")
    parser.add_argument("--set", action="append", default=[], help="a traffic option, name=value (repeatable)")
    parser.add_argument("--out", default="", help="write every run's figures to this CSV")
    parser.add_argument("--one", nargs=3, metavar=("PLATOON", "SUBSTEP", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        platoon, substep, seed = args.one
        print(json.dumps(run_one(int(platoon), float(substep), int(seed), parse_settings(args.set))))
        return 0
    table = sweep(args)
    if table.empty:
        return 1
    if args.out:
        table.to_csv(args.out, index=False)
    with pd.option_context("display.width", 160, "display.float_format", "{:.1f}".format):
        print(summary(table))
    for tree, ok in overlaps(table).items():
        print(f"{tree}: the sub-steps' ranges over seeds {'overlap' if ok else 'do NOT overlap'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
