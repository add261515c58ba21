"""Resilience figures of one service-level curve Q(t).

Every function takes the record times ``t_s`` (seconds, strictly increasing, starting at 0) and the
service level ``q`` (a fraction in [0, 1], ``q[0]`` the normal state) and integrates with the
trapezoid rule, i.e. Q is linear between two records (see :mod:`twin.metrics._curves`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.metrics._curves import as_level, curve, drop_and_minimum, trapezoid

SECONDS_PER_HOUR = 3600.0


def resilience_loss_h(t_s: npt.ArrayLike, q: npt.ArrayLike) -> float:
    r"""Resilience loss: the area of the "resilience triangle", in hours of full outage.

    .. math:: L = \frac{1}{3600} \int_0^{t_{end}} \left[1 - Q(t)\right] dt

    with Q a fraction and t in seconds, integrated with the trapezoid rule over the recorded series.

    Bruneau et al. write the same integral with Q in percent, :math:`R = \int_{t_0}^{t_1} [100 - Q(t)] dt`,
    so their figure in percent-hours is ``100 * L``. Before the first event twin's Q is 1, so
    starting the integral at 0 rather than at the event time :math:`t_0` changes nothing.

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level in [0, 1] at each record time.

    Returns
    -------
    float
        L in hours (0 for a curve that never leaves 1).

    References
    ----------
    Bruneau, M., Chang, S. E., Eguchi, R. T., et al. (2003). A framework to quantitatively assess and
    enhance the seismic resilience of communities. Earthquake Spectra 19(4), 733-752.
    https://doi.org/10.1193/1.1623497
    """
    t, v = curve(t_s, q)
    return trapezoid(1.0 - v, t) / SECONDS_PER_HOUR


def equivalent_outage_hours(t_s: npt.ArrayLike, q: npt.ArrayLike) -> float:
    r"""InfraRisk's equivalent outage hours (EOH) of one service; equal to :func:`resilience_loss_h`.

    .. math:: \gamma^K = \frac{1}{3600} \int_{t_0}^{t_{max}} \left[1 - PCS_K(t)\right] dt

    where :math:`PCS_K(t)` is the prioritised consumer serviceability (served demand / normal demand,
    which is what twin records as Q_k) and t is in seconds. InfraRisk integrates from the time of the
    disaster event :math:`t_0` with the trapezoid rule; twin's Q is 1 before the first event, so the
    figure equals the resilience loss in hours and this function returns :func:`resilience_loss_h`.
    It reads as "the number of hours of a complete outage of the service for every consumer that
    would cause the same loss of consumption".

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level (PCS) in [0, 1] at each record time.

    Returns
    -------
    float
        EOH in hours.

    References
    ----------
    Balakrishnan, S., Cassottana, B. (2022). InfraRisk: an open-source simulation platform for
    resilience analysis in interconnected power-water-transport networks. Sustainable Cities and
    Society 83, 103963. https://doi.org/10.1016/j.scs.2022.103963 ; definition in the InfraRisk
    documentation (``docs/model.rst``, "Equivalent Outage Hours") and code
    (``infrarisk/src/resilience_metrics.py``), github.com/srijithbalakrishnan/dreaminsg-integrated-model.
    """
    return resilience_loss_h(t_s, q)


def disruption_onset_s(t_s: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """When the disruption starts: the last record at the normal level Q(0) before Q first falls below it.

    Q is linear between records (trapezoid rule), so the curve leaves Q(0) at that record; a series that
    never falls below Q(0) has its onset at its first record.
    """
    t, v = curve(t_s, q)
    below = np.flatnonzero(v < v[0])
    return float(t[0]) if below.size == 0 else float(t[below[0] - 1])


def resilience_index(
    t_s: npt.ArrayLike, q: npt.ArrayLike, control_time_s: float | None = None, onset_s: float | None = None
) -> float:
    r"""Cimellaro's resilience index: the mean service level over the control time from the disruption's onset.

    .. math:: R = \frac{1}{T_{LC}} \int_{t_{0E}}^{t_{0E} + T_{LC}} Q(t)\, dt

    integrated with the trapezoid rule, where :math:`t_{0E}` is the onset of the disruption
    (:func:`disruption_onset_s`, the last record at Q(0) before Q first falls, or ``onset_s``), not the start
    of the run: the time before the event, at full service, would dilute R towards 1. The control time
    :math:`T_{LC}` defaults to the rest of the series after the onset; a shorter T cuts the curve at
    :math:`t_{0E} + T` (Q interpolated linearly there); a longer T holds Q at its last recorded value beyond
    the end of the series. A series of a single record (T = 0) gives that record's Q, the limit of the mean
    as T -> 0.

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level in [0, 1] at each record time.
    control_time_s
        Control time T in seconds (> 0), or None for the rest of the series after the onset.
    onset_s
        Onset of the disruption (s), or None to find it from Q (:func:`disruption_onset_s`).

    Returns
    -------
    float
        R in [0, 1]; 1 for a service that never degraded.

    Raises
    ------
    ValueError
        If ``control_time_s`` is not positive and finite.

    References
    ----------
    Cimellaro, G. P., Reinhorn, A. M., Bruneau, M. (2010). Framework for analytical quantification of
    disaster resilience. Engineering Structures 32(11), 3639-3649, eq. (1): the integral runs from the time of
    occurrence of the event :math:`t_{0E}` over the control time :math:`T_{LC}`.
    https://doi.org/10.1016/j.engstruct.2010.08.008
    """
    t, v = curve(t_s, q)
    start = disruption_onset_s(t, v) if onset_s is None else float(onset_s)
    T = float(t[-1]) - start if control_time_s is None else float(control_time_s)
    if control_time_s is not None and not (np.isfinite(T) and T > 0):
        raise ValueError(f"control_time_s must be a positive number of seconds, got {control_time_s}")
    if T <= 0.0:
        return float(np.interp(start, t, v))
    end = start + T
    # np.interp holds the last value beyond t[-1], which is the documented extension.
    grid = np.concatenate([[start], t[(t > start) & (t < end)], [end]])
    return trapezoid(np.interp(grid, t, v), grid) / T


def robustness(q: npt.ArrayLike) -> float:
    r"""Bruneau's robustness: the lowest service level reached, :math:`\min_t Q(t)`.

    Parameters
    ----------
    q
        Service level in [0, 1] at each record time.

    Returns
    -------
    float
        min Q in [0, 1].

    References
    ----------
    Bruneau, M., et al. (2003). Earthquake Spectra 19(4), 733-752 (robustness, one of the "four Rs").
    """
    return float(as_level(q).min())


def time_to_recover_s(
    t_s: npt.ArrayLike, q: npt.ArrayLike, q0: float | None = None, threshold: float = 0.95
) -> float | None:
    r"""Time from the start of the disruption to the recovery of the service, in seconds.

    With the recovery level :math:`q^* = \text{threshold} \cdot Q_0`:

    .. math:: t_{rec} = t_r - t_d, \quad t_d = \min\{t_i : Q_i < q^*\}, \quad
              t_r = \min\{t_i > t_{min} : Q_i \ge q^*\}

    where :math:`t_{min}` is the time of the first record at the minimum of Q. Times are record
    times, so the result has the resolution of one record interval (no interpolation of the
    crossings). If the curve dips, recovers and dips deeper later, :math:`t_d` is still the start of
    the first dip: the figure is the whole time the city spent without recovered service up to the
    end of the worst dip's recovery.

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level in [0, 1] at each record time.
    q0
        Normal service level :math:`Q_0`; ``q[0]`` (the t = 0 record) when None.
    threshold
        Share of :math:`Q_0` that counts as recovered (DESIGN: 0.95), in (0, 1].

    Returns
    -------
    float or None
        Seconds; 0.0 when Q never falls below :math:`q^*` (service never lost); None when Q is still
        below :math:`q^*` at the end of the series (never recovered).

    References
    ----------
    Bruneau, M., et al. (2003). Earthquake Spectra 19(4), 733-752 (rapidity, the time to recovery);
    twin DESIGN.md, "Resilience metrics" (first t after the minimum with Q >= 0.95 Q0).
    """
    found = drop_and_minimum(t_s, q, threshold, q0)
    if found is None:
        return 0.0
    t, _v, below, i_drop, i_min = found
    recovered = np.flatnonzero(~below[i_min + 1 :])
    if recovered.size == 0:
        return None
    return float(t[i_min + 1 + recovered[0]] - t[i_drop])


def t_min_s(t_s: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """Time in seconds of the first record at the minimum of Q (where robustness is measured).

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level in [0, 1] at each record time.

    Returns
    -------
    float
        The time of min Q; the earliest one on ties.
    """
    t, v = curve(t_s, q)
    return float(t[int(np.argmin(v))])
