"""Run tasks on a ``concurrent.futures`` executor: a local process pool or Dask distributed.

Workers start warm: forked from a server that has imported the task stack once (:func:`local_pool`), for the
local pool and a Dask LocalCluster alike, and each loads the City once, on its first task.

Both get the same worker function (:func:`twin.sweep.worker.run_task`). At most ``2 x workers`` tasks are in
flight, so a sweep of 100,000 runs holds few futures. A local pool whose worker process dies (killed, out of
memory) breaks as a whole (``BrokenProcessPool``): the pool is started again and every task that was in
flight is submitted again, up to ``retries`` times each, then recorded as failed. Dask reschedules a lost
worker's tasks itself (its ``allowed_failures``); a task it gives up on is recorded as failed.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from twin.errors import UsageError
from twin.sweep.plan import Task
from twin.sweep.worker import STATUS_FAILED, error_text, run_task

Row = dict[str, Any]


@dataclass
class Counts:
    """What the progress display shows."""

    total: int
    done: int = 0
    failed: int = 0
    running: int = 0
    restarts: int = 0


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


#: The module a forkserver imports before it forks any worker (everything a task needs).
WARM_MODULE = "twin.sweep.warm"
#: How the local pool starts its workers: ``forkserver`` (warm, the default) or ``spawn`` (a fresh interpreter).
START_METHODS = ("forkserver", "spawn")


def local_pool(workers: int, start: str = "forkserver") -> Callable[[], Executor]:
    """A factory of process pools whose workers start warm.

    With ``forkserver`` (the default), one server process imports twin's task stack once (:mod:`twin.sweep.warm`)
    and every worker is forked from it: a worker starts in milliseconds and shares the server's imported code
    pages, where ``spawn`` starts a fresh interpreter that imports pandas, SciPy, Mesa and twin before its first
    task (several seconds each). The server is started here, so it imports while the sweep is still planned;
    a restarted pool (after a worker died) forks from the same server. Unlike ``fork`` of the sweep's own
    process, no thread of the parent (the Parquet writer's, the pool's manager) is copied into a worker. Each
    worker still loads the City once, on its first task (:func:`twin.sweep.worker.city_of`).

    Parameters
    ----------
    workers
        Worker processes.
    start
        ``forkserver`` or ``spawn`` (the benchmark compares them).
    """
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if start not in START_METHODS:
        raise UsageError(f"the start method must be one of {', '.join(START_METHODS)}, got {start!r}")
    context = warm_forkserver() if start == "forkserver" else multiprocessing.get_context("spawn")
    return lambda: ProcessPoolExecutor(max_workers=workers, mp_context=context)


def warm_forkserver(extra: tuple[str, ...] = ()) -> multiprocessing.context.BaseContext:
    """The ``forkserver`` context, its server started (once per process) preloading twin's task stack.

    ``__main__`` stays in the preload list, as multiprocessing's default has it: the script that started the
    sweep is imported once by the server, not once per worker. ``extra`` modules (Dask's, for ``--dask local``)
    are preloaded too if the server is not running yet; a running server is reused as it is (a worker imports
    what it lacks).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", WARM_MODULE, *extra])
    from multiprocessing import forkserver

    forkserver.ensure_running()  # returns at once; the server imports in the background
    return context


@contextlib.contextmanager
def dask_executor(address: str, workers: int) -> Iterator[tuple[Callable[[], Executor], int]]:
    """A Dask executor on a scheduler (``tcp://HOST:PORT``) or on a LocalCluster (``local``).

    Yields the executor factory and the number of worker threads the cluster has (the in-flight bound).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            f"--dask {address}: Dask is not installed; install it with pip install 'twin[dask]' "
            "(or pip install 'dask[distributed]'), or run on the local pool with --workers N"
        ) from None

    with _forked_workers() if address == "local" else contextlib.nullcontext():
        yield from _dask_client(address, workers, Client, LocalCluster)


def _dask_client(
    address: str, workers: int, client_type: Callable[..., Any], cluster_type: Callable[..., Any]
) -> Iterator[tuple[Callable[[], Executor], int]]:
    """The body of :func:`dask_executor`: a client on the scheduler or on a new LocalCluster, closed after."""
    cluster = None
    try:
        if address == "local":
            # silence_logs: the nanny's warnings (a slow worker shutdown) would break the progress bar.
            cluster = cluster_type(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = client_type(cluster)
        else:
            client = client_type(address, timeout=30)
    except OSError as exc:
        raise UsageError(
            f"--dask {address}: cannot reach the Dask scheduler ({exc}); start one with 'dask scheduler' and "
            "workers with 'dask worker tcp://HOST:8786', or use --dask local"
        ) from None
    try:
        threads = max(1, sum(client.nthreads().values()))
        executor = client.get_executor(pure=False)
        yield (lambda: executor), threads
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _forked_workers() -> Iterator[None]:
    """While in it, a LocalCluster's nannies fork their workers from the warm forkserver (Dask spawns by default).

    Dask reads ``distributed.worker.multiprocessing-method`` whenever a nanny starts a worker, also when it
    restarts a lost one, so the setting holds for the cluster's whole life.
    """
    import dask

    warm_forkserver(extra=("distributed",))
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        yield


def run_all(
    tasks: Iterable[Task],
    make_executor: Callable[[], Executor],
    slots: int,
    on_row: Callable[[Row], None],
    counts: Counts,
    retries: int = 2,
    work: Callable[[Task], Row] = run_task,
) -> None:
    """Run every task, calling ``on_row`` with each row as it arrives (in completion order).

    Parameters
    ----------
    slots
        How many tasks may be in flight at once (twice the workers keeps them busy).
    retries
        Times a task whose worker died is submitted again before it is recorded as failed.
    work
        The worker function (a module-level function, so the pool can pickle it): :func:`run_task` for a sweep;
        the benchmarks pass a test function (Ishigami's) to time this machinery alone.
    """
    pending = deque(tasks)
    attempts: dict[str, int] = {}
    executor = make_executor()
    inflight: dict[Future[Row], Task] = {}
    try:
        while pending or inflight:
            broken = _fill(executor, pending, inflight, slots, work)
            counts.running = len(inflight)
            if inflight and not broken:
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                broken = _collect(done, inflight, on_row, counts)
            if broken:
                # Every future of a broken pool fails: what was in flight goes again, to a new pool.
                lost = list(inflight.values())
                inflight.clear()
                _shutdown(executor)
                counts.restarts += 1
                _retry(lost, pending, attempts, retries, on_row, counts)
                executor = make_executor()
    finally:
        _shutdown(executor)


def _shutdown(executor: Executor) -> None:
    """Stop an executor without waiting; a local pool also drops the tasks it has not started."""
    if isinstance(executor, ProcessPoolExecutor):
        executor.shutdown(wait=False, cancel_futures=True)
    else:  # Dask's ClientExecutor takes no cancel_futures; the client closes after it
        executor.shutdown(wait=False)


def _retry(
    lost: list[Task],
    pending: deque[Task],
    attempts: dict[str, int],
    retries: int,
    on_row: Callable[[Row], None],
    counts: Counts,
) -> None:
    """Tasks of a broken pool go back to the front of the queue, or become failed rows after ``retries``."""
    again = []
    for task in lost:
        attempts[task.key] = attempts.get(task.key, 0) + 1
        if attempts[task.key] <= retries:
            again.append(task)
        else:
            _record(
                failed_row(task, f"the worker process died {attempts[task.key]} times while running it"), on_row, counts
            )
    pending.extendleft(reversed(again))


def _record(row: Row, on_row: Callable[[Row], None], counts: Counts) -> None:
    counts.done += 1
    counts.failed += row["status"] == STATUS_FAILED
    on_row(row)


def _fill(
    executor: Executor,
    pending: deque[Task],
    inflight: dict[Future[Row], Task],
    slots: int,
    work: Callable[[Task], Row],
) -> bool:
    while pending and len(inflight) < slots:
        task = pending.popleft()
        try:
            inflight[executor.submit(work, task)] = task
        except BrokenProcessPool:
            pending.appendleft(task)
            return True
    return False


def _collect(
    done: set[Future[Row]], inflight: dict[Future[Row], Task], on_row: Callable[[Row], None], counts: Counts
) -> bool:
    """Record the rows of finished futures; True if the pool broke (those tasks stay in ``inflight``)."""
    broken = False
    for future in done:
        try:
            row = future.result()
        except BrokenProcessPool:
            broken = True
            continue
        except Exception as exc:  # Dask gave up on the task (KilledWorker, ...): a failed row
            row = failed_row(inflight[future], error_text(exc))
        del inflight[future]
        _record(row, on_row, counts)
    return broken


def failed_row(task: Task, message: str) -> Row:
    """The row of a task that never returned one."""
    row = task.head()
    row.update(dict.fromkeys(task.metrics, float("nan")))
    row.update(status=STATUS_FAILED, error=message, wall_s=float("nan"), worker="")
    return row
