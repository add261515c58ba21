"""The one CSV reader behind every table a scenario points at (twin.scenario.csvtable), and the demand's use of it."""

from __future__ import annotations

from pathlib import Path

from twin.scenario.csvtable import MAX_CSV_PROBLEMS, capped, read_csv_table
from twin.scenario.problems import HIDE, Problem
from twin.scenario.traffic import read_demand

WANTED = [("time", "seconds after the start"), ("stage_m", "metres above the bed")]


def test_rows_are_numbered_as_a_spreadsheet_numbers_them_across_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("time,stage_m,note\n0,1\n\n , \n30min,2.5,high\n")
    table, problems = read_csv_table(path, WANTED, "e.g.")
    assert problems == [] and table is not None
    assert table.row_numbers == [2, 5] and table.column("stage_m") == ["1", "2.5"]
    assert table.column("note") == ["", "high"] and table.has("note") and not table.has("other")


def test_missing_columns_get_the_nearest_name_or_the_separator_as_the_fix(tmp_path: Path) -> None:
    near = tmp_path / "near.csv"
    near.write_text("Time,stage\n0,1\n")
    _, problems = read_csv_table(near, WANTED, "e.g.")
    assert [p.hint for p in problems] == [
        "rename column 'Time' to 'time' (seconds after the start)",
        "rename column 'stage' to 'stage_m' (metres above the bed)",
    ]
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("time;stage_m\n0;1\n")
    _, problems = read_csv_table(semicolons, WANTED, "e.g.")
    assert all("separate the columns with commas" in (p.hint or "") for p in problems) and len(problems) == 2


def test_unreadable_empty_duplicated_and_headless_files_are_named(tmp_path: Path) -> None:
    cases = {
        "latin.csv": ("time,stage_m\n0,caf\xe9\n".encode("latin-1"), "latin.csv is not UTF-8 text"),
        "empty.csv": (b"\n\n", "empty.csv is empty"),
        "twice.csv": (b"time,time,stage_m\n0,0,1\n", "twice.csv has the column 'time' 2 times"),
        "header.csv": (b"time,stage_m\n", "header.csv has no data rows"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        table, problems = read_csv_table(tmp_path / name, WANTED, "e.g.")
        assert table is None and [p.message for p in problems] == [message]


def test_long_problem_lists_are_capped_with_a_count() -> None:
    problems = [Problem((), f"row {i}", HIDE) for i in range(MAX_CSV_PROBLEMS + 5)]
    kept = capped(problems, "f.csv")
    assert len(kept) == MAX_CSV_PROBLEMS + 1 and kept[-1].message == "f.csv: 5 more problems like these (not listed)"


def test_demand_problems_name_the_file_rows_across_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    path.write_text("origin,destination,departure,platoon\n1,2,0,1\n\nx,2,soon,0\n3,4,15min,2\n")
    table, problems = read_demand(path)
    assert [p.message for p in problems] == [
        "trips.csv column 'origin' must be an OSM node id (a whole number): rows 4 (1 in all)",
        "trips.csv column 'departure' must be seconds or a duration after the start (90, 15min): rows 4 (1 in all)",
        "trips.csv column 'platoon' must be a whole number >= 1: rows 4 (1 in all)",
    ]
    assert table["row"].tolist() == [2, 4, 5] and table["departure_s"].iloc[2] == 900.0
    assert table["vehicle_class"].tolist() == ["car"] * 3
