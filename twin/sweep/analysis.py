"""``twin sweep analyze DIR``: a sweep folder's sensitivity indices, main effects and scenario discovery.

What is computed, per metric kept by the sweep:

- sensitivity indices on the design the sweep drew (:mod:`twin.sweep.indices`): Sobol ``S1``/``ST`` for a
  ``sobol`` (Saltelli) design, Morris ``mu*``/``sigma`` for a ``morris`` design, RBD-FAST ``S1`` for any
  other; each on the mean of the point's replications, with 95 % intervals;
- main effects for every design (:mod:`twin.sweep.effects`), the tornado chart's bars;
- a summary with the share of the metric's variance that the seeds alone cause, by the law of total
  variance over design points ``p``: ``Var(Y) = E[Var(Y | p)] + Var(E[Y | p])``, the seed share being
  ``E[Var(Y | p)] / Var(Y)`` (population variances; not measured with one replication);
- extra-trees feature scores for every design (:mod:`twin.sweep.features`, EMA Workbench's feature scoring),
  fit on every successful run with a value, with the forest's out-of-bag R²;
- scenario discovery with PRIM (:mod:`twin.sweep.discovery`) for a condition such as ``min(Q_access) < 0.5``.

Failed runs and runs without a value (NaN) are left out of the means; an index that needs every design point
(Sobol, Morris) is not computed for a metric missing at some point, and the analysis says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import UsageError
from twin.sweep.effects import main_effects
from twin.sweep.experiment import SEED
from twin.sweep.indices import morris_indices, rbd_fast_indices, sobol_indices
from twin.sweep.runner import DESIGN, SWEEP_JSON, UNIT_PREFIX
from twin.sweep.store import read_results
from twin.sweep.worker import STATUS_OK

_CONDITION = re.compile(r"^\s*(?P<metric>.+?)\s*(?P<op><|>)\s*(?P<level>[-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class SweepData:
    """A sweep folder read back: one row per run of the design, with its metrics (NaN where none)."""

    folder: Path
    names: tuple[str, ...]
    metrics: tuple[str, ...]
    sampler: str
    morris_levels: int
    seed: int
    runs: pd.DataFrame
    discovery: dict[str, Any] | None

    @property
    def points(self) -> int:
        """Design points (a point's replications share it)."""
        return int(self.runs["point"].max()) + 1 if len(self.runs) else 0

    def unit(self) -> np.ndarray:
        """``(points, D)`` unit-cube coordinates of the design, in point order."""
        first = self.runs.drop_duplicates("point").sort_values("point")
        return first[[UNIT_PREFIX + n for n in self.names]].to_numpy(float)

    def point_means(self, metric: str) -> np.ndarray:
        """The metric's mean over each point's successful replications (NaN for a point with none)."""
        ok = self.runs[self.runs["status"] == STATUS_OK]
        means = ok.groupby("point")[metric].mean()
        return means.reindex(range(self.points)).to_numpy(float)

    def ok_runs(self) -> pd.DataFrame:
        """Runs that succeeded."""
        return self.runs[self.runs["status"] == STATUS_OK].reset_index(drop=True)


FEATURE_COLUMNS = ["metric", "parameter", "score", "conf", "oob_r2"]


@dataclass
class Analysis:
    """What :func:`analyze` found; the tables are what ``analysis/*.parquet`` hold."""

    data: SweepData
    summary: pd.DataFrame
    indices: pd.DataFrame
    effects: pd.DataFrame
    features: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FEATURE_COLUMNS))
    notes: list[str] = field(default_factory=list)
    discovery: Any = None  # a twin.sweep.discovery.Discovery, or a sentence saying why there is none


def load_sweep(folder: Path | str) -> SweepData:
    """Read a sweep folder written by ``twin sweep``.

    Raises
    ------
    UsageError
        If the folder is not a sweep folder or holds no results yet.
    """
    folder = Path(folder)
    manifest = folder / SWEEP_JSON
    try:
        facts = json.loads(manifest.read_text(encoding="utf-8"))
        design = pd.read_parquet(folder / DESIGN)
    except FileNotFoundError as exc:
        raise UsageError(
            f"{folder}: not a sweep folder ({Path(exc.filename or manifest).name} is missing); "
            "give the folder 'twin sweep EXP.yaml --out DIR' wrote"
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: cannot read the sweep folder: {exc}") from None
    results = read_results(folder)
    if results.empty:
        raise UsageError(f"{folder}: the sweep has no results yet; run 'twin sweep EXP.yaml --out {folder}' first")
    metrics = tuple(facts["metrics"])
    names = tuple(n for n in facts["parameters"] if n != SEED)
    kept = results[["key", *metrics, "status", "error"]]
    runs = design.merge(kept, on="key", how="left", validate="many_to_one")
    runs["status"] = runs["status"].fillna("not run")
    experiment = facts.get("experiment", {})
    sampler = experiment.get("sampler", {})
    return SweepData(
        folder=folder,
        names=names,
        metrics=metrics,
        sampler=str(facts["sampler"]),
        morris_levels=int(sampler.get("levels", 4)),
        seed=int(sampler.get("seed", 0)),
        runs=runs,
        discovery=experiment.get("discovery"),
    )


def parse_condition(text: str, metrics: tuple[str, ...]) -> tuple[str, str, float]:
    """``"min(Q_access) < 0.5"`` -> ``("min(Q_access)", "<", 0.5)``.

    Raises
    ------
    UsageError
        If the text is not ``METRIC < LEVEL`` or ``METRIC > LEVEL`` with a metric the sweep kept.
    """
    match = _CONDITION.match(text)
    if match is None:
        raise UsageError(f"--discover {text!r}: expected METRIC < LEVEL or METRIC > LEVEL, e.g. 'min(Q_access) < 0.5'")
    metric = match["metric"]
    if metric not in metrics:
        raise UsageError(f"--discover {text!r}: the sweep kept no metric {metric!r}; it kept {', '.join(metrics)}")
    return metric, match["op"], float(match["level"])


def analyze(data: SweepData, condition: str | None = None, min_density: float = 0.8) -> Analysis:
    """Indices, main effects, the seed share and (with a condition) PRIM's box for a sweep.

    Parameters
    ----------
    condition
        ``METRIC < LEVEL`` or ``METRIC > LEVEL``; default: the experiment's ``discovery:``, if any.
    min_density
        The density PRIM's reported box must reach (see :mod:`twin.sweep.discovery`).
    """
    notes: list[str] = []
    if not data.names:
        raise UsageError(f"{data.folder}: the sweep varies only the seed; there is no parameter to analyse")
    summary = pd.DataFrame([_summary_row(data, m) for m in data.metrics]).set_index("metric")
    index_tables, effect_tables, feature_tables = [], [], []
    for metric in data.metrics:
        table, note = metric_indices(data, metric)
        if note:
            notes.append(note)
        if table is not None:
            index_tables.append(table)
        effect_tables.append(_effects_of(data, metric))
        scores, note = metric_features(data, metric)
        if note:
            notes.append(note)
        if scores is not None:
            feature_tables.append(scores)
    analysis = Analysis(
        data=data,
        summary=summary,
        indices=pd.concat(index_tables, ignore_index=True) if index_tables else _empty_indices(),
        effects=pd.concat(effect_tables, ignore_index=True),
        features=(
            pd.concat(feature_tables, ignore_index=True) if feature_tables else pd.DataFrame(columns=FEATURE_COLUMNS)
        ),
        notes=notes,
    )
    text = condition if condition is not None else _experiment_condition(data)
    if text is not None:
        analysis.discovery = _discover(data, text, min_density, notes)
    return analysis


def metric_indices(data: SweepData, metric: str) -> tuple[pd.DataFrame | None, str | None]:
    """The metric's sensitivity indices as long rows (``metric, parameter, index, value, conf``), or why none."""
    y = data.point_means(metric)
    names = list(data.names)
    missing = int(np.isnan(y).sum())
    method = {"sobol": "Sobol", "morris": "Morris"}.get(data.sampler, "RBD-FAST")
    if missing and data.sampler in ("sobol", "morris"):
        return None, (
            f"{metric}: {missing} of {len(y)} design points have no value (failed runs or no figure); "
            f"{method} indices need every point"
        )
    if np.nanstd(y) == 0.0:
        return None, f"{metric}: the same value at every point; no index to compute"
    try:
        if data.sampler == "sobol":
            wide = sobol_indices(names, y, seed=data.seed)
            pairs = [("S1", "S1_conf"), ("ST", "ST_conf")]
        elif data.sampler == "morris":
            wide = morris_indices(names, data.unit(), y, levels=data.morris_levels, seed=data.seed)
            wide["sigma_conf"] = np.nan
            pairs = [("mu_star", "mu_star_conf"), ("sigma", "sigma_conf")]
        else:
            keep = ~np.isnan(y)
            wide = rbd_fast_indices(names, data.unit()[keep], y[keep], seed=data.seed)
            pairs = [("S1", "S1_conf")]
    except (ValueError, ZeroDivisionError, IndexError) as exc:  # SALib's word on a design it cannot use
        return None, f"{metric}: no {method} indices from {len(y) - missing} points ({exc})"
    rows = [
        {"metric": metric, "parameter": p, "method": method, "index": k, "value": wide.at[p, k], "conf": wide.at[p, c]}
        for k, c in pairs
        for p in names
    ]
    return pd.DataFrame(rows), None


def metric_features(data: SweepData, metric: str) -> tuple[pd.DataFrame | None, str | None]:
    """The metric's extra-trees feature scores as long rows (``metric, parameter, score, conf, oob_r2``), or why none.

    Every successful run with a value is a row; the parameters enter as their unit-cube coordinates (the
    trees split on order only, so this equals their values, and level parameters need no encoding).
    """
    from twin.sweep.features import extra_trees_scores

    ok = data.ok_runs()
    ok = ok[ok[metric].notna()]
    x = ok[[UNIT_PREFIX + n for n in data.names]].set_axis(list(data.names), axis=1)
    try:
        scores, r2 = extra_trees_scores(x, ok[metric].to_numpy(float), seed=data.seed)
    except ValueError as exc:
        return None, f"{metric}: no extra-trees feature scores ({exc})"
    rows = scores.rename_axis("parameter").reset_index()
    rows.insert(0, "metric", metric)
    rows["oob_r2"] = r2
    return rows[FEATURE_COLUMNS], None


def _empty_indices() -> pd.DataFrame:
    return pd.DataFrame(columns=["metric", "parameter", "method", "index", "value", "conf"])


def seed_share(point: np.ndarray, y: np.ndarray) -> float:
    """``E[Var(Y | p)] / Var(Y)`` (see the module docstring); NaN when ``Y`` does not vary or no point has two runs."""
    frame = pd.DataFrame({"p": point, "y": y}).dropna()
    total = float(frame["y"].var(ddof=0)) if len(frame) else 0.0
    weights = frame.groupby("p").size()
    if total == 0.0 or len(weights) == 0 or weights.max() < 2:  # no variance, or no point with two seeds
        return float("nan")
    within = frame.groupby("p")["y"].var(ddof=0)
    return float((within * weights).sum() / weights.sum() / total)


def _summary_row(data: SweepData, metric: str) -> dict[str, Any]:
    values = data.runs[metric].where(data.runs["status"] == STATUS_OK)
    finite = values.dropna()
    return {
        "metric": metric,
        "runs": len(values),
        "with_value": len(finite),
        "mean": float(finite.mean()) if len(finite) else np.nan,
        "sd": float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
        "min": float(finite.min()) if len(finite) else np.nan,
        "max": float(finite.max()) if len(finite) else np.nan,
        "seed_share": seed_share(data.runs["point"].to_numpy(), values.to_numpy(float)),
    }


def _effects_of(data: SweepData, metric: str) -> pd.DataFrame:
    ok = data.ok_runs()
    effects = main_effects(ok[list(data.names)], ok[metric])
    effects.insert(0, "metric", metric)
    return effects.reset_index()


def _experiment_condition(data: SweepData) -> str | None:
    spec = data.discovery
    if not spec:
        return None
    if spec.get("below") is not None:
        return f"{spec['metric']} < {spec['below']}"
    return f"{spec['metric']} > {spec['above']}"


def _discover(data: SweepData, text: str, min_density: float, notes: list[str]) -> Any:
    from twin.sweep.discovery import discover

    metric, op, level = parse_condition(text, data.metrics)
    ok = data.ok_runs()
    ok = ok[ok[metric].notna()].reset_index(drop=True)
    numeric = [n for n in data.names if pd.api.types.is_numeric_dtype(ok[n]) and not pd.api.types.is_bool_dtype(ok[n])]
    skipped = [n for n in data.names if n not in numeric]
    if skipped:
        notes.append(f"PRIM looks at numeric parameters only; left out: {', '.join(skipped)}")
    if not numeric:
        return "no numeric parameter for PRIM to restrict"
    values = ok[metric].to_numpy(float)
    cases = values < level if op == "<" else values > level
    return discover(ok[numeric], cases, f"{metric} {op} {level:g}", min_density)


def check_folder(folder: Path) -> None:
    """Refuse a path that is not a folder, before any work."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such sweep folder; give the folder 'twin sweep EXP.yaml --out DIR' wrote")


__all__ = [
    "Analysis",
    "SweepData",
    "analyze",
    "check_folder",
    "load_sweep",
    "metric_features",
    "metric_indices",
    "parse_condition",
    "seed_share",
]
