"""Sweep benchmark: runs per second of a sweep of short Andorra runs on a plain loop, 1 and 2 local workers and
a Dask LocalCluster; parallel efficiency, Dask's overhead per task and the largest such sweep in an hour.

The same experiment (the 1982 Valira flood, ``--levels`` peak stages x ``--seeds`` seeds, each run ``--until``
long) runs four ways, each into a fresh sweep folder:

- a plain loop: the worker function called in this process, one task after another (the City loaded once);
- ``run_sweep(workers=1)`` and ``run_sweep(workers=2)``: the local pool, workers forked from the warm forkserver;
- ``run_sweep(dask="local", workers=2)`` (skipped without Dask, or with ``--no-dask``), or ``--dask
  tcp://HOST:PORT`` for a real cluster.

First, a worker's start-up: the seconds from a new one-worker pool to its worker having loaded the City
(:func:`twin.sweep.worker.load_map`), for Python's ``spawn`` (a fresh interpreter importing twin: how twin's
workers started before) and for the ``forkserver`` the pool now uses, alternated ``--startups`` times in this one
run; the very first forkserver start-up also holds the server's own import of twin's task stack, paid once per
sweep. The server then stays up, so every way below starts from it alike.

Wall times include starting the workers and loading the City in each, as a user's sweep does (the server's
one start aside; the efficiency is also given with it charged to both); the mean time of one run inside a
worker (the rows' ``wall_s``) shows what two processes on two cores cost each other. Parallel efficiency is
``rate(2 workers) / (2 x rate(1 worker))``. Dask's overhead per task is the wall time of ``--noop`` no-op tasks
through the same executor divided by their number. Every way's rows are checked to be identical (bit for bit,
wall times and workers aside).

Run: ``python benchmarks/sweep.py [--levels 4] [--seeds 4] [--until 1h] [--startups 2] [--dask local|tcp://HOST:PORT]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from twin.sweep.design import build_design
from twin.sweep.execute import local_pool, warm_forkserver
from twin.sweep.experiment import load_experiment
from twin.sweep.plan import base_facts, plan_tasks
from twin.sweep.runner import run_sweep
from twin.sweep.store import read_results
from twin.sweep.worker import load_map, run_task

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "andorra-flood-1982.yaml"
EXPERIMENT = """name: bench
base: {base}
until: {until}
sampler: grid
replications: {seeds}
parameters:
  hazards[0].hydrograph.peak_stage_m: {{low: 3.0, high: 6.0, n: {levels}}}
metrics: [access.resilience_loss_h, "min(Q_access)", "time_below(Q_power, 0.99)"]
"""


def _noop(x: int) -> int:
    return x


def plain_loop(path: Path) -> tuple[float, pd.DataFrame]:
    """Every task of the experiment through the worker function, in this process; wall time and rows."""
    start = time.perf_counter()
    exp = load_experiment(path)
    tasks = plan_tasks(exp, build_design(exp.spec), base_facts(exp), None)
    rows = [run_task(t) for t in tasks]
    return time.perf_counter() - start, pd.DataFrame(rows)


def start_up(folder: str, map_hash: str, start: str) -> float:
    """Seconds from a new one-worker pool (``spawn`` or ``forkserver``) to its worker having loaded the City."""
    begin = time.perf_counter()
    pool = local_pool(1, start)()
    try:
        pool.submit(load_map, folder, map_hash).result()
    finally:
        pool.shutdown()
    return time.perf_counter() - begin


def start_ups(path: Path, rounds: int, dask: bool) -> tuple[float, list[float], list[float]]:
    """The first forkserver start-up (the server's imports included), then spawn and forkserver alternated."""
    facts = base_facts(load_experiment(path))
    folder = str(facts.map_folder)
    warm_forkserver(extra=("distributed",) if dask else ())
    first = start_up(folder, facts.map_hash, "forkserver")
    spawn, fork = [], []
    for _ in range(rounds):
        spawn.append(start_up(folder, facts.map_hash, "spawn"))
        fork.append(start_up(folder, facts.map_hash, "forkserver"))
    return first, spawn, fork


def timed_sweep(path: Path, out: Path, workers: int, dask: str | None = None) -> tuple[float, pd.DataFrame]:
    """``run_sweep`` into a fresh folder; wall time and rows."""
    start = time.perf_counter()
    summary = run_sweep(path, out=out, workers=workers, dask=dask)
    wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{summary.failed} runs failed; see {out}")
    return wall, read_results(out)


def dask_overhead(address: str, n: int) -> float:
    """Seconds per no-op task through Dask's executor (scheduler round trip, serialisation, bookkeeping)."""
    from twin.sweep.execute import dask_executor

    with dask_executor(address, 2) as (make, _slots):
        executor = make()
        list(executor.map(_noop, range(20)))  # warm the workers
        start = time.perf_counter()
        list(executor.map(_noop, range(n)))
        return (time.perf_counter() - start) / n


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = [c for c in a.columns if c not in ("wall_s", "worker")]
    key = ["point", "replication"]
    left = a[cols].sort_values(key).reset_index(drop=True)
    right = b[cols].sort_values(key).reset_index(drop=True)
    return left.equals(right)


def main(argv: list[str] | None = None) -> int:
    """Print runs per second of each way, the parallel efficiencies, Dask's overhead and the hour's sweep."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=4, help="peak stages (grid points)")
    parser.add_argument("--seeds", type=int, default=4, help="replications per point")
    parser.add_argument("--until", default="1h", help="simulated time per run")
    parser.add_argument("--dask", default="local", help="Dask scheduler (tcp://HOST:PORT) or local")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask measurements")
    parser.add_argument("--noop", type=int, default=500, help="no-op tasks for Dask's overhead")
    parser.add_argument("--startups", type=int, default=2, help="worker start-ups timed per start method")
    args = parser.parse_args(argv)
    for name in ("levels", "seeds", "noop", "startups"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} is a whole number from 1, not {getattr(args, name)}")
    runs = args.levels * args.seeds
    print(f"{runs} runs of {args.until} (Andorra, 1982 flood); load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(EXPERIMENT.format(base=BASE, until=args.until, seeds=args.seeds, levels=args.levels))
        first, spawn, fork = start_ups(path, args.startups, not args.no_dask)
        server = max(0.0, first - min(fork))
        print("a worker's start-up, new process to City loaded (s):")
        print(f"  spawn (a fresh interpreter)   {'  '.join(f'{t:5.2f}' for t in spawn)}")
        print(f"  forkserver (warm server)      {'  '.join(f'{t:5.2f}' for t in fork)}")
        print(f"  the forkserver's own start, once per sweep: about {server:.1f} s (first start-up {first:.2f} s)")
        results = {"plain loop": plain_loop(path)}
        results["1 worker"] = timed_sweep(path, Path(tmp) / "w1", 1)
        results["2 workers"] = timed_sweep(path, Path(tmp) / "w2", 2)
        if not args.no_dask:
            results["Dask, 2 workers"] = timed_sweep(path, Path(tmp) / "dask", 2, dask=args.dask)
        reference = results["plain loop"][1]
        for name, (wall, rows) in results.items():
            same = "same rows" if _same(reference, rows) else "ROWS DIFFER"
            each = rows["wall_s"].mean()
            print(f"  {name:<16} {wall:7.1f} s  {runs / wall:6.3f} runs/s  {each:5.2f} s per run in a worker  ({same})")
        rate1 = runs / results["1 worker"][0]
        rate2 = runs / results["2 workers"][0]
        print(f"parallel efficiency, 2 local workers: {rate2 / (2 * rate1):.0%}")
        wall1, wall2 = results["1 worker"][0] + server, results["2 workers"][0] + server
        print(f"  with the forkserver's start charged to both sweeps: {wall1 / (2 * wall2):.0%}")
        if "Dask, 2 workers" in results:
            print(f"parallel efficiency, Dask 2 workers: {runs / results['Dask, 2 workers'][0] / (2 * rate1):.0%}")
            print(f"Dask overhead per task: {1e3 * dask_overhead(args.dask, args.noop):.2f} ms")
        print(f"largest sweep of such runs in an hour on 2 local workers: {int(3600 * rate2)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
