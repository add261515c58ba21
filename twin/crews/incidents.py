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
    ) -> np.ndarray:
        """Append incidents of one kind; return their ids."""
        n = len(nodes)
        first = len(self)
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
        }
        for name, value in values.items():
            setattr(self, name, np.concatenate([getattr(self, name), value]))
        return np.arange(first, first + n)

    def open_of(self, kind: str) -> np.ndarray:
        """Ids of the incidents of ``kind`` not yet worked (open or assigned)."""
        return np.flatnonzero((self.kind == KINDS.index(kind)) & (self.status <= ASSIGNED))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Incidents:
        """Inverse of :meth:`arrays` (copies)."""
        return cls(**{f.name: np.array(arrays[f.name]) for f in fields(cls)})


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


class IncidentDesk:
    """The seam through which any phase reports incidents (``ctx.services["crews"]``).

    The residents phase reports the people needing rescue; a user's phase may report its own. Reports are taken
    by the crews phase in the same step when the reporter runs before it (hazards, lifelines, residents), else in
    the next::

        desk = ctx.services["crews"]
        desk.report("rescue", nodes=np.array([812, 90]), t_s=ctx.clock_s + dt_s, work_s=np.array([1800.0, 900.0]))
    """

    def __init__(self, n_nodes: int) -> None:
        self.n_nodes = n_nodes
        self.pending: list[Report] = []

    def report(self, kind: str, nodes: np.ndarray, t_s: float, work_s: np.ndarray, priority: int | None = None) -> None:
        """Report incidents of ``kind`` at drivable ``nodes`` at time ``t_s``, each needing ``work_s`` on scene.

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
        if problems:
            raise ValueError("incident report refused: " + "; ".join(problems))
        self.pending.append(Report(kind, nodes.astype(np.int64), float(t_s), work_s, priority))

    def take(self) -> list[Report]:
        """The reports since the last call, in the order they came."""
        taken, self.pending = self.pending, []
        return taken
