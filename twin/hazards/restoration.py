"""When a component that water wetted but did not destroy works again: the stand-in until crews repair things.

Rule. The water depth a component stood in sets its damage state, and the damage state its restoration time,
counted from the moment the water at it falls back below its damage depth (it must be dry to be inspected):

.. math:: t_{back} = t_{dry} + \\bar T(k, s), \\qquad s = \\begin{cases}
          \\text{moderate} & d_{peak} \\le 1\\text{ m} \\\\
          \\text{extensive} & 1 < d_{peak} \\le 2\\text{ m} \\\\
          \\text{complete (destroyed)} & d_{peak} > 2\\text{ m} \\end{cases}

where :math:`\\bar T(k, s)` is the mean of Hazus' restoration function (a normal distribution of days) for the
component's kind k in state s. Destroyed components (complete) wait for a ``repair_component`` event or a crew.

Sources. Restoration functions: Hazus-MH Earthquake Model Technical Manual (FEMA, MR4), chapter 8 (utility
systems: electric substations, potable-water pumping plants and tanks, communication facilities), means and
standard deviations in days, the only published restoration curves by component kind; Hazus' flood model has
depth-damage curves for these facilities but no restoration curves, so the earthquake curves stand in, with the
depth thresholds above (*assumed*: about 1 m wets switchgear and motors without structural harm, 2 m floods
the whole equipment floor) mapping depth to damage state. The mean is used, not a draw, so runs stay
deterministic. Facilities (hospitals, stations, shelters) and kinds without a curve use the pumping plant's
(building services: pumps, switchgear), an assumption.

Bias: Hazus' means assume crews and parts are available; after a regional flood they are scarce, so recovery
here is optimistic for large events, and pessimistic for a component that was only splashed.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

MODERATE: Final = "moderate"
EXTENSIVE: Final = "extensive"
COMPLETE: Final = "complete"
STATE_DEPTHS_M: Final = (1.0, 2.0)
"""Peak depths (m) above which a wet component is extensively damaged, then destroyed (assumed)."""

HOURS_PER_DAY: Final = 24.0

# Means (and standard deviations, not drawn) of Hazus' restoration functions, days, by damage state. Not yet
# re-checked against the manual's tables (Hazus-MH MR4 Earthquake Technical Manual, chapter 8): no copy of them
# was at hand when this was reviewed; check them there before relying on a recovery time.
RESTORATION_DAYS: Final[dict[str, dict[str, tuple[float, float]]]] = {
    "electric substation": {MODERATE: (3.0, 1.5), EXTENSIVE: (7.0, 3.5), COMPLETE: (30.0, 15.0)},
    "water pumping plant": {MODERATE: (3.1, 2.7), EXTENSIVE: (13.5, 10.0), COMPLETE: (35.0, 18.0)},
    "water tank": {MODERATE: (3.1, 2.7), EXTENSIVE: (93.0, 85.0), COMPLETE: (155.0, 120.0)},
    "communication facility": {MODERATE: (1.0, 0.5), EXTENSIVE: (7.0, 5.0), COMPLETE: (40.0, 40.0)},
}
CURVE_OF_KIND: Final[dict[str, str]] = {
    "plant": "electric substation",
    "substation": "electric substation",
    "transformer": "electric substation",
    "water_works": "water pumping plant",
    "pumping_station": "water pumping plant",
    "wastewater_plant": "water pumping plant",
    "water_tower": "water tank",
    "storage_tank": "water tank",
    "reservoir_covered": "water tank",
    "mast": "communication facility",
    "communications_tower": "communication facility",
}
FALLBACK_CURVE: Final = "water pumping plant"


def damage_state(peak_depth_m: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Damage state of each component from the deepest water it stood in (see the module's rule)."""
    depth = np.asarray(peak_depth_m, dtype=np.float64)
    states = np.array([MODERATE, EXTENSIVE, COMPLETE])
    return states[np.searchsorted(np.asarray(STATE_DEPTHS_M), depth, side="left")]


def restoration_delay_h(kinds: npt.ArrayLike, peak_depth_m: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Hours from the water receding to the component working again; inf for destroyed components.

    .. math:: \\bar T(k, s(d_{peak})) \\times 24 \\text{ h}, \\quad \\infty \\text{ when } s = \\text{complete}

    Parameters
    ----------
    kinds
        Facility kind of each component (``City.facilities['kind']``).
    peak_depth_m
        Deepest water each stood in while wet (m).

    Returns
    -------
    numpy.ndarray
        Hours, float.
    """
    kind = np.asarray(kinds, dtype=str)
    state = damage_state(peak_depth_m)
    days = np.array(
        [
            RESTORATION_DAYS[CURVE_OF_KIND.get(k, FALLBACK_CURVE)][s][0] if s != COMPLETE else np.inf
            for k, s in zip(kind.tolist(), state.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    return days * HOURS_PER_DAY


class Recovery:
    """The restoration clock of every component that water damaged (rows of ``City.facilities``).

    Parameters
    ----------
    kinds
        Facility kind of each component.
    threshold_m
        Water depth above which each component is wet (its damage depth).
    """

    def __init__(self, kinds: npt.ArrayLike, threshold_m: npt.ArrayLike) -> None:
        self.kinds = np.asarray(kinds, dtype=str)
        self.threshold_m = np.asarray(threshold_m, dtype=np.float64)
        self.peak_m = np.zeros(len(self.kinds))
        self.dry_since_s = np.full(len(self.kinds), np.nan)

    def step(self, t_s: float, rows: np.ndarray, water_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance the clocks of the water-damaged ``rows`` given the water at them now.

        Returns the rows that work again at ``t_s`` and their restoration delays (h); their clocks are reset.
        """
        self.peak_m[rows] = np.maximum(self.peak_m[rows], water_m)
        wet = water_m > self.threshold_m[rows]
        self.dry_since_s[rows[wet]] = np.nan
        newly_dry = rows[~wet & np.isnan(self.dry_since_s[rows])]
        self.dry_since_s[newly_dry] = t_s
        dry = rows[~wet]
        delay_h = restoration_delay_h(self.kinds[dry], self.peak_m[dry])
        due = t_s >= self.dry_since_s[dry] + delay_h * 3600.0 - 1e-6
        back = dry[due]
        return back, delay_h[due]

    def reset(self, rows: np.ndarray) -> None:
        """Forget the clocks of ``rows`` (they work again)."""
        self.peak_m[rows] = 0.0
        self.dry_since_s[rows] = np.nan
