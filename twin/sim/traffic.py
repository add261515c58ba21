"""Traffic phase of the engine: the public API of :mod:`twin.traffic` (DESIGN.md, "Traffic").

The model lives in the :mod:`twin.traffic` package (network, demand, routing, simulator, results); this
module re-exports it where DESIGN.md's layout puts it.
"""

from twin.traffic import (
    DEFAULT_CLASS_SPEED,
    DEFAULT_JAM_DENSITY_VEH_M,
    STATUS_NAMES,
    VEHICLE_CLASSES,
    Demand,
    TrafficNetwork,
    TrafficOptions,
    TrafficResult,
    TrafficSim,
    current_link_times_s,
    next_link_table,
    simulate,
    triangular_wave_speed,
)

__all__ = [
    "DEFAULT_CLASS_SPEED",
    "DEFAULT_JAM_DENSITY_VEH_M",
    "STATUS_NAMES",
    "VEHICLE_CLASSES",
    "Demand",
    "TrafficNetwork",
    "TrafficOptions",
    "TrafficResult",
    "TrafficSim",
    "current_link_times_s",
    "next_link_table",
    "simulate",
    "triangular_wave_speed",
]
