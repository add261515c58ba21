"""Jobs at a shift's end: relieved at the scene, suspended for the next crew, or finished by the team on it.

With crew shifts (:mod:`twin.crews.shifts`), a crew working a job at a scene when its team's shift ends at ``e``
(or arriving there after ``e``, at ``a``) does one of three things, decided once per team and job at the first
step end after ``t0 = max(e, a)``; ``d`` is when the work would end, ``f`` the kind's ``finish_under``:

- **relieved kinds** (``rest: 0``: fire, EMS, police by default): a relief team leaves the base at ``e`` and
  drives to the scene in ``r``, the shortest path time at the kind's speed on the current network (in a run with
  traffic, with each link's current queue delay, as dispatch sees it; the relief's drive is not itself a trip of
  the traffic model). It takes over at ``h = max(e + r, a)``, if ``d - h >= f``: the work goes on without a pause
  (``d`` unchanged, the same ``crew_done``), the outgoing team's overtime is ``h - e`` plus its ride home, taken
  as the path time from the scene back to the base (it rides back in the relief's vehicle; its trip is not
  driven in the traffic model);
- **kinds whose team rests** (``rest`` > 0: utility and road crews): if ``d - t0 >= f`` the job is suspended at
  ``t0`` with ``d - t0`` of work left; the incident waits again (``suspensions``, ``suspended_at_s``) for any crew
  of its kind on duty, which dispatch sees with that work as its time on scene; debris already cleared stays
  cleared (the segment's debris volume is scaled down to the share of work left, so the clearance time a road
  crew is given, volume over rate, is the work left). The crew stands at the scene, drives back to its post and
  stands down there (:meth:`~twin.crews.shifts.Shifts.change`);
- otherwise (less than ``f`` left, or no open road from the base for a relief) the team finishes the job, as
  before relief existed, and hands over at its post (overtime).

Sources: fire and EMS crews at long incidents are rotated out and relieved by fresh companies (NFPA 1584, the
rehabilitation of members during emergency operations); utility storm crews stop at the end of their 16-hour
day (Baltz 2017, as for their shifts), the job they leave waiting for the next crew (assumed). ``finish_under``
(1 h by default) is assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from twin.crews import incidents as inc
from twin.crews.agents import ASSIGNED, Crew
from twin.crews.shifts import Log, Shifts

Travel = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""Path times (s) from ``origins[i]`` to ``targets[i]`` at crew speed factors ``factors[i]``, one per pair."""


def at_shift_end(
    now_s: float,
    crews: Sequence[Crew],
    table: inc.Incidents,
    shifts: Shifts,
    travel: Travel,
    factors: np.ndarray,
    debris: tuple[Any, np.ndarray],
    log: Log,
) -> None:
    """Relieve, suspend or leave to finish the jobs of the teams whose shift ended by ``now_s`` (module docstring).

    ``factors`` are the crews' speed factors (by crew id); ``debris`` the state (its ``link_debris_m3``) and the
    road segment key of each link."""
    _close_suspensions(table)
    rows = _due(now_s, crews, table, shifts)
    if not len(rows):
        return
    relieved = shifts.rest_s[rows] == 0.0
    if relieved.any():
        _relieve(rows[relieved], crews, table, shifts, travel, factors, log)
    if (~relieved).any():
        _suspend(rows[~relieved], crews, table, shifts, debris, log)


def _due(now_s: float, crews: Sequence[Crew], table: inc.Incidents, shifts: Shifts) -> np.ndarray:
    """Crews working a job at its scene (not carrying a patient) past their team's shift, not yet decided."""
    rows = []
    for crew in crews:
        i = crew.crew_id
        if crew.status != ASSIGNED or not shifts.on[i] or shifts.due_s[i] > now_s or shifts.finish_job[i] == crew.job:
            continue
        on_scene = np.isfinite(crew.arrive_s) and crew.arrive_s <= now_s and table.hospital[crew.incident] < 0
        if on_scene and crew.done_s > max(shifts.due_s[i], crew.arrive_s):
            rows.append(i)
    return np.array(rows, dtype=np.int64)


def _relieve(
    rows: np.ndarray,
    crews: Sequence[Crew],
    table: inc.Incidents,
    shifts: Shifts,
    travel: Travel,
    factors: np.ndarray,
    log: Log,
) -> None:
    """Relief teams from the base take over at ``h = max(e + r, a)`` where ``d - h >= finish_under``."""
    home = np.array([crews[i].home for i in rows.tolist()], dtype=np.int64)
    scene = np.array([table.node[crews[i].incident] for i in rows.tolist()], dtype=np.int64)
    arrive = np.array([crews[i].arrive_s for i in rows.tolist()])
    done = np.array([crews[i].done_s for i in rows.tolist()])
    hand = np.maximum(shifts.due_s[rows] + travel(home, scene, factors[rows]), arrive)
    back = travel(scene, home, factors[rows])
    take = np.isfinite(hand) & np.isfinite(back) & (done - hand >= shifts.finish_under_s[rows])
    for i in rows[~take].tolist():
        shifts.finish_job[i] = crews[i].job
    if take.any():
        shifts.relieve(rows[take], hand[take], back[take], log)
        incidents = np.array([crews[i].incident for i in rows[take].tolist()], dtype=np.int64)
        np.add.at(table.handovers, incidents, 1)


def _suspend(
    rows: np.ndarray,
    crews: Sequence[Crew],
    table: inc.Incidents,
    shifts: Shifts,
    debris: tuple[Any, np.ndarray],
    log: Log,
) -> None:
    """Stop the work at ``t0 = max(e, a)`` where ``d - t0 >= finish_under``, the work left kept."""
    for i in rows.tolist():
        crew = crews[i]
        stop = max(float(shifts.due_s[i]), crew.arrive_s)
        left = crew.done_s - stop
        if left < shifts.finish_under_s[i]:
            shifts.finish_job[i] = crew.job
            continue
        incident = crew.incident
        if table.kind[incident] == inc.KINDS.index("debris"):
            _scale_debris(debris, int(table.target[incident]), left / float(table.work_s[incident]))
        _keep_first(table, incident)
        table.status[incident], table.crew[incident] = inc.OPEN, -1
        table.work_s[incident], table.suspended_at_s[incident] = left, stop
        table.suspensions[incident] += 1
        crew.stop_at(int(table.node[incident]), stop)
        log(stop, "job_suspended", f"crew {i}", "crews", {"incident": incident, "work_left_s": left})


def _keep_first(table: inc.Incidents, incident: int) -> None:
    """Keep the first crew's assignment, arrival and travel (the response) before a later crew's replace them."""
    if np.isnan(table.first_arrived_s[incident]):
        table.first_assigned_s[incident] = table.assigned_s[incident]
        table.first_arrived_s[incident] = table.arrived_s[incident]
        table.first_travel_s[incident] = table.travel_s[incident]


def _scale_debris(debris: tuple[Any, np.ndarray], link: int, share: float) -> None:
    """The debris of ``link``'s road segment shrinks to ``share`` of it (the rest was cleared)."""
    state, segment = debris
    links = np.flatnonzero(segment == segment[link])
    state.link_debris_m3[links] *= share


def _close_suspensions(table: inc.Incidents) -> None:
    """Suspensions end when a crew is on scene again: their time is added to ``suspended_s``."""
    back = np.isfinite(table.suspended_at_s) & (table.arrived_s >= table.suspended_at_s)
    table.suspended_s[back] += table.arrived_s[back] - table.suspended_at_s[back]
    table.suspended_at_s[back] = np.nan
