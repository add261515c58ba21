"""Read YAML and remember where every value was written (file and line), so problems can cite it.

The document is composed into nodes first (``yaml.compose`` keeps line marks), then constructed with
PyYAML's safe constructor. Two additions over ``yaml.safe_load``: duplicate keys are reported (YAML lets the
last one win silently), and strings remember the folder of their file, because paths in a scenario
resolve against the file that wrote them, even when it is a base file reached through ``extends``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from twin.errors import ScenarioError
from twin.scenario.problems import Loc, format_loc

MAX_NODES = 100_000
"""Bound on values after alias expansion: a scenario is small; an alias bomb is not."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


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
        Non-fatal problems (duplicate keys) as (file, line, text), the text already complete.
    """

    data: dict[Any, Any]
    where: dict[Loc, tuple[Path, int]] = field(default_factory=dict)
    problems: list[tuple[Path, int, str]] = field(default_factory=list)


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


class _Loader(yaml.SafeLoader):
    """Safe loader whose strings are :class:`SourcedStr`."""

    base_dir: Path = Path(".")


def _construct_str(loader: _Loader, node: ScalarNode) -> SourcedStr:
    return SourcedStr(loader.construct_scalar(node), loader.base_dir)


def _construct_int(loader: _Loader, node: ScalarNode) -> int:
    try:
        return int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(
            None, None, f"the number {str(node.value)[:20]}... has too many digits", node.start_mark
        ) from None


def _construct_timestamp(loader: _Loader, node: ScalarNode) -> Any:
    # PyYAML raises a bare ValueError for an impossible date such as 2025-02-30; keep the text instead,
    # so that the field it is in reports it with its path and line.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return _construct_str(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def parse_value(text: str, base_dir: Path) -> Any:
    """Parse one YAML value (a ``--set`` value); strings remember ``base_dir``.

    Raises
    ------
    yaml.YAMLError
        When the text is not valid YAML.
    """
    loader = _Loader(text)  # may raise a ReaderError (a yaml.YAMLError) for control characters
    loader.base_dir = base_dir
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_error(shown: str, exc: yaml.YAMLError, text: str) -> ScenarioError:
    """A YAML syntax error as ``file:line: ...`` with a hint about the usual causes."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = f":{text.count(chr(10), 0, max(exc.position, 0)) + 1}"
        what = f"{exc.reason} (character {exc.character!r})"
    else:
        line, what = "", str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError):  # well-formed YAML, but a value it cannot build
        return ScenarioError(f"{shown}{line}: YAML error: {what}")
    return ScenarioError(
        f"{shown}{line}: YAML syntax error: {what}; check the indentation, and quote values that contain "
        f"': ' or start with a special character"
    )


def _check_graph(node: Node, shown: str) -> None:
    """Refuse self-referencing aliases and alias bombs before anything walks the tree."""
    count = 0
    on_path: set[int] = set()

    def visit(current: Node) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise ScenarioError(
                f"{shown}: the file expands to more than {MAX_NODES} values through YAML aliases; "
                f"write the values out instead"
            )
        if id(current) in on_path:
            raise ScenarioError(
                f"{shown}:{current.start_mark.line + 1}: a YAML alias refers to itself (an *alias inside "
                f"its own &anchor); write the value out instead"
            )
        if isinstance(current, MappingNode | SequenceNode):
            on_path.add(id(current))
            children = current.value if isinstance(current, SequenceNode) else [n for kv in current.value for n in kv]
            for child in children:
                visit(child)
            on_path.discard(id(current))

    visit(node)


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


def read_yaml(path: Path) -> YamlDoc:
    """Read a YAML file whose top level must be a mapping.

    Parameters
    ----------
    path
        An absolute path.

    Raises
    ------
    ScenarioError
        A missing or unreadable file, bad YAML syntax, an empty file or a top level that is not a mapping,
        each with the file and, where known, the line.
    """
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            f"{shown}: no such file; check the path (relative paths start from the "
            f"current folder, {display_path(Path.cwd()) or '.'})"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(f"{shown}: is a folder, not a scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{shown}: is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ScenarioError(f"{shown}: cannot be read: {exc.strerror or exc}") from None

    try:
        loader = _Loader(text)  # the reader already refuses control characters here
    except yaml.YAMLError as exc:
        raise _yaml_error(shown, exc, text) from None
    loader.base_dir = path.parent
    duplicates: list[tuple[Path, int, str]] = []
    try:
        root = loader.get_single_node()
        if root is None:
            raise ScenarioError(
                f"{shown}: the file is empty; a scenario is a mapping with name, map, start, duration, ..."
            )
        _check_graph(root, shown)
        _duplicates(loader, root, (), path, duplicates)
        data = loader.construct_document(root)
        where: dict[Loc, tuple[Path, int]] = {}
        if isinstance(data, dict):
            _positions(loader, root, (), root.start_mark.line + 1, path, where)
    except yaml.YAMLError as exc:
        raise _yaml_error(shown, exc, text) from None
    except RecursionError:
        raise ScenarioError(f"{shown}: the YAML is nested too deeply to read") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kinds = {list: "a list", str: "text", SourcedStr: "text", type(None): "nothing"}
        kind = kinds.get(type(data), type(data).__name__)
        raise ScenarioError(
            f"{shown}:{root.start_mark.line + 1}: the top level must be a mapping (key: value lines such as "
            f"'name: ...', 'map: ...'), got {kind}"
        )
    return YamlDoc(data=data, where=where, problems=duplicates)
