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
