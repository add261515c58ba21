"""The fuzz harness (``benchmarks/fuzz.py``) tells its outcomes apart: a case over the memory limit, a case that
spins past the CPU limit, one that blocks past the wall-time limit and one that dies of a signal are each reported
as such, with their case number, and the cases after them still run (in a fresh worker)."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import pytest

from benchmarks.fuzz import fuzz


def _judge(index: int, folder: Path, run: bool) -> tuple[str, str]:
    """Synthetic cases: each number behaves in one known way."""
    assert folder.is_dir() and Path.cwd() == folder and not run
    if index == 1:
        bytearray(400 * 1024 * 1024)  # 400 MB: over this test's 200 MB limit
    elif index == 2:
        while True:  # spins: the CPU limit ends it
            pass
    elif index == 3:
        time.sleep(600)  # blocks without CPU: the wall-time limit ends it
    elif index == 4:
        os.kill(os.getpid(), signal.SIGUSR1)  # dies of it (faulthandler would report a SIGSEGV)
    return ("accepted", "") if index % 2 else ("clean error", "")


@pytest.mark.slow  # about 20 s: the wall-time limit must leave the spinning case time to reach its CPU second
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_each_bad_outcome_is_reported_and_the_run_goes_on() -> None:
    args = argparse.Namespace(
        cases=8, seed=0, minutes=None, workers=1, cpu_s=1, wall_s=15.0, memory_mb=200, run_share=0.0,
        cases_per_worker=3,
    )  # fmt: skip
    result = fuzz(args, judge=_judge, preload=False)
    assert result["cases"] == 8
    assert result["counts"] == {"clean error": 2, "accepted": 2, "over 1 GB": 1, "hang": 2, "crash": 1}
    outcomes = {(bad["case"], bad["outcome"]) for bad in result["bad"]}
    assert outcomes == {(1, "over 1 GB"), (2, "hang"), (3, "hang"), (4, "crash")}
    details = {bad["case"]: bad["detail"] for bad in result["bad"]}
    assert (
        "CPU limit" in details[2] and "wall-time limit" in details[3] and f"signal {signal.SIGUSR1.value}" in details[4]
    )
