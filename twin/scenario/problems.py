"""Problems found in a scenario: where they are (a YAML path) and what is wrong, in words people can act on.

Validators anywhere in the schema raise :func:`problems_error`; the loader turns those and pydantic's own
errors into :class:`Problem` objects, then into lines with the file and the line number. Keeping the
location relative (a ``loc`` tuple) until the end lets nested models and registered hazard types report
problems without knowing where they sit in the file.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from twin.inputs import Loc as Loc
from twin.inputs import format_loc as format_loc
from twin.inputs import short_repr as short_repr

LOOKUP: Any = type("_Lookup", (), {"__repr__": lambda self: "LOOKUP"})()
"""Show the value found at the problem's path in the input (what the user wrote)."""
HIDE: Any = type("_Hide", (), {"__repr__": lambda self: "HIDE"})()
"""Show no value (a missing key, or a message that already quotes it)."""

PROBLEMS_ERROR = "twin_problems"
"""The pydantic error type that carries a list of :class:`Problem` in its context."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    Parameters
    ----------
    loc
        Where, relative to the object being validated; the loader prefixes the outer path.
    message
        What is wrong, e.g. ``"must be > 0"``.
    value
        The value to quote after ``got``; :data:`LOOKUP` takes it from the input, :data:`HIDE` quotes nothing.
    hint
        How to fix it, appended after the value.
    """

    loc: Loc
    message: str
    value: Any = LOOKUP
    hint: str = ""

    def under(self, prefix: Loc) -> Problem:
        """The same problem, located under ``prefix``."""
        return Problem(prefix + self.loc, self.message, self.value, self.hint)


def problems_error(*problems: Problem) -> PydanticCustomError:
    """An error to raise from a validator: pydantic keeps the problems in the error's context.

    The message template also reads well on its own, for code that validates a model directly and prints
    pydantic's ``ValidationError``.
    """
    summary = "; ".join(
        (f"{format_loc(p.loc)}: " if p.loc else "") + p.message + (f" ({p.hint})" if p.hint else "") for p in problems
    )
    return PydanticCustomError(PROBLEMS_ERROR, "{summary}", {"summary": summary, "problems": list(problems)})


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` when a choice is close to ``word`` (difflib), else ``""``."""
    if not isinstance(word, str):
        return ""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean {lowered[close[0]]!r}?" if close else ""


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` to reach the type that says what a value must be."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field(model: type[BaseModel], key: object) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == key:
            return info
    return None


def resolve(model: type[BaseModel], loc: Loc) -> tuple[Any, FieldInfo | None]:
    """The annotation (and field, when the last step is a model field) at ``loc`` under ``model``.

    Returns ``(None, None)`` when the path leaves the schema (an unknown key, an index into a non-list).
    """
    annotation: Any = model
    info: FieldInfo | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        if _is_model(annotation):
            info = _field(annotation, part)
            if info is None:
                return None, None
            annotation = info.annotation
        elif get_origin(annotation) is list and isinstance(part, int):
            annotation, info = get_args(annotation)[0], None
        else:
            return None, None
    return annotation, info


def keys_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a mapping at ``loc`` may have (aliases, as written in YAML)."""
    annotation = _unwrap(resolve(model, loc)[0])
    if not _is_model(annotation):
        return []
    return [info.alias or name for name, info in annotation.model_fields.items()]


_TYPE_WORDS: dict[str, str] = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list (lines starting with '- ', or [a, b])",
    "model_type": "must be a mapping (indented key: value lines)",
    "model_attributes_type": "must be a mapping (indented key: value lines)",
    "dict_type": "must be a mapping (indented key: value lines)",
    "finite_number": "must be a finite number",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "datetime_type": "must be a date-time such as 2025-10-14T06:00",
    "invalid_key": "keys must be text",
    "recursion_loop": "refers to itself (a YAML alias inside its own anchor)",
}


def _example_hint(key: object, info: FieldInfo | None) -> str:
    if info is not None and info.examples:
        return f"add it, e.g. {key}: {info.examples[0]}"
    return "add it"


def _from_pydantic(err: Any, model: type[BaseModel]) -> Problem:
    """One pydantic error -> a Problem with plain words and, where it helps, a fix."""
    loc: Loc = tuple(err["loc"])
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input", HIDE)
    if kind == "missing":
        return Problem(loc, "required key is missing", HIDE, _example_hint(loc[-1], resolve(model, loc)[1]))
    if kind == "extra_forbidden":
        known = keys_at(model, loc[:-1])
        hint = did_you_mean(loc[-1], known) or (f"known keys: {', '.join(known)}" if known else "")
        return Problem(loc, f"unknown key {str(loc[-1])!r}", HIDE, hint)
    if kind == "literal_error":
        annotation = _unwrap(resolve(model, loc)[0])
        choices = [str(a) for a in get_args(annotation)] if get_origin(annotation) is Literal else []
        choices = choices or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return Problem(loc, "must be one of " + ", ".join(choices), value, did_you_mean(value, choices))
    bounds = {
        "greater_than": ("must be > {}", "gt"),
        "greater_than_equal": ("must be >= {}", "ge"),
        "less_than": ("must be < {}", "lt"),
        "less_than_equal": ("must be <= {}", "le"),
        "too_long": ("must have at most {} entries", "max_length"),
        "string_too_long": ("must have at most {} characters", "max_length"),
    }
    if kind in bounds:
        template, key = bounds[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "> 0", not "> 0.0", for a float field with gt=0
        return Problem(loc, template.format(bound), value)
    if kind in _TYPE_WORDS:
        return Problem(loc, _TYPE_WORDS[kind], value)
    message = str(err.get("msg", kind))
    message = message[0].lower() + message[1:] if message else kind
    return Problem(loc, message, value)


def from_validation_error(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Every problem in a pydantic ``ValidationError`` raised while validating ``model``.

    Errors raised with :func:`problems_error` are unpacked and placed under the error's path.
    """
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        if err["type"] == PROBLEMS_ERROR:
            problems.extend(p.under(loc) for p in (err.get("ctx") or {}).get("problems", []))
        else:
            problems.append(_from_pydantic(err, model))
    return problems
