"""The decision to evacuate and the delay before leaving.

**Decision** (logistic, with the predictors that Huang, Lindell & Prater 2016 found in their statistical review
of hurricane evacuation studies, "Who leaves and who stays?", Environment and Behavior 48(8))::

    logit p = b0 + b_order * order + b_risk * risk_area + b_cues * cues + b_impact * impact + b_vuln * vulnerable

``order``: the person received an evacuation order for an area they are in; ``risk_area``: their home lies in
an area a warning covers; ``cues``: water at their building or street now; ``impact``: the forecast depth at
their home reaches their floor; ``vulnerable``: elderly or mobility-impaired (Huang et al. find age and
disability weak and mostly negative predictors). Calibration: b0 = logit(0.10) = -2.197, so that at most
about 10 % of warned people outside any order leave (shadow evacuation, below the 20 % bound); b_order + b_risk =
logit(0.80) - b0 = 3.583 so that 80 % of ordered people in the risk area leave without cues (b_order = 2.0,
b_risk = 1.583); b_cues = 1.5 and b_impact = 0.5 raise it towards the 90 %+ observed where water is seen.
A household draws one uniform number u; a member decides to leave in the first step with u < p (p can only
rise as cues appear), so households mostly decide together.

**Departure delay** after deciding: ``tau + Rayleigh(sigma)``, the departure curve of tsunami and flash-flood
evacuation models (Mas, Suppasri, Imamura & Koshimura 2012, "Agent-based simulation of the 2011 Great East
Japan earthquake/tsunami evacuation", J. Natural Disaster Science 34(1)): CDF ``1 - exp(-(t - tau)^2 /
(2 sigma^2))`` for t >= tau. Defaults (assumed): rapid onset tau = 5 min, sigma = 10 min (mean 17.5 min);
slow onset tau = 15 min, sigma = 40 min (mean 65 min), in line with NUREG/CR-7002's mobilisation times of
tens of minutes to hours.
"""

from __future__ import annotations

import numpy as np

from twin.scenario.residents import DecisionSpec

DELAY_DEFAULTS_S = {"rapid": (5 * 60.0, 10 * 60.0), "slow": (15 * 60.0, 40 * 60.0)}
"""(tau, sigma) of the departure delay by hazard onset."""


def leave_probability(
    spec: DecisionSpec,
    order: np.ndarray,
    risk_area: np.ndarray,
    cues: np.ndarray,
    impact: np.ndarray,
    vulnerable: np.ndarray,
) -> np.ndarray:
    """p of the logistic model for each person (predictors are 0/1 arrays)."""
    z = (
        spec.intercept
        + spec.order * order
        + spec.risk_area * risk_area
        + spec.cues * cues
        + spec.impact * impact
        + spec.vulnerable * vulnerable
    )
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def decides(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Persons who decide to leave: ``u < p`` (p = 0: nobody; p = 1: everyone, as u < 1)."""
    return u < p


def rayleigh_delay(u: np.ndarray, tau_s: float, sigma_s: float) -> np.ndarray:
    """Delays by inverse transform of uniform draws ``u`` in [0, 1): ``tau + sigma sqrt(-2 ln(1 - u))``."""
    return tau_s + sigma_s * np.sqrt(-2.0 * np.log1p(-np.asarray(u, dtype=np.float64)))
