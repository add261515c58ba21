"""Tests of twin.scenario: loading, every kind of bad input with its message, extends, --set, the schema."""

from __future__ import annotations

import copy
import datetime as dt
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from twin.errors import ScenarioError
from twin.registry import REGISTRY
from twin.scenario import (
    EVENT_KINDS,
    EventSpec,
    HazardSpec,
    Scenario,
    load_scenario,
    scenario_json_schema,
    validate_files,
)
from twin.scenario.base import ExistingFile, PositiveDuration
from twin.scenario.events import LinkSelector
from twin.scenario.yamlpos import display_path

# Line numbers in the tests below refer to this text (line 1 is "name:").
VALID = """\
name: town-flood
description: A river flood on a small town.
map: ../maps/town
start: "2025-10-14T06:00"
timezone: Europe/Andorra
duration: 6h
step: 60s
seed: 7
hazards: []
events:
  - kind: close_link
    at: 30min
    target:
      street: Carrer Major
    cause: police order
  - kind: message
    at: "2025-10-14T07:00"
    text: Sirens sound in the lower town
  - kind: open_link
    when: {service: power, below: 0.5}
    target: {bridges_over: valira, links: [3, 4]}
interventions:
  - kind: open_link
    at: +2h
    target: {osm_ways: [123456]}
metrics:
  access_tau: 20min
outputs:
  record_every: 5min
"""


@pytest.fixture(autouse=True)
def no_registered_types() -> Iterator[None]:
    """Run with empty hazard and response registries: these tests are of the scenario's own rules."""
    with REGISTRY.scoped(builtins=False):
        yield


@pytest.fixture
def town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with maps/town/city.yaml and scenarios/, and the current directory set to it."""
    (tmp_path / "maps" / "town").mkdir(parents=True)
    (tmp_path / "maps" / "town" / "city.yaml").write_text("name: town\n")
    (tmp_path / "scenarios").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, text: str, name: str = "s.yaml") -> Path:
    path = root / "scenarios" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def problems_of(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides or [])
    return info.value.problems


# ------------------------------------------------------------------------------------------- valid files


def test_valid_scenario_loads_with_seconds_zones_and_paths(town: Path) -> None:
    s = load_scenario(write(town, VALID))
    assert s.name == "town-flood"
    assert s.map == town / "maps" / "town"
    assert s.start == dt.datetime(2025, 10, 14, 4, 0, tzinfo=dt.UTC)  # 06:00 in Andorra (CEST, +02:00)
    assert s.start.tzinfo is not None and s.timezone == "Europe/Andorra"
    assert (s.duration_s, s.step_s, s.seed) == (21600.0, 60.0, 7)
    assert [e.at_s for e in s.events] == [1800.0, 3600.0, None]
    assert s.events[2].when is not None and s.events[2].when.below == 0.5 and not s.events[2].repeat
    assert isinstance(s.events[0].target, LinkSelector) and s.events[0].target.street == "Carrer Major"
    assert s.events[0].cause == "police order" and s.events[1].cause == "scenario"
    assert s.intervention_events[0].at_s == 7200.0
    assert s.metrics.access_tau_s == 1200.0 and s.metrics.access_every_s == 300.0
    assert s.metrics.recovery_threshold == 0.95 and s.metrics.control_time_s is None
    assert s.outputs.record_every_s == 300.0
    assert isinstance(s.events[0], EventSpec)


def test_events_remember_where_they_were_written(town: Path) -> None:
    s = load_scenario(write(town, VALID))
    assert [e.source for e in s.events] == [
        "scenarios/s.yaml:11 events[0]",
        "scenarios/s.yaml:16 events[1]",
        "scenarios/s.yaml:19 events[2]",
    ]
    assert s.intervention_events[0].source == "scenarios/s.yaml:23 interventions[0]"


def test_defaults_and_durations_in_seconds(town: Path) -> None:
    text = "name: x\nmap: ../maps/town\nstart: 2025-10-14 06:00:00\nduration: 3600\n"
    s = load_scenario(write(town, text))
    assert s.timezone == "UTC" and s.start.utcoffset() == dt.timedelta(0)
    assert (s.step_s, s.seed, s.description, s.hazards, s.events, s.response) == (60.0, 0, "", [], [], [])
    assert s.outputs.record_every_s == 60.0  # default: the step
    assert s.metrics.access_tau_s == 900.0


def test_resolved_dict_is_json_and_loads_back_identically(town: Path) -> None:
    s = load_scenario(write(town, VALID))
    data = s.resolved_dict()
    text = json.dumps(data)
    assert data["duration"] == 21600.0 and data["map"] == str(town / "maps" / "town")
    assert data["start"] == "2025-10-14T06:00:00+02:00"
    again = load_scenario(write(town, yaml.safe_dump(json.loads(text)), "copy.yaml"))
    assert again.model_dump() == s.model_dump()


def test_a_scenario_cannot_choose_its_run_folder(town: Path) -> None:
    for problems in (
        problems_of(write(town, VALID + "  folder: /etc\n")),
        problems_of(write(town, VALID), ["outputs.folder=../runs/x"]),
    ):
        assert len(problems) == 1
        assert "outputs.folder: a scenario cannot choose its run folder" in problems[0]
        assert "twin run --out FOLDER" in problems[0]
    assert "folder" not in load_scenario(write(town, VALID)).resolved_dict()["outputs"]


def test_an_offset_tells_a_repeated_autumn_hour_apart(town: Path) -> None:
    text = edit(VALID, '"2025-10-14T06:00"', '"2025-10-26T02:30+01:00"')
    text = edit(text, '"2025-10-14T07:00"', '"2025-10-26T03:30"')
    s = load_scenario(write(town, text))
    assert s.start.utcoffset() == dt.timedelta(hours=1) and s.start.fold == 1
    assert s.events[1].at_s == 3600.0
    assert load_scenario(write(town, yaml.safe_dump(s.resolved_dict()), "c.yaml")).start == s.start


def test_validate_files_says_nothing_for_good_files(town: Path) -> None:
    assert validate_files([write(town, VALID), write(town, VALID, "t.yaml")]) == []


# ------------------------------------------------------------------------------------ every kind of bad input

# (name, old, new, line, yaml path, words of the message and the fix)
BAD: list[tuple[str, str, str, int, str, list[str]]] = [
    ("unknown key", "seed: 7", "sead: 7", 8, "sead", ["unknown key 'sead'", "did you mean 'seed'?"]),
    (
        "unknown nested key",
        "access_tau: 20min",
        "acces_tau: 20min",
        27,
        "metrics.acces_tau",
        ["unknown key 'acces_tau'", "did you mean 'access_tau'?"],
    ),
    (
        "unknown key, no close match",
        "  record_every: 5min",
        "  record_every: 5min\n  colour: red",
        30,
        "outputs.colour",
        ["unknown key 'colour'", "known keys: record_every, folder"],
    ),
    (
        "missing required key",
        "duration: 6h\n",
        "",
        1,
        "duration",
        ["required key is missing", "add it, e.g. duration: 6h"],
    ),
    ("text for a number", "seed: 7", "seed: seven", 8, "seed", ["must be a whole number", "got 'seven'"]),
    ("boolean for a number", "seed: 7", "seed: true", 8, "seed", ["must be a whole number", "got True"]),
    ("negative seed", "seed: 7", "seed: -1", 8, "seed", ["must be >= 0", "got -1"]),
    ("number for text", "name: town-flood", "name: 12", 1, "name", ["must be text", "got 12"]),
    (
        "bad duration unit",
        "duration: 6h",
        "duration: 6hours",
        6,
        "duration",
        ["must be a duration", "90s, 15min, 6h, 2d", "got '6hours'"],
    ),
    ("zero step", "step: 60s", "step: 0", 7, "step", ["must be > 0", "got 0"]),
    ("negative duration", "duration: 6h", "duration: -2", 6, "duration", ["must be > 0", "got -2"]),
    ("huge number", "duration: 6h", "duration: 1" + "0" * 400, 6, "duration", ["is too large", "got 1000"]),
    ("step longer than the run", "step: 60s", "step: 7h", 7, "step", ["must be <= the duration (6h)", "got '7h'"]),
    (
        "unknown time zone",
        "timezone: Europe/Andorra",
        "timezone: Europe/Andora",
        5,
        "timezone",
        ["unknown time zone", "did you mean 'Europe/Andorra'?"],
    ),
    ("date without time", '"2025-10-14T06:00"', '"2025-10-14"', 4, "start", ["needs a time of day", "T06:00"]),
    (
        "not a date-time",
        '"2025-10-14T06:00"',
        "tomorrow morning",
        4,
        "start",
        ["must be a local date-time", "2025-10-14T06:00"],
    ),
    (
        "impossible date",
        '"2025-10-14T06:00"',
        "2025-02-30 06:00:00",
        4,
        "start",
        ["must be a local date-time", "got '2025-02-30 06:00:00'"],
    ),
    (
        "time skipped by DST",
        '"2025-10-14T06:00"',
        '"2025-03-30T02:30"',
        4,
        "start",
        ["does not exist in Europe/Andorra", "pick a time outside the gap"],
    ),
    (
        "time repeated by DST",
        '"2025-10-14T06:00"',
        '"2025-10-26T02:30"',
        4,
        "start",
        ["happens twice in Europe/Andorra", "2025-10-26T02:30+02:00 or 2025-10-26T02:30+01:00"],
    ),
    (
        "offset that disagrees",
        '"2025-10-14T06:00"',
        '"2025-10-14T06:00+05:00"',
        4,
        "start",
        ["UTC offset +05:00 does not match Europe/Andorra", "drop the offset"],
    ),
    (
        "missing map folder",
        "map: ../maps/town",
        "map: ../maps/nowhere",
        3,
        "map",
        ["no map folder at maps/nowhere", "resolve against the scenario file's folder", "city.yaml"],
    ),
    (
        "map folder without city.yaml",
        "map: ../maps/town",
        "map: ../scenarios",
        3,
        "map",
        ["has no city.yaml", "a map folder holds city.yaml"],
    ),
    ("map is a file", "map: ../maps/town", "map: ../maps/town/city.yaml", 3, "map", ["is a file, not a map folder"]),
    (
        "unknown hazard type",
        "hazards: []",
        "hazards:\n  - type: flood\n    peak_stage_m: -2",
        10,
        "hazards[0].type",
        ["unknown hazard type 'flood'; this version knows: (none yet)"],
    ),
    (
        "hazard without type",
        "hazards: []",
        "hazards:\n  - peak_stage_m: 2",
        10,
        "hazards[0].type",
        ["required key is missing", "hazard types: (none yet)"],
    ),
    (
        "hazard that is not a mapping",
        "hazards: []",
        "hazards: [flood]",
        9,
        "hazards[0]",
        ["must be a mapping with a type key"],
    ),
    ("hazards not a list", "hazards: []", "hazards: {type: flood}", 9, "hazards", ["must be a list of hazard entries"]),
    (
        "unknown response type",
        "hazards: []",
        "response:\n  - type: crews",
        10,
        "response[0].type",
        ["unknown response type 'crews'"],
    ),
    (
        "unknown event kind",
        "  - kind: close_link\n    at: 30min",
        "  - kind: close_road\n    at: 30min",
        11,
        "events[0].kind",
        ["must be one of close_link, open_link, message", "did you mean 'close_link'?"],
    ),
    (
        "event with at and when",
        "    at: 30min\n",
        "    at: 30min\n    when: {service: water, above: 0.2}\n",
        11,
        "events[0]",
        ["has both of at and when", "give exactly one"],
    ),
    ("event with neither at nor when", "    at: 30min\n", "", 11, "events[0]", ["has neither of at and when"]),
    (
        "event after the end",
        "at: 30min",
        "at: 7h",
        12,
        "events[0].at",
        ["must be within the run, 0s to 6h after the start", "got '7h'", "it is 7h after the start"],
    ),
    (
        "event before the start",
        '"2025-10-14T07:00"',
        '"2025-10-14T05:00"',
        17,
        "events[1].at",
        ["must be within the run", "it is 1h before the start", "got '2025-10-14T05:00'"],
    ),
    (
        "event time in no known form",
        "at: 30min",
        "at: soon",
        12,
        "events[0].at",
        ["must be a duration after the start (30min, +2h) or a local date-time"],
    ),
    (
        "link event without target",
        "    target:\n      street: Carrer Major\n",
        "",
        11,
        "events[0].target",
        ["a close_link event acts on links", "e.g. target: {street:"],
    ),
    (
        "message without text",
        "    text: Sirens sound in the lower town\n",
        "",
        16,
        "events[1].text",
        ["a message event has a text", "add it"],
    ),
    (
        "text on a link event",
        "    cause: police order",
        "    text: closed",
        15,
        "events[0].text",
        ["is only for message events"],
    ),
    (
        "empty target",
        "    target: {bridges_over: valira, links: [3, 4]}",
        "    target: {}",
        21,
        "events[2].target",
        ["selects no link", "set at least one of links, osm_ways, street, bridges_over"],
    ),
    ("empty list of links", "links: [3, 4]", "links: []", 21, "events[2].target.links", ["must not be empty"]),
    ("negative link id", "links: [3, 4]", "links: [3, -4]", 21, "events[2].target.links[1]", ["must be >= 0"]),
    (
        "both below and above",
        "below: 0.5}",
        "below: 0.5, above: 0.9}",
        20,
        "events[2].when",
        ["has both of below and above", "give exactly one"],
    ),
    ("threshold above one", "below: 0.5", "below: 1.5", 20, "events[2].when.below", ["must be <= 1", "got 1.5"]),
    (
        "unknown service",
        "service: power",
        "service: powr",
        20,
        "events[2].when.service",
        ["must be one of power, water, telecom, health, access", "did you mean 'power'?"],
    ),
    (
        "repeat on a timed event",
        "    cause: police order",
        "    repeat: true",
        15,
        "events[0].repeat",
        ["is only for conditional events"],
    ),
    (
        "record interval not a multiple of the step",
        "record_every: 5min",
        "record_every: 90s",
        29,
        "outputs.record_every",
        ["must be a positive multiple of the step (1min)", "got '90s'", "e.g. 1min or 2min"],
    ),
    (
        "control time after the end",
        "access_tau: 20min",
        "access_tau: 20min\n  control_time: 9h",
        28,
        "metrics.control_time",
        ["must be <= the duration (6h)", "got '9h'"],
    ),
    (
        "recovery threshold zero",
        "access_tau: 20min",
        "recovery_threshold: 0",
        27,
        "metrics.recovery_threshold",
        ["must be > 0", "got 0"],
    ),
    (
        "not a finite number",
        "access_tau: 20min",
        "recovery_threshold: .nan",
        27,
        "metrics.recovery_threshold",
        ["must be a finite number"],
    ),
    ("duplicate key", "seed: 7", "seed: 7\nseed: 8", 9, "seed", ["duplicate key (first at line 8)", "keep one"]),
    ("name with a slash", "name: town-flood", "name: town/flood", 1, "name", ["must not contain /"]),
    (
        "events not a list",
        "interventions:\n  - kind: open_link\n    at: +2h\n    target: {osm_ways: [123456]}",
        "interventions: open_link",
        22,
        "interventions",
        ["must be a list", "got 'open_link'"],
    ),
    ("metrics not a mapping", "metrics:\n  access_tau: 20min", "metrics: fast", 26, "metrics", ["must be a mapping"]),
    ("non-text key", "seed: 7", "7: seed", 8, "[7]", ["keys must be text"]),
]


@pytest.mark.parametrize(("old", "new", "line", "path", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_reported_with_file_line_path_and_fix(
    town: Path, old: str, new: str, line: int, path: str, words: list[str]
) -> None:
    problems = problems_of(write(town, edit(VALID, old, new)))
    prefix = f"scenarios/s.yaml:{line} {path}: "
    matching = [p for p in problems if p.startswith(prefix)]
    assert matching, f"no problem starts with {prefix!r}: {problems}"
    assert any(all(w in p for w in words) for p in matching), (words, matching)


def test_the_message_format_of_the_issue(town: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FloodSpec(HazardSpec):
        type: Literal["flood"] = "flood"
        peak_stage_m: float = Field(gt=0)

    REGISTRY.add_hazard_type("flood", FloodSpec)
    text = edit(VALID, "hazards: []", "hazards:\n  - type: flood\n    peak_stage_m: -2")
    assert problems_of(write(town, text, "x.yaml")) == [
        "scenarios/x.yaml:11 hazards[0].peak_stage_m: must be > 0, got -2"
    ]


def test_every_problem_at_once_in_file_order(town: Path) -> None:
    text = VALID
    for old, new in [
        ("name: town-flood", "name: 5"),
        ("timezone: Europe/Andorra", "timezone: Mars/Olympus"),
        ("seed: 7", "seed: -3"),
        ("service: power", "service: gas"),
        ("record_every: 5min", "record_every: 7s"),
        ("access_tau: 20min", "acess_tau: 20min"),
        ("at: +2h", "at: 9h"),
    ]:
        text = edit(text, old, new)
    path = write(town, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert len(problems) == 7, problems
    lines = [int(p.split(":")[1].split(" ")[0]) for p in problems]
    assert lines == sorted(lines) == [1, 5, 8, 20, 24, 27, 29]
    assert str(info.value).startswith("scenarios/s.yaml: 7 problems\n  - scenarios/s.yaml:1 name: must be text")
    assert validate_files([path, write(town, VALID, "good.yaml")]) == problems


def test_checks_between_fields_are_reported_with_the_others(town: Path) -> None:
    text = edit(VALID, "seed: 7", "seed: x")
    text = edit(text, "at: 30min", "at: 8h")
    problems = problems_of(write(town, text))
    assert [p.split(": ")[0] for p in problems] == ["scenarios/s.yaml:8 seed", "scenarios/s.yaml:12 events[0].at"]


# ------------------------------------------------------------------------------------- files that cannot be read

FATAL: list[tuple[str, str, list[str]]] = [
    ("bad YAML syntax", "name: x\nmap: [a, b\nseed: 1\n", ["scenarios/s.yaml:", "YAML syntax error", "indentation"]),
    ("tab indentation", "name: x\nmetrics:\n\taccess_tau: 1\n", ["scenarios/s.yaml:3: YAML syntax error"]),
    ("top level is a list", "- name: x\n- map: y\n", ["scenarios/s.yaml:1: the top level must be a mapping", "a list"]),
    ("top level is text", "just some words\n", ["scenarios/s.yaml:1: the top level must be a mapping", "text"]),
    ("empty file", "# nothing here\n", ["scenarios/s.yaml: the file is empty"]),
    ("two documents", "name: x\n---\nname: y\n", ["scenarios/s.yaml:2: YAML syntax error", "single document"]),
    ("alias inside its anchor", "name: x\nloop: &a [1, *a]\n", ["scenarios/s.yaml:2: a YAML alias refers to itself"]),
    ("python tag", "name: !!python/object:os.system x\n", ["scenarios/s.yaml:1: YAML error", "constructor"]),
    ("control character", "name: x\x07\n", ["scenarios/s.yaml:1: YAML syntax error", "special characters"]),
    ("too many digits", "name: x\nseed: 1" + "0" * 5000 + "\n", ["scenarios/s.yaml:2: YAML error", "too many digits"]),
]


@pytest.mark.parametrize(("text", "words"), [f[1:] for f in FATAL], ids=[f[0] for f in FATAL])
def test_unreadable_files_are_scenario_errors_with_file_and_line(town: Path, text: str, words: list[str]) -> None:
    path = town / "scenarios" / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_missing_folder_and_binary_files(town: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^scenarios/none\.yaml: no such file; check the path"):
        load_scenario("scenarios/none.yaml")
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        load_scenario(town / "scenarios")
    (town / "scenarios" / "bin.yaml").write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ScenarioError, match="is not UTF-8 text"):
        load_scenario(town / "scenarios" / "bin.yaml")
    assert validate_files(["scenarios/none.yaml"]) == [
        "scenarios/none.yaml: no such file; check the path (relative paths start from the current folder, .)"
    ]


def test_alias_bombs_are_refused(town: Path) -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(ScenarioError, match="expands to more than"):
        load_scenario(write(town, "\n".join(lines) + "\n"))


# ------------------------------------------------------------------------------------------------ extends

BASE = VALID
VARIANT = """\
extends: ../s.yaml
description: The same flood, later and longer.
duration: 12h
metrics:
  access_every: 10min
events:
  - kind: message
    at: 11h
    text: All clear
"""


def test_extends_deep_merges_mappings_and_replaces_lists(town: Path) -> None:
    write(town, BASE)
    variant = write(town, VARIANT, "variants/later.yaml")
    s = load_scenario(variant)
    assert s.name == "town-flood" and s.description.startswith("The same flood")
    assert s.map == town / "maps" / "town"  # resolved against the base file's folder, not the variant's
    assert s.duration_s == 43200.0
    assert (s.metrics.access_tau_s, s.metrics.access_every_s) == (1200.0, 600.0)  # merged
    assert [e.text for e in s.events] == ["All clear"]  # replaced whole
    assert s.events[0].source == "scenarios/variants/later.yaml:7 events[0]"
    assert len(s.interventions) == 1  # untouched in the base
    assert s.intervention_events[0].source == "scenarios/s.yaml:23 interventions[0]"


def test_problems_through_extends_cite_the_file_that_wrote_the_value(town: Path) -> None:
    write(town, edit(BASE, "seed: 7", "seed: -1"))
    variant = write(town, VARIANT.replace("access_every: 10min", "access_every: never"), "variants/v.yaml")
    assert problems_of(variant) == [
        "scenarios/s.yaml:8 seed: must be >= 0, got -1",
        "scenarios/variants/v.yaml:5 metrics.access_every: must be a duration: seconds (90) or a number with a "
        "unit (90s, 15min, 6h, 2d), got 'never'",
    ]


def test_a_replaced_list_forgets_the_base_lines(town: Path) -> None:
    write(town, BASE)
    variant = write(town, "extends: ../s.yaml\nevents:\n  - at: 1h\n", "variants/v.yaml")
    problems = problems_of(variant)
    assert problems == ["scenarios/variants/v.yaml:3 events[0].kind: required key is missing; add it"]


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (
            {"a.yaml": "extends: b.yaml\n", "b.yaml": "seed: 1\nextends: a.yaml\n"},
            [
                "scenarios/b.yaml:2 extends: files extend each other in a cycle",
                "scenarios/a.yaml -> scenarios/b.yaml -> scenarios/a.yaml",
            ],
        ),
        ({"a.yaml": "name: x\nextends: a.yaml\n"}, ["scenarios/a.yaml:2 extends: files extend each other"]),
        (
            {"a.yaml": "extends: nothere.yaml\n"},
            ["scenarios/a.yaml:1 extends: no base scenario file at scenarios/nothere.yaml", "got 'nothere.yaml'"],
        ),
        ({"a.yaml": "extends: [b.yaml]\n"}, ["scenarios/a.yaml:1 extends: must be the path of a base scenario file"]),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "- x\n"}, ["scenarios/b.yaml:1: the top level must be a mapping"]),
    ],
    ids=["cycle", "self", "missing base", "not a path", "bad base"],
)
def test_extends_problems(town: Path, files: dict[str, str], words: list[str]) -> None:
    for name, text in files.items():
        write(town, text, name)
    with pytest.raises(ScenarioError) as info:
        load_scenario(town / "scenarios" / "a.yaml")
    assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------------------------------------------- --set


def test_overrides_change_values_parsed_as_yaml(town: Path) -> None:
    s = load_scenario(
        write(town, VALID),
        [
            "duration=2h",
            "seed=42",
            "metrics.access_tau=25min",
            "metrics.control_time=90min",
            "events[0].target.street=Avinguda Meritxell",
            "events[2].target.links=[7, 8]",
            "description=Flood: worst case",
            "events[3].kind=message",
            "events[3].at=1h",
            "events[3].text=Added from the command line",
        ],
    )
    assert (s.duration_s, s.seed, s.metrics.access_tau_s, s.metrics.control_time_s) == (7200.0, 42, 1500.0, 5400.0)
    assert isinstance(s.events[0].target, LinkSelector) and s.events[0].target.street == "Avinguda Meritxell"
    assert isinstance(s.events[2].target, LinkSelector) and s.events[2].target.links == [7, 8]
    assert s.description == "Flood: worst case"
    assert s.events[3].text == "Added from the command line"
    assert s.events[3].source == "scenarios/s.yaml [--set events[3].kind=message] events[3]"


def test_overrides_are_validated_like_the_file(town: Path) -> None:
    problems = problems_of(
        write(town, VALID),
        ["seed=-5", "metrics.acess_tau=20min", "step=1d", "events[0].at=soon", "name=ok"],
    )
    assert problems == [
        "scenarios/s.yaml [--set seed=-5] seed: must be >= 0, got -5",
        "scenarios/s.yaml [--set metrics.acess_tau=20min] metrics.acess_tau: unknown key 'acess_tau'; "
        "did you mean 'access_tau'?",
        "scenarios/s.yaml [--set step=1d] step: must be <= the duration (6h), got '1d'",
        "scenarios/s.yaml [--set events[0].at=soon] events[0].at: must be a duration after the start (30min, +2h) "
        "or a local date-time (2025-10-14T06:00), got 'soon'",
    ]


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("seed", "expected PATH=VALUE"),
        ("hazards[0.a=1", "expected a path like metrics.access_tau"),  # the scenario has no hazard number
        ("events[9].at=1h", "events has 3 entries; use an index from 0 to 2, or 3 to add one"),
        ("name.first=x", "name is text, not a mapping, so it has no key 'first'"),
        ("seed[0]=1", "seed is the value 7, not a list"),
        ("extends=other.yaml", "extends cannot be changed with --set"),
        ("events=[1, 2", "the value is not valid YAML"),
    ],
)
def test_overrides_that_cannot_be_applied(town: Path, override: str, words: str) -> None:
    problems = problems_of(write(town, VALID), [override])
    assert len(problems) == 1 and problems[0].startswith(f"scenarios/s.yaml [--set {override}]: ")
    assert words in problems[0], problems


def test_overrides_choose_list_entries_by_kind(town: Path) -> None:
    s = load_scenario(
        write(town, VALID),
        ["events[message].text=Sirens again", "events[close_link].cause=flooded", "interventions[open_link].at=3h"],
    )
    assert s.events[1].text == "Sirens again" and s.events[0].cause == "flooded"
    assert s.intervention_events[0].at_s == 3 * 3600.0
    assert s.events[1].source == "scenarios/s.yaml:16 events[1]"  # the entry is still the one in the file


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (
            "events[flood].at=1h",
            "events[flood] matches no entry: no events entry has type, kind, label or name 'flood'; its entries are "
            "[0] kind 'close_link'; [1] kind 'message'; [2] kind 'open_link'",
        ),
        ("hazards[flood].peak_stage_m=4", "hazards is empty; add the entry to the file"),
        ("response[crews].n=1", "response is not in the scenario, so no entry of it is named 'crews'"),
        ("metrics[tau]=1", "metrics is a mapping, not a list, so it has no entry [tau]"),
        ("events[ ].at=1h", "expected a path like"),
    ],
)
def test_an_entry_name_that_matches_nothing_is_refused(town: Path, override: str, words: str) -> None:
    problems = problems_of(write(town, VALID), [override])
    assert len(problems) == 1 and problems[0].startswith(f"scenarios/s.yaml [--set {override}]: ")
    assert words in problems[0], problems


def test_an_entry_name_that_matches_several_is_refused(town: Path) -> None:
    two = edit(VALID, "  - kind: message\n", "  - kind: close_link\n    target: {street: Carrer Nou}\n")
    two = edit(two, "    text: Sirens sound in the lower town\n", "")
    assert problems_of(write(town, two), ["events[close_link].cause=x"]) == [
        "scenarios/s.yaml [--set events[close_link].cause=x]: events[close_link] matches 2 entries (events[0], "
        "events[1]); choose one by its index"
    ]


def test_a_single_override_string_is_one_override(town: Path) -> None:
    assert load_scenario(write(town, VALID), "seed=3").seed == 3


# ----------------------------------------------------------------------------------------- registered types


def test_registered_hazard_types_are_validated_with_paths_and_lines(
    town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FloodSpec(HazardSpec):
        type: Literal["flood"] = "flood"
        peak_stage_m: float = Field(gt=0)
        rise_s: PositiveDuration = Field(alias="rise")
        gauge: ExistingFile | None = None

    REGISTRY.add_hazard_type("flood", FloodSpec)
    (town / "scenarios" / "gauge.csv").write_text("t,stage\n")
    good = edit(
        VALID, "hazards: []", "hazards:\n  - type: flood\n    peak_stage_m: 3.5\n    rise: 2h\n    gauge: gauge.csv"
    )
    s = load_scenario(write(town, good))
    flood = s.hazards[0]
    assert isinstance(flood, FloodSpec)
    assert (flood.peak_stage_m, flood.rise_s, flood.gauge) == (3.5, 7200.0, town / "scenarios" / "gauge.csv")
    assert s.resolved_dict()["hazards"] == [
        {"type": "flood", "peak_stage_m": 3.5, "rise": 7200.0, "gauge": str(town / "scenarios" / "gauge.csv")}
    ]
    assert load_scenario(write(town, good), ["hazards[0].peak_stage_m=5"]).hazards[0].peak_stage_m == 5  # type: ignore[attr-defined]

    bad = edit(
        VALID,
        "hazards: []",
        "hazards:\n  - type: flood\n    peak_stage_m: -2\n    raise: 2h\n    gauge: nothere.csv\n  - type: flod",
    )
    assert problems_of(write(town, bad)) == [
        "scenarios/s.yaml:10 hazards[0].rise: required key is missing; add it",
        "scenarios/s.yaml:11 hazards[0].peak_stage_m: must be > 0, got -2",
        "scenarios/s.yaml:12 hazards[0].raise: unknown key 'raise'; did you mean 'rise'?",
        "scenarios/s.yaml:13 hazards[0].gauge: no file at scenarios/nothere.csv, got 'nothere.csv'; paths resolve "
        "against the scenario file's folder, scenarios",
        "scenarios/s.yaml:14 hazards[1].type: unknown hazard type 'flod'; did you mean 'flood'? this version "
        "knows: flood",
    ]
    assert problems_of(write(town, good), ["hazards[0].peak_stage_m=-1"]) == [
        "scenarios/s.yaml [--set hazards[0].peak_stage_m=-1] hazards[0].peak_stage_m: must be > 0, got -1"
    ]
    schema = scenario_json_schema()
    assert schema["properties"]["hazards"]["items"] == {"oneOf": [{"$ref": "#/$defs/FloodSpec"}]}
    assert "peak_stage_m" in schema["$defs"]["FloodSpec"]["properties"]


# ------------------------------------------------------------------------------------------------ JSON schema


def test_json_schema_is_json_with_the_top_level_properties() -> None:
    schema = json.loads(json.dumps(scenario_json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    expected = {
        "name",
        "description",
        "map",
        "timezone",
        "start",
        "duration",
        "step",
        "seed",
        "hazards",
        "events",
        "interventions",
        "response",
        "metrics",
        "outputs",
        "extends",
        "traffic",
        "crews",
        "residents",
        "warnings",
    }
    assert set(schema["properties"]) == expected
    assert schema["else"]["required"] == ["name", "map", "start", "duration"]  # unless the file extends another
    assert schema["properties"]["hazards"]["items"]["properties"]["type"]["enum"] == []
    assert schema["$defs"]["EventSpec"]["properties"]["kind"]["enum"] == list(EVENT_KINDS)
    assert "pattern" in json.dumps(schema["properties"]["duration"])
    refs = {ref.split("/")[-1] for ref in _refs(schema)}
    assert refs <= set(schema["$defs"]) and set(schema["$defs"]) <= refs


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_scenario_models_validated_directly_still_check_everything(town: Path) -> None:
    data = yaml.safe_load(VALID)
    data["map"] = str(town / "maps" / "town")
    s = Scenario.model_validate(data)
    assert s.events[0].source == "events[0]"
    data["seed"] = -1
    with pytest.raises(ValueError, match="seed"):
        Scenario.model_validate(data)


# ------------------------------------------------------------------------------------- property-based tests

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "6h",
            "90min",
            "-5min",
            "0s",
            "+1h",
            "2025-10-14T06:00",
            "2025-03-30T02:30",
            "power",
            "close_link",
            "message",
            "../maps/town",
            "UTC",
            "flood",
            "1e400",
            "0.5",
            10**400,
            5e-324,
        ]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.one_of(st.text(max_size=10), st.sampled_from(["kind", "at", "when", "type", "target", "links", "sead"]))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.extend(_paths(value, (*prefix, key)))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    return _get(data, path[:-1])


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "maps" / "town").mkdir(parents=True)
    (root / "maps" / "town" / "city.yaml").write_text("name: town\n")
    (root / "scenarios").mkdir()
    return root / "scenarios" / "fuzz.yaml"


def _loads_or_scenario_error(path: Path, overrides: list[str] | None = None) -> None:
    """The property: a Scenario, or a ScenarioError whose every line cites the file; nothing else."""
    try:
        load_scenario(path, overrides or [])
    except ScenarioError as exc:
        assert exc.problems and str(exc)
        assert all(p.startswith(display_path(path)) for p in exc.problems), exc.problems


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_scenarios_give_only_scenario_errors(fuzz_file: Path, data: st.DataObject) -> None:
    scenario: Any = yaml.safe_load(VALID)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        paths = _paths(scenario)
        op = data.draw(st.sampled_from(["drop", "set", "add"]), label="op")
        if op == "drop" and len(paths) > 1:
            path = data.draw(st.sampled_from(paths[1:]), label="drop")
            del _parent(scenario, path)[path[-1]]
        elif op == "set" and len(paths) > 1:
            path = data.draw(st.sampled_from(paths[1:]), label="set")
            _parent(scenario, path)[path[-1]] = data.draw(_VALUES, label="value")
        else:
            mappings = [node for node in map(lambda p: _get(scenario, p), paths) if isinstance(node, dict)]
            target = data.draw(st.sampled_from(mappings), label="add to")
            target[data.draw(_KEYS, label="key")] = data.draw(_VALUES, label="value")
    fuzz_file.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    _loads_or_scenario_error(fuzz_file)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            ["seed", "events[0].at", "metrics.access_tau", "events[3].kind", "hazards[0]", "outputs.folder"]
        ),
    ),
    value=st.text(max_size=20),
)
def test_random_overrides_give_only_scenario_errors(fuzz_file: Path, path: str, value: str) -> None:
    fuzz_file.write_text(VALID)
    _loads_or_scenario_error(fuzz_file, [f"{path}={value}"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc: -[]{}&*!|>'\"#,.\n\t01?%@`")), max_size=60))
def test_random_text_gives_only_scenario_errors(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(VALID + text)
    _loads_or_scenario_error(fuzz_file)


def test_copying_a_scenario_keeps_it_valid(town: Path) -> None:
    s = load_scenario(write(town, VALID))
    assert copy.deepcopy(s).model_dump() == s.model_dump()
