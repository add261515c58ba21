"""Exposure, rescue needs and services gone without, from where each person is now.

* Depth at a person: indoors, the building's water depth less the height of their floor (3 m per floor; people
  at work, at school or in a shelter are taken on the ground floor); on the street, the depth at their node (a
  walker on a link: the deepest water along it). Drivers are not counted (they are in their cars), nor people
  elsewhere (out of the model).
* Exposed: depth above 0.5 m; needing rescue: above 1.5 m, or a walker trapped by water (DESIGN.md "Buildings
  in water"). Each person's first need of rescue is logged as a ``rescue_request`` (one event per place and
  step, with the count), for the crews issue to serve.
* Screening casualty (labelled as screening): a walker in water at least 1 m deep for 120 s in a row, the
  pedestrian rule of the Seaside, Oregon testbed's evacuation model (Mostafizi, Wang, Cox, Cramer & Dong 2017,
  "Agent-based tsunami evacuation modeling of unplanned network disruptions", Natural Hazards 88).
* Person-seconds without power, water, telecom and access to care: of the people in the city (not driving,
  not elsewhere), at the node where they are.
"""

from __future__ import annotations

import numpy as np

from twin.residents.people import DRIVING, ELSEWHERE, HOME, WALKING, PeopleState
from twin.residents.places import SERVICES
from twin.residents.population import FLOOR_HEIGHT_M, Population

EXPOSED_M, RESCUE_M = 0.5, 1.5
CASUALTY_DEPTH_M, CASUALTY_S = 1.0, 120.0


def person_depth(
    people: PeopleState,
    population: Population,
    building_depth_m: np.ndarray,
    node_depth_m: np.ndarray,
    walker_depth_m: np.ndarray,
) -> np.ndarray:
    """Water depth (m) at each person now (0 for drivers and people elsewhere).

    ``walker_depth_m``: the depth at each person if they walk (link or node), computed by the caller.
    """
    status = people.status
    depth = node_depth_m[people.node].astype(np.float64)
    at_home = (status == HOME) & (population.home_building >= 0)
    b = population.home_building[at_home]
    depth[at_home] = building_depth_m[b] - FLOOR_HEIGHT_M * population.floor[at_home]
    walking = status == WALKING
    depth[walking] = walker_depth_m[walking]
    depth[(status == DRIVING) | (status == ELSEWHERE)] = 0.0
    return np.fmax(depth, 0.0)


def accumulate(people: PeopleState, depth_m: np.ndarray, served: dict[str, np.ndarray], dt_s: float) -> np.ndarray:
    """Update exposure, rescue and service counters for a step of ``dt_s``; return who newly needs rescue."""
    present = (people.status != DRIVING) & (people.status != ELSEWHERE)
    people.exposed[:] = present & (depth_m > EXPOSED_M)
    people.need_rescue[:] = present & ((depth_m > RESCUE_M) | people.trapped)
    people.exposure_s[people.exposed] += np.float32(dt_s)
    for k, service in enumerate(SERVICES):
        people.without_s[k, present & ~served[service][people.node]] += np.float32(dt_s)
    walking = people.status == WALKING
    deep = walking & (depth_m >= CASUALTY_DEPTH_M)
    people.deep_s[:] = np.where(deep, people.deep_s + np.float32(dt_s), np.float32(0.0))
    people.casualty |= people.deep_s >= CASUALTY_S
    fresh = people.need_rescue & ~people.rescue_asked
    people.rescue_asked |= fresh
    people.ever_rescue |= people.need_rescue
    return fresh
