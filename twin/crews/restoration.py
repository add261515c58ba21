"""Time on scene: how long a crew works an incident, from documented distributions.

* **Lifeline components**: the Hazus restoration functions (FEMA, *Hazus-MH 2.1 Earthquake Model Technical
  Manual*, chapter 8, restoration functions of electric power, potable water, waste water and communication
  facilities): a normal distribution of days to restore per component class and damage state. Hazus gives the time
  to restore the facility, not a crew's time on site; using it as the work time of one crew is this model's
  assumption (listed in every run's assumptions), as is applying the earthquake functions to flood and landslide
  damage (Hazus has no flood restoration functions for utility sites). A scenario may override any kind
  (``crews.repair``).
* **Medical calls**: time on scene, normal with mean 15 min and deviation 5 min (Carr et al. 2006, "A
  meta-analysis of prehospital care times for trauma", Prehospital Emergency Care 10(2): mean on-scene times of
  13-20 min in the studies pooled); a scenario sets its own (``crews.medical``).
* **Debris**: ``volume / rate`` with the rate ``crews.debris_m3_per_h`` (default 100 m3/h for a loader with
  trucks: **assumed**, not from a source; calibrate with the road service's figures).

Every draw is truncated below at a tenth of the mean, so a wide distribution never gives a zero or negative time.
"""

from __future__ import annotations

import numpy as np

DAY_S = 86_400.0

# (mean days, standard deviation days) for slight, moderate, extensive, complete damage (Hazus-MH 2.1
# Earthquake Technical Manual, chapter 8 restoration function tables).
_SUBSTATION = ((1.0, 0.5), (3.0, 1.5), (7.0, 3.5), (30.0, 15.0))
_DISTRIBUTION = ((0.3, 0.2), (1.0, 0.5), (3.0, 1.5), (7.0, 3.0))
_GENERATION = ((0.5, 0.1), (3.6, 3.6), (22.0, 21.0), (65.0, 30.0))
_PUMPING = ((0.9, 0.3), (3.1, 2.7), (13.5, 10.0), (35.0, 18.0))
_TANK = ((1.2, 0.4), (3.1, 2.7), (93.0, 85.0), (155.0, 120.0))
_TREATMENT = ((0.9, 0.3), (1.9, 1.2), (32.0, 31.0), (95.0, 65.0))
_COMMUNICATION = ((0.5, 0.1), (1.5, 1.2), (7.0, 7.0), (60.0, 50.0))

HAZUS_RESTORATION_DAYS: dict[str, tuple[tuple[float, float], ...]] = {
    "plant": _GENERATION,
    "substation": _SUBSTATION,
    "transformer": _DISTRIBUTION,
    "tower": _DISTRIBUTION,
    "pole": _DISTRIBUTION,
    "portal": _DISTRIBUTION,
    "line": _DISTRIBUTION,
    "minor_line": _DISTRIBUTION,
    "cable": _DISTRIBUTION,
    "pumping_station": _PUMPING,
    "storage_tank": _TANK,
    "water_tower": _TANK,
    "reservoir_covered": _TANK,
    "water_works": _TREATMENT,
    "wastewater_plant": _TREATMENT,
    "mast": _COMMUNICATION,
    "communications_tower": _COMMUNICATION,
}
"""Component kind -> the Hazus restoration (mean, sd) in days per damage state (slight .. complete)."""

DAMAGE_STATES = ("slight", "moderate", "extensive", "complete")
MEDICAL_SOURCE = "Carr et al. 2006 (Prehospital Emergency Care 10(2)), mean on-scene times of 13-20 min"


def restoration_s(kind: str, damage_state: str, overrides: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """Mean and standard deviation (s) of the time to repair a component of ``kind``.

    ``overrides`` (kind -> (mean s, sd s), from the scenario) come first; otherwise the Hazus table at
    ``damage_state``; a kind Hazus lists no function for takes the distribution circuits' (the commonest).
    """
    if kind in overrides:
        return overrides[kind]
    table = HAZUS_RESTORATION_DAYS.get(kind, _DISTRIBUTION)
    mean_d, sd_d = table[DAMAGE_STATES.index(damage_state)]
    return mean_d * DAY_S, sd_d * DAY_S


def draw_truncated_normal(rng: np.random.Generator, mean_s: np.ndarray, sd_s: np.ndarray) -> np.ndarray:
    """Normal draws ``mean + sd z`` floored at ``0.1 mean`` (one standard normal per item, in item order).

    The floor keeps a time positive; with ``sd = 0`` the draw is exactly the mean (tests rely on it).
    """
    mean_s, sd_s = np.asarray(mean_s, dtype=np.float64), np.asarray(sd_s, dtype=np.float64)
    z = rng.standard_normal(mean_s.shape)
    return np.asarray(np.maximum(mean_s + sd_s * z, 0.1 * mean_s))


def clearance_s(volume_m3: np.ndarray | float, rate_m3_per_h: float) -> np.ndarray:
    """Time to clear debris: ``volume / rate`` (rate in m3/h, assumed), in seconds."""
    return np.asarray(np.asarray(volume_m3, dtype=np.float64) / rate_m3_per_h * 3600.0)
