"""Versions of twin on the same workloads: median wall and CPU times and the ratios to the newest, in one run.

``python benchmarks/versions.py [--commits 4274162 HEAD] [--repeats 3]`` checks out every commit into a temporary
``git worktree`` (removed afterwards) and runs every workload in a fresh process of this Python with ``PYTHONPATH``
set to that tree, so each version runs its own code. The runs are interleaved (each version in turn, for every
workload, repeat after repeat), so that the load of other work on the machine falls on all of them alike: on a
shared machine the absolute times move between runs, the ratios measured this way are the figures to keep. The
last commit is the new one; the table gives its times over each earlier one's (below 1: the new one is faster).

Workloads (the same inputs for every version):

- ``engine:<scenario>``: ``CityModel(city, spec).run()`` of a shipped scenario at its own length, the City already
  loaded. The scenario's text is taken from the *first* commit and given to every version, so all engines do the
  same work (a scenario whose later version adds residents or crews runs without them in all). ``first`` is the
  first run in the process (what ``twin run`` pays: the phases' imports included), ``warm`` a second run in the
  same process.
- ``traffic:grid-p5``, ``traffic:grid-p1``: UXsim's 11 x 11 grid (60,984 trips) in platoons of 5 and per vehicle
  with UXsim's route-choice settings, to 7,200 s (the README's traffic-against-peers input;
  ``benchmarks/traffic_vs_peers.py``).
- ``traffic:andorra-p5``, ``traffic:andorra-p1``: 15,000 cars from homes to the eight shelters, departing over an
  hour, one hour in 60 s steps (``benchmarks/traffic.py``).
- ``traffic:chicago-p30``, ``traffic:chicago-p1``: Chicago Sketch (about 1.08 M trips, UXsim's departures) in
  platoons of 30 with 30 s sub-steps and per vehicle with 5 s sub-steps, UXsim's route-choice settings, to
  10,000 s (the README's traffic-against-peers rows); only with ``--chicago`` (the folder of UXsim's CSVs, never
  copied).

The traffic inputs (link table and departures) are built once by this checkout's twin and written to Parquet;
every version reads the same files. Each version compiles the map with its own code, before any timing, into a
folder of its own under ``--map-cache`` (default: a temporary folder): the cache's key does not tell every
version's format apart (``BUILD_VERSION`` stayed 7 when the hydrology arrays changed in the seams work).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("andorra-baseline", "andorra-bridge-closures", "andorra-flood-1982", "andorra-compound")
TRAFFIC = ("grid-p5", "grid-p1", "andorra-p5", "andorra-p1")
CHICAGO = ("chicago-p30", "chicago-p1")
CHICAGO_UNTIL_S = 10_000.0
UXSIM_DUO: dict[str, Any] = {"reroute_every_s": 600.0, "route_memory": 0.5, "route_noise": 0.01}
"""UXsim's route-choice defaults, as in ``benchmarks/traffic_vs_peers.py``."""
GRID_UNTIL_S = 7200.0
ANDORRA_CARS = 15_000


@dataclass(frozen=True)
class Tree:
    """One checked-out version."""

    label: str
    commit: str
    path: Path


# --- the workloads, run in a child process by the twin of PYTHONPATH ---------------------------------------


def child_engine(scenario: Path, cache: Path) -> dict[str, Any]:
    """Engine time of a scenario's run, twice in this process (first, then warm)."""
    from twin.city.build import load_city
    from twin.scenario import load_scenario
    from twin.sim.model import CityModel

    spec = load_scenario(scenario)
    city = load_city(spec.map, cache_dir=cache)
    result: dict[str, Any] = {"drive_links": len(city.drive.links)}
    for run in ("first", "warm"):
        start, cpu = time.perf_counter(), time.process_time()
        model = CityModel(city, spec)
        model.run()
        result[f"{run}_s"], result[f"{run}_cpu_s"] = time.perf_counter() - start, time.process_time() - cpu
        result["steps"] = int(model.step_count)
    return result


def child_traffic(inputs: Path, name: str) -> dict[str, Any]:
    """Simulation time of one traffic workload on the Parquet inputs in ``inputs``."""
    import pandas as pd

    from twin.sim.traffic import TrafficNetwork, TrafficOptions, TrafficSim

    case, platoon = name.rsplit("-p", 1)
    links = pd.read_parquet(inputs / f"{case}-links.parquet")
    demand = pd.read_parquet(inputs / f"{name}-demand.parquet")
    n_nodes = int(json.loads((inputs / f"{case}.json").read_text())["n_nodes"])
    network = TrafficNetwork.from_frames(n_nodes, links)
    duo = UXSIM_DUO if case in ("grid", "chicago") else {}
    step = {"substep_s": float(platoon)} if case == "chicago" and int(platoon) > 5 else {}  # UXsim's step
    options = TrafficOptions(platoon_size=int(platoon), record_links=False, **duo, **step)
    until_s = {"grid": GRID_UNTIL_S, "chicago": CHICAGO_UNTIL_S}.get(case, 3600.0)
    start, cpu = time.perf_counter(), time.process_time()
    sim = TrafficSim(network, demand, options, seed=1)
    while sim.clock_s < until_s - 1e-9:
        sim.step(60.0)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = sim.counts()
    return {
        "first_s": wall,
        "first_cpu_s": cpu,
        "arrived": float(counts["arrived"]),
        "on_network": float(counts["on_network"]),
    }


def child(argv: list[str]) -> int:
    """``_child engine SCENARIO CACHE`` or ``_child traffic INPUTS NAME``: print one JSON line."""
    import twin

    kind, a, b = argv
    result = child_engine(Path(a), Path(b)) if kind == "engine" else child_traffic(Path(a), b)
    result["twin"] = str(Path(twin.__file__).resolve().parents[1])
    print(json.dumps(result))
    return 0


# --- the inputs, built once by this checkout's twin ---------------------------------------------------------


def write_traffic_inputs(folder: Path, chicago: Path | None = None) -> None:
    """The grid and Andorra (and, given its folder, Chicago Sketch) links and departures as Parquet, read by every
    version."""
    import numpy as np
    import pandas as pd
    from traffic import evacuation_trips  # benchmarks/traffic.py's evacuation, the same draws

    from twin.city.build import load_city
    from twin.sim.traffic import TrafficNetwork
    from twin.traffic.peers import grid_11x11, uxsim_departures

    grid = grid_11x11()
    grid.links.to_parquet(folder / "grid-links.parquet")
    (folder / "grid.json").write_text(json.dumps({"n_nodes": len(grid.nodes)}))
    for platoon in (1, 5):
        uxsim_departures(grid.demand, platoon).to_parquet(folder / f"grid-p{platoon}-demand.parquet")
    city = load_city(ROOT / "maps" / "andorra")
    network = TrafficNetwork.from_network(city.drive)
    columns = ("src", "dst", "length_m", "free_speed_mps", "capacity_veh_s", "lanes", "storage_veh", "wave_speed_mps")
    pd.DataFrame({c: getattr(network, c) for c in columns}).to_parquet(folder / "andorra-links.parquet")
    (folder / "andorra.json").write_text(json.dumps({"n_nodes": network.n_nodes}))
    trips = evacuation_trips(city, np.random.default_rng(7), ANDORRA_CARS).reset_index(drop=True)
    trips.to_parquet(folder / "andorra-p1-demand.parquet")
    trips.iloc[::5].to_parquet(folder / "andorra-p5-demand.parquet")
    if chicago is not None:
        from twin.traffic.peers import chicago_sketch

        sketch = chicago_sketch(chicago)
        sketch.links.to_parquet(folder / "chicago-links.parquet")
        (folder / "chicago.json").write_text(json.dumps({"n_nodes": len(sketch.nodes)}))
        for name in CHICAGO:
            platoon = int(name.rsplit("-p", 1)[1])
            uxsim_departures(sketch.demand, platoon).to_parquet(folder / f"{name}-demand.parquet")


# --- the driver ---------------------------------------------------------------------------------------------


def git(*args: str) -> str:
    """Run git in this checkout; stop with git's message on failure."""
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def worktrees(commits: list[str], base: Path) -> Iterator[list[Tree]]:
    """Temporary worktrees of the commits (detached), removed on the way out, also when stopped by a signal."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    trees: list[Tree] = []
    try:
        for commit in commits:
            short = git("rev-parse", "--short", commit)
            path = base / short
            git("worktree", "add", "--detach", "--quiet", str(path), commit)
            trees.append(Tree(short, short, path))
        yield trees
    finally:
        for tree in trees:
            git("worktree", "remove", "--force", str(tree.path))


def run_child(tree: Tree, argv: list[str]) -> dict[str, Any]:
    """One workload in a fresh process with ``tree``'s twin; stop with its error output on failure."""
    env = {**os.environ, "PYTHONPATH": str(tree.path)}
    command = [sys.executable, str(Path(__file__).resolve()), "_child", *argv]
    done = subprocess.run(command, env=env, cwd=tree.path, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree.label} ({tree.commit}) failed on {' '.join(argv[:2])}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["twin"]) != tree.path.resolve():
        raise SystemExit(f"{tree.label}: the child imported twin from {result['twin']}, not from its tree")
    return result


def place_scenarios(trees: list[Tree], old: str, names: list[str]) -> None:
    """Write each scenario's text at the ``old`` commit into every tree (the same work for every engine)."""
    for name in names:
        text = git("show", f"{old}:scenarios/{name}.yaml") + "\n"
        for tree in trees:
            (tree.path / "scenarios" / f"{name}.yaml").write_text(text)


def workload_argv(tree: Tree, workload: str, inputs: Path, cache: Path) -> list[str]:
    kind, name = workload.split(":", 1)
    if kind == "engine":
        return ["engine", str(tree.path / "scenarios" / f"{name}.yaml"), str(cache / tree.label)]
    return ["traffic", str(inputs), name]


def warm_up(trees: list[Tree], workloads: list[str], inputs: Path, cache: Path) -> None:
    """One untimed run of the first workload of each kind per version: compiled maps and bytecode in place."""
    print("warming up (map caches and bytecode of each version; not timed)", flush=True)
    firsts = {w.split(":", 1)[0]: w for w in reversed(workloads)}
    for workload in firsts.values():
        for tree in trees:
            run_child(tree, workload_argv(tree, workload, inputs, cache))


def measure(trees: list[Tree], workloads: list[str], repeats: int, inputs: Path, cache: Path) -> dict[str, Any]:
    """Every workload ``repeats`` times per tree, the trees in turn; the runs by workload and tree."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {w: {t.label: [] for t in trees} for w in workloads}
    for repeat in range(repeats):
        for workload in workloads:
            for tree in trees:
                result = run_child(tree, workload_argv(tree, workload, inputs, cache))
                runs[workload][tree.label].append(result)
                print(f"  repeat {repeat + 1} {workload:<32} {tree.label}: {result['first_s']:.3f} s", flush=True)
    return runs


def table(runs: dict[str, Any], labels: list[str]) -> list[str]:
    """Markdown rows: per workload (first and warm runs for the engine), the medians of wall (and CPU) time of
    each version, and the newest one's over each earlier one's: the median over the repeats of the ratio within
    a repeat (runs next to each other in time, so under the same load)."""
    new, earlier = labels[-1], labels[:-1]
    lines = [
        "| workload | "
        + " | ".join(f"{label}: wall (CPU)" for label in labels)
        + " | "
        + " | ".join(f"{new} / {label}: wall (CPU)" for label in earlier)
        + " | same work |",
        "|---" * (len(labels) + len(earlier) + 2) + "|",
    ]
    for workload, by_label in runs.items():
        engine = workload.startswith("engine:")
        for run in ("first", "warm") if engine else ("first",):
            wall, cpu = f"{run}_s", f"{run}_cpu_s"
            cells = [f"{median(by_label[v], wall):.2f} s ({median(by_label[v], cpu):.2f} s)" for v in labels]
            cells += [
                f"{paired(by_label[new], by_label[v], wall):.2f} ({paired(by_label[new], by_label[v], cpu):.2f})"
                for v in earlier
            ]
            name = f"{workload} ({run} run)" if engine else workload
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {same_work([by_label[v][0] for v in labels])} |")
    return lines


def median(results: list[dict[str, Any]], key: str) -> float:
    """The median of one figure over a version's runs."""
    return float(statistics.median(r[key] for r in results))


def paired(new: list[dict[str, Any]], old: list[dict[str, Any]], key: str) -> float:
    """The median over the repeats of new / old within each repeat."""
    return float(statistics.median(a[key] / b[key] for a, b in zip(new, old, strict=True)))


def same_work(results: list[dict[str, Any]]) -> str:
    """What shows every version did the same work: the engine's steps and links, the traffic's counts."""
    keys = ("steps", "drive_links") if "steps" in results[0] else ("arrived", "on_network")
    shown = ", ".join(f"{k} " + " / ".join(f"{r[k]:,.0f}" for r in results) for k in keys)
    same = all(r[k] == results[0][k] for r in results for k in keys)
    return ", ".join(f"{k} {results[0][k]:,.0f}" for k in keys) if same else "DIFFERENT: " + shown


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/versions.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Workloads: engine:<scenario> for "
        + ", ".join(SCENARIOS)
        + "; traffic:<case> for "
        + ", ".join(TRAFFIC + CHICAGO)
        + " (Chicago only with --chicago)",
    )
    parser.add_argument(
        "--commits",
        nargs="+",
        default=["4274162", "HEAD"],
        metavar="COMMIT",
        help="two or more commits, oldest first; the last is the new one (default 4274162 HEAD)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each workload per version (default 3)")
    parser.add_argument("--only", nargs="*", metavar="WORKLOAD", help="run only these workloads (default: all)")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this JSON file")
    parser.add_argument("--table", type=Path, metavar="JSON", help="only print the table of a --json file")
    parser.add_argument("--map-cache", type=Path, help="keep compiled maps here across runs (default: temporary)")
    parser.add_argument(
        "--chicago", type=Path, metavar="FOLDER", help="folder of UXsim's Chicago Sketch CSVs: adds traffic:chicago-*"
    )
    args = parser.parse_args(argv)
    everything = [f"engine:{s}" for s in SCENARIOS] + [f"traffic:{t}" for t in TRAFFIC]
    chicago = [f"traffic:{t}" for t in CHICAGO]
    unknown = [w for w in args.only or [] if w not in everything + chicago]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose among {', '.join(everything + chicago)}")
    if args.chicago is not None and not (args.chicago / "links.csv").is_file():
        parser.error(f"--chicago {args.chicago}: no links.csv there; give the folder of UXsim's Chicago Sketch CSVs")
    if args.chicago is None and any(w in chicago for w in args.only or []):
        parser.error("the traffic:chicago-* workloads need --chicago FOLDER (UXsim's Chicago Sketch CSVs)")
    everything += chicago if args.chicago is not None else []
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, not {args.repeats}")
    if args.table is not None and not args.table.is_file():
        parser.error(f"--table {args.table}: no such file; give the JSON file a run wrote with --json")
    if len(args.commits) < 2:
        parser.error("--commits takes two or more commits to compare, oldest first, like --commits 4274162 HEAD")
    args.workloads = args.only or everything
    return args


def resolve(commit: str) -> str:
    """The full hash of ``commit``; stop with a clear message when it names no commit of this repository."""
    command = ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmarks/versions.py: error: {commit}: no such commit in this repository (see git log)")
    return done.stdout.strip()


def main(argv: list[str]) -> int:
    """Check out, prepare, measure interleaved, print the table."""
    if argv[:1] == ["_child"]:
        return child(argv[1:])
    args = parse(argv)
    if args.table is not None:
        runs = json.loads(args.table.read_text())
        show(runs, list(next(iter(runs.values()))))
        return 0
    commits = [resolve(c) for c in args.commits]
    with tempfile.TemporaryDirectory(prefix="twin-versions-") as scratch:
        base = Path(scratch)
        cache = args.map_cache.resolve() if args.map_cache else base / "map-cache"
        inputs = base / "inputs"
        cache.mkdir(parents=True, exist_ok=True)
        inputs.mkdir()
        write_traffic_inputs(inputs, args.chicago)
        with worktrees(commits, base) as trees:
            scenarios = [w.split(":", 1)[1] for w in args.workloads if w.startswith("engine:")]
            place_scenarios(trees, commits[0], scenarios)
            warm_up(trees, args.workloads, inputs, cache)
            runs = measure(trees, args.workloads, args.repeats, inputs, cache)
        if args.json is not None:
            args.json.write_text(json.dumps(runs, indent=1))
    show(runs, [t.label for t in trees])
    return 0


def show(runs: dict[str, Any], labels: list[str]) -> None:
    """Print the table of the runs."""
    repeats = len(next(iter(runs.values()))[labels[0]])
    print(f"\nmedians of {repeats} runs per version, interleaved, each in a fresh process")
    print("ratios: the last commit's over each earlier one's, median of the ratios within a repeat (below 1: faster)")
    print("\n".join(table(runs, labels)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
