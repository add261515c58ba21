"""Twin's sweeps beside EMA Workbench's (``ema_workbench`` 3.0): the same models and designs, 2 workers each.

Two models, each through ``twin``'s sweep machinery and through EMA Workbench's ``perform_experiments`` with
its ``MultiprocessingEvaluator`` (2 processes):

1. **Andorra**: a short run of the 1982 Valira flood behind the Santa Coloma wall (a temporary base scenario
   extends ``scenarios/andorra-flood-1982-levee.yaml`` with a flood that rises in ``--rise`` instead of 8 h, so a
   run of ``--until`` sees the peak). Three parameters, as in ``experiments/andorra-flood-levee.yaml``: the
   levers ``interventions[levee].crest_m`` and ``warnings[0].at`` and the uncertainty
   ``hazards[0].hydrograph.peak_stage_m``; a Morris design of ``--trajectories`` trajectories, one seed.
   Twin: an experiment file through ``run_sweep(workers=2)``. EMA: the same run wrapped as an EMA ``Model``
   (a function of the three values that loads the scenario with them as ``--set`` overrides, runs it with the
   library runner on a per-process City and summarises the same metrics with twin's summaries), the levers
   as policies and the uncertainty as scenarios at twin's design points, paired one to one
   (``combine="cycle"``). Checked: every outcome identical at every design point (same seed), then Morris
   ``mu*`` (SALib ``analyze.morris``, as EMA's documentation does it) and extra-trees feature scores (EMA's
   ``get_ex_feature_scores`` against twin's :func:`twin.sweep.features.extra_trees_scores`) from each tool.
2. **Ishigami** (Ishigami & Homma 1990, ``a = 7``, ``b = 0.1``; microseconds per call): the tools' overhead
   per task. Twin: Sobol (Saltelli) points from :func:`twin.sweep.design.draw_unit` as tasks through the
   sweep's executor loop (:func:`twin.sweep.execute.run_all` on the local spawn pool, rows into the Parquet
   store) with the Ishigami function as the worker function. EMA: its own Sobol sampler (``Samplers.SOBOL``,
   no second order) of the same base size. Each tool's Sobol indices (SALib ``analyze.sobol``) are compared
   with the analytic ones (Saltelli et al. 2008, section 4.6: ``S1 = 0.314, 0.442, 0``, ``ST = 0.558, 0.442,
   0.244``).

Wall times include starting the workers (and, for Andorra, loading the City in each), as a user's sweep does.
Overhead per task: the wall time times the workers, less the time spent inside the runs, per run.

Run: ``python benchmarks/sweep_vs_ema.py [--trajectories 5] [--until 2h] [--ishigami-n 256]``. Without
``ema_workbench`` (``pip install 'twin[bench]'``) it says so and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.sweep.plan import Task

ROOT = Path(__file__).resolve().parents[1]
LEVEE = ROOT / "scenarios" / "andorra-flood-1982-levee.yaml"
WORKERS = 2
#: EMA's parameter names (Python identifiers) for twin's parameter paths, levers first.
LEVERS = {"crest_m": "interventions[levee].crest_m", "warning_at_s": "warnings[0].at"}
UNCERTAINTIES = {"peak_stage_m": "hazards[0].hydrograph.peak_stage_m"}
RANGES = {"crest_m": (0.5, 3.0), "warning_at_s": (0.0, 3600.0), "peak_stage_m": (3.5, 6.0)}
#: Outcomes: twin metric -> EMA outcome name.
METRICS = {
    "access.resilience_loss_h": "access_loss_h",
    "min(Q_access)": "min_q_access",
    "max(people_exposed)": "max_people_exposed",
    "max(people_need_rescue)": "max_people_need_rescue",
}
SEED = 1
ISHIGAMI = (7.0, 0.1)
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)

BASE = """extends: {levee}
name: levee-short
hazards:
  - type: river_flood
    rivers: [valira]
    hydrograph: {{peak_stage_m: 4.5, time_to_peak: {rise}, peak_duration: 1h, duration: 6h, shape: trapezoidal}}
    channel_depth_m: 3.0
"""
EXPERIMENT = """name: levee-vs-ema
base: {base}
until: {until}
sampler: {{method: morris, n: {trajectories}, levels: 4, seed: 1}}
replications: 1
seed: {seed}
parameters:
{parameters}
metrics: [{metrics}]
"""


# ------------------------------------------------------------------------------------------- the Andorra model


@functools.lru_cache(maxsize=1)
def _city(folder: str) -> Any:
    """The City of a map, loaded once per EMA worker process (as twin's worker does)."""
    from twin.city.build import load_city

    return load_city(Path(folder))


def andorra_run(base: str, until_s: float, crest_m: float, warning_at_s: float, peak_stage_m: float) -> dict[str, Any]:
    """One twin run as an EMA model function: the values as ``--set`` overrides, the seed fixed.

    Written as a user of both tools would: twin's library API (load_scenario, CityModel, run_model) and
    twin's series summaries, so both tools compute the same figures from the same run.
    """
    from twin.run import run_model
    from twin.scenario import load_scenario
    from twin.sim.model import CityModel
    from twin.sweep.experiment import override_text
    from twin.sweep.summaries import extract

    start = time.perf_counter()
    values = {**dict.fromkeys(LEVERS), **dict.fromkeys(UNCERTAINTIES)}
    values.update(crest_m=crest_m, warning_at_s=warning_at_s, peak_stage_m=peak_stage_m)
    paths = {**LEVERS, **UNCERTAINTIES}
    spec = load_scenario(base, [f"{paths[k]}={override_text(float(v))}" for k, v in values.items()])
    model = CityModel(_city(str(spec.map)), spec, seed=SEED)
    results = run_model(model, until_s=until_s)
    out = {name: extract(metric, results.metrics, results.timeseries) for metric, name in METRICS.items()}
    out["wall_s"] = time.perf_counter() - start
    return out


def twin_andorra(experiment: Path, out: Path) -> tuple[float, pd.DataFrame]:
    """The experiment through ``run_sweep`` on 2 local workers: wall time and rows (in design order)."""
    from twin.sweep.runner import run_sweep
    from twin.sweep.store import read_results

    start = time.perf_counter()
    summary = run_sweep(experiment, out=out, workers=WORKERS)
    wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{summary.failed} twin runs failed; see {out}")
    return wall, read_results(out).sort_values("point").reset_index(drop=True)


def ema_andorra(base: Path, until_s: float, design: pd.DataFrame) -> tuple[float, pd.DataFrame, dict[str, Any]]:
    """Twin's design points through EMA's perform_experiments on 2 processes: wall, experiments, outcomes."""
    from ema_workbench import (
        Constant,
        Model,
        MultiprocessingEvaluator,
        RealParameter,
        Sample,
        ScalarOutcome,
        perform_experiments,
    )

    model = Model("twin_andorra", function=andorra_run)
    model.levers = [RealParameter(k, *RANGES[k]) for k in LEVERS]
    model.uncertainties = [RealParameter(k, *RANGES[k]) for k in UNCERTAINTIES]
    model.constants = [Constant("base", str(base)), Constant("until_s", until_s)]
    model.outcomes = [ScalarOutcome(name) for name in [*METRICS.values(), "wall_s"]]
    policies = [Sample(**{k: float(row[LEVERS[k]]) for k in LEVERS}) for _, row in design.iterrows()]
    scenarios = [Sample(**{k: float(row[UNCERTAINTIES[k]]) for k in UNCERTAINTIES}) for _, row in design.iterrows()]
    start = time.perf_counter()
    with MultiprocessingEvaluator(model, n_processes=WORKERS) as evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=scenarios, policies=policies, evaluator=evaluator, combine="cycle"
        )
    return time.perf_counter() - start, experiments, outcomes


def compare_andorra(args: argparse.Namespace, tmp: Path) -> None:
    """Run the Andorra sweep both ways and print the table rows and the checks."""
    from twin.sweep.features import extra_trees_scores
    from twin.sweep.indices import morris_indices

    base = tmp / "levee-short.yaml"
    base.write_text(BASE.format(levee=LEVEE, rise=args.rise), encoding="utf-8")
    paths = {**LEVERS, **UNCERTAINTIES}
    parameters = "\n".join(f"  {paths[k]}: {{low: {RANGES[k][0]}, high: {RANGES[k][1]}}}" for k in paths)
    metrics = ", ".join(f'"{m}"' for m in METRICS)
    experiment = tmp / "levee-vs-ema.yaml"
    experiment.write_text(
        EXPERIMENT.format(
            base=base,
            until=args.until,
            trajectories=args.trajectories,
            seed=SEED,
            parameters=parameters,
            metrics=metrics,
        ),
        encoding="utf-8",
    )
    from twin.city.build import load_city
    from twin.scenario import load_scenario
    from twin.sweep.experiment import load_experiment

    load_city(load_scenario(base).map)  # the map's cache built before either tool is timed
    exp = load_experiment(experiment)
    until_s = float(exp.spec.until or 0)
    twin_wall, rows = twin_andorra(experiment, tmp / "twin-sweep")
    design = pd.read_parquet(tmp / "twin-sweep" / "design.parquet").sort_values("point").reset_index(drop=True)
    ema_wall, experiments, outcomes = ema_andorra(base, until_s, design)
    n = len(rows)
    same_points = all(
        np.array_equal(experiments[k].to_numpy(float), design[p].to_numpy(float)) for k, p in paths.items()
    )
    same = {
        m: np.array_equal(rows[m].to_numpy(float), np.asarray(outcomes[name], float)) for m, name in METRICS.items()
    }
    print(
        f"\nAndorra: {n} runs of {args.until} (Morris, {args.trajectories} trajectories, seed {SEED}), "
        f"{WORKERS} workers"
    )
    print("| tool | wall | per run | one run inside a worker | overhead per run |")
    print("|---|---|---|---|---|")
    for name, wall, inside in (
        ("twin sweep (local pool)", twin_wall, rows["wall_s"].to_numpy(float)),
        ("EMA perform_experiments (MultiprocessingEvaluator)", ema_wall, np.asarray(outcomes["wall_s"], float)),
    ):
        overhead = (WORKERS * wall - inside.sum()) / n
        print(f"| {name} | {wall:.1f} s | {wall / n:.2f} s | {inside.mean():.2f} s | {overhead:.2f} s |")
    print(f"design points the same in both: {same_points}; outcomes identical per point: {same}")
    names = list(paths)
    unit = design[[f"u:{paths[k]}" for k in names]].to_numpy(float)
    x = design[[paths[k] for k in names]].set_axis(names, axis=1)
    print("| metric | parameter | twin mu* | EMA mu* | twin extra-trees | EMA extra-trees |")
    print("|---|---|---|---|---|---|")
    for metric, name in METRICS.items():
        y_twin, y_ema = rows[metric].to_numpy(float), np.asarray(outcomes[name], float)
        if np.ptp(y_twin) == 0:
            print(f"| {metric} | (every run {y_twin[0]:.3g}: no sensitivity to measure) | | | | |")
            continue
        mu_twin = morris_indices(names, unit, y_twin)["mu_star"]
        mu_ema = _ema_morris(experiments[names], y_ema)
        trees_twin, _ = extra_trees_scores(x, y_twin)
        trees_ema = _ema_feature_scores(experiments[names], y_ema)
        for k in names:
            score = float(trees_twin.loc[k, "score"])
            print(f"| {metric} | {k} | {mu_twin[k]:.4g} | {mu_ema[k]:.4g} | {score:.2f} | {trees_ema[k]:.2f} |")


def _ema_morris(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """Morris mu* the way EMA's documentation computes it: SALib on the experiments, EMA's problem."""
    from ema_workbench import RealParameter
    from ema_workbench.em_framework.salib_samplers import get_SALib_problem
    from SALib.analyze import morris

    problem = get_SALib_problem([RealParameter(k, *RANGES[k]) for k in x.columns])
    result = morris.analyze(problem, x.to_numpy(float), y, num_levels=4, seed=0)
    return pd.Series(result["mu_star"], index=list(x.columns))


def _ema_feature_scores(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """EMA's extra-trees feature scores (regression), seeded."""
    from ema_workbench.analysis import feature_scoring

    scores, _forest = feature_scoring.get_ex_feature_scores(
        x, y, mode=feature_scoring.RuleInductionType.REGRESSION, random_state=0
    )
    return scores.iloc[:, 0]


# ------------------------------------------------------------------------------------------- Ishigami


def ishigami(x1: float, x2: float, x3: float) -> dict[str, float]:
    """Ishigami & Homma (1990): ``sin x1 + a sin^2 x2 + b x3^4 sin x1``, ``a = 7``, ``b = 0.1``, x in [-pi, pi]."""
    a, b = ISHIGAMI
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)}


def ishigami_row(task: Task) -> dict[str, Any]:
    """Twin's worker function for the Ishigami tasks: the task's row with ``y`` (as :func:`run_task` returns)."""
    row = task.head()
    row.update(ishigami(*task.values), status="ok", error="", wall_s=0.0, worker=str(os.getpid()))
    return row


def twin_ishigami(n: int, folder: Path) -> tuple[float, pd.DataFrame]:
    """Saltelli points through twin's executor loop and store on 2 spawned workers; wall and indices."""
    from twin.sweep.design import draw_unit
    from twin.sweep.execute import Counts, local_pool, run_all
    from twin.sweep.indices import sobol_indices
    from twin.sweep.store import ResultStore, read_results

    names = ("x1", "x2", "x3")
    unit = draw_unit("sobol", 3, n, seed=1)
    points = -math.pi + 2 * math.pi * unit
    tasks = [_task(i, names, tuple(float(v) for v in p)) for i, p in enumerate(points)]
    start = time.perf_counter()
    store = ResultStore(folder, batch_size=1000)
    run_all(tasks, local_pool(WORKERS), 2 * WORKERS, store.add, Counts(total=len(tasks)), work=ishigami_row)
    store.flush()
    wall = time.perf_counter() - start
    y = read_results(folder).sort_values("point")["y"].to_numpy(float)
    return wall, sobol_indices(list(names), y, seed=0)


def _task(point: int, names: tuple[str, ...], values: tuple[float, ...]) -> Task:
    key = hashlib.sha256(repr((names, values)).encode()).hexdigest()
    return Task(key, point, 0, 0, names, values, "", None, ("y",), "", "", "none", None)


def ema_ishigami(n: int) -> tuple[float, pd.DataFrame, int]:
    """EMA's Sobol sampler of base size ``n`` through its MultiprocessingEvaluator; wall, indices, runs."""
    from ema_workbench import (
        Model,
        MultiprocessingEvaluator,
        RealParameter,
        Samplers,
        ScalarOutcome,
        perform_experiments,
    )
    from ema_workbench.em_framework.salib_samplers import get_SALib_problem
    from SALib.analyze import sobol

    model = Model("ishigami", function=ishigami)
    model.uncertainties = [RealParameter(k, -math.pi, math.pi) for k in ("x1", "x2", "x3")]
    model.outcomes = [ScalarOutcome("y")]
    start = time.perf_counter()
    with MultiprocessingEvaluator(model, n_processes=WORKERS) as evaluator:
        experiments, outcomes = perform_experiments(
            model,
            scenarios=n,
            evaluator=evaluator,
            uncertainty_sampling=Samplers.SOBOL,
            uncertainty_sampling_kwargs={"calc_second_order": False},
        )
    wall = time.perf_counter() - start
    problem = get_SALib_problem(model.uncertainties)
    result = sobol.analyze(problem, np.asarray(outcomes["y"], float), calc_second_order=False, seed=0)
    frame = pd.DataFrame({k: result[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}, index=problem["names"])
    return wall, frame, len(experiments)


def compare_ishigami(n: int, tmp: Path) -> None:
    """Ishigami both ways at base sizes ``n / 4`` and ``n``: start-up and overhead per task, and the indices.

    Each tool's wall time is fit as ``start-up + runs x per-task`` through its two sizes (the slope is the
    overhead per task of the pool and bookkeeping once running; Ishigami itself takes microseconds).
    """
    small = max(8, n // 4)
    twin_walls, ema_walls, runs = [], [], []
    for i, size in enumerate((small, n)):
        twin_wall, twin_ix = twin_ishigami(size, tmp / f"ishigami-{i}")
        ema_wall, ema_ix, count = ema_ishigami(size)
        twin_walls.append(twin_wall)
        ema_walls.append(ema_wall)
        runs.append(count)
    print(f"\nIshigami: {runs[0]} and {runs[1]} runs (Sobol, base sizes {small} and {n}), {WORKERS} workers")
    print("| tool | wall (small, large) | start-up | overhead per task |")
    print("|---|---|---|---|")
    for name, walls in (
        ("twin (executor loop + Parquet store)", twin_walls),
        ("EMA (MultiprocessingEvaluator)", ema_walls),
    ):
        per_task = (walls[1] - walls[0]) / (runs[1] - runs[0])
        start = walls[0] - per_task * runs[0]
        print(f"| {name} | {walls[0]:.2f} s, {walls[1]:.2f} s | {start:.2f} s | {1e3 * per_task:.2f} ms |")
    print(f"| index | analytic | twin ± 95 % (N = {n}) | EMA ± 95 % (N = {n}) |")
    print("|---|---|---|---|")
    for i, k in enumerate(("x1", "x2", "x3")):
        for index, exact in (("S1", ISHIGAMI_S1[i]), ("ST", ISHIGAMI_ST[i])):
            t, e = twin_ix.loc[k], ema_ix.loc[k]
            print(
                f"| {index}({k}) | {exact:.3f} | {t[index]:.3f} ± {t[index + '_conf']:.3f} | "
                f"{e[index]:.3f} ± {e[index + '_conf']:.3f} |"
            )


def main(argv: list[str] | None = None) -> int:
    """Print the two comparisons (Markdown tables) or say that ema_workbench is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=5, help="Morris trajectories of the Andorra sweep")
    parser.add_argument("--until", default="2h", help="simulated time per Andorra run")
    parser.add_argument("--rise", default="1h", help="time to the flood's peak in the short base scenario")
    parser.add_argument("--ishigami-n", type=int, default=256, help="Sobol base size of the Ishigami sweep")
    parser.add_argument("--skip-andorra", action="store_true", help="only the Ishigami overhead comparison")
    args = parser.parse_args(argv)
    try:
        import ema_workbench
    except ImportError:
        print("ema_workbench is not installed (pip install 'twin[bench]'); nothing to compare")
        return 0
    warnings.filterwarnings("ignore", module="ema_workbench")
    print(f"ema_workbench {ema_workbench.__version__}; load average {os.getloadavg()[0]:.1f} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        compare_ishigami(args.ishigami_n, Path(tmp))
        if not args.skip_andorra:
            compare_andorra(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
