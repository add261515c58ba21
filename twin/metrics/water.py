"""The water budget of a rain run, from the cumulative volumes its time series records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: Time-series columns of the rain water budget (m3, cumulative since the start), written by the flood hazard.
BUDGET_COLUMNS = {
    "rain": "water_rain_m3",
    "losses": "water_losses_m3",
    "drained": "water_drained_m3",
    "outflow": "water_outflow_m3",
    "stored": "water_stored_m3",
}


def water_budget(timeseries: pd.DataFrame) -> dict[str, float] | None:
    r"""The rain water budget at the end of a run, and how well it closes.

    .. math:: \varepsilon = P - (L + D + O + S), \qquad \varepsilon_{rel} = \varepsilon / P

    with P the rain on the grid, L the losses (initial abstraction and infiltration, SCS-CN), D the water the
    drains took, O the outflow (rivers, the map's edge) and S the water stored in the depressions at the
    end, all in m3 (the continuity equation of the ponding model, :mod:`twin.hazards.flood.ponding`). A closed
    budget has :math:`|\varepsilon_{rel}|` at round-off level.

    Parameters
    ----------
    timeseries
        The run's time series; the budget is read from its last row.

    Returns
    -------
    dict or None
        ``rain_m3``, ``losses_m3``, ``drained_m3``, ``outflow_m3``, ``stored_m3``, ``closure_error_m3`` and
        ``relative_error``; None when the run had no rain (the columns are absent).
    """
    if not all(column in timeseries.columns for column in BUDGET_COLUMNS.values()) or timeseries.empty:
        return None
    last = timeseries.iloc[-1]
    terms = {name: float(last[column]) for name, column in BUDGET_COLUMNS.items()}
    error = terms["rain"] - (terms["losses"] + terms["drained"] + terms["outflow"] + terms["stored"])
    return {
        **{f"{name}_m3": value for name, value in terms.items()},
        "closure_error_m3": error,
        "relative_error": error / terms["rain"] if terms["rain"] > 0 else 0.0 if np.isclose(error, 0) else np.inf,
    }
