"""Rescue requests: people needing rescue become the crews' incidents, and leave the water when a crew has come.

* **Requests.** In each step, every place with people newly needing rescue (:mod:`twin.residents.trigger`: indoors
  above 0.5 m at their floor with no safe way out or above 1.5 m, walkers in water unsafe for their group or trapped
  for 15 min) makes one request, numbered in order (``people.parquet``'s ``rescue_request``); a place is the building
  of people at home, else the walkable node where they are. Each request is logged as a ``rescue_request`` event and,
  when the scenario has crews, is reported to them (``ctx.services["crews"]``) as one ``rescue`` incident at the
  drivable node nearest the place: a home's drivable node from the City, a walkable node's nearest drivable node (both
  looked up once, at the start). Without crews, requests are logged and counted only.
* **Time on scene** (assumed; no source gives flood-rescue times on scene per incident and person): 15 min to
  reach the people and set up (a boat or ladder in the water), plus 5 min per person brought out:
  ``work = 900 s + 300 s x people``.
* **Deadline.** When the water at any person of a request first stands above 1.5 m, the crews are told: the
  request's place has turned life-threatening then (``incidents.parquet``'s ``deadline_s``). It is the time the
  water is found there, not a forecast (the hazards publish no forecast of the depth at a building yet). People
  indoors with no way out ask from 0.5 m, so a crew can be there before the deadline; only those whose floor went
  from under 0.5 m to over 1.5 m within one step, or who had a way out until then, ask at their deadline.
* **Rescued.** When the crew's time on scene ends, the people of the request who still need rescue are brought
  out of the water and out of the model (status ``elsewhere``, ``rescued_s`` set, no shelter place taken): the
  rescue service takes them to care, a shelter or family, and the model does not follow them. People of the
  request whose need ended before the crew came (a walker who found a way out) ask again if they need rescue
  again.
* **Withdrawn.** With crews, a request of which nobody needs rescue any more (its walkers found a way out or
  reached a shelter) is withdrawn: the crews close it as resolved otherwise if no crew is on the way yet, and its
  people ask again if they need rescue again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.residents.needs import RESCUE_M
from twin.residents.people import ELSEWHERE, HOME, PeopleState
from twin.residents.population import Population

SETUP_S = 900.0
"""Time on scene to reach the people of a request and set up (s; assumed, see the module docstring)."""
PER_PERSON_S = 300.0
"""Time on scene per person brought out (s; assumed)."""


def work_s(people: np.ndarray) -> np.ndarray:
    """Time on scene of requests with ``people`` each: ``SETUP_S + PER_PERSON_S x people``."""
    return SETUP_S + PER_PERSON_S * np.asarray(people, dtype=np.float64)


@dataclass(frozen=True)
class Requests:
    """The requests made in one step: their numbers, places, drivable nodes and people (one row per request)."""

    ref: np.ndarray
    place: np.ndarray  # building row (>= 0) or -1 - walkable node
    drive_node: np.ndarray
    people: np.ndarray


def make_requests(
    people: PeopleState, population: Population, fresh: np.ndarray, home_drive: np.ndarray, walk_drive: np.ndarray
) -> Requests:
    """Number the requests of the people ``fresh`` (a mask) by place and write their ``rescue_ref``.

    ``home_drive`` is the drivable node of each home, ``walk_drive`` of each walkable node.
    """
    idx = np.flatnonzero(fresh)
    indoors = (people.status[idx] == HOME) & (population.home_building[idx] >= 0)
    place = np.where(indoors, population.home_building[idx], -1 - people.node[idx].astype(np.int64))
    places, first, inverse, counts = np.unique(place, return_index=True, return_inverse=True, return_counts=True)
    start = int(people.rescue_ref.max(initial=-1)) + 1  # numbers only grow: a person keeps their last request's
    refs = start + np.arange(len(places), dtype=np.int64)
    people.rescue_ref[idx] = refs[inverse]
    drive = np.where(indoors, home_drive[population.home[idx]], walk_drive[people.node[idx]])
    return Requests(refs, places, drive[first].astype(np.int64), counts.astype(np.int64))


def deep_requests(people: PeopleState, depth_m: np.ndarray) -> np.ndarray:
    """Numbers of the requests not yet served with someone in more than 1.5 m of water now."""
    waiting = (people.rescue_ref >= 0) & np.isnan(people.rescued_s) & (people.status != ELSEWHERE)
    return np.unique(people.rescue_ref[waiting & (depth_m > RESCUE_M)])


def withdraw(people: PeopleState) -> np.ndarray:
    """Numbers of the open requests of which nobody needs rescue now; their people may ask again."""
    asked = (people.rescue_ref >= 0) & people.rescue_asked & np.isnan(people.rescued_s)
    if not asked.any():
        return np.zeros(0, dtype=np.int64)
    refs = np.unique(people.rescue_ref[asked])
    gone = np.setdiff1d(refs, people.rescue_ref[asked & people.need_rescue])
    people.rescue_asked[asked & np.isin(people.rescue_ref, gone)] = False
    return gone


def rescue(people: PeopleState, refs: np.ndarray, t_s: np.ndarray, n_shelters: int) -> np.ndarray:
    """Bring out the people of the finished requests ``refs`` (done at ``t_s``) who still need rescue; the rest
    of those requests may ask again. Return who was rescued."""
    if not len(refs):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(refs, kind="stable")
    member = np.isin(people.rescue_ref, refs)
    idx = np.flatnonzero(member & people.need_rescue & np.isnan(people.rescued_s))
    done = t_s[order][np.searchsorted(refs[order], people.rescue_ref[idx])]
    people.status[idx] = ELSEWHERE
    people.nxt[idx], people.left_m[idx] = -1, 0.0
    people.target[idx] = n_shelters  # "elsewhere" in people.parquet's destination
    people.rescued_s[idx] = done
    people.rescue_asked[np.flatnonzero(member & ~people.need_rescue)] = False
    return idx
