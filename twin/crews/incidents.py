"""Incidents: what needs a crew, where, how urgently, and what became of it (a growing struct of arrays).

Sources, each a function of the state arrays (never a per-agent loop):

* **damaged lifeline components** (``SimState.comp_damaged`` of power, water and telecom rows) -> a repair
  incident of the component's service, at the component's drivable node;
* **debris on roads** (``SimState.link_closed_debris``, written by the landslide phase) -> a clearing incident per
  road segment (both directions of a two-way road are one segment), reached at whichever end of the road the
  crew gets to first without crossing it;
* **medical calls** at a base rate per 1,000 residents per day that surges with the share of residents affected:
  ``lambda = r N / 1000 x (1 + s f)`` calls per day, ``f`` = share of residents without power (``1 - Q_power``),
  ``s`` = ``crews.medical.surge`` (default 0.4: EMS demand rose about 40 % in Houston during Hurricane Ike,
  Cooper et al. 2012, Am J Disaster Med 7(2)); Poisson counts per step, placed at homes weighted by residents;
* **reported incidents**: any phase reports through ``ctx.services["crews"]`` (:class:`IncidentDesk`), e.g.
  the residents phase's people needing rescue. Nothing here invents rescues.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

KINDS = ("rescue", "medical", "power", "water", "telecom", "debris", "police")
"""Incident kinds (their code is the index)."""
SERVED_BY = {
    "rescue": "fire",
    "medical": "ems",
    "power": "power",
    "water": "water",
    "telecom": "telecom",
    "debris": "road",
    "police": "police",
}
"""Which crew kind works each incident kind."""
DEFAULT_PRIORITY = {"rescue": 1, "medical": 1, "debris": 2, "power": 2, "water": 3, "telecom": 3, "police": 2}
"""Priority classes (1 first): life safety, then the roads and power that other responses need, then the rest."""
COMPONENT_KINDS = ("power", "water", "telecom")
"""Incident kinds that repair a lifeline component (their ``target`` is a row of ``City.facilities``)."""

OPEN, ASSIGNED, DONE, RESOLVED = 0, 1, 2, 3
"""Incident status codes: waiting for a crew, a crew on the way or at work, worked, gone before a crew came."""
STATUS_NAMES = ("open", "assigned", "done", "resolved_otherwise")


def _floats() -> np.ndarray:
    return np.zeros(0, dtype=np.float64)


def _ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Incidents:
    """Every incident of a run (row = incident id), as arrays.

    Attributes
    ----------
    kind, priority, node, target
        Kind code (index into :data:`KINDS`), priority class (1 first), drivable node of the place (for debris,
        the end of the road the crew reached, once assigned), and the component row or link id it concerns
        (-1: none).
    node2
        The other end of a blocked road (a crew may reach the debris from either end); -1 for other kinds.
    status
        :data:`OPEN`, :data:`ASSIGNED`, :data:`DONE` or :data:`RESOLVED`.
    created_s, assigned_s, arrived_s, done_s
        When it was created, a crew was assigned, the crew arrived and the work ended (NaN: not yet).
    travel_s, work_s
        The crew's travel time and the time on scene (work drawn when the incident is created, or at dispatch for
        debris, whose volume may grow; NaN until known).
    crew
        The crew assigned last (-1: none).
    hospital, at_hospital_s
        For transported patients: the hospital (facility row; -1: none, or not yet on the way) and when the crew
        reached it (NaN: not yet). The incident is done when the patient has been handed over there.
    by_water
        Whether the crew sent last goes (or went) through flooded roads by boat or wading (a flood rescue team,
        :mod:`twin.crews.water`).
    ref, people, deadline_s
        For reported incidents: the reporter's own number for the report (-1: none; the residents phase numbers
        its rescue requests), the people there (0: not told), and when the water at the place reached the
        depth at which it becomes life-threatening (1.5 m for rescues; NaN: not yet, or not told).
    handovers, suspensions
        Relief teams that took the job over at the scene, and times the job was suspended (its team's shift over,
        the work left kept in ``work_s``), with crew shifts (:mod:`twin.crews.handover`).
    suspended_s, suspended_at_s
        Time the job waited suspended before a crew was back on scene (closed suspensions), and when the open
        suspension began (NaN: none open).
    first_assigned_s, first_arrived_s, first_travel_s
        For a suspended job, its first crew's times (the response), since ``assigned_s``, ``arrived_s`` and
        ``travel_s`` are then the last crew's (NaN: never suspended).
    """

    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    priority: np.ndarray = field(default_factory=_ints)
    node: np.ndarray = field(default_factory=_ints)
    node2: np.ndarray = field(default_factory=_ints)
    target: np.ndarray = field(default_factory=_ints)
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    created_s: np.ndarray = field(default_factory=_floats)
    assigned_s: np.ndarray = field(default_factory=_floats)
    arrived_s: np.ndarray = field(default_factory=_floats)
    done_s: np.ndarray = field(default_factory=_floats)
    travel_s: np.ndarray = field(default_factory=_floats)
    work_s: np.ndarray = field(default_factory=_floats)
    crew: np.ndarray = field(default_factory=_ints)
    ref: np.ndarray = field(default_factory=_ints)
    people: np.ndarray = field(default_factory=_ints)
    deadline_s: np.ndarray = field(default_factory=_floats)
    hospital: np.ndarray = field(default_factory=_ints)
    at_hospital_s: np.ndarray = field(default_factory=_floats)
    by_water: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    handovers: np.ndarray = field(default_factory=_ints)
    suspensions: np.ndarray = field(default_factory=_ints)
    suspended_s: np.ndarray = field(default_factory=_floats)
    suspended_at_s: np.ndarray = field(default_factory=_floats)
    first_assigned_s: np.ndarray = field(default_factory=_floats)
    first_arrived_s: np.ndarray = field(default_factory=_floats)
    first_travel_s: np.ndarray = field(default_factory=_floats)

    def __len__(self) -> int:
        return int(self.kind.size)

    def add(
        self,
        kind: str,
        nodes: np.ndarray,
        created_s: np.ndarray | float,
        *,
        target: np.ndarray | None = None,
        work_s: np.ndarray | None = None,
        priority: np.ndarray | int | None = None,
        node2: np.ndarray | None = None,
        ref: np.ndarray | None = None,
        people: np.ndarray | None = None,
        deadline_s: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append incidents of one kind; return their ids."""
        n = len(nodes)
        first = len(self)

        def given(value: np.ndarray | None, default: float, dtype: type) -> np.ndarray:
            return np.full(n, default, dtype=dtype) if value is None else np.asarray(value, dtype=dtype)

        values = {
            "kind": np.full(n, KINDS.index(kind), dtype=np.int8),
            "priority": np.broadcast_to(
                np.asarray(DEFAULT_PRIORITY[kind] if priority is None else priority, dtype=np.int64), n
            ),
            "node": np.asarray(nodes, dtype=np.int64),
            "node2": np.full(n, -1, dtype=np.int64) if node2 is None else np.asarray(node2, dtype=np.int64),
            "target": np.full(n, -1, dtype=np.int64) if target is None else np.asarray(target, dtype=np.int64),
            "status": np.full(n, OPEN, dtype=np.int8),
            "created_s": np.broadcast_to(np.asarray(created_s, dtype=np.float64), n),
            "assigned_s": np.full(n, np.nan),
            "arrived_s": np.full(n, np.nan),
            "done_s": np.full(n, np.nan),
            "travel_s": np.full(n, np.nan),
            "work_s": np.full(n, np.nan) if work_s is None else np.asarray(work_s, dtype=np.float64),
            "crew": np.full(n, -1, dtype=np.int64),
            "ref": given(ref, -1, np.int64),
            "people": given(people, 0, np.int64),
            "deadline_s": given(deadline_s, np.nan, np.float64),
            "hospital": np.full(n, -1, dtype=np.int64),
            "at_hospital_s": np.full(n, np.nan),
            "by_water": np.zeros(n, dtype=bool),
            **_handover_defaults(n),
        }
        for name, value in values.items():
            setattr(self, name, np.concatenate([getattr(self, name), value]))
        return np.arange(first, first + n)

    def of_refs(self, kind: str, refs: np.ndarray) -> np.ndarray:
        """Ids of the incidents of ``kind`` reported with the reporter's numbers ``refs``."""
        return np.flatnonzero((self.kind == KINDS.index(kind)) & np.isin(self.ref, refs))

    def open_of(self, kind: str) -> np.ndarray:
        """Ids of the incidents of ``kind`` not yet worked (open or assigned)."""
        return np.flatnonzero((self.kind == KINDS.index(kind)) & (self.status <= ASSIGNED))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Incidents:
        """Inverse of :meth:`arrays` (copies); checkpoints from before transport to hospital have no
        ``hospital`` and ``at_hospital_s`` (none carried), those from before flood rescue teams no ``by_water``,
        those from before handovers at the scene none of theirs."""
        n = len(arrays["kind"])
        later = {
            "hospital": np.full(n, -1, dtype=np.int64),
            "at_hospital_s": np.full(n, np.nan),
            "by_water": np.zeros(n, dtype=bool),
            **_handover_defaults(n),
        }
        return cls(**{f.name: np.array(arrays.get(f.name, later.get(f.name))) for f in fields(cls)})


def _handover_defaults(n: int) -> dict[str, np.ndarray]:
    """The handover fields of ``n`` incidents never handed over nor suspended."""
    counts = {name: np.zeros(n, dtype=np.int64) for name in ("handovers", "suspensions")}
    times = ("suspended_at_s", "first_assigned_s", "first_arrived_s", "first_travel_s")
    return {**counts, "suspended_s": np.zeros(n), **{name: np.full(n, np.nan) for name in times}}


def segment_keys(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> np.ndarray:
    """A key per link shared by the two directions of a road: ``min(u, v) x n + max(u, v)``."""
    low, high = np.minimum(src, dst).astype(np.int64), np.maximum(src, dst).astype(np.int64)
    return low * n_nodes + high


def medical_rate_per_s(rate_per_1000_day: float, population: float, surge: float, affected_share: float) -> float:
    """Expected medical calls per second: ``r N / 1000 x (1 + s f) / 86400`` (see the module docstring)."""
    return rate_per_1000_day * population / 1000.0 * (1.0 + surge * affected_share) / 86_400.0


@dataclass
class Report:
    """An incident another phase reported (``IncidentDesk.report``), waiting for the crews phase's next step."""

    kind: str
    nodes: np.ndarray
    t_s: float
    work_s: np.ndarray
    priority: int | None
    refs: np.ndarray | None = None
    people: np.ndarray | None = None
    deadline_s: np.ndarray | None = None


@dataclass
class Completion:
    """Reported incidents a crew finished: their kind, the reporter's numbers and when each was done."""

    kind: str
    refs: np.ndarray
    t_s: np.ndarray


class IncidentDesk:
    """The seam through which any phase reports incidents (``ctx.services["crews"]``), and hears back.

    The residents phase reports the people needing rescue; a user's phase may report its own. Reports are taken
    by the crews phase in the same step when the reporter runs before it (hazards, lifelines, residents), else in
    the next::

        desk = ctx.services["crews"]
        desk.report("rescue", nodes=np.array([812, 90]), t_s=ctx.clock_s + dt_s, work_s=np.array([1800.0, 900.0]))

    A reporter that numbers its reports (``refs``) hears back through :meth:`take_done` which of them a crew
    finished, and may tell :meth:`deadline` when a reported place became life-threatening.
    """

    def __init__(self, n_nodes: int) -> None:
        self.n_nodes = n_nodes
        self.pending: list[Report] = []
        self.deadlines: list[Completion] = []
        self.withdrawn: list[Completion] = []
        self.done: list[Completion] = []

    def report(
        self,
        kind: str,
        nodes: np.ndarray,
        t_s: float,
        work_s: np.ndarray,
        priority: int | None = None,
        *,
        refs: np.ndarray | None = None,
        people: np.ndarray | None = None,
        deadline_s: np.ndarray | None = None,
    ) -> None:
        """Report incidents of ``kind`` at drivable ``nodes`` at time ``t_s``, each needing ``work_s`` on scene;
        optionally with the reporter's number of each (``refs``), the people there and the time each place became
        life-threatening (``deadline_s``, NaN: not yet).

        Raises
        ------
        ValueError
            Every problem at once: an unknown kind, a node off the network, a time on scene not > 0, lengths that
            differ.
        """
        nodes, work_s = np.atleast_1d(np.asarray(nodes)), np.atleast_1d(np.asarray(work_s, dtype=np.float64))
        problems = []
        if kind not in KINDS:
            problems.append(f"unknown incident kind {kind!r}; kinds: {', '.join(KINDS)}")
        if nodes.shape != work_s.shape:
            problems.append(f"{len(nodes)} nodes but {len(work_s)} times on scene: give one time per node")
        if len(nodes) and (nodes.min() < 0 or nodes.max() >= self.n_nodes):
            problems.append(f"nodes must be drivable node ids from 0 to {self.n_nodes - 1}")
        if not np.all(np.isfinite(work_s) & (work_s > 0)):
            problems.append("times on scene (work_s) must be finite numbers of seconds > 0")
        for name, values in (("refs", refs), ("people", people), ("deadline_s", deadline_s)):
            if values is not None and np.shape(values) != nodes.shape:
                problems.append(f"{len(nodes)} nodes but {np.size(values)} {name}: give one per node")
        if problems:
            raise ValueError("incident report refused: " + "; ".join(problems))
        self.pending.append(
            Report(kind, nodes.astype(np.int64), float(t_s), work_s, priority, refs, people, deadline_s)
        )

    def take(self) -> list[Report]:
        """The reports since the last call, in the order they came."""
        taken, self.pending = self.pending, []
        return taken

    def deadline(self, kind: str, refs: np.ndarray, t_s: float) -> None:
        """The places of the reports ``refs`` of ``kind`` became life-threatening at ``t_s`` (the first time
        counts)."""
        if len(refs):
            self.deadlines.append(Completion(kind, np.asarray(refs, dtype=np.int64), np.full(len(refs), t_s)))

    def take_deadlines(self) -> list[Completion]:
        """The deadlines told since the last call (the crews phase writes them into its incidents)."""
        taken, self.deadlines = self.deadlines, []
        return taken

    def withdraw(self, kind: str, refs: np.ndarray, t_s: float) -> None:
        """The reports ``refs`` of ``kind`` need no crew any more (nobody there needs rescue now): the crews close
        those still waiting as resolved otherwise; a crew already on its way goes on."""
        if len(refs):
            self.withdrawn.append(Completion(kind, np.asarray(refs, dtype=np.int64), np.full(len(refs), t_s)))

    def take_withdrawn(self) -> list[Completion]:
        """The withdrawals since the last call."""
        taken, self.withdrawn = self.withdrawn, []
        return taken

    def finished(self, kind: str, ref: int, t_s: float) -> None:
        """A crew finished the report ``ref`` of ``kind`` at ``t_s`` (called by the crews phase)."""
        self.done.append(Completion(kind, np.array([ref], dtype=np.int64), np.array([t_s])))

    def take_done(self, kind: str) -> Completion:
        """The reports of ``kind`` crews finished since the last call, in the order they were finished."""
        mine = [c for c in self.done if c.kind == kind]
        self.done = [c for c in self.done if c.kind != kind]
        refs = np.concatenate([c.refs for c in mine]) if mine else np.zeros(0, dtype=np.int64)
        times = np.concatenate([c.t_s for c in mine]) if mine else np.zeros(0)
        return Completion(kind, refs, times)

    def arrays(self) -> dict[str, np.ndarray]:
        """Completions, deadlines and withdrawals not yet taken, as (kind code, ref, time) rows (checkpoints)."""
        return {
            "desk_done": _rows(self.done),
            "desk_deadlines": _rows(self.deadlines),
            "desk_withdrawn": _rows(self.withdrawn),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.done = _completions(np.asarray(arrays["desk_done"]))
        self.deadlines = _completions(np.asarray(arrays["desk_deadlines"]))
        self.withdrawn = _completions(np.asarray(arrays["desk_withdrawn"]))


def _rows(completions: list[Completion]) -> np.ndarray:
    rows = [np.column_stack([np.full(len(c.refs), KINDS.index(c.kind)), c.refs, c.t_s]) for c in completions]
    return np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, 3))


def _completions(rows: np.ndarray) -> list[Completion]:
    return [Completion(KINDS[int(k)], np.array([int(r)], dtype=np.int64), np.array([t])) for k, r, t in rows]
