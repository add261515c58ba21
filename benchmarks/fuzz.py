"""Fuzz twin's inputs: N mutated scenarios, each in its own process with a time and a memory limit.

    python benchmarks/fuzz.py                      # 10,000 cases, seed 0, one worker per core
    python benchmarks/fuzz.py --cases 2000 --workers 1 --seed 3
    python benchmarks/fuzz.py --minutes 10 --workers 1   # as many cases as fit in 10 minutes
    python benchmarks/fuzz.py --replay 1234        # one case in this process, with its traceback

Each case (:func:`benchmarks.mutations.mutate`, drawn from ``random.Random(f"{seed}:{i}")``) is a shipped scenario
with one to three mutations: plausible values, deleted keys, swapped types, huge and non-finite numbers, unicode,
deep nesting, YAML tags and alias bombs, bad CSVs, bad ``--set`` overrides. The parent loads twin (and the Andorra
map's cache) once and forks a child per case; the child sets ``RLIMIT_AS`` to its size plus ``--memory-mb`` and
``RLIMIT_CPU`` to ``--cpu-s``, validates the scenario with its overrides and, for a share of the accepted ones
(``--run-share``), runs it as ``twin run`` for a few steps with every output written (a crash after validation is a
bug too). The parent kills a case after ``--wall-s`` of wall time.

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
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout, suppress
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # forked children must not inherit busy BLAS threads
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mutations import Case, mutate

BAD = ("traceback", "hang", "over 1 GB", "crash")
RUN_STEPS = 3


def case_of(seed: int, index: int) -> Case:
    """Case number ``index`` of the run with ``seed`` (the same on every machine)."""
    return mutate(random.Random(f"{seed}:{index}"))


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


def _child(case: Case, folder: Path, run: bool, memory_mb: int, cpu_s: int, write_fd: int) -> None:
    """In the forked child: limits, the case, the outcome as one JSON line on ``write_fd``; never returns."""
    code = 0
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        limit = _vm_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.chdir(folder)
        outcome, detail = evaluate(case, folder, run)
        os.write(write_fd, json.dumps({"outcome": outcome, "detail": detail}).encode() + b"\n")
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

    load_city(Path(__file__).resolve().parents[1] / "maps" / "andorra")


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


class _Running:
    def __init__(self, index: int, pid: int, read_fd: int, folder: Path) -> None:
        self.index, self.pid, self.read_fd, self.folder = index, pid, read_fd, folder
        self.start = time.monotonic()
        self.wall_killed = False


def _collect(job: _Running, status: int) -> tuple[str, str]:
    data = b""
    while chunk := os.read(job.read_fd, 65536):
        data += chunk
    os.close(job.read_fd)
    shutil.rmtree(job.folder, ignore_errors=True)
    if data:
        result = json.loads(data)
        return result["outcome"], result["detail"]
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL) and not job.wall_killed:
        return "hang", f"over the CPU limit (signal {os.WTERMSIG(status)})"
    if job.wall_killed:
        return (
            "hang",
            "over the wall-time limit (--wall-s; on a busy machine this can be starvation, see the CPU limit)",
        )
    if os.WIFSIGNALED(status):
        return "crash", f"killed by signal {os.WTERMSIG(status)}"
    return "crash", f"exited with {os.WEXITSTATUS(status)} without an outcome"


def fuzz(args: argparse.Namespace) -> dict[str, Any]:
    """Run the cases; the counts by outcome and the cases that went wrong."""
    _preload()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below when killed politely
    work = Path(tempfile.mkdtemp(prefix="twin-fuzz-"))
    counts: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    running: dict[int, _Running] = {}
    pick = random.Random(f"run:{args.seed}")
    next_index, started = 0, time.monotonic()
    try:
        while next_index < args.cases or running:
            if args.minutes is not None and time.monotonic() - started > 60 * args.minutes:
                args.cases = next_index  # the time budget is spent: finish the running cases, start no more
            while next_index < args.cases and len(running) < args.workers:
                case = case_of(args.seed, next_index)
                folder = work / f"case-{next_index}"
                folder.mkdir()
                run = pick.random() < args.run_share
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read_fd)
                    _child(case, folder, run, args.memory_mb, args.cpu_s, write_fd)
                os.close(write_fd)
                _own_group(pid)
                running[pid] = _Running(next_index, pid, read_fd, folder)
                next_index += 1
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                for job in running.values():
                    if time.monotonic() - job.start > args.wall_s:
                        job.wall_killed = True
                        _kill(job.pid)
                time.sleep(0.002)
                continue
            job = running.pop(pid)
            outcome, detail = _collect(job, status)
            counts[outcome] += 1
            if outcome in BAD:
                mutations = case_of(args.seed, job.index).mutations
                bad.append({"case": job.index, "outcome": outcome, "mutations": mutations, "detail": detail})
                print(f"case {job.index}: {outcome}: {mutations}\n{detail}", file=sys.stderr, flush=True)
            done = sum(counts.values())
            if done % 500 == 0:
                print(f"{done} cases, {time.monotonic() - started:.0f} s: {dict(counts)}", file=sys.stderr, flush=True)
    finally:
        for job in running.values():
            _kill(job.pid)
        shutil.rmtree(work, ignore_errors=True)
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
