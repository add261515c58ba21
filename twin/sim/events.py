"""Events as data: the model's own heap (DESIGN.md rules 4 and 8).

Scenario events, interventions, drill injects and people's commands all become :class:`Event` records in
one :class:`EventQueue`, ordered by time and then by the order they were scheduled, so equal-time events
fire in a reproducible order. Being plain data, the queue is saved in checkpoints and can be journaled.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field
from typing import Any

# The generic event kinds this version executes; later issues (hazards, lifelines, crews) add theirs.
EVENT_KINDS = ("close_link", "open_link", "message", "fail_component", "repair_component", "set_hazard_parameter")
COMPONENT_EVENT_KINDS = ("fail_component", "repair_component")
"""Kinds whose target selects facilities and lifeline components (rows of ``City.facilities``)."""
HAZARD_EVENT_KINDS = ("set_hazard_parameter",)
"""Kinds that change a hazard entry (params ``hazard``, ``parameter``, ``value``); they have no target."""


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
    """

    t_s: float
    kind: str
    target: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    cause: str = "scenario"
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for checkpoints and journals)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


class EventQueue:
    """A min-heap of events by (time, insertion order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Event]] = []
        self._counter = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, event: Event) -> None:
        """Add an event; among events at the same time, earlier pushes fire first."""
        heapq.heappush(self._heap, (event.t_s, self._counter, event))
        self._counter += 1

    def pop_due(self, t_s: float) -> list[Event]:
        """Remove and return every event with time <= ``t_s``, in firing order."""
        due = []
        while self._heap and self._heap[0][0] <= t_s:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def to_list(self) -> list[dict[str, Any]]:
        """The queue as data, in heap order with its counters (for checkpoints)."""
        return [{"order": order, "event": event.to_dict()} for _t, order, event in sorted(self._heap)]

    @classmethod
    def from_list(cls, items: list[dict[str, Any]], counter: int) -> EventQueue:
        """Rebuild a queue saved by :meth:`to_list`."""
        queue = cls()
        for item in items:
            event = Event.from_dict(item["event"])
            queue._heap.append((event.t_s, int(item["order"]), event))
        heapq.heapify(queue._heap)
        queue._counter = counter
        return queue

    @property
    def counter(self) -> int:
        """How many events were ever pushed (saved with the queue so ordering survives a restore)."""
        return self._counter
