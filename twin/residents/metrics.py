"""Figures of the people's outcome for ``residents.json``, overall and by vulnerability group.

* **Clearance time** (NUREG/CR-7002, "Criteria for development of evacuation time estimate studies", 2011: the
  time to evacuate 90 % and 100 % of the evacuating population): from the first warning sent to the time by
  which 90 % (100 %) of the people who left had arrived; None when they had not by the end of the run.
* **Evacuated before the water**: of the people whose home got water during the run (at risk), the share who
  had left before it did.
* **Exposure**: person-hours in water above 0.5 m at their floor or on the street.
* **Rescue**: people who needed rescue, people who asked (``rescue_requests``: people, not places), and people a
  crew brought out (``rescued``; :mod:`twin.residents.rescues`).
* **Equity**: the Theil T index of exposure hours over persons, split into between-group and within-group parts
  (Theil 1967; the decomposition IN-CORE's equity metric reports): with ``mu`` the mean, ``s_g = N_g mu_g /
  (N mu)`` each group's share of the total,
  ``T = (1/N) sum_i (x_i/mu) ln(x_i/mu)``, ``T_between = sum_g s_g ln(mu_g/mu)``, ``T_within = sum_g s_g T_g``,
  and ``T = T_between + T_within``; 0 when everyone is equally exposed (None when nobody is).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.residents.people import PeopleState
from twin.residents.population import ADULT, CHILD, ELDERLY, Population

VULNERABILITY = ("child", "adult", "elderly", "impaired")


def vulnerability_group(group: np.ndarray, impaired: np.ndarray) -> np.ndarray:
    """Index into :data:`VULNERABILITY` per person: impaired first, else the age group."""
    index = np.select([group == CHILD, group == ADULT, group == ELDERLY], [0, 1, 2], 1)
    return np.where(impaired, 3, index)


def theil(x: np.ndarray) -> float | None:
    """Theil T of non-negative values (0 ln 0 = 0); None when they sum to 0."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean() if len(x) else 0.0
    if mu <= 0:
        return None
    r = x / mu
    return float(np.mean(np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)))


def theil_decomposed(x: np.ndarray, group: np.ndarray, n_groups: int) -> dict[str, float | None]:
    """Theil T with its between-group and within-group parts (they add up to T)."""
    x = np.asarray(x, dtype=np.float64)
    total = theil(x)
    if total is None:
        return {"total": None, "between": None, "within": None}
    mu, n = x.mean(), len(x)
    between = within = 0.0
    for g in range(n_groups):  # a handful of groups
        members = x[group == g]
        if not len(members) or members.sum() <= 0:
            continue
        share = members.sum() / (n * mu)
        between += share * np.log(members.mean() / mu)
        within += share * (theil(members) or 0.0)
    return {"total": total, "between": float(between), "within": float(within)}


def clearance_s(arrived_s: np.ndarray, start_s: float, share: float) -> float | None:
    """Time from ``start_s`` by which ``share`` of the people (NaN: not arrived) had arrived; None if never."""
    if not len(arrived_s):
        return None
    need = int(np.ceil(share * len(arrived_s)))
    done = np.sort(arrived_s[np.isfinite(arrived_s)])
    if len(done) < need:
        return None
    return float(done[need - 1] - start_s)


def _group_figures(p: PeopleState, members: np.ndarray, start_s: float) -> dict[str, Any]:
    left = members & np.isfinite(p.left_s)
    at_risk = members & np.isfinite(p.home_wet_s)
    before = at_risk & (p.left_s < p.home_wet_s)
    return {
        "people": int(members.sum()),
        "warned": int((members & np.isfinite(p.warned_s)).sum()),
        "left": int(left.sum()),
        "clearance_90_s": clearance_s(p.arrived_s[left], start_s, 0.9),
        "clearance_100_s": clearance_s(p.arrived_s[left], start_s, 1.0),
        "at_risk": int(at_risk.sum()),
        "evacuated_before_water_share": float(before.sum() / at_risk.sum()) if at_risk.any() else None,
        "exposure_person_h": float(p.exposure_s[members].sum() / 3600.0),
        "needed_rescue": int((members & p.ever_rescue).sum()),
        "rescued": int((members & np.isfinite(p.rescued_s)).sum()),
    }


def residents_metrics(p: PeopleState, pop: Population, issued_s: np.ndarray) -> dict[str, Any]:
    """The residents' figures for ``residents.json``: everyone's, then ``by_group``; clearance is counted from
    the first warning sent (``issued_s``, NaN: not sent), else from the first decision to leave."""
    issued = issued_s[np.isfinite(issued_s)]
    decided = p.decided_s[np.isfinite(p.decided_s)]
    start_s = float(issued.min()) if len(issued) else float(decided.min()) if len(decided) else 0.0
    group = vulnerability_group(pop.group, pop.impaired)
    everyone = np.ones(pop.size, dtype=bool)
    return {
        **_group_figures(p, everyone, start_s),
        "clearance_from_s": start_s,
        "rescue_requests": int((p.rescue_ref >= 0).sum()),
        "casualties_screening": int(p.casualty.sum()),
        "by_group": {name: _group_figures(p, group == g, start_s) for g, name in enumerate(VULNERABILITY)},
        "exposure_theil": theil_decomposed(p.exposure_s, group, len(VULNERABILITY)),
    }
