"""Sweep execution: metric summaries by hand, 12 rows identical bit for bit across worker counts and Dask, resume."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin.sweep.analysis import analyze, load_sweep
from twin.sweep.execute import Counts, run_all
from twin.sweep.plan import Task
from twin.sweep.runner import run_sweep
from twin.sweep.store import read_results
from twin.sweep.summaries import time_below

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "andorra-flood-1982.yaml"
EXP = f"""name: tiny
base: {BASE}
until: 1h
sampler: grid
replications: 3
parameters:
  hazards[0].hydrograph.peak_stage_m: {{levels: [4.0, 6.0]}}
  hazards[0].hydrograph.time_to_peak: {{levels: [1800, 3600]}}
metrics: [access.resilience_loss_h, "min(Q_access)", "time_below(Q_power, 0.99)", "max(links_closed)"]
"""
STABLE = ["key", "point", "replication", "seed", "status", "error"]


def test_time_below_by_hand() -> None:
    t = np.array([0.0, 10.0, 20.0, 30.0])
    x = np.array([1.0, 0.0, 0.0, 1.0])
    # below 0.5: from t=5 (falling crossing) to t=25 (rising crossing)
    assert time_below(t, x, 0.5) == pytest.approx(20.0)
    assert time_below(t, x, 0.0) == 0.0
    assert time_below(t, x, 2.0) == 30.0


def _product_row(task: Task) -> dict[str, Any]:
    row = task.head()
    row.update(y=float(np.prod(task.values)), status="ok", error="")
    return row


def test_run_all_runs_the_worker_function_it_is_given() -> None:
    names = ("a", "b")
    tasks = [Task(f"k{i}", i, 0, 0, names, (i, i + 1.5), "", None, ("y",), "", "", "none", None) for i in range(7)]
    rows: list[dict[str, Any]] = []
    counts = Counts(total=len(tasks))
    run_all(tasks, lambda: ThreadPoolExecutor(2), 4, rows.append, counts, work=_product_row)
    assert sorted((r["point"], r["y"]) for r in rows) == [(i, i * (i + 1.5)) for i in range(7)]
    assert (counts.done, counts.failed) == (7, 0)


def _engine_loaded() -> bool:
    """In a worker: whether the crews phase (imported only when a run is built) is there before any task ran."""
    return "twin.crews.phase" in sys.modules


@pytest.mark.parametrize(("start", "warm"), [("forkserver", True), ("spawn", False)])
def test_pool_workers_are_forked_from_a_server_that_imported_the_task_stack(start: str, warm: bool) -> None:
    from twin.sweep.execute import local_pool

    pool = local_pool(1, start)()
    try:
        assert pool.submit(_engine_loaded).result() is warm
    finally:
        pool.shutdown()


def test_an_unknown_start_method_is_refused() -> None:
    from twin.errors import UsageError
    from twin.sweep.execute import local_pool

    with pytest.raises(UsageError, match="start method must be one of forkserver, spawn, got 'fork'"):
        local_pool(2, "fork")


def _rows(folder: Path) -> pd.DataFrame:
    frame = read_results(folder)
    return frame.drop(columns=["wall_s", "worker"])


@pytest.mark.slow
def test_rows_identical_on_one_and_two_workers_and_a_rerun_skips_every_key(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP, encoding="utf-8")
    one = run_sweep(exp, out=tmp_path / "one", workers=1)
    two = run_sweep(exp, out=tmp_path / "two", workers=2)
    assert (one.ran, one.failed, two.ran) == (12, 0, 12)
    assert read_results(tmp_path / "two")["worker"].nunique() <= 2  # long-lived workers, each with its City
    a, b = _rows(tmp_path / "one"), _rows(tmp_path / "two")
    assert len(a) == 12 and a["key"].is_unique
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["min(Q_access)"].nunique() == 2  # the peak stage matters; the seeds do not change a river flood
    again = run_sweep(exp, out=tmp_path / "two", workers=2)
    assert (again.skipped, again.ran) == (12, 0)
    analysis = analyze(load_sweep(tmp_path / "two"))  # the real folder read back: 4 points, so main effects only
    effects = analysis.effects[analysis.effects["metric"] == "min(Q_access)"].set_index("parameter")
    stage = effects.loc["hazards[0].hydrograph.peak_stage_m"].to_dict()
    assert stage["swing"] > 0 and stage["at_low"] == "6.0"  # a higher river, less access


@pytest.mark.slow
def test_rows_identical_on_a_dask_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="Dask is optional (pip install 'twin[dask]')")
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP, encoding="utf-8")
    run_sweep(exp, out=tmp_path / "pool", workers=1)
    via_dask = run_sweep(exp, out=tmp_path / "dask", workers=2, dask="local")
    assert (via_dask.ran, via_dask.failed) == (12, 0)
    pd.testing.assert_frame_equal(_rows(tmp_path / "pool"), _rows(tmp_path / "dask"), check_exact=True)


def test_dask_missing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.errors import UsageError
    from twin.sweep.execute import dask_executor

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    message = r"Dask is not installed; install it with pip install 'twin\[dask\]'"
    with pytest.raises(UsageError, match=message), dask_executor("local", 1):
        pass


KILLABLE = """
import sys
from twin.sweep.analysis import analyze, load_sweep
from twin.sweep.runner import run_sweep

if __name__ == "__main__":
    run_sweep(sys.argv[1], out=sys.argv[2], workers=1, batch_size=1)
"""


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_holds_every_key_once(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP, encoding="utf-8")
    script = tmp_path / "go.py"
    script.write_text(KILLABLE, encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(exp), str(out)], env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "results").glob("part-*.parquet"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-way
    proc.wait()
    before = read_results(out)
    assert 3 <= len(before) < 12
    summary = run_sweep(exp, out=out, workers=2)
    assert summary.skipped == len(before) and summary.ran == 12 - len(before)
    after = read_results(out)
    frames = [pd.read_parquet(p) for p in sorted((out / "results").glob("part-*.parquet"))]
    written = pd.concat(frames)["key"]
    assert len(after) == 12 and written.is_unique  # no key was ever run (or written) twice
