"""Experiment files and drill MSELs go through the project's one YAML reader and one CSV reader.

Each bad file is an error naming the file, the line or row and what to do, never a traceback, never a hang:
an alias bomb is refused before it expands, a wrong type and a number past 64 bits are reported once at their
line, a missing column gets the column's meaning, a pipe or a folder is refused without being opened.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import twin.scenario.csvtable as csvtable
from twin.city.build import City
from twin.drill.msel import MAX_INJECTS, MAX_LISTED, load_msel
from twin.drill.roles import DESKS
from twin.errors import ScenarioError
from twin.sweep.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "andorra-flood-1982.yaml"
GOOD = f"""name: levee
base: {BASE}
sampler: grid
replications: 3
parameters:
  hazards[0].hydrograph.peak_stage_m: {{levels: [3.0, 5.0]}}
metrics: [health.min_q]
"""
HEADER = "number,time,from,to,method,message,expected_action,objective"
ROW = "1,00:10,Meteo,police,phone,hello,check,1 Alert"


@pytest.fixture(autouse=True)
def _in_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the files' folder, so that messages show their names as a user typed them."""
    monkeypatch.chdir(tmp_path)


def _experiment_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_experiment(path)
    return caught.value.problems


def test_an_experiment_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    bomb = ["b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    bomb += [f"b{k}: &b{k} [{', '.join([f'*b{k - 1}'] * 10)}]" for k in range(1, 9)]  # 10**9 values
    problems = _experiment_problems(tmp_path, GOOD + "\n".join(bomb) + "\n")
    assert len(problems) == 1
    # Line 8 + 4: b4 is the first anchor whose expansion passes 100,000 values (10**5 + 1 with itself).
    assert problems[0].startswith("exp.yaml:12: expands to more than 100,000 values through YAML aliases")


def test_an_experiment_value_of_the_wrong_type_or_too_large_is_one_problem_at_its_line(tmp_path: Path) -> None:
    problems = _experiment_problems(tmp_path, GOOD.replace("replications: 3", "replications: three"))
    assert problems == ["exp.yaml:4 replications: must be a whole number"]
    problems = _experiment_problems(tmp_path, GOOD.replace("replications: 3", "replications: 99999999999999999999"))
    assert len(problems) == 1 and problems[0].startswith("exp.yaml:4 replications: is too large")
    problems = _experiment_problems(tmp_path, GOOD.replace("replications: 3", "replications: !!int abc"))
    assert problems == ["exp.yaml:4: YAML error: 'abc' is not a valid !!int; remove the tag or fix the value"]
    problems = _experiment_problems(tmp_path, GOOD + "sampler: lhs\n")
    assert problems[0].startswith("exp.yaml:8 sampler: duplicate key (first at line 3)")


def test_an_empty_experiment_file_is_named_as_an_experiment_file(tmp_path: Path) -> None:
    problems = _experiment_problems(tmp_path, "")
    assert problems == ["exp.yaml: the file is empty; an experiment file is a mapping with 'base: ...', "
                        "'parameters: ...', 'metrics: ...', ..."]  # fmt: skip
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ScenarioError, match="is a folder, not an experiment file"):
        load_experiment(tmp_path / "folder.yaml")


def _msel_problems(path: Path, city: City) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_msel(path, city, tuple(DESKS), 4 * 3600)
    return caught.value.problems


def test_an_msel_missing_a_column_names_it_with_its_meaning(
    andorra_city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "msel.csv"
    path.write_text(HEADER.replace(",expected_action", ",expected") + "\n" + ROW + "\n", encoding="utf-8")
    problems = _msel_problems(path, andorra_city)
    assert problems == [f"{path.name} has no column 'expected_action'; rename column 'expected' to "
                        "'expected_action' (what the desk should do)"]  # fmt: skip


def test_an_msel_row_is_numbered_as_a_spreadsheet_numbers_it(
    andorra_city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blank line and a quoted cell over two lines: the bad record starts on the file's line 5.
    path = tmp_path / "msel.csv"
    text = f'{HEADER}\n\n1,00:10,Meteo,police,phone,"two\nlines",check,1 Alert\n2,later,Meteo,police,phone,x,y,z\n'
    path.write_text(text, encoding="utf-8")
    problems = _msel_problems(path, andorra_city)
    assert len(problems) == 1 and problems[0].startswith(f"{path.name}: row 5, column time:")
    path.write_text(f"{HEADER}\n{ROW},extra\n", encoding="utf-8")
    assert _msel_problems(path, andorra_city) == [
        f"{path.name}: row 2: 1 cells more than the header has columns; quote cells that hold commas"
    ]


def test_an_msel_that_is_not_a_table_is_refused_without_reading_it(
    andorra_city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "msel.csv"
    path.write_bytes(HEADER.encode() + b"\n1,00:10,M\xe9t\xe9o,police,phone,x,y,z\n")
    assert _msel_problems(path, andorra_city) == [f"{path.name} is not UTF-8 text; save it as CSV UTF-8"]
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    monkeypatch.setattr(csvtable, "MAX_CSV_BYTES", 100)
    problems = _msel_problems(path, andorra_city)
    assert problems == [f"{path.name} is {path.stat().st_size:,} bytes, over the 100 bytes a CSV table may hold; "
                        "give a sample of its rows"]  # fmt: skip
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)  # opening it would block until a writer comes: it must not be opened
    assert _msel_problems(pipe, andorra_city) == [
        "pipe.csv is not a regular file (a pipe or a device); give a CSV file"
    ]
    (tmp_path / "sub.csv").mkdir()
    assert _msel_problems(tmp_path / "sub.csv", andorra_city) == [
        "sub.csv is a folder, not a CSV file; give the CSV file inside it"
    ]


def test_an_msel_of_more_injects_than_a_drill_can_hold_is_refused_before_its_rows_are_checked(
    andorra_city: City,
) -> None:
    # Found by benchmarks/fuzz.py: the shipped MSEL repeated 1,000 times (24,000 rows) took minutes to be refused,
    # each row's command being checked against the map.
    path = Path("msel.csv")
    path.write_text(HEADER + "\n" + "\n".join([ROW] * (MAX_INJECTS + 1)) + "\n", encoding="utf-8")
    assert _msel_problems(path, andorra_city) == [
        f"msel.csv: {MAX_INJECTS + 1:,} injects, more than the {MAX_INJECTS:,} an MSEL may hold; split the "
        "exercise into several drills or keep the injects the desks act on"
    ]


def test_the_problems_of_an_msel_are_listed_up_to_a_cap(andorra_city: City) -> None:
    path = Path("msel.csv")
    path.write_text(HEADER + "\n" + "\n".join([ROW.replace("police", "nobody")] * 80) + "\n", encoding="utf-8")
    problems = _msel_problems(path, andorra_city)
    assert len(problems) == MAX_LISTED + 1
    assert problems[0].startswith("msel.csv: row 2, column to: unknown desk 'nobody'")
    assert problems[-1] == f"msel.csv: {80 - MAX_LISTED} more problems (not listed)"
