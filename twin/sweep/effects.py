"""Main effects of a sweep's parameters on a metric, for any design: what a tornado chart draws.

A parameter's main effect is the mean of the metric conditional on the parameter, ``E[Y | X_i]``, estimated by
the mean of the runs in each bin of ``X_i`` (the partition estimator behind first-order sensitivity indices,
Sobol' 1993's ``Var(E[Y | X_i])``; Plischke 2010, "An effective algorithm for computing global sensitivity
indices (EASI)"). A parameter with at most ``MAX_LEVELS`` distinct values (a grid's levels, Morris's grid) gets
one bin per value; a continuous one ``MAX_LEVELS`` bins of equal counts by rank. The tornado bar of a parameter
spans its smallest and largest bin mean,

    low_i = min_b mean(Y | X_i in b),   high_i = max_b mean(Y | X_i in b),   swing_i = high_i - low_i,

and the bars are drawn longest first (the tornado diagram of decision analysis, Howard 1988, "Decision
analysis: practice and promise"; Eschenbach 1992, "Spiderplots versus tornado diagrams"). Unlike a one-at-a-time
tornado, the other parameters vary too: on a full grid the bin means are exact marginal means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A parameter with at most this many distinct values is binned by value; more, into this many rank bins.
MAX_LEVELS = 10


def bins_of(values: pd.Series) -> np.ndarray:
    """The bin index of each run for one parameter (see the module docstring)."""
    distinct = pd.unique(values)
    if len(distinct) <= MAX_LEVELS:
        order = {v: i for i, v in enumerate(sorted(distinct, key=_sort_key))}
        return np.array([order[v] for v in values], dtype=np.int64)
    ranks = values.rank(method="first").to_numpy(float) - 1.0
    return np.minimum((ranks * MAX_LEVELS / len(values)).astype(np.int64), MAX_LEVELS - 1)


def _sort_key(value: object) -> tuple[int, float, str]:
    """Numbers in numeric order, then text in text order (levels may be either)."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def main_effects(params: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Per parameter: ``low``, ``high`` (the extreme bin means), ``swing`` and the values at those bins.

    Parameters
    ----------
    params
        One column per parameter, one row per run.
    y
        The metric per run (NaN rows are left out).

    Returns
    -------
    DataFrame
        Indexed by parameter, sorted by ``swing`` (largest first), with ``low``, ``high``, ``swing``,
        ``at_low`` and ``at_high`` (a representative parameter value of each extreme bin: its median run's)
        and ``bins``.
    """
    keep = y.notna().to_numpy()
    values, metric = params.loc[keep], y.loc[keep].to_numpy(float)
    rows = []
    for name in params.columns:
        column = values[name].reset_index(drop=True)
        bins = bins_of(column)
        means = pd.Series(metric).groupby(bins).mean()
        labels, mean = means.index.to_numpy(np.int64), means.to_numpy(float)
        lo, hi = int(labels[mean.argmin()]), int(labels[mean.argmax()])
        rows.append(
            {
                "parameter": name,
                "low": float(means[lo]),
                "high": float(means[hi]),
                "swing": float(means[hi] - means[lo]),
                "at_low": _representative(column[bins == lo]),
                "at_high": _representative(column[bins == hi]),
                "bins": len(means),
            }
        )
    frame = pd.DataFrame(rows).set_index("parameter")
    return frame.sort_values("swing", ascending=False, kind="stable")


def _representative(values: pd.Series) -> str:
    """A bin's label: its one value, or its median for a numeric range of values (as text, for any type)."""
    distinct = pd.unique(values)
    if len(distinct) == 1:
        return str(distinct[0])
    return f"{float(np.median(values.to_numpy(float))):.4g}"
