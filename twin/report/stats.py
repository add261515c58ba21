"""Confidence intervals across seeds: Student's t for one variant's mean, Welch's t for a difference of two."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval (NaN bounds when none can be given)."""

    estimate: float
    low: float
    high: float
    df: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0 (the difference is real at the interval's level)."""
        return bool(np.isfinite(self.low) and np.isfinite(self.high) and (self.low > 0.0 or self.high < 0.0))


def _finite(values: npt.ArrayLike) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def _t_quantile(level: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2.0, df))


def mean_interval(values: npt.ArrayLike, level: float = LEVEL) -> Interval:
    r"""The mean of ``values`` and its Student t confidence interval.

    .. math:: \bar x \pm t_{1-\alpha/2,\,n-1}\, \frac{s}{\sqrt n}, \qquad s^2 = \frac{1}{n-1}\sum (x_i - \bar x)^2

    Non-finite values (a figure a run could not give, e.g. a time to recover that never came) are left out.

    Parameters
    ----------
    values
        One figure per run (seed).
    level
        Confidence level, 0.95 for a 95 % interval.

    Returns
    -------
    Interval
        The mean, the bounds (NaN with fewer than two values) and the degrees of freedom n - 1.

    References
    ----------
    Student (1908). The probable error of a mean. Biometrika 6(1), 1-25.
    """
    v = _finite(values)
    if v.size == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan)
    mean = float(v.mean())
    if v.size < 2:
        return Interval(mean, math.nan, math.nan, math.nan)
    half = _t_quantile(level, v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return Interval(mean, mean - half, mean + half, float(v.size - 1))


def difference_interval(a: npt.ArrayLike, b: npt.ArrayLike, level: float = LEVEL) -> Interval:
    r"""The difference of means :math:`\bar b - \bar a` and its Welch confidence interval (unequal variances).

    .. math:: (\bar b - \bar a) \pm t_{1-\alpha/2,\,\nu}\, \sqrt{\frac{s_a^2}{n_a} + \frac{s_b^2}{n_b}}, \qquad
              \nu = \frac{\left(s_a^2/n_a + s_b^2/n_b\right)^2}
                         {\frac{(s_a^2/n_a)^2}{n_a - 1} + \frac{(s_b^2/n_b)^2}{n_b - 1}}

    (Welch-Satterthwaite degrees of freedom). When both variants vary not at all across their seeds the
    standard error is 0 and the interval is the difference itself.

    Parameters
    ----------
    a, b
        One figure per run of the baseline and of the variant; non-finite values are left out.
    level
        Confidence level.

    Returns
    -------
    Interval
        The difference, its bounds (NaN when either side has fewer than two values) and :math:`\nu`.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different population variances
    are involved. Biometrika 34(1-2), 28-35. Satterthwaite, F. E. (1946). Biometrics Bulletin 2(6), 110-114.
    """
    va, vb = _finite(a), _finite(b)
    if va.size == 0 or vb.size == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan)
    delta = float(vb.mean() - va.mean())
    if va.size < 2 or vb.size < 2:
        return Interval(delta, math.nan, math.nan, math.nan)
    sa, sb = float(va.var(ddof=1)) / va.size, float(vb.var(ddof=1)) / vb.size
    if sa + sb == 0.0:
        return Interval(delta, delta, delta, math.inf)
    df = (sa + sb) ** 2 / (sa**2 / (va.size - 1) + sb**2 / (vb.size - 1))
    half = _t_quantile(level, df) * math.sqrt(sa + sb)
    return Interval(delta, delta - half, delta + half, df)
