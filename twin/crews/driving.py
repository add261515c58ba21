"""Crews driving as vehicles in the traffic model: their trips handed to the engine's traffic service, their
arrivals and strandings taken back.

When a run has a traffic phase, a crew's drive (to an incident, back to its post) is one trip of the traffic
model (:class:`twin.traffic.service.TrafficService`), owned by ``"crews"``, in the vehicle class of its kind:
``emergency`` for fire, EMS and police (lights and sirens: a speed factor on each link's current speed and
priority at merges), ``crew`` for utility and road crews (the speed of traffic). So a crew is slowed by the
queues it meets (a passing queue: it overtakes on a link, not through a queue at its end) and stopped by
closures like every other vehicle, and its arrival time is the traffic model's. The decision (which crew, which
incident) stays with the crews phase and its Mesa agents; the movement is the traffic model's arrays.

Trips asked for within a step are handed over in one call (:meth:`CrewTrips.flush`, one ``add_trips`` per step);
the traffic phase, which runs after the crews phase, drives them in that same step, and the crews phase takes
the outcomes at the start of its next step (:meth:`CrewTrips.take`). Times are the traffic model's (a crew's
work starts at its arrival, to the second), but what the crews phase decides from an outcome waits for its next
decision: a crew back at its post in step ``k`` takes its next call at the end of step ``k + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.crews.travel import EMERGENCY_KINDS

if TYPE_CHECKING:
    from twin.traffic.reports import TrafficReport
    from twin.traffic.service import TrafficService

OWNER = "crews"
"""The owner name of the crews' vehicles in the traffic model."""


def vehicle_class(kind: str) -> str:
    """The traffic model's vehicle class of a crew kind: ``emergency`` (fire, EMS, police) or ``crew``."""
    return "emergency" if kind in EMERGENCY_KINDS else "crew"


@dataclass(frozen=True)
class Outcomes:
    """What became of the crews' trips since the last look, by crew id (sorted by time, then vehicle).

    Attributes
    ----------
    arrived_crew, arrived_s, arrived_node
        Crews whose trip reached its destination: when and where.
    stranded_crew, stranded_s, stranded_node
        Crews whose trip has no open way left to its destination (a link closed on the way): when and where
        they stopped.
    """

    arrived_crew: np.ndarray
    arrived_s: np.ndarray
    arrived_node: np.ndarray
    stranded_crew: np.ndarray
    stranded_s: np.ndarray
    stranded_node: np.ndarray


class CrewTrips:
    """The crews' side of the traffic service: trips asked for in a step, handed over at once; outcomes back."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, int, int, float, str]] = []
        """Trips asked for this step: (crew id, origin node, destination node, departure time, vehicle class)."""

    def drive(self, crew_id: int, kind: str, origin: int, destination: int, depart_s: float) -> None:
        """Ask for a trip of crew ``crew_id`` (of crew kind ``kind``) leaving ``origin`` at ``depart_s``."""
        self.pending.append((crew_id, origin, destination, depart_s, vehicle_class(kind)))

    def flush(self, service: TrafficService) -> dict[int, int]:
        """Hand this step's trips to traffic in one call; return the vehicle id of each crew that asked."""
        if not self.pending:
            return {}
        crew, origin, destination, depart, klass = zip(*self.pending, strict=True)
        self.pending = []
        frame = pd.DataFrame(
            {
                "origin": np.array(origin, dtype=np.int64),
                "destination": np.array(destination, dtype=np.int64),
                "departure_s": np.maximum(np.array(depart, dtype=np.float64), service.now_s),
                "vehicle_class": list(klass),
                "platoon": np.ones(len(crew), dtype=np.int64),
            }
        )
        ids = np.asarray(service.add_trips(frame, OWNER), dtype=np.int64)
        return dict(zip(crew, ids.tolist(), strict=True))

    @staticmethod
    def take(service: TrafficService, vehicle_of: dict[int, int]) -> Outcomes:
        """The arrivals and strandings of the crews' current vehicles (``vehicle_of``: crew id -> vehicle id);
        reports of vehicles no crew drives any more (a trip given up) are dropped."""
        report = service.take_reports(OWNER)
        crew_of = {vehicle: crew for crew, vehicle in vehicle_of.items()}
        arrived = _mapped(report.of("arrived"), crew_of)
        stranded = _mapped(report.of("stranded"), crew_of)
        return Outcomes(*arrived, *stranded)


def _mapped(report: TrafficReport, crew_of: dict[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crew, time, node) of the reports whose vehicle a crew drives."""
    crews = np.array([crew_of.get(v, -1) for v in report.vehicle.tolist()], dtype=np.int64)
    keep = crews >= 0
    return crews[keep], report.t_s[keep], report.node[keep].astype(np.int64)
