"""Crews as Mesa agents: the few hundred things in a run that decide, one Python object each.

The crews live in a small :class:`mesa.Model` of their own (the :class:`Roster`), because the engine's phases do
not hold the engine's model; the roster never draws random numbers (the run's Generator does, in the phase), so it
adds nothing to reproduce. Bulk selection goes through Mesa's AgentSet (``roster.agents.select(...)``).

A crew's life: ``IDLE`` at a node (its post, or the scene of its last job) -> ``ASSIGNED`` (driving, then on
scene: ``arrive_s`` and ``done_s`` are known when it is dispatched) -> ``IDLE`` at the scene when the work is done
(it may take the next job from there) -> ``RETURNING`` to its post (``back_s``) -> ``IDLE`` at its post. Busy time
runs from leaving the post to being back at it. When the run has traffic, the drives are the traffic model's
trips (:mod:`twin.crews.driving`): ``arrive_s``, ``done_s`` and ``back_s`` are then known only once it reports
the arrival, and a drive stranded by a closure ends where it stopped (``IDLE`` there).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

IDLE, ASSIGNED, RETURNING = 0, 1, 2
STATUS_NAMES = ("idle", "assigned", "returning")

CREW_FIELDS = (
    "status",
    "node",
    "post",
    "incident",
    "job",
    "depart_s",
    "arrive_s",
    "done_s",
    "back_s",
    "busy_s",
    "busy_since",
    "jobs_done",
    "vehicle",
)
"""The changing attributes of a crew (saved in checkpoints, in this order)."""
LEGACY_FIELDS = 12
"""Checkpoints written before crews drove in the traffic model hold the first 12 fields (no ``vehicle``)."""


class Crew(mesa.Agent):
    """A crew: its kind and base, and where it is in its life (see the module docstring).

    Attributes
    ----------
    crew_id
        Index of the crew in the run (0, 1, ...): what commands and tables name it by.
    kind, base, home
        Crew kind (``fire``, ``ems``, ``power``, ...), its base's name and drivable node.
    boat
        A flood rescue team (a fire crew with a boat and wading kit, :mod:`twin.crews.water`); fixed for the run.
    status, node, post
        :data:`IDLE`, :data:`ASSIGNED` or :data:`RETURNING`; the node it is at (or left from); the node it
        returns to (its home, or where a ``stage`` command posted it).
    incident, job
        The incident it works (-1: none) and a counter of its assignments (a completion event for an older
        assignment, after a recall, is ignored).
    depart_s, arrive_s, done_s, back_s
        Times of the current assignment or return (NaN: none).
    busy_s, busy_since, jobs_done
        Busy time so far (s), when the current busy spell began (NaN: at its post), incidents worked.
    vehicle
        Its vehicle in the traffic model while it drives there (-1: not driving, or the run has no traffic;
        ``arrive_s`` and ``back_s`` are then NaN until the traffic model reports the arrival).
    """

    def __init__(self, model: mesa.Model, crew_id: int, kind: str, base: str, home: int, boat: bool = False) -> None:
        super().__init__(model)
        self.crew_id, self.kind, self.base, self.home, self.boat = crew_id, kind, base, home, boat
        self.status, self.node, self.post = IDLE, home, home
        self.incident, self.job = -1, 0
        self.depart_s = self.arrive_s = self.done_s = self.back_s = math.nan
        self.busy_s, self.busy_since, self.jobs_done = 0.0, math.nan, 0
        self.vehicle = -1
        self.free_s = math.nan  # when it last came back free to its post (shift handovers: twin.crews.shifts)

    def dispatch(self, incident: int, now_s: float, depart_s: float, arrive_s: float, done_s: float) -> None:
        """Send the crew to ``incident``: it leaves at ``depart_s``, arrives at ``arrive_s``, is done at ``done_s``."""
        if math.isnan(self.busy_since):
            self.busy_since = now_s
        self.status, self.incident, self.job = ASSIGNED, incident, self.job + 1
        self.depart_s, self.arrive_s, self.done_s, self.back_s = depart_s, arrive_s, done_s, math.nan

    def finish(self, scene: int, t_s: float) -> None:
        """The work is done at ``t_s``: the crew stands at the scene, free for the next job; a scene at its post
        ends the busy spell there (no drive back will)."""
        self.status, self.node, self.incident, self.jobs_done = IDLE, scene, -1, self.jobs_done + 1
        if scene == self.post:
            self.end_busy(t_s)

    def recall(self, now_s: float, scene: int) -> None:
        """Stop the current job; a crew still on the road is put back where it started (it turns back at once)."""
        self.node = scene if now_s >= self.arrive_s else self.node
        self.status, self.incident, self.job, self.post = IDLE, -1, self.job + 1, self.home

    def stop_at(self, node: int, t_s: float) -> None:
        """Its drive ended short at ``node`` at ``t_s`` (no open way on): it waits there, free for the next job."""
        self.status, self.node, self.incident, self.job, self.back_s = IDLE, node, -1, self.job + 1, math.nan
        if node == self.post:
            self.end_busy(t_s)

    def turn_home(self) -> None:
        """Recalled while driving to its job (in traffic): it turns for its home base at once."""
        self.status, self.incident, self.job, self.post = RETURNING, -1, self.job + 1, self.home
        self.arrive_s = self.done_s = self.back_s = math.nan

    def start_return(self, now_s: float, travel_s: float) -> None:
        """Drive back to the post, arriving ``travel_s`` from now (NaN: when the traffic model reports it)."""
        self.status, self.back_s = RETURNING, now_s + travel_s

    def back_at_post(self) -> None:
        """Arrived at the post: the busy spell ends."""
        self.end_busy(self.back_s)
        self.status, self.node, self.back_s = IDLE, self.post, math.nan

    def end_busy(self, t_s: float) -> None:
        """Close the current busy spell at ``t_s`` (the crew is free at its post from then on)."""
        self.free_s = t_s
        if not math.isnan(self.busy_since):
            self.busy_s += t_s - self.busy_since
            self.busy_since = math.nan

    def values(self) -> list[float]:
        """The changing attributes in :data:`CREW_FIELDS` order."""
        return [float(getattr(self, name)) for name in CREW_FIELDS]

    def load(self, values: np.ndarray) -> None:
        """Restore :meth:`values` (a checkpoint's row of :data:`LEGACY_FIELDS` values: not driving)."""
        values = np.concatenate([values, np.full(len(CREW_FIELDS) - len(values), -1.0)])
        for name, value in zip(CREW_FIELDS, values.tolist(), strict=True):
            integer = name in ("status", "node", "post", "incident", "job", "jobs_done", "vehicle")
            setattr(self, name, int(value) if integer else float(value))


class Roster(mesa.Model):
    """The crews' own Mesa model: holds the agents and their AgentSet; draws nothing at random."""

    def __init__(self) -> None:
        super().__init__(rng=0)

    def crews(self) -> list[Crew]:
        """Every crew, by id."""
        return sorted((agent for agent in self.agents if isinstance(agent, Crew)), key=lambda c: c.crew_id)
