"""twin's traffic model against UXsim (and SUMO when installed) on the same network and demand, in one run.

Each model runs in its own process (so that peak memory is its own), seed by seed, and reports: wall time, peak
memory (max RSS), trips counted from the input (so a model's rounding shows), trips completed, mean travel time and
mean delay (travel time minus free-flow shortest-path time) of the completed trips.

Run: ``python benchmarks/traffic_vs_peers.py [grid] [chicago PATH] [--seeds 3] [--python-mode]``
(``make bench`` installs the ``bench`` extra with UXsim). SUMO's mesoscopic mode is not run yet.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.traffic.peers import PeerInput, chicago_sketch, expand_demand, grid_11x11

TMAX_S = {"grid": 7200.0, "chicago": 10000.0}


def free_flow_times(case: PeerInput, origin: np.ndarray, destination: np.ndarray) -> np.ndarray:
    """Free-flow shortest-path time of each trip (s)."""
    links = case.links
    graph = sp.csr_matrix((links["length_m"] / links["free_speed_mps"], (links["src"], links["dst"])),
                          shape=(len(case.nodes), len(case.nodes)))
    targets, inverse = np.unique(destination, return_inverse=True)
    times = csgraph.dijkstra(graph.T.tocsr(), indices=targets)  # from each destination on reversed links
    return times[inverse, origin]


def run_twin(case: PeerInput, name: str, platoon: int, seed: int) -> dict[str, float]:
    """twin on the case (its own OD expansion: even departures per OD row)."""
    from twin.sim.traffic import TrafficNetwork, TrafficOptions, simulate

    network = TrafficNetwork.from_frames(len(case.nodes), case.links)
    demand = expand_demand(case.demand, platoon)
    start = time.perf_counter()
    result = simulate(network, demand, TrafficOptions(platoon_size=platoon, record_links=False), seed=seed,
                      until_s=TMAX_S[name])
    wall = time.perf_counter() - start
    trips = result.trips
    done = trips["status"] == "arrived"
    weight = trips["platoon"].to_numpy(float)
    free = free_flow_times(case, trips["origin"].to_numpy(), trips["destination"].to_numpy())
    travel = trips["travel_time_s"].to_numpy(float)
    return _figures(wall, weight, done.to_numpy(), travel, free)


def run_uxsim(case: PeerInput, name: str, deltan: int, seed: int, cpp: bool) -> dict[str, float]:
    """UXsim on the same tables (its OSM importer needs the internet, so it gets twin's node and link tables)."""
    import uxsim

    world = uxsim.World(name="", deltan=deltan, tmax=TMAX_S[name], random_seed=seed, print_mode=0, save_mode=0,
                        show_mode=0, no_cyclic_routing=True, cpp=cpp)
    for i, row in case.nodes.iterrows():
        world.addNode(str(i), float(row["x"]), float(row["y"]))
    for i, row in case.links.iterrows():
        world.addLink(str(i), str(int(row["src"])), str(int(row["dst"])), length=float(row["length_m"]),
                      free_flow_speed=float(row["free_speed_mps"]), jam_density=float(row["jam_density_veh_m"]),
                      number_of_lanes=int(row["lanes"]))
    for row in case.demand.itertuples():
        world.adddemand(str(int(row.orig)), str(int(row.dest)), float(row.t_start), float(row.t_end),
                        volume=float(row.volume))
    start = time.perf_counter()
    world.exec_simulation()
    wall = time.perf_counter() - start
    vehicles = world.analyzer.vehicles_to_pandas() if hasattr(world.analyzer, "vehicles_to_pandas") else None
    trips = world.analyzer.basic_to_pandas()
    del vehicles
    completed = float(trips["completed_trips"].iloc[0])
    return {"wall_s": wall, "completed": completed, "vehicles": float(trips["total_trips"].iloc[0]),
            "mean_travel_time_s": float(trips["average_travel_time"].iloc[0]),
            "mean_delay_s": float(trips["average_delay"].iloc[0])}


def _figures(wall: float, weight: np.ndarray, done: np.ndarray, travel: np.ndarray, free: np.ndarray
             ) -> dict[str, float]:
    w = weight[done]
    return {"wall_s": wall, "completed": float(w.sum()), "vehicles": float(weight.sum()),
            "mean_travel_time_s": float(np.average(travel[done], weights=w)) if w.sum() else float("nan"),
            "mean_delay_s": float(np.average(travel[done] - free[done], weights=w)) if w.sum() else float("nan")}


def one(args: argparse.Namespace) -> None:
    """Run one model once in this process and print its figures as JSON."""
    case = grid_11x11() if args.case == "grid" else chicago_sketch(Path(args.path))
    if args.model == "twin":
        figures = run_twin(case, args.case, args.platoon, args.seed)
    else:
        figures = run_uxsim(case, args.case, args.platoon, args.seed, cpp=args.model == "uxsim-cpp")
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["trips_input"] = case.trips
    print(json.dumps(figures))


def compare(case: str, path: str, seeds: int, python_mode: bool) -> pd.DataFrame:
    """Every model, every seed, each in its own process."""
    platoon = 5 if case == "grid" else 30
    runs = [("twin", platoon), ("twin", 1), ("uxsim-cpp", platoon)] + ([("uxsim-python", platoon)] if python_mode
                                                                       else [])
    rows = []
    for model, size in runs:
        for seed in range(seeds if model != "uxsim-python" else 1):
            command = [sys.executable, __file__, "--one", case, "--path", path, "--model", model,
                       "--platoon", str(size), "--seed", str(seed)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"case": case, "model": model, "platoon": size, "seed": seed, **figures})
            print(f"  {model:13s} platoon {size:2d} seed {seed}: " + ", ".join(
                f"{k} {v:.1f}" for k, v in figures.items()), flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    """Parse the command line, run the comparisons, print the ranges per model."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", default=["grid"], help="grid, and/or chicago (give --path)")
    parser.add_argument("--path", default="", help="folder of the Chicago Sketch CSVs (never copied)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--python-mode", action="store_true", help="also run UXsim's Python mode (slow)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="twin", help=argparse.SUPPRESS)
    parser.add_argument("--platoon", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        args.case = args.one
        one(args)
        return 0
    tables = [compare(case, args.path, args.seeds, args.python_mode) for case in args.cases]
    table = pd.concat(tables)
    summary = table.groupby(["case", "model", "platoon"]).agg(
        wall_s=("wall_s", lambda s: f"{s.min():.2f}-{s.max():.2f}"),
        peak_rss_mb=("peak_rss_mb", "max"), trips_input=("trips_input", "first"),
        completed=("completed", lambda s: f"{s.min():.0f}-{s.max():.0f}"),
        mean_travel_time_s=("mean_travel_time_s", lambda s: f"{s.min():.0f}-{s.max():.0f}"),
        mean_delay_s=("mean_delay_s", lambda s: f"{s.min():.0f}-{s.max():.0f}"),
    )
    print(summary.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
