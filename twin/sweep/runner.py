"""``run_sweep``: an experiment's every run, on a local pool or Dask, into a resumable sweep folder.

The library call behind ``twin sweep``: it prints nothing; the caller sees progress through a callback.
Started again on the same folder, it runs only the keys the store does not hold yet.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twin import __version__
from twin.atomic import write_json_atomic, write_parquet_atomic
from twin.sweep.design import Design, build_design
from twin.sweep.execute import Counts, dask_executor, default_workers, local_pool, run_all, warm_forkserver
from twin.sweep.experiment import Experiment, load_experiment
from twin.sweep.plan import BaseFacts, Task, base_facts, plan_tasks
from twin.sweep.store import ResultStore

SWEEP_JSON = "sweep.json"
DESIGN = "design.parquet"
RUNS = "runs"
#: Prefix of the unit-cube columns of ``design.parquet`` (``u:hazards[0].channel_depth_m``).
UNIT_PREFIX = "u:"


@dataclass(frozen=True)
class SweepSummary:
    """What a call of :func:`run_sweep` did.

    Attributes
    ----------
    folder
        The sweep folder.
    total
        Runs in the design (distinct keys).
    skipped
        Runs already in the store (from an earlier, stopped sweep).
    ran
        Runs done by this call.
    failed
        Of those, runs that failed (their rows hold the error).
    """

    folder: Path
    total: int
    skipped: int
    ran: int
    failed: int


def run_sweep(
    experiment: Experiment | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[Counts], None] | None = None,
    batch_size: int = 100,
) -> SweepSummary:
    """Run an experiment's every run not yet in ``out``'s store.

    Parameters
    ----------
    experiment
        A loaded :class:`~twin.sweep.experiment.Experiment` or the path of an experiment file.
    out
        The sweep folder (default ``sweeps/<experiment name>``); an existing one is resumed.
    workers
        Local worker processes (default: the cores), or the LocalCluster's workers with ``dask="local"``.
    dask
        ``tcp://HOST:PORT`` of a Dask scheduler, or ``"local"`` for a LocalCluster; None for the local pool.
    progress
        Called with the :class:`~twin.sweep.execute.Counts` after every run.
    batch_size
        Rows per batch file of the store.

    Raises
    ------
    ScenarioError
        If the experiment or its base scenario is invalid.
    UsageError, RunError
        If the executor cannot start or the folder cannot be written.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(Path(experiment))
    if dask is None:
        warm_forkserver()  # the workers' server imports twin while the sweep is planned
    folder = Path(out) if out is not None else Path("sweeps") / exp.spec.name
    design = build_design(exp.spec)
    facts = base_facts(exp)
    store = ResultStore(folder, batch_size=batch_size)
    tasks = plan_tasks(exp, design, facts, folder / RUNS if exp.spec.keep_runs != "none" else None)
    write_sweep_files(folder, exp, design, facts, tasks)
    done = store.done_keys()
    todo = list({t.key: t for t in tasks if t.key not in done}.values())  # a point drawn twice runs once
    total = len({t.key for t in tasks})
    counts = Counts(total=len(todo))
    report = progress or (lambda _c: None)

    def on_row(row: dict[str, Any]) -> None:
        store.add(row)
        report(counts)

    n = workers if workers is not None else default_workers()
    try:
        with _executor(dask, n) as (make, slots):
            report(counts)
            run_all(todo, make, 2 * slots, on_row, counts)
    finally:
        store.flush()  # Ctrl-C or an error keeps every row that arrived
    return SweepSummary(folder, total, total - len(todo), counts.done, counts.failed)


@contextlib.contextmanager
def _executor(dask: str | None, workers: int) -> Iterator[tuple[Callable[[], Executor], int]]:
    if dask is None:
        yield local_pool(workers), workers
    else:
        with dask_executor(dask, workers) as pair:
            yield pair


def write_sweep_files(folder: Path, exp: Experiment, design: Design, facts: BaseFacts, tasks: list[Task]) -> None:
    """``sweep.json`` (the experiment as run) and ``design.parquet`` (one row per run: key, unit point, values)."""
    spec = exp.spec
    write_json_atomic(
        folder / SWEEP_JSON,
        {
            "twin_version": __version__,
            "experiment_file": str(exp.path),
            "experiment": spec.model_dump(mode="json", exclude_none=True),
            "base": str(exp.base),
            "base_scenario_hash": facts.scenario_hash,
            "map_hash": facts.map_hash,
            "parameters": list(design.names),
            "metrics": list(spec.metrics),
            "sampler": design.method,
            "points": len(design),
            "runs": len(tasks),
        },
    )
    rows: dict[str, Any] = {
        "key": [t.key for t in tasks],
        "point": [t.point for t in tasks],
        "replication": [t.replication for t in tasks],
        "seed": [t.seed for t in tasks],
    }
    for j, name in enumerate(design.names):
        rows[UNIT_PREFIX + name] = [float(design.unit[t.point, j]) for t in tasks]
        rows[name] = [t.values[j] for t in tasks]
    write_parquet_atomic(folder / DESIGN, pd.DataFrame(rows))
