"""Wall-clock times in scenario files: local date-times in a named time zone, checked for DST gaps and folds.

A scenario says ``start: "2025-10-14T06:00"`` and ``timezone: Europe/Andorra``; the model keeps an aware
datetime. A local time that does not exist (the hour skipped in spring) or exists twice (the hour repeated
in autumn) is an error with the fix, never a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from pathlib import Path
from typing import Any

from twin.scenario.problems import Problem, did_you_mean, problems_error

_DATE_ONLY = re.compile(r"^\s*\d{4}-?\d{2}-?\d{2}\s*$")
_LOOKS_ABSOLUTE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
LOCAL_EXAMPLE = "2025-10-14T06:00"


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name``; a problem with a "did you mean" when unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = did_you_mean(name, _zone_names()) or "use an IANA name such as Europe/Andorra, America/Sao_Paulo or UTC"
        raise problems_error(Problem((), "unknown time zone", hint=hint)) from None


def looks_absolute(value: Any) -> bool:
    """Whether a time value is a calendar date-time (as opposed to a duration after the start)."""
    return isinstance(value, dt.date) or (isinstance(value, str) and bool(_LOOKS_ABSOLUTE.match(value)))


def _offset(delta: dt.timedelta | None) -> str:
    minutes = int((delta or dt.timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _exists(local: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether a wall time exists in ``tz`` (it survives a round trip through UTC)."""
    aware = local.replace(tzinfo=tz)
    return aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == local


def localize(value: Any, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """A local date-time (text or datetime) as an aware datetime in ``tz``.

    An explicit UTC offset is accepted when it agrees with ``tz`` (that is how a repeated autumn hour is
    told apart).

    Raises
    ------
    pydantic_core.PydanticCustomError
        Carrying a :class:`~twin.scenario.problems.Problem`: not a date-time, a date without a time, a time
        skipped or repeated by a clock change, an offset that disagrees with the zone.
    """
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date) or (isinstance(value, str) and _DATE_ONLY.match(value)):
        raise problems_error(Problem((), "needs a time of day", hint=f"e.g. {LOCAL_EXAMPLE}"))
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise problems_error(
                Problem((), "must be a local date-time", hint=f"write it as {LOCAL_EXAMPLE} (ISO 8601)")
            ) from None
    else:
        raise problems_error(Problem((), "must be a local date-time", hint=f'write it as "{LOCAL_EXAMPLE}"'))
    try:
        return _in_zone(when, tz)
    except OverflowError:
        raise problems_error(Problem((), "is out of the range of dates that can be simulated")) from None


def _in_zone(when: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    local = when.replace(tzinfo=None)
    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if when.tzinfo is not None:
        wanted = when.utcoffset()
        for candidate in (first, second):
            if candidate.utcoffset() == wanted and _exists(local, tz):
                return candidate
        raise problems_error(
            Problem(
                (),
                f"the UTC offset {_offset(wanted)} does not match {tz.key} on that date ({_offset(first.utcoffset())})",
                hint="drop the offset (times are local to the scenario's timezone) or fix timezone",
            )
        )
    if first.utcoffset() == second.utcoffset():
        return first
    if not _exists(local, tz):
        raise problems_error(
            Problem((), f"does not exist in {tz.key}: the clocks skip that hour", hint="pick a time outside the gap")
        )
    iso = local.isoformat(timespec="minutes")
    raise problems_error(
        Problem(
            (),
            f"happens twice in {tz.key}: the clocks go back that night",
            hint=f"add the UTC offset, {iso}{_offset(first.utcoffset())} or {iso}{_offset(second.utcoffset())}",
        )
    )


MAX_SOLAR_GAP_H = 4.0
"""Largest gap between a time zone's UTC offset and the map's mean solar time that is taken as intended.

Mean solar time is UTC + longitude / 15 degrees per hour (e.g. Meeus, *Astronomical Algorithms*, 2nd ed. 1998,
ch. 12). Civil time departs from it by at most about 3 h where people live (western China on UTC+8 near 75 E;
Galicia on summer time near 9 W, 2.6 h), so a gap over 4 h means a zone meant for another place (an Andorra
zone on the Portland map is 10 h off)."""


def map_place(folder: Path) -> tuple[float | None, str]:
    """The mean longitude of a map's population areas and its time zone (``city.yaml``); None when unreadable.

    The map's own errors are reported when it is loaded; here only its place matters.
    """
    from twin.errors import MapError
    from twin.inputs import read_yaml

    try:
        data = read_yaml(folder / "city.yaml", MapError).data
        lons = [float(area["centre"][0]) for area in data["population"]["areas"]]
    except (MapError, AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError):
        return None, ""
    valid = [lon for lon in lons if -180.0 <= lon <= 180.0]
    return (sum(valid) / len(valid) if valid else None), str(data.get("timezone") or "")


def solar_gap_problem(start: dt.datetime, longitude: float, map_zone: str = "") -> Problem | None:
    """A problem at ``timezone`` when its offset at ``start`` is over :data:`MAX_SOLAR_GAP_H` from solar time.

    The gap is ``offset_h - longitude / 15``, wrapped into [-12, 12) h (the date line: Kiribati's UTC+14 at
    157 W is 0.5 h from solar time).
    """
    offset = start.utcoffset()
    if offset is None:
        return None
    offset_h = offset.total_seconds() / 3600.0
    gap = (offset_h - longitude / 15.0 + 12.0) % 24.0 - 12.0
    if abs(gap) <= MAX_SOLAR_GAP_H:
        return None
    solar = longitude / 15.0
    return Problem(
        ("timezone",),
        f"is UTC{_offset(offset)} at the start, {abs(gap):.1f} h from the map's solar time (longitude "
        f"{longitude:.2f}, about UTC{solar:+.1f} h); a time zone more than {MAX_SOLAR_GAP_H:g} h off is for another "
        "place",
        hint=f"use the map's zone, {map_zone} (its city.yaml)" if map_zone else "use the zone of the map's place",
    )
