"""Sensitivity indices of a sweep from SALib: Sobol (first order and total, with confidence intervals) and Morris.

- Sobol: Saltelli et al. (2010) estimators of the first-order index ``S1`` and Jansen's total index ``ST``
  on the ``N x (D + 2)`` Saltelli design, bootstrap confidence intervals (SALib ``analyze.sobol``).
- Morris: the mean of absolute elementary effects ``mu*`` (Campolongo et al. 2007) and their standard
  deviation ``sigma`` (Morris 1991), on the unit cube (SALib ``analyze.morris``): the effect of moving a
  parameter across its whole range.
- Any other design (a Latin hypercube, a grid): the first-order index ``S1`` by RBD-FAST (Tarantola, Gatelli &
  Mara 2006; Plischke 2010; bias-corrected as Tissot & Prieur 2012), which reorders the runs by each parameter
  and reads the share of variance at the first ``M`` harmonics of the reordered output, with bootstrap
  intervals (SALib ``analyze.rbd_fast``, "compatible with all samplers").

Each returns one row per parameter; ``*_conf`` columns are half-widths of 95 % intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.sweep.design import salib_problem


def sobol_indices(names: list[str], y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """``S1``, ``S1_conf``, ``ST``, ``ST_conf`` per parameter (95 % intervals) from a Saltelli design's outputs."""
    from SALib.analyze import sobol

    result = sobol.analyze(salib_problem(names), np.asarray(y, float), calc_second_order=False, seed=seed)
    return pd.DataFrame({k: result[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}, index=names)


def morris_indices(names: list[str], unit: np.ndarray, y: np.ndarray, levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """``mu_star``, ``mu_star_conf`` and ``sigma`` per parameter from a Morris design (unit cube) and its outputs."""
    from SALib.analyze import morris

    result = morris.analyze(
        salib_problem(names), np.asarray(unit, float), np.asarray(y, float), num_levels=levels, seed=seed
    )
    return pd.DataFrame({k: result[k] for k in ("mu_star", "mu_star_conf", "sigma")}, index=names)


#: RBD-FAST's harmonics (SALib's default M) and the fewest points it is run on: with ``N`` points the bias
#: correction subtracts ``lambda / (1 - lambda) (1 - S1)``, ``lambda = 2 M / N`` (Tissot & Prieur 2012), which
#: needs ``N > 2 M`` and is kept to at most ``1 - S1`` by ``N >= 4 M``.
RBD_HARMONICS = 10
RBD_MIN_POINTS = 4 * RBD_HARMONICS


def rbd_fast_indices(names: list[str], unit: np.ndarray, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """``S1`` and ``S1_conf`` (95 %) per parameter from any design's points (unit cube) and outputs.

    Raises
    ------
    ValueError
        With fewer than :data:`RBD_MIN_POINTS` points.
    """
    from SALib.analyze import rbd_fast

    if len(y) < RBD_MIN_POINTS:
        raise ValueError(f"RBD-FAST needs at least {RBD_MIN_POINTS} points")
    problem = salib_problem(names)
    result = rbd_fast.analyze(problem, np.asarray(unit, float), np.asarray(y, float), M=RBD_HARMONICS, seed=seed)
    return pd.DataFrame({k: np.asarray(result[k], float) for k in ("S1", "S1_conf")}, index=names)
