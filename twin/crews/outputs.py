"""The crews' tables: ``incidents.parquet`` (one row per incident) and ``crews.parquet`` (one row per crew)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.city.build import City
from twin.crews.agents import STATUS_NAMES as CREW_STATUS
from twin.crews.incidents import KINDS, STATUS_NAMES, Incidents

if TYPE_CHECKING:
    from twin.crews.agents import Crew


def incidents_table(table: Incidents, city: City, end_s: float = math.nan) -> pd.DataFrame:
    """Incidents with their times: created, assigned, arrived, done (s since the start; NaN: not reached).

    ``wait_s`` = assigned - created (time waiting for a free crew that can reach it), ``travel_s`` the crew's
    drive, ``response_s`` = arrived - created (wait + dispatch delay + travel). Reported incidents also give the
    reporter's number (``request``: the residents' rescue request, as in ``people.parquet``), the ``people`` there
    and ``deadline_s``, when the water at the place reached 1.5 m (NaN: never, or not a rescue). Patients carried
    to hospital give the ``hospital`` (facility row; -1: none) and ``at_hospital_s``, when the crew got there; the
    incident is done once they are handed over. ``by_water``: the crew went through flooded roads by boat or
    wading (a flood rescue team, :mod:`twin.crews.water`).

    With crew shifts, ``handovers`` counts the relief teams that took the job over at the scene, ``suspensions``
    the times it was suspended at a team's shift's end, and ``suspended_s`` the time it waited suspended, until a
    crew was on scene again (an open suspension counted to its resolution or to ``end_s``, the run's end). The
    times of a suspended job's first crew are its ``assigned_s``, ``arrived_s``, ``travel_s`` and response;
    ``resumed_s`` is when the last crew arrived (NaN: never suspended) and ``work_s`` the work that crew had left.
    """
    first = ~np.isnan(table.first_arrived_s)
    assigned = np.where(first, table.first_assigned_s, table.assigned_s)
    arrived = np.where(first, table.first_arrived_s, table.arrived_s)
    open_until = np.where(np.isnan(table.done_s), end_s, table.done_s)
    suspended = table.suspended_s + np.where(np.isnan(table.suspended_at_s), 0.0, open_until - table.suspended_at_s)
    osm = city.drive.nodes["osm_id"].to_numpy()
    return pd.DataFrame(
        {
            "incident": np.arange(len(table), dtype=np.int64),
            "kind": pd.Categorical(np.array(KINDS)[table.kind], categories=list(KINDS)),
            "priority": table.priority,
            "status": pd.Categorical(np.array(STATUS_NAMES)[table.status], categories=list(STATUS_NAMES)),
            "node": table.node,
            "osm_node": osm[table.node] if len(table) else np.zeros(0, dtype=np.int64),
            "target": table.target,
            "crew": table.crew,
            "created_s": table.created_s,
            "assigned_s": assigned,
            "arrived_s": arrived,
            "done_s": np.where(table.status == 2, table.done_s, np.nan),
            "wait_s": assigned - table.created_s,
            "travel_s": np.where(first, table.first_travel_s, table.travel_s),
            "work_s": table.work_s,
            "response_s": arrived - table.created_s,
            "request": table.ref,
            "people": table.people,
            "deadline_s": table.deadline_s,
            "hospital": table.hospital,
            "at_hospital_s": table.at_hospital_s,
            "by_water": table.by_water,
            "handovers": table.handovers,
            "suspensions": table.suspensions,
            "suspended_s": suspended,
            "resumed_s": np.where(first, table.arrived_s, np.nan),
        }
    )


def crews_table(crews: Sequence[Crew], end_s: float) -> pd.DataFrame:
    """Crews: kind, base, whether a flood rescue team (``flood_rescue``), jobs done, busy time (the spell under way
    counted to ``end_s``) and utilisation."""
    busy = [c.busy_s + (0.0 if math.isnan(c.busy_since) else end_s - c.busy_since) for c in crews]
    return pd.DataFrame(
        {
            "crew": np.array([c.crew_id for c in crews], dtype=np.int64),
            "kind": [c.kind for c in crews],
            "base": [c.base for c in crews],
            "flood_rescue": np.array([c.boat for c in crews], dtype=bool),
            "home_node": np.array([c.home for c in crews], dtype=np.int64),
            "status": [CREW_STATUS[c.status] for c in crews],
            "jobs_done": np.array([c.jobs_done for c in crews], dtype=np.int64),
            "busy_s": np.array(busy, dtype=np.float64),
            "utilisation": np.array(busy, dtype=np.float64) / end_s if end_s > 0 else np.zeros(len(crews)),
        }
    )
