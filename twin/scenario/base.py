"""Building blocks of the scenario schema: the base model and the field types every part uses.

Hazard and response types added by later issues build on these: a duration field is
``duration_s: PositiveDuration = Field(alias="duration")``, a file the scenario refers to is
``series: ExistingFile`` (resolved against the scenario file's folder and checked at validation time).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from twin.scenario.problems import HIDE, Problem, problems_error
from twin.scenario.yamlpos import display_path, expand_user
from twin.units import SECONDS_PER_UNIT, format_duration, parse_duration_s


class SpecModel(BaseModel):
    """Base of every scenario model.

    Strict, because a scenario must never silently turn a wrong value into something else (``true`` into 1,
    ``"5"`` into 5); unknown keys are errors (with a "did you mean"); NaN and infinities are refused.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=True)


# ---------------------------------------------------------------------------------------------- durations

DURATION_HELP = "must be a duration: seconds (90) or a number with a unit (90s, 15min, 6h, 2d)"
_UNITS = "|".join(sorted(SECONDS_PER_UNIT, key=len, reverse=True))
_DURATION_TEXT: dict[str, Any] = {"type": "string", "pattern": rf"^\s*(\d+(\.\d*)?|\.\d+)\s*({_UNITS})\s*$"}
DURATION_JSON_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number", "minimum": 0}, _DURATION_TEXT]}
POSITIVE_DURATION_JSON_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, _DURATION_TEXT]}


def seconds(value: Any, *, positive: bool = True, allow_negative: bool = False) -> float:
    """Parse a duration field into seconds, raising a problem that says how to write one.

    Parameters
    ----------
    value
        A number of seconds or a string with a unit (see :func:`twin.units.parse_duration_s`).
    positive
        Refuse zero.
    allow_negative
        Accept ``-5min`` (times before the start; range checks come later with a clearer message).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise problems_error(Problem((), DURATION_HELP))
    if isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:  # a YAML integer with hundreds of digits
            raise problems_error(Problem((), "is too large for a number of seconds")) from None
    sign = 1.0
    if allow_negative and isinstance(value, str) and value.strip().startswith("-"):
        sign, value = -1.0, value.strip()[1:]
    if allow_negative and isinstance(value, int | float) and value < 0:
        sign, value = -1.0, -value
    try:
        result = sign * parse_duration_s(value)
    except ValueError:
        if isinstance(value, int | float) and not math.isfinite(value):
            raise problems_error(Problem((), "must be a finite number of seconds")) from None
        negative = (isinstance(value, int | float) and value < 0) or (
            isinstance(value, str) and value.strip().startswith("-")
        )
        if negative:
            raise problems_error(Problem((), "must be > 0" if positive else "must be >= 0")) from None
        raise problems_error(Problem((), DURATION_HELP)) from None
    if positive and result == 0:
        raise problems_error(Problem((), "must be > 0", hint="a duration such as 90s, 15min, 6h"))
    return result


PositiveDuration = Annotated[
    float, BeforeValidator(lambda v: seconds(v, positive=True)), WithJsonSchema(POSITIVE_DURATION_JSON_SCHEMA)
]
"""A duration > 0, in seconds (YAML: ``6h``, ``90min``, ``3600``)."""

Duration = Annotated[float, BeforeValidator(lambda v: seconds(v, positive=False)), WithJsonSchema(DURATION_JSON_SCHEMA)]
"""A duration >= 0, in seconds."""

NEVER = "never"
"""The word a scenario writes for an interval that never elapses (:data:`DurationOrNever`)."""
NEVER_HELP = f"must be `{NEVER}` or a duration > 0: seconds (90) or a number with a unit (90s, 1min, 6h)"


def duration_or_never(value: Any) -> float | None:
    """Seconds, or None for the word ``never``; anything else (an empty value included) is a problem that says
    how to write one."""
    if isinstance(value, str) and value.strip().lower() == NEVER:
        return None
    if value is None:
        empty = f"has no value: write `{NEVER}` or a duration > 0 (90s, 1min, 6h), or leave the key out for the default"
        raise problems_error(Problem((), empty, HIDE))
    try:
        return seconds(value, positive=True)
    except PydanticCustomError:
        raise problems_error(Problem((), NEVER_HELP)) from None


DurationOrNever = Annotated[
    float | None,
    BeforeValidator(duration_or_never),
    WithJsonSchema({"anyOf": [*POSITIVE_DURATION_JSON_SCHEMA["anyOf"], {"const": NEVER}]}),
]
"""A duration > 0 in seconds, or ``never`` (None): how often something recurs, where it may not recur at all."""


def describe_duration(value: float) -> str:
    """Seconds for a message: ``6h`` (``format_duration``) with the exact seconds when it rounds."""
    text = format_duration(value)
    return text if float(round(value)) == value else f"{value}s"


# -------------------------------------------------------------------------------------------------- paths

PATH_JSON_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1}


def _path_text(value: Any, what: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise problems_error(Problem((), f"must be the path of {what}"))
    if not value.strip():
        raise problems_error(Problem((), f"must be the path of {what}, not empty"))
    if "\0" in value:
        raise problems_error(Problem((), "must not contain NUL characters"))
    return value


def _base_dir(value: Any, info: ValidationInfo) -> Path:
    """The folder a relative path starts from: its own file's, else the loader's, else the current one."""
    base = getattr(value, "base_dir", None)
    if base is None and isinstance(info.context, dict):
        base = info.context.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def resolve_path(value: Any, info: ValidationInfo, what: str) -> Path:
    """An absolute, normalised path for a path field (``~`` expanded); symlinks are kept as written."""
    text = _path_text(value, what)
    return Path(os.path.abspath(_base_dir(value, info) / expand_user(Path(text))))


def _where_from(value: Any, info: ValidationInfo) -> str:
    return f"paths resolve against the scenario file's folder, {display_path(_base_dir(value, info))}"


def _map_folder(value: Any, info: ValidationInfo) -> Path:
    path = resolve_path(value, info, "a map folder (the folder with city.yaml)")
    try:
        is_dir, has_city = path.is_dir(), (path / "city.yaml").is_file()
    except OSError as exc:
        raise problems_error(Problem((), f"cannot read {display_path(path)}: {exc.strerror or exc}")) from None
    if not is_dir:
        exists = path.exists()
        raise problems_error(
            Problem(
                (),
                f"{display_path(path)} is a file, not a map folder"
                if exists
                else f"no map folder at {display_path(path)}",
                hint=f"{_where_from(value, info)}; a map folder holds city.yaml with the OSM extract and the DEM",
            )
        )
    if not has_city:
        raise problems_error(
            Problem(
                (),
                f"{display_path(path)} has no city.yaml",
                hint="a map folder holds city.yaml (the map config) with the OSM extract and the DEM",
            )
        )
    return path


OUTSIDE_FLAG = "--allow-outside-paths"


def _inside(value: Any, info: ValidationInfo, path: Path) -> None:
    """Refuse a file outside its scenario file's folder (absolute, ``..``, or a link out) unless the flag allows it.

    A scenario is shared as a folder; a file field that can name any file would let a scenario read (and quote in
    its errors) files of the person who runs it.
    """
    if isinstance(info.context, dict) and info.context.get("allow_outside_paths"):
        return
    text = str(value)
    written = Path(text)
    base = _base_dir(value, info)
    if written.is_absolute() or text.startswith("~") or ".." in written.parts:
        what = "is absolute" if written.is_absolute() or text.startswith("~") else "goes up with '..'"
        raise problems_error(
            Problem(
                (),
                f"{what}: files must be inside the scenario file's folder, {display_path(base)}",
                hint=f"copy the file there and give its relative path, or pass {OUTSIDE_FLAG}",
            )
        )
    try:
        real, real_base = path.resolve(), base.resolve()
    except (OSError, RuntimeError):  # a link loop: reported as no file
        return
    if not real.is_relative_to(real_base):
        raise problems_error(
            Problem(
                (),
                "is a link that leads out of the scenario file's folder",
                hint=f"copy the file into the folder, or pass {OUTSIDE_FLAG}",
            )
        )


def _existing_file(value: Any, info: ValidationInfo) -> Path:
    path = resolve_path(value, info, "a file")
    _inside(value, info, path)
    try:
        ok = path.is_file()
    except OSError:
        ok = False
    if not ok:
        try:
            folder = path.is_dir()
        except OSError:
            folder = False
        what = f"{display_path(path)} is a folder, not a file" if folder else f"no file at {display_path(path)}"
        raise problems_error(Problem((), what, hint=_where_from(value, info)))
    return path


MapFolder = Annotated[Path, BeforeValidator(_map_folder), WithJsonSchema(PATH_JSON_SCHEMA)]
"""A map folder (must exist and contain ``city.yaml``), resolved against the scenario file's folder."""

ExistingFile = Annotated[Path, BeforeValidator(_existing_file), WithJsonSchema(PATH_JSON_SCHEMA)]
"""A file the scenario refers to (must exist), resolved against the scenario file's folder."""

# -------------------------------------------------------------------------------------------------- text


def _not_blank(value: str) -> str:
    if not value.strip():
        raise problems_error(Problem((), "must not be empty", HIDE))
    return value


Text = Annotated[str, AfterValidator(_not_blank), Field(min_length=1)]
"""Non-empty text."""
