"""Exposure, rescue needs and services gone without, from where each person is now.

* Depth at a person: indoors, the building's water depth less the height of their floor (3 m per floor; people
  at work, at school or in a shelter are taken on the ground floor); on the street, the depth at their node (a
  walker on a link: the deepest water along it). Drivers are not counted (they are in their cars), nor people
  elsewhere (out of the model).
* Velocity at a person (:mod:`twin.residents.velocity`, Manning on the water-surface slope): 0 indoors at home,
  else that of their node's cell (a walker on a link: the fastest along it). Each person keeps the deepest water
  and the fastest flow they were in; ``people.parquet`` gives them and their ARR 2019 hazard class.
* Exposed: depth above 0.5 m (DESIGN.md "Buildings in water"). Who needs rescue is the rule of
  :mod:`twin.residents.trigger` (indoors above 0.5 m with no safe way out, or above 1.5 m; walkers in water unsafe
  for their group, or trapped for 15 min); each person's first need of rescue becomes a request
  (:mod:`twin.residents.rescues`).
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
from twin.residents.population import Population

EXPOSED_M, RESCUE_M = 0.5, 1.5
CASUALTY_DEPTH_M, CASUALTY_S = 1.0, 120.0


def person_depth(
    people: PeopleState,
    population: Population,
    home_floor_m: np.ndarray,
    node_depth_m: np.ndarray,
    on_link: np.ndarray,
    link_depth_m: np.ndarray,
) -> np.ndarray:
    """Water depth (m) at each person now (0 for drivers and people elsewhere).

    ``home_floor_m``: per person, the depth at their home's floor; ``on_link``: walkers between two nodes, with
    the deepest water along their link in ``link_depth_m``.
    """
    status = people.status
    at_home = (status == HOME) & (population.home_building >= 0)
    depth = np.where(at_home, home_floor_m, node_depth_m[people.node])
    depth[on_link] = link_depth_m
    depth[(status == DRIVING) | (status == ELSEWHERE)] = 0.0
    return depth


def person_velocity(
    people: PeopleState,
    population: Population,
    node_velocity_mps: np.ndarray,
    on_link: np.ndarray,
    link_velocity_mps: np.ndarray,
) -> np.ndarray:
    """Water velocity (m/s) at each person now: 0 indoors at home, for drivers and for people elsewhere; the node's
    cell for everyone else, the fastest cell along their link for walkers between two nodes."""
    status = people.status
    at_home = (status == HOME) & (population.home_building >= 0)
    velocity = np.where(at_home, 0.0, node_velocity_mps[people.node])
    velocity[on_link] = link_velocity_mps
    velocity[(status == DRIVING) | (status == ELSEWHERE)] = 0.0
    return velocity


def note_peaks(people: PeopleState, depth_m: np.ndarray, velocity_mps: np.ndarray) -> None:
    """Keep each person's deepest water and fastest flow so far (``people.parquet``'s peak columns)."""
    np.maximum(people.peak_depth_m, depth_m.astype(np.float32), out=people.peak_depth_m)
    np.maximum(people.peak_velocity_mps, velocity_mps.astype(np.float32), out=people.peak_velocity_mps)


def accumulate(
    people: PeopleState,
    depth_m: np.ndarray | None,
    in_need: np.ndarray,
    served: dict[str, np.ndarray],
    dt_s: float,
) -> np.ndarray:
    """Update exposure, rescue and service counters for a step of ``dt_s`` (``depth_m`` None: no water
    anywhere; ``in_need``: who needs rescue now, :func:`twin.residents.trigger.in_need`); return who newly needs
    rescue."""
    step = np.float32(dt_s)
    present = (people.status != DRIVING) & (people.status != ELSEWHERE)
    people.need_rescue[:] = present & in_need
    if depth_m is None:
        people.exposed[:] = False
        people.deep_s[:] = 0.0
    else:
        people.exposed[:] = present & (depth_m > EXPOSED_M)
        np.add(people.exposure_s, step, out=people.exposure_s, where=people.exposed)
        deep = (people.status == WALKING) & (depth_m >= CASUALTY_DEPTH_M)
        people.deep_s[:] = np.where(deep, people.deep_s + step, np.float32(0.0))
        people.casualty |= people.deep_s >= CASUALTY_S
    lacking = [k for k, service in enumerate(SERVICES) if not served[service].all()]
    if lacking:  # one gather of a per-node bit set of the services missing there, then one add per service
        bits = np.zeros(len(served[SERVICES[0]]), dtype=np.uint8)
        for k in lacking:
            bits |= (~served[SERVICES[k]]).astype(np.uint8) << k
        missing = np.where(present, bits[people.node], np.uint8(0))
        for k in lacking:
            row = people.without_s[k]
            np.add(row, step, out=row, where=(missing & np.uint8(1 << k)) > 0)
    fresh = people.need_rescue & ~people.rescue_asked
    people.rescue_asked |= fresh
    people.ever_rescue |= people.need_rescue
    return fresh
