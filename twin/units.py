"""Units: SI inside (m, s, m/s, m3, W); conversions happen at input and output only.

Durations in input files are strings with a unit (``"90s"``, ``"90min"``, ``"6h"``, ``"2d"``) or plain
numbers of seconds. Speeds in OSM are km/h (or mph when tagged so).
"""

from __future__ import annotations

import datetime as dt
import re

SECONDS_PER_UNIT: dict[str, float] = {
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>s|sec|min|h|d)\s*$")

KMH_TO_MPS = 1000.0 / 3600.0
MPH_TO_MPS = 1609.344 / 3600.0


def parse_duration_s(value: str | float | int) -> float:
    """Parse a duration into seconds.

    Parameters
    ----------
    value
        A number of seconds, or a string such as ``"90s"``, ``"15min"``, ``"6h"``, ``"2d"``.

    Returns
    -------
    float
        The duration in seconds (>= 0).

    Raises
    ------
    ValueError
        When the value is negative, not finite, or a string without a known unit; the message lists
        the units that are understood.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '90min' or a number of seconds, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(
                f"expected a duration such as '90s', '15min', '6h' or '2d' "
                f"(units: {', '.join(SECONDS_PER_UNIT)}), got {value!r}"
            )
        seconds = float(match["value"]) * SECONDS_PER_UNIT[match["unit"]]
    else:
        raise ValueError(f"expected a duration such as '90min' or a number of seconds, got {value!r}")
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be finite and >= 0, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds for people: ``"1h30min"``, ``"45min"``, ``"20s"``."""
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}min" if minutes else ""]
    parts.append(f"{secs}s" if secs or not any(parts) else "")
    return "".join(parts)


def clock_at(start: dt.datetime, t_s: float) -> dt.datetime:
    """The local date-time ``t_s`` seconds after ``start``: elapsed time, so a DST change shifts the clock."""
    if start.tzinfo is None:
        return start + dt.timedelta(seconds=t_s)
    return (start.astimezone(dt.UTC) + dt.timedelta(seconds=t_s)).astimezone(start.tzinfo)
