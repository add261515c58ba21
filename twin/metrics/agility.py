"""Agility: how soon a service stops degrading and starts to recover once it has been disrupted."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.metrics._curves import drop_and_minimum


def time_to_turn_s(
    t_s: npt.ArrayLike, q: npt.ArrayLike, q0: float | None = None, threshold: float = 0.95
) -> float | None:
    r"""Time from the start of the disruption to the first rise of Q after its lowest level, in seconds.

    With the disruption level :math:`q^* = \text{threshold} \cdot Q_0` (as in
    :func:`twin.metrics.time_to_recover_s`):

    .. math:: t_{turn} = t_u - t_d, \quad t_d = \min\{t_i : Q_i < q^*\}, \quad
              t_u = \min\{t_i > t_{min} : Q_i > Q_{min}\}

    where :math:`t_{min}` is the first record at the minimum :math:`Q_{min}`. It is the length of the
    "absorption" phase of the resilience curve, the time until the restoration starts (the recovery
    function of Cimellaro et al. 2010 starts at :math:`t_u`); Bruneau et al. (2003) group it with the
    time to recover under *rapidity*. Times are record times (the resolution of one record interval).

    Parameters
    ----------
    t_s
        Record times in seconds (strictly increasing, starting at 0).
    q
        Service level in [0, 1] at each record time.
    q0
        Normal service level :math:`Q_0`; ``q[0]`` when None.
    threshold
        Share of :math:`Q_0` below which the service counts as disrupted, in (0, 1].

    Returns
    -------
    float or None
        Seconds; 0.0 when Q never falls below :math:`q^*`; None when Q never rises after its minimum.

    Raises
    ------
    ValueError
        On invalid times or levels, or a threshold outside (0, 1].

    References
    ----------
    Bruneau, M., et al. (2003). Earthquake Spectra 19(4), 733-752 (rapidity).
    Cimellaro, G. P., Reinhorn, A. M., Bruneau, M. (2010). Engineering Structures 32(11), 3639-3649
    (the recovery function and its start).
    """
    found = drop_and_minimum(t_s, q, threshold, q0)
    if found is None:
        return 0.0
    t, v, _below, i_drop, i_min = found
    rises = np.flatnonzero(v[i_min + 1 :] > v[i_min])
    if rises.size == 0:
        return None
    return float(t[i_min + 1 + rises[0]] - t[i_drop])
