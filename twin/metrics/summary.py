"""All resilience figures of a run's time series, as a JSON-ready dict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from twin.metrics._curves import FloatArray, curve
from twin.metrics.people import people_hours_out, people_hours_without_service
from twin.metrics.resilience import (
    resilience_index,
    resilience_loss_h,
    robustness,
    t_min_s,
    time_to_recover_s,
)
from twin.metrics.water import water_budget

if TYPE_CHECKING:  # pandas (0.5 s with pyarrow) loads with the tables, not with the runner (issue 22)
    import pandas as pd

#: Prefix of the service-level columns of ``timeseries.parquet`` (DESIGN.md, "Results").
Q_PREFIX = "Q_"
#: Prefix of the columns counting the residents without a service (served normally, not now).
PEOPLE_PREFIX = "people_out_"
#: Services whose people are counted by another column: health is measured in beds, its people by access to care.
PEOPLE_OF = {"health": "access"}
#: The key of ``metrics.json`` that holds the rain water budget (the only entry that is not a service).
WATER_BUDGET_KEY = "water_budget"


def run_metrics(
    timeseries: pd.DataFrame,
    population: float,
    recovery_threshold: float = 0.95,
    control_time_s: float | None = None,
) -> dict[str, dict[str, float | None]]:
    """Everything ``metrics.json`` holds: :func:`service_metrics` per service, and for a rain run its water budget.

    The budget (:func:`twin.metrics.water.water_budget`: rain, losses, drained, outflow, stored, the closure
    error P - (L + D + O + S) and the relative error) is read from the last record of the time series and
    stored under :data:`WATER_BUDGET_KEY`; runs without rain have no such entry.

    Parameters
    ----------
    timeseries, population, recovery_threshold, control_time_s
        As for :func:`service_metrics`.

    Returns
    -------
    dict
        ``{service: {figure: float or None}}``, plus ``{"water_budget": {term: float or None}}`` with rain.
    """
    out = service_metrics(timeseries, population, recovery_threshold, control_time_s)
    budget = water_budget(timeseries)
    if budget is not None:
        out[WATER_BUDGET_KEY] = {name: _plain(value) for name, value in budget.items()}
    return out


def service_names(metrics: Mapping[str, object]) -> list[str]:
    """The services of a run's metrics (its figure dicts, not the water budget), in the metrics' order."""
    return [name for name, figures in metrics.items() if isinstance(figures, dict) and name != WATER_BUDGET_KEY]


def service_metrics(
    timeseries: pd.DataFrame,
    population: float,
    recovery_threshold: float = 0.95,
    control_time_s: float | None = None,
) -> dict[str, dict[str, float | None]]:
    """Resilience figures of every modelled service in a run's time series.

    For each column ``Q_<service>`` (all-NaN columns, i.e. services not modelled, are skipped) the
    entry keyed by the bare service name holds:

    - ``resilience_loss_h``: Bruneau et al. (2003) loss, L = (1/3600) int (1 - Q) dt. It is also InfraRisk's
      equivalent outage hours (Balakrishnan & Cassottana 2022): twin's Q is InfraRisk's consumer
      serviceability (served / normal demand) and is 1 before the first event, so the two integrals are the
      same number and the run reports it once (:func:`twin.metrics.equivalent_outage_hours` stays for callers
      that compare with InfraRisk);
    - ``resilience_index``: Cimellaro et al. (2010), R = (1/T) int_{t0}^{t0+T} Q dt from the disruption's
      onset t0 (the last record at Q(0) before Q first falls);
    - ``robustness`` and ``min_q``: min Q (Bruneau et al. 2003); ``t_min_s``: when it is reached;
    - ``time_to_recover_s``: disruption start to the first record after the minimum with
      Q >= ``recovery_threshold`` * Q(0); None if never recovered; 0.0 if Q never fell below that level
      (the service was not lost by this definition, however small its dip: ``min_q`` shows the dip);
    - ``recovery_threshold``: the share of Q(0) used (the scenario's ``metrics.recovery_threshold``), so that
      the recovery time is never read without its definition;
    - ``people_hours_without_service``: (1/3600) int N(t) dt with N the residents served normally and not now,
      from the ``people_out_<service>`` column (the people each zone holds; health from ``people_out_access``,
      the residents who lost access to care); ``population`` * L where the series has no such column;
    - ``final_q``: Q at the last record.

    Integrals use the trapezoid rule (Q linear between records); see :mod:`twin.metrics.resilience`.

    Parameters
    ----------
    timeseries
        The run's time series: a ``t_s`` column (seconds from 0, strictly increasing) and ``Q_*`` columns.
    population
        Residents of the city (weights the people-hours).
    recovery_threshold
        Share of the normal level that counts as recovered.
    control_time_s
        Control time of the resilience index; the whole series when None.

    Returns
    -------
    dict
        ``{service: {figure: float or None}}`` with plain Python floats and None, never NaN.

    Raises
    ------
    ValueError
        If ``t_s`` is missing or invalid, or a ``Q_`` column is partly NaN or leaves [0, 1].
    """
    if "t_s" not in timeseries.columns:
        raise ValueError("timeseries has no t_s column")
    t = timeseries["t_s"].to_numpy(dtype="float64")
    out: dict[str, dict[str, float | None]] = {}
    for column in timeseries.columns:
        name = str(column)
        if not name.startswith(Q_PREFIX):
            continue
        q = timeseries[column].to_numpy(dtype="float64")
        if np.isnan(q).all():
            continue
        service = name[len(Q_PREFIX) :]
        people = PEOPLE_PREFIX + PEOPLE_OF.get(service, service)
        out_series = timeseries[people].to_numpy(dtype="float64") if people in timeseries.columns else None
        try:
            out[service] = _figures(t, q, population, recovery_threshold, control_time_s, out_series)
        except ValueError as exc:
            raise ValueError(f"column {name}: {exc}") from exc
    return out


def _figures(
    t: FloatArray,
    q: FloatArray,
    population: float,
    threshold: float,
    control_time_s: float | None,
    people_out: FloatArray | None,
) -> dict[str, float | None]:
    """The figures of one service (see :func:`service_metrics`), as plain floats or None."""
    t_arr, q_arr = curve(t, q)
    people_hours = (
        people_hours_without_service(t_arr, q_arr, population)
        if people_out is None
        else people_hours_out(t_arr, np.nan_to_num(people_out[np.isfinite(q)], nan=0.0))
    )
    figures: dict[str, float | None] = {
        "resilience_loss_h": resilience_loss_h(t_arr, q_arr),
        "resilience_index": resilience_index(t_arr, q_arr, control_time_s),
        "robustness": robustness(q_arr),
        "time_to_recover_s": time_to_recover_s(t_arr, q_arr, threshold=threshold),
        "recovery_threshold": threshold,
        "people_hours_without_service": people_hours,
        "min_q": float(q_arr.min()),
        "final_q": float(q_arr[-1]),
        "t_min_s": t_min_s(t_arr, q_arr),
    }
    return {k: _plain(v) for k, v in figures.items()}


def _plain(value: float | None) -> float | None:
    """A plain Python float, or None for a missing or non-finite value (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
