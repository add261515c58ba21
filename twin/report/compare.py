"""Variants and seeds: grouping run folders into variants and the table of metric differences between them.

Runs are grouped into variants by their scenario: the same name and the same resolved scenario once the seed (and
the output folder) are set aside, so the seeds of one scenario are one variant and any changed key makes another.
``--group LABEL=PATTERN`` groups by folder path instead (shell patterns, e.g. ``levee=runs/levee-*``). The first
variant given is the baseline every other one is compared with.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import UsageError
from twin.metrics import service_names
from twin.report.runfolder import RunData, service_key
from twin.report.stats import difference_interval, mean_interval

#: Figures compared, from each run's metrics.json; time to recover in hours in the table.
METRICS = ("robustness", "resilience_loss_h", "resilience_index", "time_to_recover_h", "people_hours_without_service")
#: Keys of the resolved scenario that do not make a different variant.
NOT_VARIANT_KEYS = ("seed", "outputs")
TABLE_COLUMNS = (
    "variant",
    "runs",
    "seeds",
    "service",
    "metric",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "delta",
    "delta_rel",
    "delta_ci_low",
    "delta_ci_high",
    "delta_df",
    "real",
)


@dataclass
class Variant:
    """The runs of one variant (one per seed), in the order given."""

    label: str
    runs: list[RunData] = field(default_factory=list)

    @property
    def seeds(self) -> list[Any]:
        """The seeds of the runs, from their provenance."""
        return [run.results.provenance.get("seed") for run in self.runs]


def variant_key(run: RunData) -> tuple[str, str]:
    """Scenario name and a digest of the resolved scenario without its seed and output folder."""
    scenario = {k: v for k, v in run.results.scenario.items() if k not in NOT_VARIANT_KEYS}
    digest = hashlib.sha256(json.dumps(scenario, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return run.name, digest


def group_by_scenario(runs: Sequence[RunData]) -> list[Variant]:
    """Variants by scenario (name + resolved scenario minus seed), in the order of their first run.

    Two variants of the same name (e.g. run with different ``--set`` overrides) are labelled ``name``, ``name #2``.
    """
    variants: dict[tuple[str, str], Variant] = {}
    names: dict[str, int] = {}
    for run in runs:
        key = variant_key(run)
        if key not in variants:
            names[key[0]] = names.get(key[0], 0) + 1
            label = key[0] if names[key[0]] == 1 else f"{key[0]} #{names[key[0]]}"
            variants[key] = Variant(label)
        variants[key].runs.append(run)
    return list(variants.values())


def group_by_patterns(runs: Sequence[RunData], patterns: Sequence[str]) -> list[Variant]:
    """Variants from ``LABEL=PATTERN`` options: a run belongs to the first pattern its folder path matches.

    Raises
    ------
    UsageError
        On a malformed option, or a run folder that no pattern matches (all problems at once).
    """
    problems: list[str] = []
    pairs: list[tuple[str, str]] = []
    for option in patterns:
        label, sep, pattern = option.partition("=")
        if not sep or not label.strip() or not pattern.strip():
            problems.append(f"--group {option!r}: write LABEL=PATTERN, e.g. --group levee='runs/levee-*'")
        else:
            pairs.append((label.strip(), pattern.strip()))
    variants = {label: Variant(label) for label, _ in pairs}
    for run in runs:
        matched = next((lb for lb, pattern in pairs if fnmatch.fnmatch(str(run.folder), pattern)), None)
        if matched is None:
            if pairs:
                problems.append(f"{run.folder}: matches no --group pattern; add one or leave the folder out")
            continue
        variants[matched].runs.append(run)
    if problems:
        raise UsageError("twin compare: cannot group the runs", problems)
    return [v for v in variants.values() if v.runs]


def run_span_s(run: RunData) -> float:
    """Simulated time a run covers: its last record (a run stopped early with ``--until`` covers less)."""
    series = run.results.timeseries
    return float(series["t_s"].iloc[-1]) if len(series) else 0.0


def comparability_warnings(runs: Sequence[RunData]) -> list[tuple[str, dict[str, str]]]:
    """What makes the runs' figures not comparable, as (string key, fields) of :mod:`twin.report.strings`.

    Resilience loss, people-hours without service and the index are integrals over the run (Bruneau et al.
    2003), so runs over different spans differ by the span alone; runs on different maps (map hash) mix the
    cities with the variants. Both are allowed (a planner may mean it) but said, on the page and the terminal.
    """
    warnings: list[tuple[str, dict[str, str]]] = []
    spans = {run.folder.name: run_span_s(run) for run in runs}
    if len(set(spans.values())) > 1:
        text = ", ".join(f"{name} {span / 3600:g} h" for name, span in spans.items())
        warnings.append(("cmp_warn_span", {"spans": text}))
    maps = {run.folder.name: str(run.results.provenance.get("map_hash", ""))[:12] for run in runs}
    if len(set(maps.values())) > 1:
        names = {run.folder.name: Path(str(run.results.scenario.get("map", "?"))).name for run in runs}
        text = ", ".join(f"{folder} {names[folder]} ({digest})" for folder, digest in maps.items())
        warnings.append(("cmp_warn_maps", {"maps": text}))
    return warnings


def run_figures(run: RunData, service: str) -> dict[str, float]:
    """The compared figures of one run and service (NaN where the run has none, e.g. never recovered)."""
    figures = run.results.metrics.get(service) or {}
    recover = figures.get("time_to_recover_s")
    values = {
        "robustness": figures.get("robustness"),
        "resilience_loss_h": figures.get("resilience_loss_h"),
        "resilience_index": figures.get("resilience_index"),
        "time_to_recover_h": None if recover is None else float(recover) / 3600.0,
        "people_hours_without_service": figures.get("people_hours_without_service"),
    }
    return {k: math.nan if v is None else float(v) for k, v in values.items()}


def services(variants: Sequence[Variant]) -> list[str]:
    """Every service any run measured, in the usual order."""
    found = {s for v in variants for r in v.runs for s in service_names(r.results.metrics)}
    return sorted(found, key=service_key)


def comparison_table(variants: Sequence[Variant]) -> pd.DataFrame:
    """One row per variant, service and metric: mean and 95 % interval over the seeds, and the difference to the
    baseline (the first variant) with its Welch interval; ``real`` when that interval excludes 0.

    ``delta_rel`` is the difference over the baseline's mean (NaN when that mean is 0).
    """
    rows = []
    baseline = variants[0]
    for service in services(variants):
        base_values = _values(baseline, service)
        for variant in variants:
            values = _values(variant, service)
            for metric in METRICS:
                rows.append(_row(variant, service, metric, values[metric], base_values[metric]))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _values(variant: Variant, service: str) -> dict[str, np.ndarray]:
    per_run = [run_figures(run, service) for run in variant.runs]
    return {m: np.array([figures[m] for figures in per_run], dtype=np.float64) for m in METRICS}


def _row(variant: Variant, service: str, metric: str, values: np.ndarray, base: np.ndarray) -> dict[str, Any]:
    mean = mean_interval(values)
    delta = difference_interval(base, values)
    base_mean = float(np.nanmean(base)) if np.isfinite(base).any() else math.nan
    relative = delta.estimate / abs(base_mean) if base_mean not in (0.0,) and math.isfinite(base_mean) else math.nan
    return {
        "variant": variant.label,
        "runs": len(variant.runs),
        "seeds": " ".join(str(s) for s in variant.seeds),
        "service": service,
        "metric": metric,
        "n": int(np.isfinite(values).sum()),
        "mean": mean.estimate,
        "ci_low": mean.low,
        "ci_high": mean.high,
        "delta": delta.estimate,
        "delta_rel": relative,
        "delta_ci_low": delta.low,
        "delta_ci_high": delta.high,
        "delta_df": delta.df,
        "real": delta.excludes_zero,
    }


def mean_curves(variant: Variant) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per service, Q(t) of the variant on its first run's record times: mean over the seeds and (min, max) band."""
    first = variant.runs[0].results.timeseries
    t = first["t_s"].to_numpy(dtype=np.float64)
    out = {}
    for column in (c for c in first.columns if str(c).startswith("Q_") and first[c].notna().any()):
        stack = np.vstack([_on_grid(run.results.timeseries, str(column), t) for run in variant.runs])
        out[str(column)[2:]] = (t, stack.mean(axis=0), np.vstack([stack.min(axis=0), stack.max(axis=0)]))
    return out


def _on_grid(series: pd.DataFrame, column: str, t: np.ndarray) -> np.ndarray:
    """One run's Q on the record times ``t`` (linear between its own records; NaN where it has no such column)."""
    if column not in series.columns:
        return np.full(t.size, np.nan)
    return np.interp(t, series["t_s"].to_numpy(np.float64), series[column].to_numpy(np.float64))
