"""Scenario YAML with positions: :mod:`twin.inputs` (the one YAML reader) with the scenario's error class.

Kept as the scenario package's entry to the reader; the limits, tag checks, duplicate keys and positions are
all in :mod:`twin.inputs`, shared with ``city.yaml`` and the other input files.
"""

from __future__ import annotations

from pathlib import Path

from twin.errors import ScenarioError
from twin.inputs import MAX_EXPANDED, SourcedStr, YamlDoc, display_path, expand_user, parse_value
from twin.inputs import read_yaml as _read_yaml

MAX_NODES = MAX_EXPANDED
"""Bound on values after alias expansion (see :data:`twin.inputs.MAX_EXPANDED`)."""


def read_yaml(path: Path) -> YamlDoc:
    """Read a scenario file whose top level must be a mapping (see :func:`twin.inputs.read_yaml`).

    Raises
    ------
    ScenarioError
        A missing or unreadable file, a limit exceeded, bad YAML, an empty file or a top level that is not a
        mapping, each with the file and, where known, the line.
    """
    return _read_yaml(path, ScenarioError, "scenario file", "'name: ...', 'map: ...'")


__all__ = ["MAX_NODES", "SourcedStr", "YamlDoc", "display_path", "expand_user", "parse_value", "read_yaml"]
