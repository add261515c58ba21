"""Scenario discovery: which box of parameter values holds the runs where a metric crosses a level.

PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999, "Bump hunting in high-dimensional data"),
as used for scenario discovery (Bryant & Lempert 2010, "Thinking inside the box"), from the ``prim`` package
(the standalone port of the EMA Workbench's PRIM, Kwakkel 2017). PRIM peels the parameter space, a few
percent of the runs at a time (``peel_alpha``), keeping the box whose runs are most often cases of interest.
Along the peeling trajectory, for a box ``B`` and the cases of interest ``C``:

    coverage = |C in B| / |C|,   density = |C in B| / |B|,   mass = |B| / n.

The box reported is the one with the highest coverage among those whose density reaches ``min_density``
(Bryant & Lempert's trade-off between the two), or the densest one if none does.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The density the reported box must reach (if any box on the trajectory does).
MIN_DENSITY = 0.8


@dataclass(frozen=True)
class Discovery:
    """PRIM's box for one condition.

    Attributes
    ----------
    condition
        The condition in words (``min(Q_access) < 0.5``).
    cases, runs
        Runs that meet the condition, and runs analysed (with a value of the metric).
    limits
        Restricted parameters: ``min``, ``max`` and PRIM's quasi-p value of each restriction.
    coverage, density, mass
        Of the reported box (see the module docstring).
    trajectory
        The peeling trajectory: ``coverage``, ``density``, ``mass`` and ``res dim`` per step.
    chosen
        The step of the trajectory reported.
    params, is_case
        What PRIM was given: the parameter values and the case flag of each run.
    """

    condition: str
    cases: int
    runs: int
    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    trajectory: pd.DataFrame
    chosen: int
    params: pd.DataFrame
    is_case: np.ndarray


def discover(
    params: pd.DataFrame, cases: np.ndarray, condition: str, min_density: float = MIN_DENSITY
) -> Discovery | str:
    """PRIM's box for the runs flagged in ``cases``; a sentence instead when there is nothing to find.

    Parameters
    ----------
    params
        Numeric parameter values, one row per run.
    cases
        True for the runs meeting the condition.
    condition
        The condition in words, for the result.
    min_density
        See the module docstring.
    """
    import prim

    cases = np.asarray(cases, dtype=bool)
    if not cases.any():
        return f"no run has {condition}: nothing to discover"
    if cases.all():
        return f"every run has {condition}: no parameter box separates them"
    logging.getLogger("prim").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # the package's pandas idioms warn on new pandas; the numbers are right
        warnings.simplefilter("ignore")
        box = prim.Prim(params.reset_index(drop=True).astype(float), cases, threshold_type=">").find_box()
        trajectory = box.peeling_trajectory.astype(float).reset_index(drop=True)
        chosen = choose_box(trajectory, min_density)
        box.select(chosen)
        limits = box.limits.rename(columns={"qp values": "qp_value"})
    row = trajectory.iloc[chosen]
    return Discovery(
        condition=condition,
        cases=int(cases.sum()),
        runs=len(cases),
        limits=limits[["min", "max", "qp_value"]].astype(float),
        coverage=float(row["coverage"]),
        density=float(row["density"]),
        mass=float(row["mass"]),
        trajectory=trajectory,
        chosen=chosen,
        params=params.reset_index(drop=True),
        is_case=cases,
    )


def choose_box(trajectory: pd.DataFrame, min_density: float) -> int:
    """The step with the highest coverage among those with ``density >= min_density`` (else the densest)."""
    dense = trajectory.index[trajectory["density"] >= min_density]
    if len(dense) == 0:
        return int(trajectory["density"].to_numpy().argmax())
    return int(trajectory.loc[dense, "coverage"].idxmax())
