"""Mesoscopic traffic: network loading and routing, standalone or stepped by the engine.

See :mod:`twin.traffic.sim` for the model (a vectorised link transmission model with vehicles as arrays) and
:mod:`twin.traffic.service` for what other phases may do with it (add trips, redirect, take reports).
"""

from twin.traffic.demand import DEFAULT_CLASS_SPEED, VEHICLE_CLASSES, Demand, TrafficOptions
from twin.traffic.network import DEFAULT_JAM_DENSITY_VEH_M, TrafficNetwork, triangular_wave_speed
from twin.traffic.reports import REPORT_KINDS, TrafficReport
from twin.traffic.result import STATUS_NAMES, TrafficResult
from twin.traffic.routing import RouteChoice, current_link_times_s, mean_speed_link_times_s, next_link_table
from twin.traffic.service import TrafficService
from twin.traffic.sim import TrafficSim, simulate
from twin.traffic.state import TrafficState

__all__ = [
    "DEFAULT_CLASS_SPEED",
    "DEFAULT_JAM_DENSITY_VEH_M",
    "REPORT_KINDS",
    "STATUS_NAMES",
    "VEHICLE_CLASSES",
    "Demand",
    "RouteChoice",
    "TrafficNetwork",
    "TrafficOptions",
    "TrafficReport",
    "TrafficResult",
    "TrafficService",
    "TrafficSim",
    "TrafficState",
    "current_link_times_s",
    "mean_speed_link_times_s",
    "next_link_table",
    "simulate",
    "triangular_wave_speed",
]
