"""Sobol indices recovered on the Ishigami function (known analytic indices) within SALib's intervals."""

from __future__ import annotations

import numpy as np

from twin.sweep.design import draw_unit
from twin.sweep.indices import morris_indices, sobol_indices

A, B = 7.0, 0.1
# Analytic indices of Ishigami (Ishigami & Homma 1990; Saltelli et al. 2008, "Global Sensitivity Analysis").
_V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
_V1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
_V2 = A**2 / 8
_V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1 = np.array([_V1, _V2, 0.0]) / _V
ST = np.array([_V1 + _V13, _V2, _V13]) / _V


def ishigami(unit: np.ndarray) -> np.ndarray:
    x = -np.pi + 2 * np.pi * unit
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_ishigami_within_its_intervals() -> None:
    unit = draw_unit("sobol", 3, 4096, seed=3)
    table = sobol_indices(["x1", "x2", "x3"], ishigami(unit), seed=3)
    for est, conf, truth in ((table["S1"], table["S1_conf"], S1), (table["ST"], table["ST_conf"], ST)):
        assert (np.abs(est.to_numpy() - truth) <= conf.to_numpy()).all()


def test_morris_ranks_ishigami_x3_as_interacting() -> None:
    unit = draw_unit("morris", 3, 50, seed=2, levels=4)
    table = morris_indices(["x1", "x2", "x3"], unit, ishigami(unit), seed=2)
    assert table["mu_star"].min() > 0
    sigma = table["sigma"].to_dict()
    assert sigma["x3"] > sigma["x2"]  # x3 acts only through x1; x2 is additive
