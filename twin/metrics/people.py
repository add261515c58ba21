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
