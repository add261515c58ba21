"""Crew shifts: which crews are on duty, when a team is relieved or stands down, and the overtime a job costs.

Without ``crews.shifts`` (the default) every crew is a unit staffed round the clock by people who never tire, as
the crews phase assumed before. With it, each crew is a unit (a vehicle and its post) worked by teams in shifts of
``shift`` hours, one of two ways per crew kind:

- **relieved** (``rest: 0``): a relief team takes the unit over at the end of each shift, so the unit is staffed
  round the clock; the teams' shifts follow a fixed rota (start, start + shift, ...): fire services' 24-hour
  platoons, EMS and police 12-hour shifts;
- **stood down** (``rest`` > 0): the same team stops and rests ``rest`` hours before its next shift, and the unit
  is off duty meanwhile: utility storm crews' 16 hours on, 8 hours off.

The rule at a shift's end (time ``e``): a crew idle at its post hands over at once; a crew idle at a scene or
driving drives back to its post and hands over on arrival, at ``h`` >= ``e``, and takes no new job after ``e``;
a crew working a job at a scene is relieved there, or suspends the job (:mod:`twin.crews.handover`):

- a relieved kind's relief team comes from the base and takes the job over at the scene when it gets there, the
  work going on without a pause; the outgoing team's overtime is its wait plus its ride home (:meth:`Shifts.relieve`);
- a stood-down kind's team stops work at ``e`` (or on arriving, if later), the work left kept for the next crew of
  its kind on duty, drives back and stands down on arrival;
- either way, with less work left than ``finish_under`` (default 1 h, assumed) the team finishes the job first.

Its overtime is ``h - e``. A relieved unit's next team has been on duty since the last rota start at or before
``h`` and is relieved at the next one; a stood-down team comes back on duty at ``h + rest`` (its rest is never cut
short by overtime) for a full shift. Dispatch only sees crews on duty whose shift has not ended
(:meth:`Shifts.ready`).

The crews of a base are staggered so that their shift changes are spread over the rota: crew ``j`` of the ``n`` at
a base starts the run ``j (shift + rest) / n`` into its cycle (crew 0 starts a fresh shift at the run's start).
With rest <= (shift + rest) / n no two crews of a base rest at once at the start of a run; one crew per base
leaves it empty while that crew rests, and overtime delays a team's rest and so shifts its later cycle.

Fatigue is represented by this cap on the hours a team works (no new job after its shift) and by what the run
reports (overtime, the longest continuous duty per unit), not by slower work: the evidence on long hours gives the
risk of accidents and injuries by hours on duty (Folkard and Tucker 2003; Weaver et al. 2015 for EMS), not a work
rate, so no speed penalty is applied.

Defaults per crew kind (:data:`DEFAULT_SHIFTS`), each cited or labelled assumed:

- fire 24 h, relieved: the 24-hour platoon rota (three platoons, 24 h on and 48 h off) most career fire
  departments in the United States work (common practice; NFPA 1710 sets staffing, not the shift length);
- EMS 12 h, relieved: the Evidence-Based Guidelines for Fatigue Risk Management in EMS (Patterson et al. 2018,
  Prehospital Emergency Care 22 sup1) recommend shifts shorter than 24 h; Weaver et al. 2015 (Occupational and
  Environmental Medicine 72:798) found 60 % more injuries in EMS shifts of 16-24 h than in shifts of 8-12 h;
- police 12 h, relieved (assumed: 8, 10 and 12-hour shifts are all common, Amendola et al. 2011, Police
  Foundation shift-length experiment);
- power 16 h on, 8 h off: utility storm restoration practice under mutual assistance (crews "working 16-hour days
  with a mandatory eight hours off" after Hurricane Irma, Baltz 2017, Bloomberg BNA);
- water, telecom and road 16 h on, 8 h off (assumed: the power crews' practice);
- ``finish_under`` 1 h for every kind (assumed: about what a handover briefing and the relief's set-up cost).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from twin.crews.agents import IDLE, Crew
from twin.scenario.crews import CREW_KINDS, CrewsSpec

HOUR_S = 3600.0
DEFAULT_SHIFTS: dict[str, tuple[float, float]] = {
    "fire": (24 * HOUR_S, 0.0),
    "ems": (12 * HOUR_S, 0.0),
    "police": (12 * HOUR_S, 0.0),
    "power": (16 * HOUR_S, 8 * HOUR_S),
    "water": (16 * HOUR_S, 8 * HOUR_S),
    "telecom": (16 * HOUR_S, 8 * HOUR_S),
    "road": (16 * HOUR_S, 8 * HOUR_S),
}
"""(shift, rest) in seconds per crew kind; rest 0: relieved by the next team (sources in the module docstring)."""
DEFAULT_FINISH_UNDER_S = 3600.0
"""A team whose shift ends with less work than this left on its job finishes it (assumed, module docstring)."""
SHIFT_SOURCES = (
    "fire 24 h relieved (the 24-hour platoon rota of career fire departments, common practice), EMS 12 h relieved "
    "(Patterson et al. 2018 EMS fatigue guidelines: shifts under 24 h), police 12 h relieved (assumed; Amendola et "
    "al. 2011), power 16 h on and 8 h off (storm restoration under mutual assistance, Baltz 2017), water, telecom "
    "and road as power (assumed)"
)
ARRAYS = ("on", "since_s", "due_s", "off_s", "overtime_s", "longest_s", "ends", "free_s", "finish_job")
"""The changing state, saved in checkpoints as ``shift_<name>``."""

Log = Callable[[float, str, str, str, dict[str, Any]], None]


def finish_table(spec: CrewsSpec) -> dict[str, float]:
    """``finish_under`` per crew kind (s): the scenario's, else :data:`DEFAULT_FINISH_UNDER_S`."""
    table = dict.fromkeys(CREW_KINDS, DEFAULT_FINISH_UNDER_S)
    for kind, given in (spec.shifts or {}).items():
        if given.finish_under_s is not None:
            table[kind] = given.finish_under_s
    return table


def shift_table(spec: CrewsSpec) -> dict[str, tuple[float, float]] | None:
    """(shift, rest) per crew kind from the ``crews.shifts`` key; None when the crews work no shifts."""
    if spec.shifts is None:
        return None
    table = dict(DEFAULT_SHIFTS)
    for kind, given in spec.shifts.items():
        shift, rest = table[kind]
        table[kind] = (
            shift if given.shift_s is None else given.shift_s,
            rest if given.rest_s is None else given.rest_s,
        )
    return table


class Shifts:
    """Who is on duty and since when (see the module docstring); one row per crew, arrays only.

    Parameters
    ----------
    kinds, bases
        Each crew's kind and base (any key that tells bases apart), by crew id.
    table
        (shift, rest) in seconds per crew kind (:func:`shift_table`).
    finish_under
        Per crew kind, the work left (s) under which a team finishes its job at its shift's end
        (:func:`finish_table`; default :data:`DEFAULT_FINISH_UNDER_S` for every kind).

    Attributes
    ----------
    on
        A team is on duty (including one past its shift's end, finishing a job).
    since_s
        When the team on duty came on (NaN: off duty; before 0: it started before the run).
    due_s
        On duty: when its shift ends; off duty: when the team comes back on.
    off_s, overtime_s, longest_s, ends
        Per unit, over its finished spells: time off duty within the run (resting), overtime, the longest
        continuous spell of a team (from its start, even before the run), and how many shifts ended.
    free_s
        When the crew last came back to its post, free (NaN: never), which times a handover after a job.
    finish_job
        The job (the crew's assignment counter) its team has decided to finish past its shift (-1: none).
    """

    def __init__(
        self,
        kinds: Sequence[str],
        bases: Sequence[Hashable],
        table: dict[str, tuple[float, float]],
        finish_under: dict[str, float] | None = None,
    ) -> None:
        self.kind = np.array(kinds, dtype=str)
        self.shift_s = np.array([table[k][0] for k in kinds], dtype=np.float64)
        self.rest_s = np.array([table[k][1] for k in kinds], dtype=np.float64)
        offset = _stagger(list(bases)) * (self.shift_s + self.rest_s)
        self.on = offset < self.shift_s
        self.since_s = np.where(self.on, -offset, np.nan)
        self.due_s = np.where(self.on, self.shift_s - offset, self.shift_s + self.rest_s - offset)
        n = len(kinds)
        self.off_s, self.overtime_s, self.longest_s = np.zeros(n), np.zeros(n), np.zeros(n)
        self.ends = np.zeros(n, dtype=np.int64)
        self.free_s = np.full(n, np.nan)
        finish = finish_under or {}
        self.finish_under_s = np.array([finish.get(k, DEFAULT_FINISH_UNDER_S) for k in kinds], dtype=np.float64)
        self.finish_job = np.full(n, -1, dtype=np.int64)

    def ready(self, now_s: float) -> np.ndarray:
        """Per crew: on duty with its shift not yet over, so dispatch may send it."""
        return np.asarray(self.on & (self.due_s > now_s))

    def change(self, now_s: float, crews: Sequence[Crew], log: Log) -> None:
        """Hand over, stand down and come back on duty up to ``now_s`` (see the module docstring).

        A crew idle at its post (``idle_at_post``) whose shift ended hands over at ``max(end, free_s)``: its shift's
        end, or its return to the post if later (each crew's ``free_s``, when it last came back free)."""
        self.free_s = np.array([crew.free_s for crew in crews], dtype=np.float64)
        idle_at_post = np.array([crew.status == IDLE and crew.node == crew.post for crew in crews], dtype=bool)
        for _ in range(1000):  # a few rounds only when a shift or rest is shorter than the step
            if not self._round(now_s, idle_at_post, log):
                return

    def _round(self, now_s: float, idle_at_post: np.ndarray, log: Log) -> bool:
        """One round of handovers and returns to duty; whether anything changed."""
        end = np.flatnonzero(self.on & (self.due_s <= now_s) & idle_at_post)
        back = np.flatnonzero(~self.on & (self.due_s <= now_s))
        if len(end):
            self._hand_over(end, log)
        if len(back):
            self.off_s[back] += self._rested(back, self.due_s[back])
            self.on[back], self.since_s[back] = True, self.due_s[back]
            self.due_s[back] = self.since_s[back] + self.shift_s[back]
            for crew, t_s in zip(back.tolist(), self.since_s[back].tolist(), strict=True):
                log(t_s, "shift_change", f"crew {crew}", "crews", {"to": "on duty"})
        return bool(len(end) or len(back))

    def _hand_over(self, rows: np.ndarray, log: Log) -> None:
        """The teams of ``rows`` stop at ``h = max(end, free_s)``: a relief team takes over, or the unit rests."""
        due, since = self.due_s[rows], self.since_s[rows]
        hand = np.fmax(due, self.free_s[rows])
        self.overtime_s[rows] += hand - due
        self.longest_s[rows] = np.maximum(self.longest_s[rows], hand - since)
        self.ends[rows] += 1
        shift, rest = self.shift_s[rows], self.rest_s[rows]
        relieved = rest == 0.0
        start = due + np.floor((hand - due) / shift) * shift  # the rota's last start at or before the handover
        self.since_s[rows] = np.where(relieved, start, np.nan)
        self.due_s[rows] = np.where(relieved, start + shift, hand + rest)
        self.on[rows] = relieved
        for i, crew in enumerate(rows.tolist()):
            to = "relief team" if relieved[i] else "rest"
            details = {"to": to, "overtime_s": float(hand[i] - due[i])}
            log(float(hand[i]), "shift_change", f"crew {crew}", "crews", details)

    def relieve(self, rows: np.ndarray, hand_s: np.ndarray, home_s: np.ndarray, log: Log) -> None:
        """Relief teams take over the units ``rows`` at their scenes at ``hand_s``; the outgoing teams get home
        ``home_s`` later: overtime ``hand - end + home``, a spell ``hand + home - since``. The unit's new team is
        the rota's, as in a handover at the post."""
        due, since = self.due_s[rows], self.since_s[rows]
        self.overtime_s[rows] += hand_s - due + home_s
        self.longest_s[rows] = np.maximum(self.longest_s[rows], hand_s + home_s - since)
        self.ends[rows] += 1
        start = due + np.floor((hand_s - due) / self.shift_s[rows]) * self.shift_s[rows]
        self.since_s[rows], self.due_s[rows] = start, start + self.shift_s[rows]
        for i, crew in enumerate(rows.tolist()):
            details = {"to": "relief team at the scene", "overtime_s": float(hand_s[i] - due[i] + home_s[i])}
            log(float(hand_s[i]), "shift_change", f"crew {crew}", "crews", details)

    def _rested(self, rows: np.ndarray, until_s: np.ndarray) -> np.ndarray:
        """Time within the run that the resting units ``rows`` have rested until ``until_s``."""
        began = self.due_s[rows] - self.rest_s[rows]  # they came back on at due: the rest began rest before
        return np.asarray(until_s - np.maximum(began, 0.0))

    def series(self) -> dict[str, float]:
        """``crews_on_duty`` in all and by crew kind (a team past its shift's end, finishing a job, counts)."""
        row = {"crews_on_duty": float(self.on.sum())}
        row.update({f"crews_on_duty_{kind}": float((self.on & (self.kind == kind)).sum()) for kind in CREW_KINDS})
        return row

    def columns(self, end_s: float) -> dict[str, np.ndarray]:
        """Per crew, the spell under way counted to ``end_s``: ``on_duty`` now, ``duty_s`` (time the unit had a
        team on duty in the run: all of it when relieved), ``overtime_s``, ``longest_duty_s`` (the longest
        continuous spell of a team) and ``shifts_ended``."""
        on = self.on
        since = np.where(on, self.since_s, end_s)
        late = np.where(on, np.maximum(end_s - self.due_s, 0.0), 0.0)
        off = self.off_s.copy()
        off[~on] += self._rested(np.flatnonzero(~on), np.full(int((~on).sum()), end_s))
        return {
            "on_duty": on.copy(),
            "duty_s": end_s - off,
            "overtime_s": self.overtime_s + late,
            "longest_duty_s": np.maximum(self.longest_s, end_s - since),
            "shifts_ended": self.ends.copy(),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The changing state (:data:`ARRAYS`), for checkpoints."""
        return {f"shift_{name}": np.array(getattr(self, name)) for name in ARRAYS}

    def load_arrays(self, arrays: dict[str, np.ndarray], crews: Sequence[Crew]) -> None:
        """Restore :meth:`arrays` (and each crew's ``free_s``)."""
        for name in ARRAYS:
            if f"shift_{name}" in arrays:  # checkpoints from before handovers at the scene have no finish_job
                setattr(self, name, np.array(arrays[f"shift_{name}"], dtype=getattr(self, name).dtype))
        for crew, free in zip(crews, self.free_s.tolist(), strict=True):
            crew.free_s = free

    def assumption(self) -> str:
        """The sentence for ``assumptions.json``."""
        kinds = sorted(set(self.kind.tolist()), key=CREW_KINDS.index)
        parts = []
        for kind in kinds:
            row = int(np.flatnonzero(self.kind == kind)[0])
            shift, rest = self.shift_s[row] / HOUR_S, self.rest_s[row] / HOUR_S
            parts.append(f"{kind} {shift:g} h relieved" if rest == 0 else f"{kind} {shift:g} h on, {rest:g} h off")
        return (
            f"crews: shifts ({', '.join(parts)}; defaults: {SHIFT_SOURCES}); a crew takes no new job after its "
            "shift; a job at the scene is handed over there to a relief team from the base (relieved kinds; the "
            "relief drives from the base at the shift's end, the outgoing team's overtime its wait and its ride home "
            "at the same path time back) or suspended with its work left kept for the next crew on duty (kinds "
            "that rest), unless less than "
            f"{', '.join(sorted({f'{v / HOUR_S:g} h' for v in self.finish_under_s.tolist()}))} of work is left "
            "(then finished: overtime); otherwise the team hands over at its post; the crews of a base "
            "staggered over the rota; fatigue not modelled as slower work (the evidence gives accident risk by "
            "hours on duty, not a work rate)"
        )


def _stagger(bases: list[Hashable]) -> np.ndarray:
    """Per crew, ``j / n``: its rank ``j`` among the ``n`` crews of its base (crews in id order)."""
    rows: dict[Hashable, list[int]] = {}
    for i, base in enumerate(bases):
        rows.setdefault(base, []).append(i)
    out = np.zeros(len(bases))
    for members in rows.values():
        out[members] = np.arange(len(members)) / len(members)
    return out
