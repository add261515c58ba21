"""People-hours without a service."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.metrics._curves import as_level, as_time, trapezoid

SECONDS_PER_HOUR = 3600.0


def people_hours_without_service(
    t_s: npt.ArrayLike, served_share: npt.ArrayLike, population: float | npt.ArrayLike
) -> float:
    r"""Person-hours spent without a service, summed over zones.

    .. math:: H = \frac{1}{3600} \sum_z P_z \int_0^{t_{end}} \left[1 - s_z(t)\right] dt

    where :math:`s_z(t)` is the share of zone z's people served at time t and :math:`P_z` the zone's
    population; integrated with the trapezoid rule (s linear between records). With a city-wide
    series (1-D ``served_share``) this is :math:`P \cdot L`, the population times the resilience
    loss in hours (Bruneau et al. 2003), i.e. the customer-hours of interruption that utilities report
    as SAIDI x customers (IEEE Std 1366).

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    served_share
        Served share in [0, 1]: 1-D (one city-wide value per record) or 2-D (records x zones).
    population
        People: a number for a 1-D ``served_share``, one number per zone for a 2-D one.

    Returns
    -------
    float
        Person-hours without the service.

    Raises
    ------
    ValueError
        On mismatched shapes, a negative or non-finite population, or invalid times or shares.

    References
    ----------
    Bruneau, M., et al. (2003). Earthquake Spectra 19(4), 733-752 (loss integral);
    IEEE Std 1366-2022, Guide for electric power distribution reliability indices (customer-hours).
    """
    t = as_time(t_s)
    s = as_level(served_share, t.size, name="served_share", ndim=(1, 2))
    pop = np.asarray(population, dtype=np.float64)
    expected = () if s.ndim == 1 else (s.shape[1],)
    if pop.shape != expected:
        raise ValueError(f"population must have shape {expected} for served_share of shape {s.shape}, got {pop.shape}")
    if not np.all(np.isfinite(pop)) or np.any(pop < 0):
        raise ValueError("population must be finite and non-negative")
    # Weight before integrating: the sum over zones and the integral commute (both linear).
    people_out = (1.0 - s) * pop if s.ndim == 1 else (1.0 - s) @ pop
    return trapezoid(people_out, t) / SECONDS_PER_HOUR


def people_hours_out(t_s: npt.ArrayLike, people_out: npt.ArrayLike) -> float:
    r"""Person-hours without a service from the count of people without it at each record.

    .. math:: H = \frac{1}{3600} \int_0^{t_{end}} N(t)\, dt

    with N(t) the residents served in the normal state and not at t (the people each zone holds, summed over
    the zones out), integrated with the trapezoid rule. It equals :func:`people_hours_without_service` with
    each zone's own population, where the population of the whole city would overstate every service that
    does not reach everyone normally.

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    people_out
        People without the service at each record (finite, >= 0).

    Returns
    -------
    float
        Person-hours.

    References
    ----------
    IEEE Std 1366-2022 (customer interruption durations, summed per customer); Bruneau et al. (2003).
    """
    t = as_time(t_s)
    n = np.asarray(people_out, dtype=np.float64)
    if n.shape != t.shape or not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ValueError("people_out must be finite, non-negative and one value per record")
    return trapezoid(n, t) / SECONDS_PER_HOUR
