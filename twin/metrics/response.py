"""Response figures of the crews: response times by incident kind, shares within standard, crew utilisation.

* response time of an incident = arrival of its crew - its creation (wait for a free crew + dispatch delay +
  travel); median and 90th percentile over the incidents reached (numpy's linear interpolation);
* share within standard = share of the incidents reached whose *travel* time is <= the standard of their kind
  (NFPA 1710, 2020: 240 s for the first engine at a fire or rescue, 480 s for an ALS unit; a scenario sets its own);
  incidents never reached are counted as ``not_reached`` beside it;
* utilisation of a crew kind = busy time / (crews x time run) (busy from leaving the post to being back at it).
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
    return {"response": response, "utilisation": utilisation}
