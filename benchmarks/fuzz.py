"""Fuzz twin's inputs: N mutated scenarios, each in its own process with a time and a memory limit.

    python benchmarks/fuzz.py                      # 10,000 cases, seed 0, one worker per core
    python benchmarks/fuzz.py --cases 2000 --workers 1 --seed 3
    python benchmarks/fuzz.py --minutes 10 --workers 1   # as many cases as fit in 10 minutes
    python benchmarks/fuzz.py --replay 1234        # one case in this process, with its traceback

Each case (:func:`benchmarks.mutations.mutate`, drawn from ``random.Random(f"{seed}:{i}")``) is a shipped scenario
with one to three mutations: plausible values, deleted keys, swapped types, huge and non-finite numbers, unicode,
deep nesting, YAML tags and alias bombs, bad CSVs, bad ``--set`` overrides. The parent loads twin (and the Andorra
map's cache) once and forks workers; a worker takes case numbers one at a time and runs each in its own folder
under its own limits: ``RLIMIT_AS`` set to the worker's size plus ``--memory-mb`` and ``RLIMIT_CPU`` to the CPU it
has used plus ``--cpu-s`` (the kernel ends a case stuck in C as well as in Python). It validates the scenario with
its overrides and, for a share of the accepted ones (``--run-share``), runs it as ``twin run`` for a few steps with
every output written (a crash after validation is a bug too). The parent kills a worker whose case is over
``--wall-s`` of wall time. A worker is replaced after a short run, after any case that is not a clean error or
accepted, after ``--cases-per-worker`` cases and when it has grown by a quarter of the memory limit, so no case
inherits much from those before it; a case is still a pure function of its number (``--replay`` reruns it alone).

Forking a process per case (the first version) cost about 0.6 s a case, most of it copying on write the pages of
the parent (the loaded map, the imported libraries) that each child touched, and tearing them down; the same 200
validation-only cases took 128 s that way and 16 s with workers, one after the other on a 2-core machine at a
load average of 13.

One case in ten is an experiment file (``experiments/``, loaded as ``twin sweep`` loads it) and one in ten the
drill's MSEL (loaded against Andorra as ``twin drill`` loads it), each with mutations of the same kinds, to show
that they go through the same readers with the same limits.

Outcomes: ``clean error`` (the project's error, a TwinError), ``accepted``, ``ran`` (accepted and the short run
finished or stopped with a clean error), ``traceback`` (any other exception), ``hang`` (over the CPU limit, or
over the wall-time limit), ``over 1 GB`` (a MemoryError under the address-space limit), ``crash`` (the child
died of a signal). The counts are printed, with every case that is not clean, accepted or ran; ``--report``
writes them as JSON. The exit code is 1 when any case is a traceback, hang, over the limit or a crash.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout, suppress
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # forked children must not inherit busy BLAS threads
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mutations import Case, mutate, mutate_experiment, mutate_msel

# The parent holds Arrow's thread pool and jemalloc's background thread once the map is loaded; both re-initialise
# in a forked child (pthread_atfork), and a worker that deadlocked anyway would be reported as a hang.
warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded", category=DeprecationWarning)

BAD = ("traceback", "hang", "over 1 GB", "crash")
RUN_STEPS = 3


OTHER_FILES = 10
"""One case in this many is an experiment file (numbers ending in 8) and one a drill MSEL (ending in 9)."""
DRILL = Path(__file__).resolve().parents[1] / "scenarios" / "andorra-flood-drill.yaml"
_CITY: Any = None
"""The drill's map (Andorra), loaded once by :func:`_preload` before the workers fork."""


def case_of(seed: int, index: int) -> Case:
    """Case number ``index`` of the run with ``seed`` (the same on every machine)."""
    rng = random.Random(f"{seed}:{index}")
    if index % OTHER_FILES == OTHER_FILES - 2:
        return mutate_experiment(rng)
    if index % OTHER_FILES == OTHER_FILES - 1:
        return mutate_msel(rng)
    return mutate(rng)


def _check_other(case: Case, path: Path) -> None:
    """Load an experiment file or an MSEL as ``twin sweep`` and ``twin drill`` do (the MSEL against Andorra)."""
    if case.kind == "experiment":
        from twin.sweep.experiment import load_experiment

        load_experiment(path)
        return
    from twin.city.build import load_city
    from twin.drill.msel import load_msel
    from twin.drill.roles import DESKS
    from twin.scenario import load_scenario

    global _CITY
    drill = load_scenario(DRILL)
    if _CITY is None:
        _CITY = load_city(drill.map)
    load_msel(path, _CITY, tuple(DESKS), float(drill.duration_s))


def _short_run_args(path: Path, case: Case, out: Path, spec: Any) -> list[str]:
    until = min(float(spec.duration_s), RUN_STEPS * float(spec.step_s))
    args = ["run", str(path), "--out", str(out), "--until", f"{until}s", "--quiet"]
    for override in case.overrides:
        args += ["--set", override]
    return args


def evaluate(case: Case, folder: Path, run: bool) -> tuple[str, str]:
    """Validate (and maybe run) one case in ``folder``; the outcome and, for a traceback, its last lines."""
    from twin import cli
    from twin.errors import TwinError
    from twin.scenario import load_scenario

    path = case.write(folder)
    try:
        if case.kind != "scenario":
            _check_other(case, path)
            return "accepted", ""
        spec = load_scenario(path, case.overrides)
    except TwinError:
        return "clean error", ""
    except MemoryError:
        return "over 1 GB", ""
    except Exception:
        return "traceback", traceback.format_exc(limit=-6)
    if not run:
        return "accepted", ""
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            cli.main(_short_run_args(path, case, folder / "out", spec))  # TwinError: printed, code 1
    except MemoryError:
        return "over 1 GB", ""
    except Exception:
        return "traceback", "after validation, in the run:\n" + traceback.format_exc(limit=-6)
    return "ran", ""


def _vm_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _limit_case(memory_mb: int, cpu_s: int) -> None:
    """This case's limits, from where the worker stands now: ``memory_mb`` more address space, ``cpu_s`` more CPU.

    Soft limits only (the hard ones stay), so the next case can set its own. Past the memory limit an allocation
    fails (a MemoryError: "over 1 GB"); past the CPU limit the kernel sends SIGXCPU, which ends the worker
    ("hang"), wherever it is stuck, in Python or in C.
    """
    _, hard_as = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vm_bytes() + memory_mb * 1024 * 1024, hard_as))
    _, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(_cpu_s()) + cpu_s, hard_cpu))


Evaluate = Callable[[int, Path, bool], tuple[str, str]]
"""Evaluate case ``i`` in a folder, with or without a short run: its outcome and detail."""


def evaluate_case(index: int, folder: Path, run: bool, seed: int = 0) -> tuple[str, str]:
    """:func:`evaluate` of case ``index`` of ``seed`` (drawn in the worker, so the parent only hands out numbers)."""
    return evaluate(case_of(seed, index), folder, run)


def _worker(orders: int, results: int, work: Path, args: argparse.Namespace, judge: Evaluate) -> None:
    """In a forked worker: take case numbers from ``orders``, answer one JSON line each on ``results``; never returns.

    A worker runs cases one after the other, each in its own folder under its own limits (:func:`_limit_case`).
    It leaves (and the parent starts a fresh one) after a case that is not a clean error or accepted, after a short
    run (a run changes more state than a validation), after ``--cases-per-worker`` cases, and when it has grown by
    a quarter of the memory limit: so that no case inherits much from the ones before it.
    """
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's cleanup: a killed worker just dies
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        start_vm = _vm_bytes()
        with os.fdopen(orders, "r", encoding="ascii") as incoming:
            for done, line in enumerate(incoming, start=1):
                index, run = int(line.split()[0]), line.split()[1] == "run"
                folder = work / f"case-{index}"
                folder.mkdir()
                os.chdir(folder)
                _limit_case(args.memory_mb, args.cpu_s)
                try:
                    outcome, detail = judge(index, folder, run)
                except MemoryError:
                    outcome, detail = "over 1 GB", ""
                except BaseException:
                    outcome, detail = "crash", "the harness failed:\n" + traceback.format_exc(limit=-6)
                os.chdir(work)
                shutil.rmtree(folder, ignore_errors=True)
                grown = _vm_bytes() - start_vm > args.memory_mb * 1024 * 1024 // 4
                leave = run or outcome not in ("clean error", "accepted") or done >= args.cases_per_worker or grown
                answer = {"outcome": outcome, "detail": detail, "leaving": leave}
                os.write(results, json.dumps(answer).encode() + b"\n")
                if leave:
                    break
    except BaseException:
        code = 3
    finally:
        os._exit(code)


def _preload() -> None:
    """Import what every case uses and warm the Andorra map's cache, once, before forking."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    import twin.cli
    import twin.run  # noqa: F401
    from twin.city.build import load_city

    global _CITY
    _CITY = load_city(Path(__file__).resolve().parents[1] / "maps" / "andorra")


def _own_group(pid: int) -> None:
    """Put the child in its own process group (done on both sides of the fork: no race with a kill)."""
    with suppress(OSError):  # the child did it first, or has exited
        os.setpgid(pid, pid)


def _kill(pid: int) -> None:
    """Kill a case's child and whatever it started."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class _Worker:
    """The parent's side of a worker: its pid, its pipes and the case it is on (with when it started)."""

    def __init__(self, pid: int, orders: int, results: int) -> None:
        self.pid, self.orders, self.results = pid, orders, results
        self.index: int | None = None
        self.start = 0.0
        self.buffer = b""
        self.wall_killed = False

    def give(self, index: int, run: bool) -> None:
        self.index, self.start = index, time.monotonic()
        os.write(self.orders, f"{index} {'run' if run else 'check'}\n".encode())

    def close(self) -> None:
        for fd in (self.orders, self.results):
            with suppress(OSError):
                os.close(fd)


def _spawn(work: Path, args: argparse.Namespace, judge: Evaluate, others: list[_Worker]) -> _Worker:
    order_read, order_write = os.pipe()
    result_read, result_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (order_write, result_read):
            os.close(fd)
        for other in others:  # a worker must not hold another's pipes open (its EOF would never come)
            other.close()
        _worker(order_read, result_write, work, args, judge)
    os.close(order_read)
    os.close(result_write)
    _own_group(pid)
    return _Worker(pid, order_write, result_read)


def _death(worker: _Worker, status: int) -> tuple[str, str]:
    """The outcome of the case a worker died on."""
    if worker.wall_killed:
        return (
            "hang",
            "over the wall-time limit (--wall-s; on a busy machine this can be starvation, see the CPU limit)",
        )
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return "hang", f"over the CPU limit (signal {os.WTERMSIG(status)})"
    if os.WIFSIGNALED(status):
        return "crash", f"killed by signal {os.WTERMSIG(status)}"
    return "crash", f"exited with {os.WEXITSTATUS(status)} without an outcome"


def fuzz(args: argparse.Namespace, judge: Evaluate | None = None, preload: bool = True) -> dict[str, Any]:
    """Run the cases; the counts by outcome and the cases that went wrong.

    Parameters
    ----------
    args
        The command line (``cases``, ``seed``, ``minutes``, ``workers``, ``cpu_s``, ``wall_s``, ``memory_mb``,
        ``run_share``, ``cases_per_worker``).
    judge
        What a case is (default: :func:`evaluate_case` of ``args.seed``); the harness's tests give their own.
    preload
        Import twin and load the Andorra map in the parent first, so every worker starts with them.
    """
    if preload:
        _preload()
    real = judge is None  # the shipped mutations: a bad case is listed with them
    if judge is None:
        judge = partial(evaluate_case, seed=args.seed)
    polite = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below when killed politely
    work = Path(tempfile.mkdtemp(prefix="twin-fuzz-"))
    counts: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    workers: list[_Worker] = []
    pick = random.Random(f"run:{args.seed}")
    next_index, started = 0, time.monotonic()

    def record(index: int, outcome: str, detail: str) -> None:
        counts[outcome] += 1
        if outcome in BAD:
            mutations = case_of(args.seed, index).mutations if real else []
            bad.append({"case": index, "outcome": outcome, "mutations": mutations, "detail": detail})
            print(f"case {index}: {outcome}: {mutations}\n{detail}", file=sys.stderr, flush=True)
        done = sum(counts.values())
        if done % 500 == 0:
            print(f"{done} cases, {time.monotonic() - started:.0f} s: {dict(counts)}", file=sys.stderr, flush=True)

    try:
        while next_index < args.cases or any(w.index is not None for w in workers):
            if args.minutes is not None and time.monotonic() - started > 60 * args.minutes:
                args.cases = min(args.cases, next_index)  # the time budget is spent: start no more cases
            while len(workers) < args.workers and next_index < args.cases:
                workers.append(_spawn(work, args, judge, workers))
            for worker in workers:
                if worker.index is None and next_index < args.cases:
                    worker.give(next_index, pick.random() < args.run_share)
                    next_index += 1
            busy = {w.results: w for w in workers if w.index is not None}
            ready, _, _ = select.select(list(busy), [], [], 0.05)
            for fd in ready:
                worker = busy[fd]
                chunk = os.read(fd, 65536)
                worker.buffer += chunk
                if b"\n" in worker.buffer:
                    line, worker.buffer = worker.buffer.split(b"\n", 1)
                    result = json.loads(line)
                    assert worker.index is not None
                    record(worker.index, result["outcome"], result["detail"])
                    worker.index = None
                    if result["leaving"]:  # recycled: wait for it, so that it is given no more cases
                        os.waitpid(worker.pid, 0)
                        worker.close()
                        workers.remove(worker)
                elif not chunk:  # the worker is gone in the middle of a case
                    _, status = os.waitpid(worker.pid, 0)
                    assert worker.index is not None
                    record(worker.index, *_death(worker, status))
                    shutil.rmtree(work / f"case-{worker.index}", ignore_errors=True)
                    worker.close()
                    workers.remove(worker)
            for worker in workers:
                if worker.index is not None and time.monotonic() - worker.start > args.wall_s:
                    worker.wall_killed = True
                    _kill(worker.pid)  # its pipe's EOF then reports the case
    finally:
        for worker in workers:
            _kill(worker.pid)
            worker.close()
            with suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
        shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, polite)
    return {
        "cases": sum(counts.values()),
        "seed": args.seed,
        "wall_s": round(time.monotonic() - started, 1),
        "counts": dict(counts),
        "bad": bad,
    }


def replay(seed: int, index: int, run: bool) -> int:
    """One case in this process: its mutations, its text and its outcome with the whole traceback."""
    case = case_of(seed, index)
    print(f"case {index} of seed {seed}: {case.name} with {case.mutations}")
    folder = Path(tempfile.mkdtemp(prefix="twin-fuzz-replay-"))
    os.chdir(folder)
    outcome, detail = evaluate(case, folder, run)
    print(outcome)
    print(detail)
    print(f"case written in {folder}")
    return 0 if outcome not in BAD else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=None, help="start no case after this many minutes")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cpu-s", type=int, default=60, help="CPU seconds per case (a hang beyond)")
    parser.add_argument("--wall-s", type=float, default=600.0, help="wall seconds per case (a hang beyond)")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address space a case may add (MB)")
    parser.add_argument("--cases-per-worker", type=int, default=200, help="cases a worker runs before a fresh one")
    parser.add_argument("--run-share", type=float, default=0.05, help="share of cases run when accepted")
    parser.add_argument("--report", type=Path, default=None, help="write the counts and bad cases as JSON")
    parser.add_argument("--replay", type=int, default=None, metavar="I", help="replay case I in this process")
    parser.add_argument("--replay-run", action="store_true", help="with --replay: also run it when accepted")
    args = parser.parse_args()
    if args.replay is not None:
        return replay(args.seed, args.replay, args.replay_run)
    result = fuzz(args)
    order = ["clean error", "accepted", "ran", *BAD]
    print(f"{result['cases']} cases (seed {result['seed']}, {result['wall_s']} s):")
    for outcome in order:
        print(f"  {outcome:<12} {result['counts'].get(outcome, 0):>6}")
    if args.report is not None:
        args.report.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if any(result["counts"].get(o) for o in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
