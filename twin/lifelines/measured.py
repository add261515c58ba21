"""Which service levels a City can measure (a condition on any other could never hold)."""

from __future__ import annotations

from twin.city.build import City


def measured_services(city: City) -> tuple[str, ...]:
    """The services with a level ``Q_<service>`` on this map.

    Access and health need a hospital, power a substation (or transformer), telecom a cell site; water
    always has its (possibly synthesised) pressure zones.
    """
    hospitals = bool((city.facilities["kind"] == "hospital").any())
    lifelines = city.lifelines
    present = {
        "access": hospitals,
        "power": len(lifelines.power_sources) > 0,
        "water": len(lifelines.water_tank) > 0,
        "telecom": len(lifelines.site_rows) > 0,
        "health": hospitals,
    }
    return tuple(service for service, ok in present.items() if ok)
