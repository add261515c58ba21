"""Warnings: who receives which warning, when, and by which channel.

Per channel c, the share of the people in a warning's area reached t seconds after it was sent follows a
logistic diffusion curve capped at the channel's reach R_c (Rogers & Sorensen 1991, "Diffusion of emergency
warning: comparing empirical and simulation results"; Sorensen 2000, "Hazard warning systems: review of 20
years of progress", Natural Hazards Review 1(2))::

    L(t) = 1 / (1 + exp(-k (t - t_half)))      with k = 4 / t_half
    P_c(t) = R_c (L(t) - L(0)) / (1 - L(0))    (P_c(0) = 0, P_c(inf) = R_c)

Each person draws one uniform number u_c per channel at the start and receives channel c at the first step in
which ``u_c < P_c(t)`` while the channel can reach them: cell broadcast needs a working cell site in range of
where they are, sirens need power at the siren (its node's power zone), TV and radio need power where they are.
With independent u_c the share warned by any channel is ``1 - prod_c (1 - P_c(t))``. Door-to-door reaches
``door_to_door_per_h`` people per hour of the area's people, in order of their u (a scenario's rate); sent by a
desk, crews knock block by block (:mod:`twin.residents.door`). Word of mouth is a contagion: an unwarned person
accumulates the hazard ``beta * f`` per second, f the warned share of the people at the same walkable node, and is
warned when the accumulated hazard passes an exponential draw (so P(warned in dt) = 1 - exp(-beta f dt)).

The reach and half-times below are assumptions within the ranges those reviews report (sirens and TV/radio
reach far fewer people at night, when they are asleep and indoors); a scenario sets its own reach per warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.scenario.residents import CHANNELS

CELL, SIREN, TV, DOOR, WORD = range(5)


@dataclass(frozen=True)
class ChannelCurve:
    """A channel's logistic diffusion: reach by day and by night, and the time to half the reach (s)."""

    reach_day: float
    reach_night: float
    half_s: float


CURVES: dict[str, ChannelCurve] = {
    "cell_broadcast": ChannelCurve(0.85, 0.70, 5 * 60.0),
    "siren": ChannelCurve(0.60, 0.35, 10 * 60.0),
    "tv_radio": ChannelCurve(0.50, 0.10, 30 * 60.0),
}
WORD_OF_MOUTH_PER_S = 4.0 / 3600.0
"""beta: a person with every neighbour warned hears it within about 15 min on average (assumed)."""


def logistic_share(t_s: np.ndarray | float, reach: float, half_s: float) -> np.ndarray:
    """P(t): share reached ``t_s`` seconds after sending (0 before), logistic capped at ``reach``."""
    t = np.asarray(t_s, dtype=np.float64)
    k = 4.0 / half_s
    l0 = 1.0 / (1.0 + np.exp(k * half_s))
    lt = 1.0 / (1.0 + np.exp(-k * (t - half_s)))
    return np.where(t >= 0, reach * (lt - l0) / (1.0 - l0), 0.0)


def combined_share(shares: list[float]) -> float:
    """Share reached by at least one of independent channels: 1 - prod(1 - P_c)."""
    return 1.0 - float(np.prod([1.0 - p for p in shares]))


def door_to_door_share(t_s: float, per_h: float, people: int) -> float:
    """Share of an area's ``people`` a door-to-door effort of ``per_h`` people per hour has reached."""
    if people <= 0 or t_s <= 0:
        return 0.0
    return min(1.0, per_h * t_s / 3600.0 / people)


def receive(u: np.ndarray, can_reach: np.ndarray, share: float) -> np.ndarray:
    """Persons (of a warning's area) who have the channel now: reachable by it, and ``u < P(t)``."""
    return can_reach & (u < share)


def word_of_mouth(
    node: np.ndarray,
    warned: np.ndarray,
    present: np.ndarray,
    hazard: np.ndarray,
    threshold: np.ndarray,
    n_nodes: int,
    dt_s: float,
    beta_per_s: float = WORD_OF_MOUTH_PER_S,
) -> np.ndarray:
    """Advance each unwarned person's accumulated hazard by ``beta f dt``; return who is now warned by it (indices).

    ``f`` is the warned share of the people present at the same walkable node; ``hazard`` is updated in place.
    Only people at a node where someone is warned can hear anything, so only they are looked at.
    """
    told = np.bincount(node[present & warned], minlength=n_nodes)
    if not told.any():
        return np.zeros(0, dtype=np.int64)
    listening = np.flatnonzero(present & ~warned)
    listening = listening[told[node[listening]] > 0]
    people = np.bincount(node[present], minlength=n_nodes)
    share = told / np.maximum(people, 1)
    hazard[listening] += (beta_per_s * dt_s * share[node[listening]]).astype(hazard.dtype)
    return listening[hazard[listening] >= threshold[listening]]


def channel_name(index: int) -> str:
    """The name of a channel index (``people.parquet``'s ``warned_by``)."""
    return CHANNELS[index]
