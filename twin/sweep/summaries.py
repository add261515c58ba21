"""The figures a sweep keeps per run: ``metrics.json`` figures and summaries of time series.

A series is read as twin's metrics read it (:mod:`twin.metrics.resilience`): linear between two records.
So ``mean(X)`` is the trapezoid integral over the span divided by the span, and ``time_below(X, L)`` the
exact time the piecewise-linear curve spends below ``L``: on a segment from ``a`` to ``b`` of length
``dt`` it is ``dt`` if both are below, 0 if neither is, else ``dt (L - a) / (b - a)`` rising
(``dt (a - L) / (a - b)`` falling), the part of the segment before (after) the crossing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import TwinError
from twin.sweep.experiment import SERIES_PATTERN


class MetricMissingError(TwinError):
    """A metric names a figure or series the run does not have (the message says which exist)."""


def extract(metric: str, metrics: dict[str, Any], timeseries: pd.DataFrame) -> float:
    """The value of one metric of a run.

    Raises
    ------
    MetricMissingError
        The figure or series is not in this run's results.
    """
    match = SERIES_PATTERN.match(metric)
    if match is None:
        return _figure(metric, metrics)
    column = match["col"]
    if column not in timeseries.columns:
        known = ", ".join(c for c in timeseries.columns if c != "t_s")
        raise MetricMissingError(f"{metric}: the run has no series {column!r}; its series are {known}")
    t = timeseries["t_s"].to_numpy(float)
    x = timeseries[column].to_numpy(float)
    fn = match["fn"]
    if fn.startswith("time_"):
        level = float(match["level"])
        return time_below(t, x, level) if fn == "time_below" else time_below(t, -x, -level)
    if fn == "mean":
        return _mean(t, x)
    return float({"min": np.min(x), "max": np.max(x), "final": x[-1]}[fn])


def _figure(metric: str, metrics: dict[str, Any]) -> float:
    node: Any = metrics
    for part in metric.split("."):
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
            raise MetricMissingError(f"{metric}: metrics.json has no {part!r} there; it has {known}")
        node = node[part]
    if node is None:  # e.g. time_to_recover_s of a service that never recovered
        return math.nan
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise MetricMissingError(f"{metric}: is not a number in metrics.json")
    return float(node)


def _mean(t: np.ndarray, x: np.ndarray) -> float:
    span = float(t[-1] - t[0])
    return float(x[0]) if span <= 0 else float(np.sum((x[1:] + x[:-1]) * np.diff(t)) / 2.0 / span)


def time_below(t: np.ndarray, x: np.ndarray, level: float) -> float:
    """Seconds the piecewise-linear series ``x(t)`` spends strictly below ``level`` (see the module docstring)."""
    if len(t) < 2:
        return 0.0
    a, b, dt = x[:-1], x[1:], np.diff(t)
    below_a, below_b = a < level, b < level
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where(below_a & ~below_b, dt * (level - a) / (b - a), 0.0)
        falling = np.where(~below_a & below_b, dt * (a - level) / (a - b), 0.0)
    return float(np.sum(np.where(below_a & below_b, dt, 0.0)) + np.sum(rising) + np.sum(falling))
