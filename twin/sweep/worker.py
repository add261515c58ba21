"""The worker function of a sweep, the same for the local pool and Dask: one task in, one row out.

A worker process loads each map's City once (from the map's cache) and keeps it for every later task
(:func:`city_of`, a per-process memo keyed by the map folder and its content hash): a task carries only
paths, values and hashes, never a City. A run that raises becomes a failed row with its message; the sweep
goes on.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import RunError, TwinError

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.sim.model import CityModel
    from twin.sweep.plan import Task

STATUS_OK = "ok"
STATUS_FAILED = "failed"


@functools.lru_cache(maxsize=2)
def city_of(folder: str, map_hash: str) -> City:
    """The City of a map folder, loaded once per process (built into the map's cache if it is not there).

    Raises
    ------
    RunError
        If the map on this machine is not the one the sweep was planned with.
    """
    from twin.city.build import load_city

    city = load_city(Path(folder))
    if city.map_hash != map_hash:
        raise RunError(
            f"{folder}: the map on {socket.gethostname()} differs from the one the sweep was planned with "
            f"(hash {city.map_hash[:12]}, expected {map_hash[:12]}); give every worker the same map files"
        )
    return city


def load_map(folder: str, map_hash: str) -> str:
    """Load a map's City into this worker's memo ahead of its tasks; the worker's name (host:pid).

    A worker's warm-up: the benchmark times a new worker's start with it.
    """
    city_of(folder, map_hash)
    return worker_name()


def worker_name() -> str:
    """``host:pid`` of this worker process, the rows' ``worker`` column."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its row (parameters, seed, metrics, status, error, wall time, worker)."""
    start = time.perf_counter()
    row = task.head()
    try:
        row.update(_figures(task))
        row.update(status=STATUS_OK, error="")
    except Exception as exc:  # any failure of one run is recorded in its row; the sweep goes on
        row.update(dict.fromkeys(task.metrics, math.nan))
        row.update(status=STATUS_FAILED, error=error_text(exc))
    row["wall_s"] = time.perf_counter() - start
    row["worker"] = worker_name()
    return row


def error_text(exc: BaseException) -> str:
    """A user's error as its message; anything else with its kind, for a bug report."""
    return str(exc) if isinstance(exc, TwinError) else f"{type(exc).__name__}: {exc}"


def run_folder(task: Task) -> Path | None:
    """Where a kept run goes: ``<runs_dir>/<first 16 digits of its key>``."""
    return None if task.runs_dir is None else Path(task.runs_dir) / task.key[:16]


def _figures(task: Task) -> dict[str, float]:
    from twin.run import run_model
    from twin.scenario import load_scenario
    from twin.sim.model import CityModel
    from twin.sweep.summaries import extract

    spec = load_scenario(task.base, task.overrides)
    city = city_of(task.map_folder, task.map_hash)
    building = time.perf_counter()
    model = CityModel(city, spec, seed=task.seed)
    build_s = time.perf_counter() - building
    folder = run_folder(task)
    try:
        out = folder if task.keep == "all" else None
        results = run_model(model, until_s=task.until_s, out=out, overwrite=True, build_s=build_s)
        return {m: extract(m, results.metrics, results.timeseries) for m in task.metrics}
    except Exception as exc:
        if folder is not None and task.keep != "none":
            _keep_failed(model, folder, exc)
        raise


def _keep_failed(model: CityModel, folder: Path, exc: Exception) -> None:
    """The tables of a failed run as far as it got, its error in the provenance (the folder stays incomplete)."""
    from twin.results import to_jsonable
    from twin.run import results_of, run_provenance
    from twin.runfolder import begin_run_folder

    facts = {**run_provenance(model, model.city), "error": error_text(exc)}
    with contextlib.suppress(Exception):  # the run's own error is the one to report
        begin_run_folder(folder, to_jsonable(facts), overwrite=True)
        results_of(model, facts).write(folder)
