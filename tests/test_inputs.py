"""Tests of twin.inputs, the one YAML reader: limits before expansion, bad tags, duplicate keys, odd text."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import MapError, ScenarioError, TwinError
from twin.inputs import MAX_BYTES, MAX_DEPTH, MAX_EXPANDED, MAX_VALUES, LimitError, parse_value, read_yaml

ROOT = Path(__file__).resolve().parents[1]


def _read(tmp_path: Path, text: str, error: type[TwinError] = ScenarioError) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as info:
        read_yaml(path, error)
    return str(info.value)


def _bomb(levels: int, fan: int = 10) -> str:
    """An alias bomb: ``fan ** levels`` values from a few lines."""
    lines = [f"a0: &a0 [{', '.join(['1'] * fan)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("value", "tag"),
    [("!!float abc", "!!float"), ("!!bool maybe", "!!bool"), ("!!timestamp x", "!!timestamp"), ("!!int 1.5", "!!int")],
)
def test_a_value_its_explicit_tag_cannot_build_is_an_error_at_its_line(tmp_path: Path, value: str, tag: str) -> None:
    message = _read(tmp_path, f"name: x\nseed: {value}\n")
    assert message.startswith("in.yaml:2: YAML error") or ":2: YAML error" in message
    assert f"is not a valid {tag}" in message


def test_an_impossible_plain_date_stays_text_for_its_field_to_report(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text("start: 2025-02-30\n")
    assert read_yaml(path, ScenarioError).data == {"start": "2025-02-30"}


def test_an_alias_bomb_is_refused_by_counting_distinct_nodes(tmp_path: Path) -> None:
    # 10**30 values: expanding even a tiny share of it would never finish, so passing means it was not expanded.
    message = _read(tmp_path, _bomb(30))
    assert f"expands to more than {MAX_EXPANDED:,} values through YAML aliases" in message


def test_a_25000_event_file_is_refused_for_its_size_not_for_aliases(tmp_path: Path) -> None:
    # The case: refused after 11-13 s with a message blaming aliases. 25,000 events of 5 values each,
    # in 0.7 MB (under the byte limit): the event stream is counted, nothing is composed.
    events = "".join(f"  - {{kind: message, at: {i}}}\n" for i in range(25_000))
    message = _read(tmp_path, "name: x\nevents:\n" + events)
    assert f"holds more than {MAX_VALUES:,} values" in message and "alias" not in message


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    message = _read(tmp_path, "name: x\n# " + "x" * MAX_BYTES + "\n")
    assert f"at most {MAX_BYTES:,} bytes" in message


def test_deep_nesting_is_refused_with_the_line(tmp_path: Path) -> None:
    message = _read(tmp_path, "name: x\ndeep: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    assert f"nest more than {MAX_DEPTH} levels" in message and ":2:" in message


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_yaml(fifo, ScenarioError)


def test_set_values_have_the_same_limits() -> None:
    with pytest.raises(LimitError, match="through YAML aliases"):
        parse_value("{" + _bomb(30).strip().replace("\n", ", ") + "}", Path("."))
    with pytest.raises(LimitError, match="not valid UTF-8"):
        parse_value("caf\udce9", Path("."))


def test_an_alias_bomb_through_set_is_a_scenario_error() -> None:
    scenario = ROOT / "scenarios" / "andorra-baseline.yaml"
    bomb = "{" + _bomb(40).strip().replace("\n", ", ") + "}"
    from twin.scenario import load_scenario

    with pytest.raises(ScenarioError, match=r"\[--set description=.*expands to more than"):
        load_scenario(scenario, [f"description={bomb}"])


def test_lone_surrogates_never_break_the_message() -> None:
    from twin.scenario import load_scenario

    scenario = ROOT / "scenarios" / "andorra-baseline.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario, ["map=caf\udce9", "name=\udcff$"])
    text = str(info.value)
    text.encode("utf-8")  # printable: the surrogates are shown as escapes
    assert "\\udce9" in text


def test_city_yaml_goes_through_the_same_reader(tmp_path: Path) -> None:
    (tmp_path / "city.yaml").write_text("name: a\nname: b\n")
    from twin.city.config import load_city_config

    with pytest.raises(MapError, match=r"city.yaml:2 name: duplicate key \(first at line 1\)"):
        load_city_config(tmp_path)
    (tmp_path / "city.yaml").write_text(_bomb(30))
    with pytest.raises(MapError, match="through YAML aliases"):
        load_city_config(tmp_path)
    (tmp_path / "city.yaml").write_text("name: x\nworking_resolution_m: !!float big\n")
    with pytest.raises(MapError, match=r"city.yaml:2: YAML error: 'big' is not a valid !!float"):
        load_city_config(tmp_path)
