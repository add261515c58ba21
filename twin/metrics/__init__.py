"""Resilience metrics: pure functions from service-level curves to figures.

Each function documents its formula and its source. Every integral uses the trapezoid rule over
twin's records (Q at t = 0, the normal state, then at the end of every step; linear in between).
"""

from twin.metrics.people import people_hours_without_service
from twin.metrics.resilience import (
    equivalent_outage_hours,
    resilience_index,
    resilience_loss_h,
    robustness,
    t_min_s,
    time_to_recover_s,
)
from twin.metrics.summary import run_metrics, service_metrics, service_names

__all__ = [
    "equivalent_outage_hours",
    "people_hours_without_service",
    "resilience_index",
    "resilience_loss_h",
    "robustness",
    "run_metrics",
    "service_metrics",
    "service_names",
    "t_min_s",
    "time_to_recover_s",
]
