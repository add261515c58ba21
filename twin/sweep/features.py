"""Extra-trees feature scoring: which parameters a metric depends on, from any design and every run.

The scoring EMA Workbench offers as ``feature_scoring.get_ex_feature_scores`` (Kwakkel 2017, "The Exploratory
Modeling Workbench", Environmental Modelling & Software 96; Jaxa-Rozen & Kwakkel 2018 compare it with Sobol
indices): an ensemble of extremely randomized trees (Geurts, Ernst & Wehenkel 2006, Machine Learning 63) is fit
to the runs, metric against parameters, and a parameter's score is its mean decrease in impurity (Breiman
2001): the reduction of the squared error its splits bring, summed over each tree's nodes, normalised to 1 per
tree and averaged over the trees (scikit-learn's ``ExtraTreesRegressor.feature_importances_``). Scores sum
to 1; an input the metric does not depend on scores near 0, because no split on it reduces the error except
by chance.

100 trees, 60 % of the parameters tried at each split (scikit-learn rounds down, at least one), bootstrap
samples and the out-of-bag R² (how much of the metric's variance the forest explains on runs it did not see: a
low R² means the scores rank noise). EMA Workbench 3.0's ``get_ex_feature_scores`` also grows 100 trees on
bootstrap samples but tries ``round(D / 3)`` parameters per split and asks leaves of ``round(sqrt(N / 1000))``
runs (at least one), after Jaxa-Rozen & Kwakkel (2018): with three parameters and fewer than about 2,250 runs
both try one parameter per split and give the same scores for the same seed (``benchmarks/sweep_vs_ema.py``).

``conf`` is the half-width of a 95 % interval of the mean over trees, ``1.96 sd / sqrt(trees)`` of the per-tree
scores. Unlike Sobol or Morris indices it needs no special design: a grid, a Latin hypercube or the runs of a
Morris design all do, replications included (each run is a row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: EMA Workbench's defaults for ``get_ex_feature_scores``.
TREES = 100
MAX_FEATURES = 0.6
#: Fewest runs the forest is fit on: below that, out-of-bag estimates rest on a handful of runs.
MIN_RUNS = 20


def extra_trees_scores(x: pd.DataFrame, y: np.ndarray, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """Per parameter (column of ``x``), its extra-trees score and the 95 % half-width; and the out-of-bag R².

    Parameters
    ----------
    x
        One row per run, one numeric column per parameter (unit-cube coordinates or values).
    y
        The metric of each run (finite).
    seed
        Seeds the forest: the same runs and seed give the same scores.

    Raises
    ------
    ValueError
        With fewer than :data:`MIN_RUNS` runs, or a ``y`` that does not vary.
    """
    from sklearn.ensemble import ExtraTreesRegressor

    values = np.asarray(y, dtype=np.float64)
    if len(values) < MIN_RUNS:
        raise ValueError(f"extra-trees scoring needs at least {MIN_RUNS} runs with a value, got {len(values)}")
    if np.ptp(values) == 0.0:
        raise ValueError("the metric has the same value in every run")
    forest = ExtraTreesRegressor(
        n_estimators=TREES, max_features=MAX_FEATURES, bootstrap=True, oob_score=True, random_state=seed, n_jobs=1
    )
    forest.fit(x.to_numpy(dtype=np.float64), values)
    per_tree = np.array([tree.feature_importances_ for tree in forest.estimators_])
    scores = pd.DataFrame(
        {
            "score": forest.feature_importances_,
            "conf": 1.96 * per_tree.std(axis=0, ddof=1) / np.sqrt(len(per_tree)),
        },
        index=list(x.columns),
    )
    return scores, float(forest.oob_score_)
