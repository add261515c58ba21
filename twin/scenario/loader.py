"""Load a scenario file: extends, --set overrides, validation, and every problem with file and line.

The steps: read the YAML with positions (:mod:`twin.scenario.yamlpos`), merge it over the files it extends,
apply the ``--set`` overrides, validate with the pydantic schema, then turn each problem into
``file:line yaml.path: what is wrong, got value; how to fix it``. Nothing is raised until all problems are
known, so one run of ``twin validate`` lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.errors import ScenarioError
from twin.inputs import HUGE, out_of_range
from twin.scenario.overrides import (
    OverrideError,
    apply_override,
    example_override,
    parse_override,
    parse_path,
    resolve_path,
)
from twin.scenario.problems import HIDE, LOOKUP, Loc, Problem, format_loc, from_validation_error, short_repr
from twin.scenario.schema import Scenario
from twin.scenario.yamlpos import YamlDoc, display_path, expand_user, read_yaml

SortKey = tuple[int, str, int]
_MISSING: Any = object()


def _absolute(path: Path | str) -> Path:
    return Path(os.path.abspath(expand_user(Path(path))))


def merge_docs(base: YamlDoc, child: YamlDoc) -> YamlDoc:
    """``child`` over ``base``: mappings merge key by key, anything else (lists too) is replaced whole.

    Positions follow the values: a key the child replaces forgets the base's lines below it, so a problem
    is never cited at a line that no longer holds the value.
    """
    replaced: set[Loc] = set()

    def merge(old: Any, new: Any, loc: Loc) -> Any:
        if isinstance(old, dict) and isinstance(new, dict):
            out = dict(old)
            for key, value in new.items():
                out[key] = merge(old[key], value, (*loc, key)) if key in old else value
            return out
        replaced.add(loc)
        return new

    data = merge(base.data, child.data, ())
    where = {
        loc: pos for loc, pos in base.where.items() if not any(loc[:n] in replaced for n in range(1, len(loc) + 1))
    }
    where.update(child.where)
    refused = {loc for loc in base.refused if loc not in replaced} | child.refused
    return YamlDoc(data=data, where=where, problems=[*base.problems, *child.problems], refused=refused)


def _read_chain(path: Path, chain: tuple[Path, ...] = ()) -> YamlDoc:
    """Read ``path`` and, through ``extends``, the files it builds on, merged (base first)."""
    doc = read_yaml(path)
    if "extends" not in doc.data:
        return doc
    ref = doc.data.pop("extends")
    _, line = doc.where.pop(("extends",), (path, 1))
    here = f"{display_path(path)}:{line} extends"
    if not isinstance(ref, str) or not ref.strip() or "\0" in ref:
        raise ScenarioError(
            f"{here}: must be the path of a base scenario file, e.g. extends: base.yaml, got {short_repr(ref)}"
        )
    base_path = _absolute(path.parent / expand_user(Path(ref)))
    if base_path in (*chain, path):
        loop = [*chain[chain.index(base_path) :], path, base_path] if base_path in chain else [path, base_path]
        raise ScenarioError(
            f"{here}: files extend each other in a cycle ({' -> '.join(display_path(p) for p in loop)}); "
            f"remove extends from one of them"
        )
    try:
        found = base_path.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise ScenarioError(
            f"{here}: no base scenario file at {display_path(base_path)} (paths resolve against this "
            f"file's folder), got {short_repr(ref)}"
        )
    return merge_docs(_read_chain(base_path, (*chain, path)), doc)


def _under(loc: Loc, paths: set[Loc]) -> bool:
    return any(loc[:n] in paths for n in range(len(loc) + 1))


def _lookup(data: Any, loc: Loc) -> Any:
    """The input value at ``loc``, or ``_MISSING``."""
    node = data
    for part in loc:
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not found:
            return _MISSING
        node = node[part]
    return node


class _Locator:
    """Where a path was written: ``file:line``, or the ``--set`` that set it."""

    def __init__(self, main: Path, doc: YamlDoc, overrides: dict[Loc, tuple[str, int]]) -> None:
        self.shown = display_path(main)
        self.doc = doc
        self.overrides = overrides

    def _override(self, loc: Loc) -> tuple[str, SortKey]:
        text, order = self.overrides[loc]
        return f"{self.shown} [--set {text}]", (1, "", order)

    def place(self, loc: Loc) -> tuple[str, SortKey]:
        """A label (``scenarios/x.yaml:14``) and a key that sorts problems by file and line."""
        covering = [o for o in self.overrides if loc[: len(o)] == o]
        if covering:
            return self._override(max(covering, key=len))
        if loc not in self.doc.where:
            # A key that only exists because a --set created it below this path.
            below = [o for o in self.overrides if o[: len(loc)] == loc]
            if below:
                return self._override(below[0])
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.doc.where:
                file, line = self.doc.where[loc[:n]]
                return f"{display_path(file)}:{line}", (0, display_path(file), line)
        return self.shown, (0, self.shown, 0)

    def render(self, problem: Problem) -> tuple[SortKey, str]:
        """``file:line path: message, got value; hint``."""
        label, key = self.place(problem.loc)
        path = format_loc(problem.loc)
        text = f"{label} {path}: {problem.message}" if path else f"{label}: {problem.message}"
        value = _lookup(self.doc.data, problem.loc) if problem.value is LOOKUP else problem.value
        if value is not _MISSING and value is not HIDE:
            text += f", got {short_repr(value)}"
        if problem.hint:
            text += f"; {problem.hint}"
        return key, text


def _apply_overrides(
    doc: YamlDoc, overrides: Sequence[str], main: Path, entries: list[tuple[SortKey, str]]
) -> dict[Loc, tuple[str, int]]:
    """Apply the ``--set`` overrides to ``doc.data``; each that fails is added to ``entries``.

    Returns where each path was set: the override's text and its order.
    """
    sources: dict[Loc, tuple[str, int]] = {}
    example = example_override(doc.data) if overrides else ""  # error hints quote a path of this scenario
    for i, text in enumerate(overrides):
        try:
            path, value = parse_override(text, main.parent, example)
            huge = out_of_range([value])
            if huge:
                raise OverrideError(f"the value {HUGE}, got {short_repr(huge[0][1])}")
            loc = resolve_path(doc.data, path)  # entries chosen by name, against the scenario as overridden so far
            apply_override(doc.data, loc, value)
        except OverrideError as exc:
            entries.append(((1, "", i), f"{display_path(main)} [--set {text}]: {exc}"))
            continue
        sources[loc] = (text, i)
    return sources


def load_scenario(
    path: Path | str, overrides: Sequence[str] = (), *, allow_long: bool = False, allow_outside_paths: bool = False
) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The scenario file (YAML).
    overrides
        ``PATH=VALUE`` strings from ``--set`` (``hazards[0].hydrograph.peak_stage_m=5``), applied in order.
    allow_long
        Accept runs over :data:`twin.scenario.schema.MAX_STEPS` steps or :data:`~twin.scenario.schema.MAX_DURATION_S`
        (``--allow-long``).
    allow_outside_paths
        Accept file fields (CSVs) that are absolute or lead out of their scenario file's folder
        (``--allow-outside-paths``).

    Returns
    -------
    Scenario
        The validated scenario; each event's ``source`` says where it was written.

    Raises
    ------
    ScenarioError
        With every problem found (``e.problems``), each citing the file and line, or the ``--set``.
    """
    if isinstance(overrides, str):  # one --set passed as a bare string, not a list of characters
        overrides = [overrides]
    main = _absolute(path)
    doc = _read_chain(main)
    entries: list[tuple[SortKey, str]] = []
    entries.extend(((0, display_path(file), line), text) for file, line, text in doc.problems)
    sources = _apply_overrides(doc, overrides, main, entries)
    locator = _Locator(main, doc, sources)
    scenario: Scenario | None = None
    refused = doc.refused - set(sources)  # a --set over a refused value replaced it
    try:
        context = {"base_dir": main.parent, "allow_long": allow_long, "allow_outside_paths": allow_outside_paths}
        scenario = Scenario.model_validate(doc.data, context=context)
    except ValidationError as exc:
        # A value the reader refused (and set to None) was reported with its line already.
        found = from_validation_error(exc, Scenario)
        entries.extend(locator.render(p) for p in found if not _under(p.loc, refused))
    if entries or scenario is None:
        problems = [text for _, text in sorted(entries, key=lambda entry: entry[0])]
        headline = problems[0] if len(problems) == 1 else f"{display_path(main)}: {len(problems)} problems"
        raise ScenarioError(headline, problems)
    for name in ("events", "interventions", "hazards"):
        for i, entry in enumerate(getattr(scenario, name)):
            if hasattr(entry, "_source"):
                entry._source = f"{locator.place((name, i))[0]} {format_loc((name, i))}"
    return scenario


def resolve_scenario_path(path: Path | str, text: str) -> Loc:
    """The path ``text`` (as ``--set`` writes it) with entries chosen by name turned into indices of ``path``.

    ``interventions[levee].crest_m`` -> ``("interventions", 0, "crest_m")`` when the scenario (merged over the
    files it extends) has one levee entry, first.

    Raises
    ------
    OverrideError
        A malformed path, or a name that matches no entry or several (the message lists the entries).
    ScenarioError
        If the scenario file (or one it extends) cannot be read.
    """
    return resolve_path(_read_chain(_absolute(path)).data, parse_path(text))


def validate_files(
    paths: Iterable[Path | str], *, allow_long: bool = False, allow_outside_paths: bool = False
) -> list[str]:
    """Validate scenario files; ``twin validate`` prints ``ok`` when this is empty, else each line.

    Returns
    -------
    list of str
        Every problem of every file (empty when all are valid).
    """
    problems: list[str] = []
    for path in paths:
        try:
            load_scenario(path, allow_long=allow_long, allow_outside_paths=allow_outside_paths)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    return problems
