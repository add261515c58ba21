"""``--set`` overrides: change keys of a scenario from the command line, validated like the file.

``twin run base.yaml --set hazards[0].hydrograph.peak_stage_m=5 --set metrics.access_tau=20min``: the path is keys
joined by dots with list indices in brackets; the value is read as YAML (``5`` is a number, ``true`` a
boolean, ``[1, 2]`` a list, anything else text). A path value resolves against the scenario file's folder,
as if it had been written in the file.

A list entry can also be chosen by name instead of index: ``interventions[levee].crest_m`` is the one entry of
``interventions`` whose ``type``, ``kind``, ``label`` or ``name`` is ``levee`` (:data:`NAME_FIELDS`). The name
is resolved against the scenario being overridden (:func:`resolve_path`), so a path keeps pointing at the same
entry when entries are added before it; a name that matches no entry, or several, is an error listing the
entries, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from twin.inputs import LimitError, Loc, SourcedStr, format_loc, parse_value

_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
# In brackets: a list index, or the name of an entry (anything but brackets, dots and '='; not only blanks).
_SELECT = r"\[[^\[\].=]+\]"
_PATH = re.compile(rf"{_KEY}({_SELECT})*(\.{_KEY}({_SELECT})*)*")
PATH_HELP = (
    "a path like {example} (keys joined by dots, list entries in brackets by index or by type, kind, label or name)"
)
#: The fields of a list entry that ``[NAME]`` in a path matches, in the order they are shown.
NAME_FIELDS = ("type", "kind", "label", "name")
#: Entries listed by a "matches no entry" error before the rest is counted.
_SHOWN = 8


@dataclass(frozen=True)
class ByName:
    """A list entry chosen by name in a path: the ``levee`` of ``interventions[levee]`` (see :data:`NAME_FIELDS`)."""

    name: str

    def __str__(self) -> str:
        return f"[{self.name}]"


PathLoc = tuple[str | int | ByName, ...]
"""A path as written: keys, list indices and entries chosen by name (resolved by :func:`resolve_path`)."""
DEFAULT_EXAMPLE = "metrics.access_tau=20min"


class OverrideError(Exception):
    """A ``--set`` that cannot be applied; the message says why (the loader adds the file and the flag)."""


def example_override(data: Any) -> str:
    """A ``PATH=VALUE`` that fits the scenario being run, for error hints: its first number, with its value.

    The hazards are searched (``hazards[0].hydrograph.peak_stage_m=4.5`` on a river flood); a scenario without
    a hazard number gets :data:`DEFAULT_EXAMPLE`, which every scenario accepts. A top-level key (``seed=1``)
    would not show what a path looks like.
    """
    if isinstance(data, dict):
        found = _first_number(data.get("hazards"), ("hazards",))
        if found is not None:
            loc, value = found
            return f"{format_loc(loc)}={value!r}"
    return DEFAULT_EXAMPLE


def _first_number(node: Any, loc: Loc, depth: int = 0) -> tuple[Loc, int | float] | None:
    """The first number (not a boolean) in ``node``, depth first, with its path; None when there is none."""
    if depth > 8:  # a hint is not worth walking a deep structure
        return None
    if isinstance(node, int | float) and not isinstance(node, bool) and len(loc) > 1:
        return loc, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        if isinstance(key, str | int) and (isinstance(key, int) or _PATH.fullmatch(key)):
            found = _first_number(child, (*loc, key), depth + 1)
            if found is not None:
                return found
    return None


def parse_path(text: str, example: str = DEFAULT_EXAMPLE) -> PathLoc:
    """``"hazards[0].hydrograph.peak_stage_m"`` -> ``("hazards", 0, "hydrograph", "peak_stage_m")``.

    A bracket that is not a number chooses an entry by name: ``"interventions[levee].crest_m"`` ->
    ``("interventions", ByName("levee"), "crest_m")``. ``example`` (a ``PATH=VALUE`` of the scenario,
    :func:`example_override`) is quoted in the error.
    """
    if not _PATH.fullmatch(text) or re.search(r"\[\s+\]", text):
        help_text = PATH_HELP.format(example=example.partition("=")[0])
        raise OverrideError(f"expected {help_text}, got {text!r}")
    loc: list[str | int | ByName] = []
    for segment in text.split("."):
        key = re.match(_KEY, segment)
        assert key is not None  # guaranteed by _PATH
        loc.append(key[0])
        for inside in re.findall(r"\[([^\]]*)\]", segment):
            loc.append(int(inside) if re.fullmatch("[0-9]+", inside) else ByName(inside.strip()))
    return tuple(loc)


def resolve_path(data: Any, path: PathLoc) -> Loc:
    """``path`` with each entry chosen by name replaced by its index in ``data`` (the scenario being overridden).

    An entry matches ``[NAME]`` when one of its :data:`NAME_FIELDS` equals ``NAME`` exactly.

    Raises
    ------
    OverrideError
        When the name matches no entry or several, or the path up to it is not a list in ``data``.
    """
    loc: list[str | int] = []
    node: Any = data
    for part in path:
        if isinstance(part, ByName):
            part = _entry_index(node, part.name, tuple(loc))
        loc.append(part)
        node = _child(node, part)
    return tuple(loc)


def _child(node: Any, part: str | int) -> Any:
    """``node[part]``, or None when it is not there (a later ``[NAME]`` then reports the gap)."""
    if isinstance(part, str):
        return node.get(part) if isinstance(node, dict) else None
    return node[part] if isinstance(node, list) and 0 <= part < len(node) else None


def _entry_index(node: Any, name: str, loc: Loc) -> int:
    """The index of the one entry of the list ``node`` (at ``loc``) that ``[name]`` matches."""
    here = format_loc(loc)
    if node is None:
        raise OverrideError(
            f"{here} is not in the scenario, so no entry of it is named {name!r}; write the entry in the "
            f"file, or add one with an index ({here}[0])"
        )
    if not isinstance(node, list):
        raise OverrideError(f"{here} is {_kind(node)}, not a list, so it has no entry [{name}]")
    found = [i for i, entry in enumerate(node) if name in _names(entry)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise OverrideError(
            f"{here}[{name}] matches no entry: no {here} entry has type, kind, label or name {name!r}; "
            f"{_listing(node, here)}"
        )
    which = ", ".join(f"{here}[{i}]" for i in found)
    # Entries that take a label (interventions) or a name can be told apart by it; others only by index.
    own = [f"{here}[{i}] {node[i][f]!r}" for i in found for f in ("label", "name") if isinstance(node[i].get(f), str)]
    hint = f", or by a label or name of its own ({', '.join(own)})" if own else ""
    raise OverrideError(f"{here}[{name}] matches {len(found)} entries ({which}); choose one by its index{hint}")


def _names(entry: Any) -> list[str]:
    """The values of an entry's :data:`NAME_FIELDS` (text only)."""
    if not isinstance(entry, dict):
        return []
    return [entry[f] for f in NAME_FIELDS if isinstance(entry.get(f), str)]


def _listing(node: list[Any], here: str) -> str:
    """``its entries are [0] type 'levee', label 'Santa Coloma flood wall'; [1] ...`` (for 'matches no entry')."""
    if not node:
        return f"{here} is empty; add the entry to the file"
    shown = []
    for i, entry in enumerate(node[:_SHOWN]):
        fields = [f"{f} {entry[f]!r}" for f in NAME_FIELDS if isinstance(entry, dict) and isinstance(entry.get(f), str)]
        shown.append(f"[{i}] " + (", ".join(fields) if fields else "with none of them (use its index)"))
    more = f"; and {len(node) - _SHOWN} more" if len(node) > _SHOWN else ""
    return f"its entries are {'; '.join(shown)}{more}"


def parse_override_value(raw: str, base_dir: Path) -> Any:
    """The value of a ``--set``, read as YAML; text that YAML reads as a structure stays text.

    ``description=Flood: worst case`` is text, not a mapping: only values that start with ``[`` or ``{``
    are read as lists or mappings.
    """
    text = raw.strip()
    try:
        value = parse_value(text, base_dir)
    except LimitError as exc:
        raise OverrideError(f"the value {exc.text}") from None
    except yaml.YAMLError as exc:
        if text[:1] in ("[", "{", '"', "'"):
            what = getattr(exc, "problem", None) or "syntax error"
            raise OverrideError(f"the value is not valid YAML ({what}); quote text, close brackets") from None
        return SourcedStr(text, base_dir)
    if isinstance(value, dict | list) and text[:1] not in ("[", "{"):
        return SourcedStr(text, base_dir)
    return value


def parse_override(text: str, base_dir: Path, example: str = DEFAULT_EXAMPLE) -> tuple[PathLoc, Any]:
    """Split ``PATH=VALUE`` into a path and a value; ``example`` (:func:`example_override`) is the errors' hint.

    The path may choose entries by name; :func:`resolve_path` turns it into indices against the scenario.

    Raises
    ------
    OverrideError
        No ``=``, a malformed path, a value that is not YAML, or ``extends``.
    """
    path, sep, raw = text.partition("=")
    if not sep:
        raise OverrideError(f"expected PATH=VALUE, e.g. --set {example}")
    loc = parse_path(path.strip(), example)
    if loc[0] == "extends":
        raise OverrideError("extends cannot be changed with --set; write a variant file with extends: instead")
    return loc, parse_override_value(raw, base_dir)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else f"the value {value!r}"


def apply_override(data: dict[Any, Any], loc: Loc, value: Any) -> None:
    """Set ``value`` at ``loc`` in ``data``, creating missing mappings on the way.

    An index equal to a list's length appends (so ``--set events[2].kind=message`` can add an event).

    Raises
    ------
    OverrideError
        The path goes through something that is not a mapping or list, or an index is out of range.
    """
    node: Any = data
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        here = format_loc(loc[:depth])
        fresh: Any = None if last else ([] if isinstance(loc[depth + 1], int) else {})
        if isinstance(part, str):
            if not isinstance(node, dict):
                raise OverrideError(f"{here} is {_kind(node)}, not a mapping, so it has no key {part!r}")
            if last:
                node[part] = value
            elif node.get(part) is None:
                node[part] = fresh
            node = node[part]
        else:
            if not isinstance(node, list):
                raise OverrideError(f"{here} is {_kind(node)}, not a list, so it has no entry [{part}]")
            if part > len(node):
                valid = f"an index from 0 to {len(node) - 1}, or {len(node)}" if node else "index 0"
                raise OverrideError(f"{here} has {len(node)} entries; use {valid} to add one")
            if part == len(node):
                node.append(fresh)
            if last:
                node[part] = value
            node = node[part]
