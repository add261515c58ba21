"""Who needs rescue now: the rule that turns a person in water into a rescue request for the crews.

A request should mean "this person cannot get out safely on their own", so that a crew sent to it is needed and
its deadline (the water reaching 1.5 m, :func:`twin.residents.rescues.deep_requests`) can still be met:

* **Indoors** (at home, at work or school, in a shelter), a person needs rescue when the water at their floor is
  above 0.5 m and no walk route from their building is safe for their group, or when it is above 1.5 m whatever
  the streets (DESIGN.md "Buildings in water"). 0.5 m is the exposure threshold and the depth bound of ARR 2019's
  H2 class, beyond which still water is unsafe for children and the elderly (Australian Rainfall and Runoff 2019,
  Book 6 Chapter 7; Smith et al. 2014); "no safe route" is the walk network's own test, the route trees over the
  links safe for the person's group (:class:`twin.residents.walking.Routes`): to a shelter, or to a place to stay
  beyond the hazard area. Such people stay in and wait (:func:`way_out` holds their departure back): the UK fire
  services' advice to people in a flooded building is that it is safer to remain and await rescue than to wade out
  (National Fire Chiefs Council, National Operational Guidance, "Protect people at risk: water survival guidance
  for people in buildings"). People upstairs, above the water, do not need rescue.
* **Walkers** need rescue when the water where they stand is in a hazard class unsafe for their group (H3 and
  above for children, the elderly and the mobility-impaired, H4 and above for everyone, ARR 2019): they were
  caught on a link that turned unsafe. A walker who merely has no safe route on (*trapped*) waits where they are,
  and asks for rescue only once trapped for :data:`TRAPPED_WAIT_S` in a row (15 min, assumed: no source gives how
  long a stranded pedestrian waits before calling; three of the 5-minute steps shipped scenarios use, long enough
  for the water to move and the route trees to be rebuilt, so that a way out that opens a step later is taken
  without calling a crew). As in the Life Safety Model (HR Wallingford), a person outdoors is at risk from the
  depth and velocity where they stand, a person indoors from the water in their building.
* Drivers and people elsewhere never need rescue here (drivers are the traffic model's; their stranded cars turn
  them into walkers).
"""

from __future__ import annotations

import numpy as np

from twin.residents.needs import EXPOSED_M, RESCUE_M
from twin.residents.walking import ADULTS, VULNERABLE, Routes

TRAPPED_WAIT_S = 900.0
"""How long a walker with no safe route stays trapped before asking for rescue (s; assumed, see above)."""
UNSAFE_CLASS = np.zeros(2, dtype=np.int8)
"""Per safety group: the lowest ARR 2019 hazard class unsafe for it (H4 for adults, H3 for the vulnerable)."""
UNSAFE_CLASS[ADULTS], UNSAFE_CLASS[VULNERABLE] = 4, 3
_EPS_S = 1e-3
"""Float32 times: a trapped time counts as reached within a millisecond."""


def way_out(routes: Routes, node: np.ndarray, group: np.ndarray, in_shelter: np.ndarray) -> np.ndarray:
    """Whether each person, at walkable ``node`` with safety ``group``, has a walk route safe for their group.

    A route exists when their node is itself a place to stay beyond the hazard area (``routes.safe``), or the
    route tree to a shelter or to those places has a next hop from it, or their node is a shelter's and they are
    not in that shelter (``in_shelter``: they could go in).
    """
    node, group = np.asarray(node, dtype=np.int64), np.asarray(group, dtype=np.int64)
    hops = routes.hop[group, :, node]  # (people, shelters + 1)
    return routes.safe[node] | (hops >= 0).any(axis=1) | (np.isin(node, routes.shelter_node) & ~in_shelter)


def note_trapped(trapped_since_s: np.ndarray, trapped: np.ndarray, t_s: float) -> None:
    """Keep when each trapped walker was first found trapped in a row (``t_s`` if they are newly trapped; NaN for
    everyone not trapped now)."""
    trapped_since_s[:] = np.where(trapped, np.fmin(trapped_since_s, np.float32(t_s)), np.float32(np.nan))


def in_need(
    depth_m: np.ndarray,
    indoors: np.ndarray,
    no_way_out: np.ndarray,
    walking: np.ndarray,
    unsafe_here: np.ndarray,
    trapped_since_s: np.ndarray,
    t_s: float,
    wait_s: float = TRAPPED_WAIT_S,
) -> np.ndarray:
    """Who needs rescue now (see the module docstring), every argument a per-person array:

    ``indoors & (d > 1.5 | (d > 0.5 & no_way_out))  |  walking & (d > 1.5 | unsafe_here | t - since >= wait)``
    """
    deep = depth_m > RESCUE_M
    inside = indoors & (deep | ((depth_m > EXPOSED_M) & no_way_out))
    waited = (t_s - trapped_since_s.astype(np.float64)) >= wait_s - _EPS_S  # NaN (not trapped) compares False
    outside = walking & (deep | unsafe_here | waited)
    return np.asarray(inside | outside)
