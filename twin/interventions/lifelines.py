"""How the lifeline interventions change the lifelines phase: generators, pump backups, tanks, hospital water.

The lifelines phase (:mod:`twin.lifelines.model`) already models stored supply the same way for all three:
a store of ``H`` hours drains 1 h per hour while its supply is out and refills while it is back, and the
component works while the store is not empty (the backup-duration rule of InfraRisk, Sharma et al. 2020, and
of the hospital generator standard NFPA 110, whose classes are hours of fuel at full load). The interventions
add hours to those stores:

* ``generator``: ``hours`` added to the power backup of components that need power (hospitals, pumps, cell
  sites, signals); a 6 h generator keeps the component up exactly 6 h longer in a grid outage;
* ``pump_backup``: the same at water pumps (every pump of the map without a target);
* ``tank``: ``hours`` of zone demand added to the storage of the tanks' pressure zones (every zone without a
  target), which then lasts that much longer once its pump stops;
* ``hospital_water``: ``hours`` of water stored at hospitals, which then work that long after their zone's
  water fails (hospitals need water in the model; CDC/AWWA "Emergency Water Supply Planning Guide for
  Hospitals", 2019, sizes that storage in hours or days of use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin.city.build import City
from twin.interventions.spec import GeneratorSpec, HospitalWaterSpec, PumpBackupSpec, TankSpec
from twin.sim.targets import TargetError, resolve_components


@dataclass(frozen=True)
class LifelineMeasures:
    """Hours the interventions add, as arrays over the City's components and water zones.

    Attributes
    ----------
    backup_h
        Per component: hours of power backup added (generators, pump backups).
    tank_h
        Per water zone: hours of storage added.
    hospital_water_h
        Per component: hours of water stored on site (hospitals only).
    """

    backup_h: np.ndarray
    tank_h: np.ndarray
    hospital_water_h: np.ndarray

    @property
    def any(self) -> bool:
        """Whether any intervention changed the lifelines."""
        return bool(self.backup_h.any() or self.tank_h.any() or self.hospital_water_h.any())


def lifeline_measures(
    city: City, measures: Sequence[Any], needs_power: np.ndarray
) -> tuple[LifelineMeasures, list[str]]:
    """The hours each lifeline intervention adds, and every entry that does not fit the map.

    Parameters
    ----------
    city
        The run's City.
    measures
        The scenario's typed interventions (the lifeline ones are read).
    needs_power
        bool per component: it needs power in the lifelines model (only those can take a generator).
    """
    net = city.lifelines
    n = len(city.facilities)
    kinds = city.facilities["kind"].to_numpy(str)
    pumps = net.water_pump[net.water_pump >= 0]
    tanks = net.water_tank[net.water_tank >= 0]
    hospitals = np.flatnonzero(kinds == "hospital")
    backup, tank, water = np.zeros(n), np.zeros(len(net.water_tank)), np.zeros(n)
    problems: list[str] = []
    for spec in measures:
        if isinstance(spec, GeneratorSpec):
            rows = _select(city, spec, np.flatnonzero(needs_power), "components that need power", kinds, problems)
            backup[rows] += spec.hours
        elif isinstance(spec, PumpBackupSpec):
            rows = _select(city, spec, pumps, "water pumps", kinds, problems)
            backup[rows] += spec.hours
        elif isinstance(spec, TankSpec):
            if spec.target is None:
                tank += spec.hours  # every zone's storage, tank mapped or not
                continue
            rows = _select(city, spec, tanks, "water tanks", kinds, problems)
            tank[np.isin(net.water_tank, rows)] += spec.hours
        elif isinstance(spec, HospitalWaterSpec):
            rows = _select(city, spec, hospitals, "hospitals", kinds, problems)
            water[rows] += spec.hours
    return LifelineMeasures(backup_h=backup, tank_h=tank, hospital_water_h=water), problems


def _select(
    city: City, spec: Any, allowed: np.ndarray, what: str, kinds: np.ndarray, problems: list[str]
) -> np.ndarray:
    """The rows an entry's target selects, all of them ``allowed`` (every one of ``allowed`` without a target).

    A target matching nothing, or matching components outside ``allowed``, is a problem citing the entry.
    """
    if spec.target is None:
        if not allowed.size:
            problems.append(f"{spec.source}: {city.name} has no {what}, so a {spec.type} has nothing to act on")
        return np.asarray(allowed, dtype=np.int64)
    try:
        rows = resolve_components(city, spec.target.model_dump(exclude_none=True))
    except TargetError as exc:
        problems.append(f"{spec.source}: target: {exc}")
        return np.zeros(0, dtype=np.int64)
    wrong = rows[~np.isin(rows, allowed)]
    if wrong.size:
        names = ", ".join(sorted(pd.unique(kinds[wrong]).tolist()))
        problems.append(
            f"{spec.source}: target: selects {wrong.size} component(s) that are not {what} ({names}); a "
            f"{spec.type} acts on {what} only, narrow the target (kinds:, name:)"
        )
        return np.zeros(0, dtype=np.int64)
    return rows
