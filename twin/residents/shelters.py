"""Destinations: public shelters with capacity, and friends, family or hotels outside the hazard area.

A share of evacuating households (``shelter_share``, default 0.10: public shelters house 3-11 % of evacuees,
Smith & McCarty 2009, "Fleeing the storm(s): an examination of evacuation behavior during Florida's 2004
hurricane season", Demography 46(1)) heads for a public shelter; the rest go to friends, family or hotels
outside the hazard area, then out of the model.

"Outside the hazard area" is where safety comes from separation by distance from the hazard (Green & Parker 1993
define evacuation as movement to "a place of safety where that safety is created by separation by distance or
topography from the hazard"). A place to stay is a walkable node where people live (a home's node: friends and
family live in homes; hotels are not told apart in the City), with no water, outside every warned area (whole-city
warnings aside), and more than ``elsewhere_beyond_m`` from every node of the hazard area (warned or wet); default
250 m, assumed: two or three cells of the ~90 m elevation models that forecasts spread the stage over, so that the
forecast's ragged edge is not taken for safety. Evacuees head for the nearest such node by the walk network. On
Andorra with the 1.5 m Valira forecast, 360 of the 1,705 home nodes qualify, where 11,144 people live. People who
leave from a place already that far from the hazard area (shadow evacuees) are taken to be where they stay.

A shelter's capacity is city.yaml's, else its floor area / 3.5 m2 per person (Sphere Handbook 2018, shelter
standard 3: at least 3.5 m2 of living space per person). Each zone (population area) is served first by its
designated shelter (the nearest to the zone's people, by their mean position), then by the others in order
of distance from it; people are given places in person order, and those a full shelter turns away go to the
next one with room (the excess, exactly), or elsewhere when every shelter is full. A shelter needs power and
water at its node to work (``Q_shelter`` = places in working shelters / all places).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPHERE_M2_PER_PERSON = 3.5


@dataclass(frozen=True)
class Shelters:
    """The public shelters of a city: walkable and drivable nodes, capacity, and each zone's preference order."""

    name: np.ndarray
    node: np.ndarray
    drive_node: np.ndarray
    capacity: np.ndarray
    preference: np.ndarray  # (zones, shelters): shelter indices, designated first

    @property
    def count(self) -> int:
        """Number of shelters."""
        return len(self.node)


def elsewhere_nodes(xy: np.ndarray, lodging: np.ndarray, hazard: np.ndarray, beyond_m: float) -> np.ndarray:
    """Nodes where evacuees to friends, family or hotels can stay: ``lodging`` nodes farther than ``beyond_m``
    (straight line) from every ``hazard`` node (see the module docstring).

    Parameters
    ----------
    xy
        (nodes, 2) projected coordinates (m).
    lodging
        Per node, whether people live there.
    hazard
        Per node, whether it is in the hazard area (warned or wet).
    beyond_m
        The distance a place of stay keeps from the hazard area (0: any lodging node not in it).
    """
    if not hazard.any():
        return lodging.copy()
    from scipy.spatial import cKDTree

    candidates = np.flatnonzero(lodging & ~hazard)
    tree = cKDTree(xy[hazard], balanced_tree=False, compact_nodes=False)  # built often: cheaper to build
    bound = beyond_m + 1e-6  # only nearer hazard nodes matter: the rest come back as inf
    distance = tree.query(xy[candidates], distance_upper_bound=bound)[0]
    result = np.zeros(len(lodging), dtype=bool)
    result[candidates[distance > beyond_m]] = True
    return result


def shelter_capacity(facilities: pd.DataFrame, buildings: pd.DataFrame) -> np.ndarray:
    """Places of each shelter row: city.yaml's capacity, else floor area of its building / 3.5 m2."""
    capacity = facilities["capacity"].to_numpy(float)
    missing = ~np.isfinite(capacity) | (capacity <= 0)
    if missing.any() and len(buildings):
        from scipy.spatial import cKDTree

        _, nearest = cKDTree(buildings[["x", "y"]].to_numpy(float)).query(facilities[["x", "y"]].to_numpy(float))
        capacity = np.where(
            missing, buildings["floor_area_m2"].to_numpy(float)[nearest] / SPHERE_M2_PER_PERSON, capacity
        )
    return np.floor(np.nan_to_num(capacity)).astype(np.int64)


def preference_order(zone_xy: np.ndarray, shelter_xy: np.ndarray) -> np.ndarray:
    """Per zone: shelters in order, the nearest to the zone first, then by distance from that one."""
    if not len(shelter_xy):
        return np.zeros((len(zone_xy), 0), dtype=np.int64)
    first = np.argmin(((zone_xy[:, None, :] - shelter_xy[None, :, :]) ** 2).sum(-1), axis=1)
    from_first = ((shelter_xy[first][:, None, :] - shelter_xy[None, :, :]) ** 2).sum(-1)
    return np.argsort(from_first, axis=1, kind="stable")


def allocate(preference: np.ndarray, zone: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Shelter index for each person of ``zone`` (in person order), -1 when every shelter is full.

    ``room`` (free places per shelter) is reduced in place. Round r offers each unplaced person their zone's
    r-th shelter; persons take its remaining places in order, the rest try the next round.
    """
    choice = np.full(len(zone), -1, dtype=np.int64)
    for r in range(preference.shape[1]):  # one round per shelter, vectorised over people
        waiting = np.flatnonzero(choice < 0)
        if not len(waiting):
            break
        target = preference[zone[waiting], r]
        order = np.lexsort((waiting, target))
        sorted_target = target[order]
        starts = np.searchsorted(sorted_target, sorted_target, side="left")
        rank = np.arange(len(order)) - starts
        taken = rank < room[sorted_target]
        choice[waiting[order[taken]]] = sorted_target[taken]
        np.subtract.at(room, sorted_target[taken], 1)
    return choice
