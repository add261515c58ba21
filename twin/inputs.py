"""The one reader of YAML inputs (scenario files, ``--set`` values, ``city.yaml``): limits first, then positions.

Every YAML input goes through :func:`read_yaml` (a file) or :func:`parse_value` (one ``--set`` value), which

- refuse a file larger than :data:`MAX_BYTES`, anything that is not a regular file (a folder, a named pipe that
  would block), text that is not UTF-8 or holds lone surrogates;
- count the values and the nesting depth from the parser's event stream *before* building anything
  (:data:`MAX_VALUES`, :data:`MAX_DEPTH`): a 25,000-event file is refused in a fraction of a second for what it
  is, not after minutes of composing;
- count what aliases expand to with one pass over the distinct nodes (each node's expanded size is memoised),
  so an alias bomb is refused in time proportional to the file, not to its expansion (:data:`MAX_EXPANDED`);
- report keys written twice in one mapping (YAML silently keeps the last);
- turn a value that its explicit tag cannot build (``!!float abc``, ``!!bool maybe``, ``!!timestamp x``) into
  an error at its line, like any other YAML error;
- remember the file and line of every value (``YamlDoc.where``), and the folder of the file each string was
  written in (:class:`SourcedStr`), because paths resolve against the file that wrote them.

Each failure is raised as the caller's error class (a :class:`twin.errors.TwinError`) with the file and line.
Safe YAML only: object tags (``!!python/...``) are refused by the safe constructor.
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from twin.errors import TwinError

MAX_BYTES = 1_000_000
"""Largest YAML input file (bytes). Scenarios and map configs are a few kilobytes; tables belong in CSV files."""
MAX_VALUES = 50_000
"""Most values (scalars, lists, mappings) a YAML input may write out."""
MAX_EXPANDED = 100_000
"""Most values a YAML input may stand for once its aliases are expanded."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings (a scenario nests about 6 levels)."""

INT_MAX = 2**63 - 1
"""Largest whole number an input may hold (ids are 64-bit signed integers, as in OSM and numpy)."""
INT_MIN = -(2**63)

Loc = tuple[str | int, ...]
"""A YAML path as a tuple of mapping keys and list indices: ``("hazards", 0, "peak_stage_m")``."""

ErrorType = type[TwinError]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


def format_loc(loc: Sequence[object]) -> str:
    """Format a path the way people write it and ``--set`` reads it: ``hazards[0].peak_stage_m``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _SIMPLE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{str(part)!r}]"
    return out


_REPR = reprlib.Repr(maxlevel=3, maxdict=6, maxlist=6, maxtuple=6, maxset=6, maxstring=70, maxlong=30, maxother=70)


def short_repr(value: object, limit: int = 80) -> str:
    """``repr`` for messages: dates in ISO form, long values cut, nested values elided (cost bounded too)."""
    if isinstance(value, dt.date):
        text = repr(value.isoformat())
    elif isinstance(value, str):
        text = repr(str(value)[: 2 * limit])  # a str subclass (SourcedStr) must still read as a plain string
    else:
        try:
            text = _REPR.repr(value)
        except ValueError:  # an int with more digits than Python prints
            text = "a number with too many digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expand_user(path: Path) -> Path:
    """``~`` and ``~user`` expanded; a ``~name`` that is no user stays as written (then it is not found)."""
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def display_path(path: Path | str) -> str:
    """A path as people want to read it: relative to the current directory when it is below it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd())) if path.is_absolute() else str(path)
    except (ValueError, OSError):
        return str(path)


class SourcedStr(str):
    """A string read from a file that remembers the file's folder (``base_dir``).

    It behaves as a plain ``str`` everywhere; only path fields look at ``base_dir``.
    """

    base_dir: Path

    def __new__(cls, value: str, base_dir: Path) -> SourcedStr:
        obj = super().__new__(cls, value)
        obj.base_dir = base_dir
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (SourcedStr, (str(self), self.base_dir))

    def __copy__(self) -> SourcedStr:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SourcedStr:
        return self


@dataclass
class YamlDoc:
    """A parsed YAML mapping with the position of every value.

    Attributes
    ----------
    data
        The constructed top-level mapping.
    where
        For each path, the file and the line of its key (mapping values) or of the item (list items).
    problems
        Non-fatal problems (duplicate keys, whole numbers out of range) as (file, line, text), the text complete.
    refused
        Paths whose value was refused here (and set to None): validation problems at these paths repeat it.
    """

    data: dict[Any, Any]
    where: dict[Loc, tuple[Path, int]] = field(default_factory=dict)
    problems: list[tuple[Path, int, str]] = field(default_factory=list)
    refused: set[Loc] = field(default_factory=set)


class LimitError(yaml.YAMLError):
    """A YAML input over one of the limits (size, values, depth, aliases); the text says which and the fix."""

    def __init__(self, text: str, line: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.line = line


# --- construction -------------------------------------------------------------------------------------------


class _Loader(_BaseLoader):
    """Safe loader whose strings are :class:`SourcedStr` and whose constructors fail as YAML errors."""

    base_dir: Path = Path(".")


def _construct_str(loader: _Loader, node: ScalarNode) -> SourcedStr:
    return SourcedStr(loader.construct_scalar(node), loader.base_dir)


def _implicit_tag(loader: _Loader, node: ScalarNode) -> str:
    """The tag YAML would give the scalar without an explicit one (``!!timestamp x`` -> str)."""
    tag: str = loader.resolve(ScalarNode, node.value, (True, False))
    return tag


def _construct_timestamp(loader: _Loader, node: ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError, AttributeError, TypeError):
        if _implicit_tag(loader, node) != node.tag:
            raise  # an explicit !!timestamp on text that is no date: reported as a tag error
        # An impossible date written plainly (2025-02-30): keep the text, so that the field it is in reports it
        # with its path and line.
        return _construct_str(loader, node)


def _construct_int(loader: _Loader, node: ScalarNode) -> int:
    try:
        value = int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError:
        if _implicit_tag(loader, node) != node.tag:
            raise
        # More digits than Python converts (sys.get_int_max_str_digits).
        raise yaml.constructor.ConstructorError(
            None, None, f"the number {str(node.value)[:20]}... has too many digits", node.start_mark
        ) from None
    return value


def _guarded(tag: str, constructor: Callable[..., Any]) -> Callable[..., Any]:
    """``constructor``, with the exceptions PyYAML lets escape turned into a ConstructorError at the node."""
    name = tag.rsplit(":", 1)[-1]

    def construct(loader: _Loader, node: Node) -> Any:
        try:
            return constructor(loader, node)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError):
            shown = str(node.value)[:40] if isinstance(node, ScalarNode) else "this value"
            raise yaml.constructor.ConstructorError(
                None, None, f"{shown!r} is not a valid !!{name}; remove the tag or fix the value", node.start_mark
            ) from None

    return construct


for _tag, _constructor in list(yaml.SafeLoader.yaml_constructors.items()):
    if _tag is not None:
        _Loader.add_constructor(_tag, _guarded(_tag, _constructor))
_Loader.add_constructor("tag:yaml.org,2002:str", _guarded("tag:yaml.org,2002:str", _construct_str))
_Loader.add_constructor("tag:yaml.org,2002:int", _guarded("tag:yaml.org,2002:int", _construct_int))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _guarded("tag:yaml.org,2002:timestamp", _construct_timestamp))


# --- limits -------------------------------------------------------------------------------------------------


def _prescan(text: str) -> None:
    """Count values and depth from the event stream, before any node is built; raise :class:`LimitError`."""
    parser = _BaseLoader(text)
    values = depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LimitError(
                        f"lists and mappings nest more than {MAX_DEPTH} levels deep; flatten the data",
                        _line(event.start_mark),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                values += 1
                if values > MAX_VALUES:
                    raise LimitError(
                        f"holds more than {MAX_VALUES:,} values (lists, mappings and scalars), the most a YAML "
                        "input may hold; put long tables in a CSV file or split the file",
                        _line(event.start_mark),
                    )
    finally:
        parser.dispose()


def _line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _check_graph(root: Node) -> None:
    """Refuse self-referencing aliases and alias bombs: the expanded size of each distinct node is memoised."""
    size: dict[int, int] = {}
    on_path: set[int] = set()

    def expanded(node: Node) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if key in on_path:
            raise LimitError(
                "a YAML alias refers to itself (an *alias inside its own &anchor); write the value out instead",
                node.start_mark.line + 1,
            )
        total = 1
        if isinstance(node, MappingNode | SequenceNode):
            on_path.add(key)
            children = node.value if isinstance(node, SequenceNode) else [n for kv in node.value for n in kv]
            for child in children:
                total += expanded(child)
                if total > MAX_EXPANDED:
                    raise LimitError(
                        f"expands to more than {MAX_EXPANDED:,} values through YAML aliases (*name); write the "
                        "values out or use fewer aliases",
                        node.start_mark.line + 1,
                    )
            on_path.discard(key)
        size[key] = total
        return total

    expanded(root)  # depth is bounded by MAX_DEPTH (checked before): no deep recursion here


def _check_text(text: str) -> None:
    match = _SURROGATE.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        raise LimitError("holds bytes that are not valid UTF-8 text; save or type it as UTF-8", line)


def _compose(text: str, base_dir: Path) -> tuple[_Loader, Node | None]:
    """Check the limits, then compose the single document (the loader is returned undisposed)."""
    _check_text(text)
    _prescan(text)
    loader = _Loader(text)
    loader.base_dir = base_dir
    root = loader.get_single_node()
    if root is not None:
        _check_graph(root)
    return loader, root


# --- errors -------------------------------------------------------------------------------------------------


def yaml_error(shown: str, exc: yaml.YAMLError, text: str, error: ErrorType) -> TwinError:
    """A YAML error as ``file:line: ...`` with a hint about the usual causes, as the caller's error class."""
    if isinstance(exc, LimitError):
        line = f":{exc.line}" if exc.line else ""
        return error(f"{shown}{line}: {exc.text}")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = f":{text.count(chr(10), 0, max(exc.position, 0)) + 1}"
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        what = f"special characters such as {char!r} are not allowed (control characters, byte order marks)"
    else:
        line, what = "", str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError):  # well-formed YAML, but a value it cannot build
        return error(f"{shown}{line}: YAML error: {what}")
    return error(
        f"{shown}{line}: YAML syntax error: {what}; check the indentation, and quote values that contain "
        f"': ' or start with a special character"
    )


def _a(what: str) -> str:
    """``what`` with its indefinite article: "a scenario file", "an experiment file"."""
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def read_text(path: Path, error: ErrorType, what: str) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_BYTES`, or ``error`` saying what is wrong.

    ``what`` names the file for the user (``"scenario file"``); nothing of the file's content is quoted.
    """
    shown = display_path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(
            f"{shown}: no such file; check the path (relative paths start from the "
            f"current folder, {display_path(Path.cwd()) or '.'})"
        ) from None
    except (OSError, ValueError) as exc:
        raise error(f"{shown}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{shown}: is a folder, not {_a(what)}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{shown}: is not a regular file (a pipe or a device); give {_a(what)}")
    if info.st_size > MAX_BYTES:
        raise error(
            f"{shown}: is {info.st_size:,} bytes; {_a(what)} may be at most {MAX_BYTES:,} bytes "
            "(put long tables in a CSV file the file names)"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{shown}: is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise error(f"{shown}: cannot be read: {exc.strerror or exc}") from None


# --- documents ----------------------------------------------------------------------------------------------


def _duplicates(loader: _Loader, node: Node, loc: Loc, file: Path, out: list[tuple[Path, int, str]]) -> None:
    """Report keys written twice in one mapping (before merge keys are flattened into the mapping)."""
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates(loader, item, (*loc, i), file, out)
    elif isinstance(node, MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: construction reports it
                continue
            if first is None:
                seen[key] = line
            else:
                text = (
                    f"{display_path(file)}:{line} {format_loc((*loc, key))}: duplicate key (first at line "
                    f"{first}); keep one, YAML would silently use the last"
                )
                out.append((file, line, text))
            _duplicates(loader, value_node, (*loc, key), file, out)


def _positions(loader: _Loader, node: Node, loc: Loc, line: int, file: Path, out: dict[Loc, tuple[Path, int]]) -> None:
    """Record the line of every path (after construction, so merge keys are already flattened)."""
    out[loc] = (file, line)
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _positions(loader, item, (*loc, i), item.start_mark.line + 1, file, out)
    elif isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = loader.construct_object(key_node)
            _positions(loader, value_node, (*loc, key), key_node.start_mark.line + 1, file, out)


HUGE = "is too large: whole numbers must lie within ±9.2e18 (64-bit)"


def out_of_range(data: Any, loc: Loc = ()) -> list[tuple[Loc, int]]:
    """Whole numbers outside the 64-bit range below ``data``, each set to None there, with their paths.

    Ids are 64-bit everywhere (OSM's too), and a whole number beyond that range is never a sane count, time or
    size; taking it out here keeps it from every array, every float conversion and every validator downstream.
    """
    found: list[tuple[Loc, int]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in list(items):
        if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
            data[key] = None
            found.append(((*loc, key), value))
        elif isinstance(value, dict | list):
            found.extend(out_of_range(value, (*loc, key)))
    return found


def _refuse_huge(doc: YamlDoc, path: Path) -> None:
    """Whole numbers outside the 64-bit range become problems with their line (and None in the data)."""
    for loc, value in out_of_range(doc.data):
        line = doc.where.get(loc, (path, 0))[1]
        text = f"{display_path(path)}:{line} {format_loc(loc)}: {HUGE}, got {short_repr(value)}"
        doc.problems.append((path, line, text))
        doc.refused.add(loc)


def _kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return "text"
    return "nothing" if data is None else type(data).__name__


def read_yaml(path: Path, error: ErrorType, what: str = "scenario file", example: str = "name, map, start") -> YamlDoc:
    """Read a YAML file whose top level must be a mapping, within the limits of this module.

    Parameters
    ----------
    path
        An absolute path.
    error
        The error class to raise (``ScenarioError``, ``MapError``, ...).
    what
        What the file is, in the user's words (``"scenario file"``, ``"map config"``).
    example
        Keys the top level holds, quoted when the file is empty or not a mapping.

    Raises
    ------
    TwinError
        As ``error``: a missing or unreadable file, a limit exceeded, bad YAML syntax, a value a tag cannot build,
        an empty file or a top level that is not a mapping, each with the file and, where known, the line.
    """
    shown = display_path(path)
    text = read_text(path, error, what)
    duplicates: list[tuple[Path, int, str]] = []
    where: dict[Loc, tuple[Path, int]] = {}
    loader: _Loader | None = None
    try:
        loader, root = _compose(text, path.parent)
        if root is None:
            raise error(f"{shown}: the file is empty; {_a(what)} is a mapping with {example}, ...")
        _duplicates(loader, root, (), path, duplicates)
        data = loader.construct_document(root)
        if isinstance(data, dict):
            _positions(loader, root, (), root.start_mark.line + 1, path, where)
    except yaml.YAMLError as exc:
        raise yaml_error(shown, exc, text, error) from None
    except RecursionError:  # not reachable within MAX_DEPTH; kept so that no input ever shows a traceback
        raise error(f"{shown}: the YAML is nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise error(
            f"{shown}:{root.start_mark.line + 1}: the top level must be a mapping (key: value lines such as "
            f"{example}), got {_kind(data)}"
        )
    doc = YamlDoc(data=data, where=where, problems=duplicates)
    _refuse_huge(doc, path)
    return doc


def parse_value(text: str, base_dir: Path) -> Any:
    """Parse one YAML value (a ``--set`` value) within the same limits as a file; strings remember ``base_dir``.

    Raises
    ------
    yaml.YAMLError
        When the text is not valid YAML; :class:`LimitError` (a ``yaml.YAMLError``) when it is over a limit
        (an alias bomb, too deep, too long, not UTF-8).
    """
    if len(text) > MAX_BYTES:
        raise LimitError(f"is {len(text):,} characters long; a value may be at most {MAX_BYTES:,}")
    loader: _Loader | None = None
    try:
        loader, root = _compose(text, base_dir)
        return None if root is None else loader.construct_document(root)
    finally:
        if loader is not None:
            loader.dispose()
