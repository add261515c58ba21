"""Traffic phase of the engine: the public API of :mod:`twin.traffic` (DESIGN.md, "Traffic").

The model lives in the :mod:`twin.traffic` package (network, demand, routing, simulator, results); this
module re-exports it where DESIGN.md's layout puts it.
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
