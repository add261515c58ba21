"""Events as data: the model's own heap (DESIGN.md rules 4 and 8).

Scenario events, interventions, drill injects and people's commands all become :class:`Event` records in
one :class:`EventQueue`, ordered by time, then by priority (lower numbers first, as in the standard library's
:mod:`sched`), then by the order they were scheduled, so equal-time events fire in a reproducible order. Every
event gets an id when it is scheduled (its insertion number), by which a drill can cancel it before it fires.
Being plain data, the queue is saved in checkpoints and can be journaled.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# The generic event kinds this version executes; later issues (hazards, lifelines, crews) add theirs.
EVENT_KINDS = ("close_link", "open_link", "message", "fail_component", "repair_component", "set_hazard_parameter")
COMPONENT_EVENT_KINDS = ("fail_component", "repair_component")
"""Kinds whose target selects facilities and lifeline components (rows of ``City.facilities``)."""
HAZARD_EVENT_KINDS = ("set_hazard_parameter",)
"""Kinds that change a hazard entry (params ``hazard``, ``parameter``, ``value``); they have no target."""


DEFAULT_PRIORITY = 0


@dataclass(frozen=True)
class Event:
    """One thing that happens at a simulated time.

    Attributes
    ----------
    t_s
        When it fires, in seconds since the run's start.
    kind
        One of :data:`EVENT_KINDS`.
    target
        What it acts on, as plain data (a link selector for ``close_link``/``open_link``, a component
        selector for ``fail_component``/``repair_component``).
    params
        Other parameters (``text`` for ``message``; ``restore_after_s`` for ``fail_component``; the
        ``repair_component`` that schedules has ``if_cause``, so it only repairs damage of that cause, and
        ``after_s``; ``hazard``, ``parameter`` and ``value`` for ``set_hazard_parameter``).
    cause
        Why, as recorded in the event log (``scenario``, ``intervention``, ``inject``, ...).
    source
        Where it was written (``file:line yaml.path``) or who sent it, for error messages.
    priority
        Among events due at the same time, lower numbers fire first; every event the scenario and the engine
        schedule has the default 0, so they keep the order they were scheduled in.
    id
        Given by :meth:`EventQueue.push` (the event's insertion number in its queue); -1 before it is scheduled.
    """

    t_s: float
    kind: str
    target: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    cause: str = "scenario"
    source: str = ""
    priority: int = DEFAULT_PRIORITY
    id: int = -1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for checkpoints and journals)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


class EventQueue:
    """A min-heap of events by (time, priority, insertion order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Event]] = []
        self._counter = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, event: Event) -> Event:
        """Add an event and return it with its id; among events at the same time and priority, earlier pushes
        fire first."""
        scheduled = replace(event, id=self._counter)
        heapq.heappush(self._heap, (scheduled.t_s, scheduled.priority, self._counter, scheduled))
        self._counter += 1
        return scheduled

    def peek(self) -> Event | None:
        """The event that fires next (None when the queue is empty), left in the queue."""
        return self._heap[0][3] if self._heap else None

    def cancel(self, event_id: int) -> Event | None:
        """Remove the pending event with id ``event_id``; return it, or None when no pending event has that id
        (it fired already, was cancelled, or never was)."""
        for index, entry in enumerate(self._heap):
            if entry[3].id == event_id:
                # Swap the last entry in and restore the heap: O(n) to find, O(log n) to repair.
                last = self._heap.pop()
                if index < len(self._heap):
                    self._heap[index] = last
                    heapq.heapify(self._heap)
                return entry[3]
        return None

    def pop_due(self, t_s: float) -> list[Event]:
        """Remove and return every event with time <= ``t_s``, in firing order."""
        due = []
        while self._heap and self._heap[0][0] <= t_s:
            due.append(heapq.heappop(self._heap)[3])
        return due

    def to_list(self) -> list[dict[str, Any]]:
        """The queue as data, in firing order (for checkpoints); each event carries its id and priority."""
        return [{"order": order, "event": event.to_dict()} for _t, _p, order, event in sorted(self._heap)]

    @classmethod
    def from_list(cls, items: list[dict[str, Any]], counter: int) -> EventQueue:
        """Rebuild a queue saved by :meth:`to_list`."""
        queue = cls()
        for item in items:
            event = Event.from_dict(item["event"])
            queue._heap.append((event.t_s, event.priority, int(item["order"]), event))
        heapq.heapify(queue._heap)
        queue._counter = counter
        return queue

    @property
    def counter(self) -> int:
        """How many events were ever pushed (saved with the queue so ordering survives a restore)."""
        return self._counter
