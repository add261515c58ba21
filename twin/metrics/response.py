"""Response figures of the crews: response times by incident kind, shares within standard, crew utilisation.

* response time of an incident = arrival of its crew - its creation (wait for a free crew + dispatch delay +
  travel); median and 90th percentile over the incidents reached (numpy's linear interpolation);
* share within standard = share of the incidents reached whose *travel* time is <= the standard of their kind
  (NFPA 1710, 2020: 240 s for the first engine at a fire or rescue, 480 s for an ALS unit; a scenario sets its own);
  incidents never reached are counted as ``not_reached`` beside it;
* utilisation of a crew kind = busy time / (crews x time run) (busy from leaving the post to being back at it);
* rescues not reached before the water reached 1.5 m (issue 17; the depth above which people need rescue,
  DESIGN.md "Buildings in water"): rescue incidents whose place had 1.5 m of water (``deadline_s``) before their
  crew arrived, or whose crew had not arrived by the end; those already at 1.5 m when asked (people indoors ask
  from 0.5 m when they have no way out, :mod:`twin.residents.trigger`, but water that rises past 1.5 m within a
  step, or cuts the last way out only then, makes the request and the deadline one) are counted apart, since no
  crew could have been first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def response_metrics(
    incidents: pd.DataFrame, crews: pd.DataFrame, standards_s: dict[str, float], duration_s: float
) -> dict[str, Any]:
    """The figures above, keyed ``response`` (by incident kind) and ``utilisation`` (by crew kind)."""
    response: dict[str, Any] = {}
    for kind, rows in incidents.groupby("kind", observed=True):
        reached = rows["response_s"].dropna().to_numpy()
        travel = rows["travel_s"].dropna().to_numpy()
        figures: dict[str, Any] = {
            "incidents": len(rows),
            "reached": len(reached),
            "not_reached": int(len(rows) - len(reached)),
            "median_s": float(np.median(reached)) if len(reached) else None,
            "p90_s": float(np.percentile(reached, 90)) if len(reached) else None,
        }
        standard = standards_s.get(str(kind))
        if standard is not None:
            figures["standard_s"] = standard
            figures["share_within_standard"] = float(np.mean(travel <= standard)) if len(travel) else None
        response[str(kind)] = figures
    utilisation = {}
    if duration_s > 0:
        for kind, rows in crews.groupby("kind"):
            utilisation[str(kind)] = float(rows["busy_s"].sum() / (len(rows) * duration_s))
    return {"response": response, "utilisation": utilisation, "rescues": rescue_metrics(incidents, duration_s)}


def rescue_metrics(incidents: pd.DataFrame, end_s: float) -> dict[str, Any]:
    """Rescue requests, the people in them, and those not reached before the water reached 1.5 m (above)."""
    rows = incidents[incidents["kind"] == "rescue"]
    created = rows["created_s"].to_numpy(np.float64)
    arrived = rows["arrived_s"].to_numpy(np.float64)
    deadline = rows["deadline_s"].to_numpy(np.float64)
    reached = np.isfinite(arrived) & (arrived <= end_s)
    deep = np.isfinite(deadline)
    late = deep & (~reached | (arrived > deadline))
    at_request = deep & (deadline <= created)
    people = rows["people"].to_numpy(np.int64)
    return {
        "requests": len(rows),
        "people": int(people.sum()),
        "reached": int(reached.sum()),
        "withdrawn": int((rows["status"] == "resolved_otherwise").sum()),
        "people_at_requests_worked": int(people[(rows["status"] == "done").to_numpy()].sum()),
        "water_reached_1_5m": int(deep.sum()),
        "not_reached_before_1_5m": int(late.sum()),
        "already_1_5m_when_asked": int(at_request.sum()),
        "not_reached_before_1_5m_after_asking": int((late & ~at_request).sum()),
    }
