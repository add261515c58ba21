"""Time series of the flood hazards: river stage and rain, as pure vectorised functions of time.

Every function takes ``t_s``, seconds since the **scenario** start (a number or an array of any shape), and
returns float64 values of the same shape. A hazard's own times (its hydrograph, its CSV rows) count from its
``start``; below, ``tau = t_s - start``.

The ponding model reads rain through :func:`cumulative_rain_mm`: the depth fallen in a step is
``P(t + dt) - P(t)``, exact whatever the step, so a storm's total is never lost or gained by the time grid.
:func:`intensity_mm_h` is for plots and reports. :func:`breakpoints_s` lists the times where a series
changes slope, for callers that want their step grid to hit them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from twin.hazards.flood.spec import RainSpec, RiverFloodSpec

SECONDS_PER_HOUR = 3600.0


def _tau(t_s: ArrayLike, start_s: float) -> np.ndarray:
    return np.asarray(t_s, dtype=np.float64) - start_s


# ------------------------------------------------------------------------------------------- river stage


def stage_m(spec: RiverFloodSpec, t_s: ArrayLike) -> np.ndarray:
    """River stage above the channel bed (m) at times ``t_s``.

    Parameters
    ----------
    spec
        The river flood.
    t_s
        Seconds since the scenario start (any shape).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``t_s``; 0 before the flood's ``start``.

    Notes
    -----
    With ``H`` the peak stage, ``T_p`` the time to peak, ``T_h`` the peak duration (trapezoidal only, else 0)
    and ``D`` the duration, a hydrograph is, for ``tau = t - start``:

    - triangular and trapezoidal: ``H tau / T_p`` on [0, T_p]; ``H`` on [T_p, T_p + T_h];
      ``H (D - tau) / (D - T_p - T_h)`` on [T_p + T_h, D];
    - smooth (raised cosine, C1 everywhere): ``H (1 - cos(pi tau / T_p)) / 2`` on [0, T_p];
      ``H (1 + cos(pi (tau - T_p) / (D - T_p))) / 2`` on [T_p, D];
    - 0 outside [0, D].

    These are synthetic design hydrographs written as a stage: the scenario gives the peak stage and the
    timing, no rating curve or routing is involved.

    A gauge series is interpolated linearly in time between its rows; before its first row and after its
    last the stage is held at the first and last value (a gauge that stops reading leaves the river where it
    was; add a last row with stage 0 for a flood that ends). Before ``start`` the stage is 0.

    A ``stage_offset_m`` ``o`` (0 unless set) shifts the whole series: ``max(stage + o, 0)``.
    """
    series = _series_stage_m(spec, _tau(t_s, spec.start_s))
    if spec.stage_offset_m == 0.0:
        return series
    return np.maximum(series + spec.stage_offset_m, 0.0)


def _series_stage_m(spec: RiverFloodSpec, tau: np.ndarray) -> np.ndarray:
    """The gauge's or hydrograph's stage ``tau`` seconds after the flood's start (formulas: :func:`stage_m`)."""
    if spec.gauge is not None:
        times, stages = spec.gauge_series()
        return np.where(tau >= 0.0, np.interp(tau, times, stages), 0.0)
    h = spec.hydrograph
    if h is None:  # pragma: no cover - validation makes one of hydrograph and gauge present
        raise ValueError("a river flood needs a hydrograph or a gauge")
    peak, rise, hold, total = h.peak_stage_m, h.time_to_peak_s, h.peak_duration_s, h.duration_s
    fall = total - rise - hold
    rising = (tau >= 0.0) & (tau < rise)
    at_peak = (tau >= rise) & (tau <= rise + hold)
    falling = (tau > rise + hold) & (tau <= total)
    if h.shape == "smooth":
        up = 0.5 * peak * (1.0 - np.cos(np.pi * tau / rise))
        down = 0.5 * peak * (1.0 + np.cos(np.pi * (tau - rise - hold) / fall))
    else:
        up = peak * tau / rise
        down = peak * (total - tau) / fall
    return np.select([rising, at_peak, falling], [up, np.full_like(tau, peak), down], 0.0)


def max_stage_m(spec: RiverFloodSpec) -> float:
    """The highest stage of the flood (m): the hydrograph's peak or the gauge's largest value, plus the offset."""
    if spec.gauge is not None:
        highest = float(spec.gauge_series()[1].max())
    else:
        assert spec.hydrograph is not None
        highest = spec.hydrograph.peak_stage_m
    return highest + spec.stage_offset_m if spec.stage_offset_m else highest


# -------------------------------------------------------------------------------------------------- rain


def cumulative_rain_mm(spec: RainSpec, t_s: ArrayLike) -> np.ndarray:
    """Rain fallen since the rain's start (mm) at times ``t_s``: the exact integral of the intensity.

    Parameters
    ----------
    spec
        The rain.
    t_s
        Seconds since the scenario start (any shape).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``t_s``; non-decreasing in time, 0 before ``start``, the storm's total after
        its end.

    Notes
    -----
    With ``P`` the total depth, ``D`` the duration, ``a = peak_at D`` and ``x = clip(tau, 0, D)``:

    - uniform: ``P x / D``;
    - triangular (intensity rising linearly to ``2 P / D`` at ``a``, then falling linearly to 0 at ``D``, so
      that its area is ``P``): ``P x^2 / (a D)`` for ``x <= a``, ``P - P (D - x)^2 / ((D - a) D)`` for
      ``x >= a``; both give ``P a / D`` at the peak and the second gives exactly ``P`` at ``D``;
    - hyetograph (intensity ``i_k`` held on [t_k, t_k+1)): ``C_k = sum_{j<k} i_j (t_j+1 - t_j) / 3600`` at
      the rows, linear in between (exact for piecewise-constant intensity), 0 before the first row and the
      total after the last.

    The triangular storm is the nondimensional triangular hyetograph of Yen and Chow (1980), "Design
    hyetographs for small drainage structures", J. Hydraulics Division ASCE 106(6), 1055-1076; ``peak_at`` is
    the time of its peak as a share of the duration.
    """
    tau = _tau(t_s, spec.start_s)
    if spec.hyetograph is not None:
        times, intensities = spec.hyetograph_series()
        depths = np.concatenate([[0.0], np.cumsum(intensities[:-1] * np.diff(times) / SECONDS_PER_HOUR)])
        return np.interp(tau, times, depths, left=0.0, right=float(depths[-1]))
    storm = spec.design_storm
    if storm is None:  # pragma: no cover - validation makes one of design_storm and hyetograph present
        raise ValueError("rain needs a design storm or a hyetograph")
    total, duration = storm.total_mm, storm.duration_s
    x = np.clip(tau, 0.0, duration)
    if storm.shape == "uniform":
        return total * (x / duration)  # x / D is exactly 1 at the end: the total is reached exactly
    a = storm.peak_at * duration
    out = np.empty_like(x)
    before = x <= a if a > 0.0 else np.zeros(x.shape, dtype=bool)  # a = 0: the storm starts at its peak
    out[before] = total * (x[before] / a) * (x[before] / duration)
    after = ~before  # empty when a = D (the storm ends at its peak)
    left = duration - x[after]
    out[after] = total - total * (left / (duration - a)) * (left / duration)
    return out


def intensity_mm_h(spec: RainSpec, t_s: ArrayLike) -> np.ndarray:
    """Rain intensity (mm/h) at times ``t_s``: for plots; models use differences of :func:`cumulative_rain_mm`.

    Parameters
    ----------
    spec
        The rain.
    t_s
        Seconds since the scenario start (any shape).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``t_s``. Intervals are closed on the left and open on the right: a hyetograph
        row's intensity holds from its time until (not at) the next row's time, and the intensity is 0 from
        the end of the rain on.

    Notes
    -----
    Uniform: ``3600 P / D``. Triangular: peak ``i_p = 3600 x 2 P / D`` at ``a = peak_at D``, ``i_p tau / a``
    before it and ``i_p (D - tau) / (D - a)`` after it (see :func:`cumulative_rain_mm`).
    """
    tau = _tau(t_s, spec.start_s)
    if spec.hyetograph is not None:
        times, intensities = spec.hyetograph_series()
        row = np.searchsorted(times, tau, side="right") - 1
        return np.where(row >= 0, intensities[np.clip(row, 0, None)], 0.0)
    storm = spec.design_storm
    if storm is None:  # pragma: no cover - validation makes one of design_storm and hyetograph present
        raise ValueError("rain needs a design storm or a hyetograph")
    total, duration = storm.total_mm, storm.duration_s
    raining = (tau >= 0.0) & (tau < duration)
    if storm.shape == "uniform":
        return np.where(raining, SECONDS_PER_HOUR * total / duration, 0.0)
    peak = SECONDS_PER_HOUR * 2.0 * total / duration
    a = storm.peak_at * duration
    up = peak * tau / a if a > 0.0 else np.full_like(tau, peak)
    down = peak * (duration - tau) / (duration - a) if a < duration else np.full_like(tau, peak)
    return np.where(raining, np.where(tau < a, up, down), 0.0)


def total_rain_mm(spec: RainSpec) -> float:
    """All the rain of the event (mm): the design storm's total or the hyetograph's integral."""
    return float(cumulative_rain_mm(spec, end_s(spec)))


# ------------------------------------------------------------------------------------------- breakpoints


def breakpoints_s(spec: RiverFloodSpec | RainSpec) -> np.ndarray:
    """The times (s since the scenario start) where a series changes formula or slope, sorted and unique.

    Hydrograph: start, peak, end of the peak (trapezoidal), end. Gauge: start and every row. Design storm:
    start, peak (triangular), end. Hyetograph: every row. Between two breakpoints a series is one smooth
    formula (linear, quadratic or a half cosine), so a step grid that contains them integrates it exactly
    with the cumulative functions above.
    """
    start = spec.start_s
    if isinstance(spec, RiverFloodSpec):
        if spec.gauge is not None:
            times = np.concatenate([[0.0], spec.gauge_series()[0]])
        else:
            h = spec.hydrograph
            assert h is not None
            times = np.array([0.0, h.time_to_peak_s, h.time_to_peak_s + h.peak_duration_s, h.duration_s])
    elif spec.hyetograph is not None:
        times = np.asarray(spec.hyetograph_series()[0], dtype=np.float64)
    else:
        storm = spec.design_storm
        assert storm is not None
        inner = [storm.peak_at * storm.duration_s] if storm.shape == "triangular" else []
        times = np.array([0.0, *inner, storm.duration_s])
    return np.unique(start + times)


def end_s(spec: RiverFloodSpec | RainSpec) -> float:
    """When the hazard's series stops changing (s since the scenario start): its last breakpoint.

    After it a hydrograph is 0 (plus its ``stage_offset_m``), a gauge holds its last value and the rain has
    stopped.
    """
    return float(breakpoints_s(spec)[-1])


__all__ = [
    "breakpoints_s",
    "cumulative_rain_mm",
    "end_s",
    "intensity_mm_h",
    "max_stage_m",
    "stage_m",
    "total_rain_mm",
]
