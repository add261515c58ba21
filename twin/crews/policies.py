"""Dispatch policies: which available crew goes to which waiting incident, behind one small protocol.

A policy sees a :class:`DispatchView` (the waiting incidents, the available crews and the response time of every
crew to every incident over the current network, ``inf`` where the crew cannot serve or reach it) and returns
``(crew, incident)`` pairs as positions in the view. Researchers compare policies by swapping them
(``crews.policy`` in the scenario, or a ``set_policy`` command in a drill). A policy of one's own is a class with
a ``name`` and an ``assign`` method, registered by name::

    from twin.crews.policies import greedy_nearest, register_policy

    class OldestFirst:
        name = "oldest_first"

        def assign(self, view):
            return greedy_nearest(view, np.argsort(view.created_s, kind="stable"))

    register_policy(OldestFirst)

Built in:

* ``nearest``: calls in the order they came, each to the nearest available crew by current travel time (the
  classic closest-idle-unit rule of emergency dispatch);
* ``priority``: priority classes first (life safety is class 1), then the order they came, each to the nearest;
* ``critical_first``: utilities' restoration order (:mod:`twin.crews.criticality`: transmission and
  substations, then what hospitals depend on, water pumping and storage, telecom, what shelters depend on, then
  the rest), and within a class the most customers per crew-hour first (then the shortest job), after the usual
  utility practice described in e.g. the Edison Electric Institute's "Understanding the Electric Power
  Industry's Response and Restoration Process", 2016; other incidents as in ``priority``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from twin.registry import REGISTRY


@dataclass(frozen=True)
class DispatchView:
    """What a policy sees at one decision time (positions index these arrays).

    Attributes
    ----------
    now_s
        The decision time (s).
    crew_id, crew_kind
        Available crews of the kinds some waiting incident needs: their ids and kinds (``fire``, ``ems``, ...).
    incident_id, incident_kind, priority, created_s, criticality, work_s
        Waiting incidents: ids, kinds (``medical``, ``power``, ...), priority class (1 first), creation time,
        restoration class (0 first; 0 for incidents that are not repairs; :mod:`twin.crews.criticality`) and
        expected time on scene (s).
    response_s
        ``(crews, incidents)``: dispatch delay + travel time now; ``inf`` where the crew's kind does not work
        the incident's kind or cannot reach it (or the component is still under water).
    customers
        Per incident: the residents its component serves (0 for incidents that are not repairs).
    """

    now_s: float
    crew_id: np.ndarray
    crew_kind: np.ndarray
    incident_id: np.ndarray
    incident_kind: np.ndarray
    priority: np.ndarray
    created_s: np.ndarray
    criticality: np.ndarray
    work_s: np.ndarray
    response_s: np.ndarray
    customers: np.ndarray | None = None

    def customers_per_hour(self) -> np.ndarray:
        """Residents served per hour of expected work, per incident (0 without customers or work)."""
        if self.customers is None:
            return np.zeros(len(self.incident_id))
        hours = self.work_s / 3600.0
        return np.divide(self.customers, hours, out=np.zeros(len(hours)), where=hours > 0)


class DispatchPolicy(Protocol):
    """A dispatch policy: a name and an ``assign`` method."""

    name: str

    def assign(self, view: DispatchView) -> list[tuple[int, int]]:
        """``(crew position, incident position)`` pairs to dispatch now (each crew and incident at most once)."""
        ...


def greedy_nearest(view: DispatchView, order: np.ndarray) -> list[tuple[int, int]]:
    """Take incidents in ``order``; give each the available crew with the shortest response (lowest id on ties).

    Incidents no remaining crew can reach are skipped (they wait for the next decision). Stops once every crew
    is taken, so a long backlog costs nothing when no crew is free.
    """
    free = np.ones(len(view.crew_id), dtype=bool)
    reachable = np.isfinite(view.response_s)
    pairs: list[tuple[int, int]] = []
    for incident in np.asarray(order, dtype=np.int64).tolist():
        if not free.any():
            break
        options = reachable[:, incident] & free
        if not options.any():
            continue
        times = np.where(options, view.response_s[:, incident], np.inf)
        crew = int(np.argmin(times))
        free[crew] = False
        pairs.append((crew, incident))
    return pairs


class NearestAvailable:
    """Calls in the order they came, each to the nearest available crew by current travel time."""

    name = "nearest"

    def assign(self, view: DispatchView) -> list[tuple[int, int]]:
        """See the class docstring."""
        return greedy_nearest(view, np.lexsort((view.incident_id, view.created_s)))


class PriorityFirst:
    """Priority classes first (1 = life safety), then the order they came; each to the nearest crew."""

    name = "priority"

    def assign(self, view: DispatchView) -> list[tuple[int, int]]:
        """See the class docstring."""
        return greedy_nearest(view, np.lexsort((view.incident_id, view.created_s, view.priority)))


class CriticalFirst:
    """Utilities' order: restoration class, then most customers per crew-hour, then shortest job first; then as
    :class:`PriorityFirst`."""

    name = "critical_first"

    def assign(self, view: DispatchView) -> list[tuple[int, int]]:
        """See the class docstring."""
        per_hour = view.customers_per_hour()
        keys = (view.incident_id, view.created_s, view.work_s, -per_hour, view.criticality, view.priority)
        return greedy_nearest(view, np.lexsort(keys))


PolicyFactory = Callable[[], DispatchPolicy]


def register_policy(factory: PolicyFactory, name: str | None = None) -> None:
    """Make a policy available by name (``crews.policy`` and the ``set_policy`` command)."""
    REGISTRY.add_dispatch_policy(name or str(getattr(factory, "name", "")), factory)


def make_policy(name: str) -> DispatchPolicy:
    """A new instance of the policy registered as ``name``.

    Raises
    ------
    KeyError
        With the known names, when none is registered as ``name``.
    """
    policies = REGISTRY.dispatch_policies()
    if name not in policies:
        raise KeyError(f"unknown dispatch policy {name!r}; known: {', '.join(sorted(policies))}")
    return policies[name]()


def check_pairs(view: DispatchView, pairs: list[tuple[int, int]]) -> list[str]:
    """What is wrong with a policy's answer: a crew or incident twice, a position out of range, an impossible pair."""
    problems = []
    crews = [c for c, _ in pairs]
    incidents = [i for _, i in pairs]
    if len(set(crews)) < len(crews) or len(set(incidents)) < len(incidents):
        problems.append("a crew or an incident appears twice")
    n_crews, n_incidents = view.response_s.shape
    for crew, incident in pairs:
        if not (0 <= crew < n_crews and 0 <= incident < n_incidents):
            problems.append(f"pair ({crew}, {incident}) is out of range ({n_crews} crews, {n_incidents} incidents)")
        elif not np.isfinite(view.response_s[crew, incident]):
            problems.append(f"crew {view.crew_id[crew]} cannot serve or reach incident {view.incident_id[incident]}")
    return problems


for _policy in (NearestAvailable, PriorityFirst, CriticalFirst):
    register_policy(_policy)
