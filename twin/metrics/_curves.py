"""Input checks and integration shared by the metric functions.

Integration rule used by every metric in :mod:`twin.metrics`
------------------------------------------------------------
twin records the service level Q(t) once at t = 0 (the normal state, before any event) and then at
the end of every step. Between two records Q is taken to vary linearly, so integrals are computed
with the trapezoid rule. The rule is exact for piecewise-linear curves (the analytic triangles and
ramps of the tests), it does not depend on whether a step's value is read at its start or its end,
and it is what InfraRisk uses for its equivalent outage hours, so figures can be compared with it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Tolerance on the [0, 1] range of service levels (float round-off from served / normal demand).
Q_TOLERANCE = 1e-9


def as_time(t_s: npt.ArrayLike) -> FloatArray:
    """Return ``t_s`` as a float array after checking it is a valid time vector.

    Parameters
    ----------
    t_s
        Record times in seconds: one-dimensional, finite, strictly increasing, starting at 0.

    Returns
    -------
    numpy.ndarray
        The times as float64.

    Raises
    ------
    ValueError
        If ``t_s`` is empty, not 1-D, not finite, does not start at 0 or is not strictly increasing.
    """
    t = np.asarray(t_s, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t_s must be a non-empty 1-D array of seconds, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t_s contains NaN or infinite values")
    if t[0] != 0.0:
        raise ValueError(f"t_s must start at 0 (the normal state), got t_s[0] = {t[0]}")
    if np.any(np.diff(t) <= 0):
        bad = int(np.argmax(np.diff(t) <= 0)) + 1
        raise ValueError(f"t_s must be strictly increasing: t_s[{bad}] = {t[bad]} <= t_s[{bad - 1}]")
    return t


def as_level(q: npt.ArrayLike, n: int | None = None, name: str = "q", ndim: tuple[int, ...] = (1,)) -> FloatArray:
    """Return a service level (or served share) as a float array clipped to [0, 1].

    Parameters
    ----------
    q
        Values in [0, 1] (within ``Q_TOLERANCE``), one per record time along the first axis.
    n
        Number of record times the first axis must have, or None for any non-zero number.
    name
        Name used in error messages.
    ndim
        Allowed numbers of dimensions.

    Returns
    -------
    numpy.ndarray
        The values as float64, round-off outside [0, 1] clipped away.

    Raises
    ------
    ValueError
        On a wrong shape, an empty array, a length other than ``n``, NaN, or values outside [0, 1].
    """
    v = np.asarray(q, dtype=np.float64)
    if v.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), got shape {v.shape}")
    if v.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if n is not None and v.shape[0] != n:
        raise ValueError(f"t_s has {n} values but {name} has {v.shape[0]} rows: they must match")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(v < -Q_TOLERANCE) or np.any(v > 1.0 + Q_TOLERANCE):
        raise ValueError(f"{name} must lie in [0, 1], got values from {v.min()} to {v.max()}")
    return np.clip(v, 0.0, 1.0)


def curve(t_s: npt.ArrayLike, q: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check and convert a (time, service level) pair; see :func:`as_time` and :func:`as_level`."""
    t = as_time(t_s)
    return t, as_level(q, t.size)


def trapezoid(y: FloatArray, t: FloatArray) -> float:
    """Integral of ``y`` over ``t`` by the trapezoid rule (0 for a single sample), along axis 0."""
    if t.size < 2:
        return 0.0
    return float(np.sum(np.trapezoid(y, t, axis=0)))


def drop_and_minimum(
    t_s: npt.ArrayLike, q: npt.ArrayLike, threshold: float, q0: float | None
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_], int, int] | None:
    """Where a service first falls below ``threshold * Q0`` and where it is lowest.

    Returns ``(t, v, below, i_drop, i_min)``: the checked times and levels, which records are below
    :math:`q^* Q_0` (``Q0`` is the first level unless given), the first of them and the first record at the
    minimum; None when Q never falls below :math:`q^* Q_0` (the service was not lost). Shared by the time to
    recover and the time to turn, which both start at the drop (Bruneau et al. 2003, rapidity).

    Raises
    ------
    ValueError
        On invalid times or levels, or a threshold outside (0, 1].
    """
    t, v = curve(t_s, q)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    level = threshold * (float(v[0]) if q0 is None else float(q0))
    below = v < level
    if not below.any():
        return None
    return t, v, below, int(np.argmax(below)), int(np.argmin(v))
