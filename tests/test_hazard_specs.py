"""Tests of the flood hazard entries (river_flood, rain): validation with its messages, CSV series, time series,
curve numbers and river-name matching."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MAPS
from tests.test_scenario import edit, problems_of, write
from twin.city.rivers import match_rivers, river_names
from twin.errors import ScenarioError
from twin.hazards.flood import series
from twin.hazards.flood.spec import (
    DEFAULT_CURVE_NUMBERS,
    LANDCOVER_CLASSES,
    SOIL_GROUPS,
    DesignStormSpec,
    HydrographSpec,
    RainSpec,
    RiverFloodSpec,
    curve_numbers_for,
    read_series_csv,
)
from twin.registry import REGISTRY
from twin.scenario import load_scenario, scenario_json_schema, validate_files

# Line numbers in the tests below refer to this text (line 1 is "name:").
VALID = """\
name: floods
map: {map}
start: "2025-10-14T06:00"
timezone: Europe/Andorra
duration: 12h
hazards:
  - type: river_flood
    rivers: [valira]
    start: 30min
    hydrograph:
      peak_stage_m: 4.5
      time_to_peak: 6h
      duration: 36h
      shape: trapezoidal
      peak_duration: 4h
    component_damage_depth_m: 0.5
  - type: river_flood
    channel_min_area_km2: 5
    gauge: stage.csv
  - type: rain
    start: 1h
    design_storm: {{total_mm: 80, duration: 2h, shape: triangular, peak_at: 0.25}}
    soil_group: C
    curve_numbers: {{forest: 60, water: 100}}
    drainage_mm_h: 15
  - type: rain
    hyetograph: storm.csv
"""

STAGE_CSV = "time,stage_m\n0,0.5\n1h,2\n90min,3.5\n6h,0\n"
STORM_CSV = "time,intensity_mm_h\n0,10\n30min,40\n3600,5\n2h,0\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with scenarios/ holding the two CSV files, and the current directory set to it."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "stage.csv").write_text(STAGE_CSV)
    (tmp_path / "scenarios" / "storm.csv").write_text(STORM_CSV)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scenario_text() -> str:
    return VALID.format(map=MAPS / "andorra")


def csv_problems(project: Path, text: str, column: str = "stage_m", *, hyetograph: bool = False) -> list[str]:
    """Problems of a scenario whose gauge (or hyetograph) is ``text``."""
    name = "storm.csv" if hyetograph else "stage.csv"
    (project / "scenarios" / name).write_text(text)
    return problems_of(write(project, scenario_text()))


# ------------------------------------------------------------------------------------------- valid files


def test_flood_types_are_registered() -> None:
    assert REGISTRY.hazard_types()["river_flood"] is RiverFloodSpec
    assert REGISTRY.hazard_types()["rain"] is RainSpec


def test_valid_flood_scenario_loads_with_seconds_paths_and_defaults(project: Path) -> None:
    s = load_scenario(write(project, scenario_text()))
    river, gauged, storm, hyeto = s.hazards
    assert isinstance(river, RiverFloodSpec) and isinstance(gauged, RiverFloodSpec)
    assert isinstance(storm, RainSpec) and isinstance(hyeto, RainSpec)

    assert river.rivers == ["valira"] and river.channel_min_area_km2 is None and river.gauge is None
    assert river.start_s == 1800.0 and river.component_damage_depth_m == 0.5
    assert river.hydrograph == HydrographSpec.model_validate(
        {"peak_stage_m": 4.5, "time_to_peak": "6h", "duration": "36h", "shape": "trapezoidal", "peak_duration": "4h"}
    )
    assert (river.hydrograph.time_to_peak_s, river.hydrograph.duration_s, river.hydrograph.peak_duration_s) == (
        21600.0,
        129600.0,
        14400.0,
    )

    assert gauged.rivers is None and gauged.channel_min_area_km2 == 5.0
    assert gauged.gauge == project / "scenarios" / "stage.csv"  # resolved against the scenario's folder
    assert gauged.start_s == 0.0 and gauged.component_damage_depth_m == 0.3 and gauged.hydrograph is None
    times, stages = gauged.gauge_series()
    np.testing.assert_array_equal(times, [0.0, 3600.0, 5400.0, 21600.0])
    np.testing.assert_array_equal(stages, [0.5, 2.0, 3.5, 0.0])
    assert not times.flags.writeable

    assert storm.start_s == 3600.0 and storm.soil_group == "C" and storm.drainage_mm_h == 15.0
    assert storm.design_storm == DesignStormSpec.model_validate(
        {"total_mm": 80, "duration": "2h", "shape": "triangular", "peak_at": 0.25}
    )
    assert storm.curve_numbers == {"forest": 60.0, "water": 100.0}

    assert hyeto.hyetograph == project / "scenarios" / "storm.csv" and hyeto.design_storm is None
    assert (hyeto.soil_group, hyeto.drainage_mm_h, hyeto.component_damage_depth_m) == ("B", 20.0, 0.3)
    np.testing.assert_array_equal(hyeto.hyetograph_series()[0], [0.0, 1800.0, 3600.0, 7200.0])
    assert validate_files([write(project, scenario_text(), "t.yaml")]) == []


def test_shape_defaults() -> None:
    h = HydrographSpec.model_validate({"peak_stage_m": 2, "time_to_peak": "1h", "duration": "3h"})
    assert (h.shape, h.peak_duration_s) == ("triangular", 0.0)
    d = DesignStormSpec.model_validate({"total_mm": 50, "duration": "1h"})
    assert (d.shape, d.peak_at) == ("triangular", 0.4)


def test_resolved_scenario_loads_back_identically(project: Path) -> None:
    s = load_scenario(write(project, scenario_text()))
    data = s.resolved_dict()
    hazards = data["hazards"]
    assert hazards[0]["hydrograph"]["peak_duration"] == 14400.0
    assert hazards[1]["gauge"] == str(project / "scenarios" / "stage.csv")
    assert "peak_at" in hazards[2]["design_storm"]
    # Its CSV paths are absolute: loading it back takes the explicit permission (--allow-outside-paths).
    again = load_scenario(
        write(project, yaml.safe_dump(json.loads(json.dumps(data))), "copy.yaml"), allow_outside_paths=True
    )
    assert again.model_dump() == s.model_dump()


def test_unused_shape_fields_are_left_out_of_the_resolved_scenario(project: Path) -> None:
    text = edit(scenario_text(), "      shape: trapezoidal\n      peak_duration: 4h\n", "      shape: smooth\n")
    text = edit(text, "shape: triangular, peak_at: 0.25", "shape: uniform")
    s = load_scenario(write(project, text))
    hazards = s.resolved_dict()["hazards"]
    assert "peak_duration" not in hazards[0]["hydrograph"] and "peak_at" not in hazards[2]["design_storm"]
    copy = write(project, yaml.safe_dump(s.resolved_dict()), "copy.yaml")
    assert load_scenario(copy, allow_outside_paths=True).model_dump() == s.model_dump()


def test_overrides_reach_hazard_fields(project: Path) -> None:
    path = write(project, scenario_text())
    s = load_scenario(path, ["hazards[0].hydrograph.peak_stage_m=6", "hazards[2].curve_numbers.urban=95"])
    assert s.hazards[0].hydrograph.peak_stage_m == 6.0  # type: ignore[attr-defined]
    assert s.hazards[2].curve_numbers == {"forest": 60.0, "water": 100.0, "urban": 95.0}  # type: ignore[attr-defined]
    assert problems_of(path, ["hazards[0].hydrograph.shape=smoth"]) == [
        "scenarios/s.yaml [--set hazards[0].hydrograph.shape=smoth] hazards[0].hydrograph.shape: must be one of "
        "triangular, trapezoidal, smooth, got 'smoth'; did you mean 'smooth'?"
    ]


def test_json_schema_lists_the_flood_types() -> None:
    schema = json.loads(json.dumps(scenario_json_schema()))
    refs = schema["properties"]["hazards"]["items"]["oneOf"]
    assert {"$ref": "#/$defs/RiverFloodSpec"} in refs and {"$ref": "#/$defs/RainSpec"} in refs
    river = schema["$defs"]["RiverFloodSpec"]["properties"]
    assert {"rivers", "channel_min_area_km2", "start", "hydrograph", "gauge", "component_damage_depth_m"} <= set(river)
    rain = schema["$defs"]["RainSpec"]["properties"]
    assert {"design_storm", "hyetograph", "soil_group", "curve_numbers", "drainage_mm_h"} <= set(rain)


# ------------------------------------------------------------------------------------ every kind of bad input

# (name, old, new, line, yaml path, words of the message and the fix)
BAD: list[tuple[str, str, str, int, str, list[str]]] = [
    (
        "rivers and channel area",
        "    rivers: [valira]\n",
        "    rivers: [valira]\n    channel_min_area_km2: 5\n",
        7,
        "hazards[0]",
        ["has both of rivers and channel_min_area_km2", "give exactly one", "rivers: [valira]"],
    ),
    (
        "neither rivers nor channel area",
        "    channel_min_area_km2: 5\n",
        "",
        17,
        "hazards[1]",
        ["has neither of rivers and channel_min_area_km2", "maps without named rivers"],
    ),
    (
        "hydrograph and gauge",
        "    gauge: stage.csv\n",
        "    gauge: stage.csv\n    hydrograph: {peak_stage_m: 2, time_to_peak: 1h, duration: 2h}\n",
        17,
        "hazards[1]",
        ["has both of hydrograph and gauge", "give exactly one"],
    ),
    (
        "neither hydrograph nor gauge",
        "    gauge: stage.csv\n",
        "",
        17,
        "hazards[1]",
        ["has neither of hydrograph and gauge", "or gauge: stage.csv"],
    ),
    (
        "design storm and hyetograph",
        "    hyetograph: storm.csv\n",
        "    hyetograph: storm.csv\n    design_storm: {total_mm: 5, duration: 1h}\n",
        26,
        "hazards[3]",
        ["has both of design_storm and hyetograph"],
    ),
    (
        "neither design storm nor hyetograph",
        "    hyetograph: storm.csv\n",
        "    soil_group: A\n",
        26,
        "hazards[3]",
        ["has neither of design_storm and hyetograph", "design_storm: {total_mm: 80, duration: 2h}"],
    ),
    ("empty river list", "rivers: [valira]", "rivers: []", 8, "hazards[0].rivers", ["must not be empty"]),
    ("blank river name", "rivers: [valira]", "rivers: ['  ']", 8, "hazards[0].rivers[0]", ["must not be empty"]),
    ("river name not text", "rivers: [valira]", "rivers: valira", 8, "hazards[0].rivers", ["must be a list"]),
    (
        "zero channel area",
        "channel_min_area_km2: 5",
        "channel_min_area_km2: 0",
        18,
        "hazards[1].channel_min_area_km2",
        ["must be > 0", "got 0"],
    ),
    ("negative start", "start: 30min", "start: -30min", 9, "hazards[0].start", ["must be >= 0"]),
    ("bad start", "start: 30min", "start: soon", 9, "hazards[0].start", ["must be a duration", "got 'soon'"]),
    (
        "zero peak stage",
        "peak_stage_m: 4.5",
        "peak_stage_m: 0",
        11,
        "hazards[0].hydrograph.peak_stage_m",
        ["must be > 0", "got 0"],
    ),
    (
        "missing time to peak",
        "      time_to_peak: 6h\n",
        "",
        10,
        "hazards[0].hydrograph.time_to_peak",
        ["required key is missing", "add it, e.g. time_to_peak: 6h"],
    ),
    (
        "zero time to peak",
        "time_to_peak: 6h",
        "time_to_peak: 0",
        12,
        "hazards[0].hydrograph.time_to_peak",
        ["must be > 0"],
    ),
    (
        "duration shorter than rise and peak",
        "duration: 36h",
        "duration: 9h",
        13,
        "hazards[0].hydrograph.duration",
        ["must be longer than time_to_peak + peak_duration (6h + 4h = 10h)", "got '9h'"],
    ),
    (
        "unknown shape",
        "shape: trapezoidal",
        "shape: trapezoid",
        14,
        "hazards[0].hydrograph.shape",
        ["must be one of triangular, trapezoidal, smooth", "did you mean 'trapezoidal'?"],
    ),
    (
        "peak duration without trapezoidal",
        "shape: trapezoidal",
        "shape: smooth",
        15,
        "hazards[0].hydrograph.peak_duration",
        ["is only for shape: trapezoidal", "remove it, or set shape: trapezoidal"],
    ),
    (
        "unknown hydrograph key",
        "      peak_duration: 4h",
        "      peak_duraton: 4h",
        15,
        "hazards[0].hydrograph.peak_duraton",
        ["unknown key 'peak_duraton'", "did you mean 'peak_duration'?"],
    ),
    (
        "hydrograph not a mapping",
        "    hydrograph:\n      peak_stage_m: 4.5\n      time_to_peak: 6h\n"
        "      duration: 36h\n      shape: trapezoidal\n      peak_duration: 4h\n",
        "    hydrograph: big\n",
        10,
        "hazards[0].hydrograph",
        ["must be a mapping"],
    ),
    (
        "zero damage depth",
        "component_damage_depth_m: 0.5",
        "component_damage_depth_m: 0",
        16,
        "hazards[0].component_damage_depth_m",
        ["must be > 0"],
    ),
    (
        "missing gauge file",
        "gauge: stage.csv",
        "gauge: nothere.csv",
        19,
        "hazards[1].gauge",
        ["no file at scenarios/nothere.csv", "paths resolve against the scenario file's folder"],
    ),
    (
        "missing hyetograph file",
        "hyetograph: storm.csv",
        "hyetograph: rain/storm.csv",
        27,
        "hazards[3].hyetograph",
        ["no file at scenarios/rain/storm.csv"],
    ),
    ("zero total", "total_mm: 80", "total_mm: 0", 22, "hazards[2].design_storm.total_mm", ["must be > 0"]),
    (
        "storm without duration",
        "total_mm: 80, duration: 2h,",
        "total_mm: 80,",
        22,
        "hazards[2].design_storm.duration",
        ["required key is missing", "add it, e.g. duration: 2h"],
    ),
    (
        "unknown storm shape",
        "shape: triangular",
        "shape: block",
        22,
        "hazards[2].design_storm.shape",
        ["must be one of uniform, triangular", "got 'block'"],
    ),
    ("peak_at above one", "peak_at: 0.25", "peak_at: 1.5", 22, "hazards[2].design_storm.peak_at", ["must be <= 1"]),
    (
        "peak_at with a uniform storm",
        "shape: triangular",
        "shape: uniform",
        22,
        "hazards[2].design_storm.peak_at",
        ["is only for shape: triangular", "got 0.25", "remove it, or set shape: triangular"],
    ),
    (
        "unknown soil group",
        "soil_group: C",
        "soil_group: c",
        23,
        "hazards[2].soil_group",
        ["must be one of A, B, C, D", "did you mean 'C'?"],
    ),
    (
        "unknown land-cover class",
        "forest: 60",
        "forrest: 60",
        24,
        "hazards[2].curve_numbers.forrest",
        ["unknown land-cover class 'forrest'", "did you mean 'forest'?", "classes: other, impervious, urban"],
    ),
    (
        "curve number below 30",
        "forest: 60",
        "forest: 20",
        24,
        "hazards[2].curve_numbers.forest",
        ["must be >= 30", "got 20"],
    ),
    ("curve number above 100", "water: 100", "water: 101", 24, "hazards[2].curve_numbers.water", ["must be <= 100"]),
    (
        "curve number not a number",
        "water: 100",
        "water: high",
        24,
        "hazards[2].curve_numbers.water",
        ["must be a number", "got 'high'"],
    ),
    ("negative drainage", "drainage_mm_h: 15", "drainage_mm_h: -1", 25, "hazards[2].drainage_mm_h", ["must be >= 0"]),
    (
        "unknown rain key",
        "drainage_mm_h: 15",
        "drainage: 15",
        25,
        "hazards[2].drainage",
        ["unknown key 'drainage'", "did you mean 'drainage_mm_h'?"],
    ),
    (
        "misspelt hazard type",
        "type: rain\n    start",
        "type: rainfall\n    start",
        20,
        "hazards[2].type",
        ["unknown hazard type 'rainfall'", "did you mean 'rain'?", "this version knows: ", "rain, river_flood"],
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "path", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_reported_with_file_line_path_and_fix(
    project: Path, old: str, new: str, line: int, path: str, words: list[str]
) -> None:
    problems = problems_of(write(project, edit(scenario_text(), old, new)))
    prefix = f"scenarios/s.yaml:{line} {path}: "
    matching = [p for p in problems if p.startswith(prefix)]
    assert matching, f"no problem starts with {prefix!r}: {problems}"
    assert any(all(w in p for w in words) for p in matching), (words, matching)


def test_duration_must_exceed_time_to_peak(project: Path) -> None:
    text = edit(scenario_text(), "      shape: trapezoidal\n      peak_duration: 4h\n", "")
    assert problems_of(write(project, edit(text, "duration: 36h", "duration: 6h"))) == [
        "scenarios/s.yaml:13 hazards[0].hydrograph.duration: must be longer than time_to_peak (6h), got '6h'; "
        "duration is the whole flood: the rise, the peak and the fall back to 0"
    ]


def test_every_problem_is_reported_at_once(project: Path) -> None:
    text = scenario_text()
    text = edit(text, "    rivers: [valira]\n", "")
    text = edit(text, "peak_stage_m: 4.5", "peak_stage_m: -1")
    text = edit(text, "shape: trapezoidal", "shape: smooth")
    text = edit(text, "gauge: stage.csv", "gauge: missing.csv")
    text = edit(text, "peak_at: 0.25", "peak_at: 2")
    text = edit(text, "forest: 60", "forst: 60")
    text = edit(text, "water: 100", "water: 120")
    text = edit(text, "    hyetograph: storm.csv\n", "")
    assert problems_of(write(project, text)) == [
        "scenarios/s.yaml:7 hazards[0]: has neither of rivers and channel_min_area_km2; give exactly one: "
        "rivers: [valira] (names on the map), or channel_min_area_km2: 5 (maps without named rivers)",
        "scenarios/s.yaml:10 hazards[0].hydrograph.peak_stage_m: must be > 0, got -1",
        "scenarios/s.yaml:14 hazards[0].hydrograph.peak_duration: is only for shape: trapezoidal, got '4h'; "
        "remove it, or set shape: trapezoidal",
        "scenarios/s.yaml:18 hazards[1].gauge: no file at scenarios/missing.csv, got 'missing.csv'; paths resolve "
        "against the scenario file's folder, scenarios",
        "scenarios/s.yaml:21 hazards[2].design_storm.peak_at: must be <= 1, got 2",
        "scenarios/s.yaml:23 hazards[2].curve_numbers.water: must be <= 100, got 120",
        "scenarios/s.yaml:23 hazards[2].curve_numbers.forst: unknown land-cover class 'forst'; did you mean "
        "'forest'? classes: other, impervious, urban, grass, forest, farmland, bare, water",
        "scenarios/s.yaml:25 hazards[3]: has neither of design_storm and hyetograph; give exactly one: "
        "design_storm: {total_mm: 80, duration: 2h}, or hyetograph: storm.csv",
    ]


def test_models_validated_directly_report_every_problem() -> None:
    with pytest.raises(ValueError, match="has neither of rivers") as info:
        RiverFloodSpec.model_validate({"type": "river_flood", "hydrograph": {"peak_stage_m": -1}})
    text = str(info.value)
    assert "hydrograph.peak_stage_m: must be > 0" in text and "hydrograph.time_to_peak: required key" in text


# ------------------------------------------------------------------------------------------------ CSV files


def test_csv_problems_name_the_row_and_the_column_and_are_all_reported(project: Path) -> None:
    text = "time,stage_m,note\n0,-1,low\nsoon,abc\n1h,\n\n30min,2\n-5,nan\n2h,1e999\n,1\n3h,2,ok\n"
    where = "scenarios/s.yaml:19 hazards[1].gauge: stage.csv"
    assert csv_problems(project, text) == [
        f"{where} row 2, column stage_m: must be >= 0, got '-1'",
        f"{where} row 3, column time: must be seconds (90) or a duration (90s, 15min, 6h), got 'soon'",
        f"{where} row 3, column stage_m: must be a number (metres above the channel bed), got 'abc'",
        f"{where} row 4, column stage_m: is empty; give a number (metres above the channel bed)",
        f"{where} row 6, column time: must be later than row 4 (1h), got '30min'; times must be strictly "
        "increasing, one row per time",
        f"{where} row 7, column time: must be >= 0 (a time after the hazard's start), got '-5'",
        f"{where} row 7, column stage_m: must be a finite number, got 'nan'",
        f"{where} row 8, column stage_m: must be a finite number, got '1e999'",
        f"{where} row 9, column time: is empty; give seconds (90) or a duration (90s, 15min, 6h)",
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "Time,stage\n0,1\n",
            [
                "stage.csv has no column 'time'; rename column 'Time' to 'time'",
                "stage.csv has no column 'stage_m'; rename column 'stage' to 'stage_m' (metres above the channel bed)",
            ],
        ),
        ("t;stage_m\n0;1\n", ["stage.csv has no column 'time'; separate the columns with commas"]),
        (
            "when,level\n0,1\n",
            ["stage.csv has no column 'time'; the header line must name the column 'time'", "it has 2 named column(s)"],
        ),
        ("time,stage_m,time\n0,1,2\n", ["stage.csv has the column 'time' 2 times; keep one"]),
        ("", ["stage.csv is empty; e.g. a header line `time,stage_m`"]),
        ("\n\n", ["stage.csv is empty"]),
        ("time,stage_m\n", ["stage.csv has no data rows"]),
    ],
    ids=["misspelt headers", "semicolons", "unknown headers", "duplicate column", "empty", "blank", "header only"],
)
def test_csv_header_problems(project: Path, text: str, words: list[str]) -> None:
    problems = csv_problems(project, text)
    for w in words:
        assert any(p.startswith("scenarios/s.yaml:19 hazards[1].gauge: ") and w in p for p in problems), (w, problems)


def test_hyetograph_must_end_with_zero_and_have_two_rows(project: Path) -> None:
    where = "scenarios/s.yaml:27 hazards[3].hyetograph: storm.csv"
    assert csv_problems(project, "time,intensity_mm_h\n0,10\n1h,5\n", hyetograph=True) == [
        f"{where} row 3, column intensity_mm_h: the last row marks the end of the rain and must be 0, got '5'; "
        "add a row `<time the rain stops>,0` (each row's intensity_mm_h holds until the next row's time)"
    ]
    assert csv_problems(project, "time,intensity_mm_h\n0,0\n", hyetograph=True) == [
        f"{where} needs at least two rows: the last one marks the end of the rain; e.g. a header line "
        "`time,intensity_mm_h` then rows like `0,0` and `30min,1.5`"
    ]
    problems = csv_problems(project, "time,intensity\n0,1\n1h,0\n", hyetograph=True)
    assert problems == [
        f"{where} has no column 'intensity_mm_h'; rename column 'intensity' to 'intensity_mm_h' "
        "(rain intensity in mm/h)"
    ]


def test_unreadable_csv(project: Path) -> None:
    (project / "scenarios" / "stage.csv").write_bytes(b"time,stage_m\n0,\xff\xfe\n")
    assert problems_of(write(project, scenario_text())) == [
        "scenarios/s.yaml:19 hazards[1].gauge: stage.csv is not UTF-8 text; save it as CSV UTF-8"
    ]


def test_many_bad_rows_are_summarised(project: Path) -> None:
    text = "time,stage_m\n" + "".join(f"{i},-1\n" for i in range(50))
    problems = csv_problems(project, text)
    assert len(problems) == 21
    assert problems[-1] == "scenarios/s.yaml:19 hazards[1].gauge: stage.csv: 30 more problems like these (not listed)"


def test_csv_with_bom_extra_columns_spaces_and_blank_lines_reads(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("\ufeffnote, time , stage_m\nstart, 0 , 1.5\n\nlater,2h,0.25\n", encoding="utf-8")
    times, values, problems = read_series_csv(path, "stage_m", "metres")
    assert problems == []
    np.testing.assert_array_equal(times, [0.0, 7200.0])
    np.testing.assert_array_equal(values, [1.5, 0.25])


# ---------------------------------------------------------------------------------------------- river stage


def flood(shape: str = "triangular", start: float | str = 0, **extra: object) -> RiverFloodSpec:
    hydrograph: dict[str, object] = {"peak_stage_m": 4.0, "time_to_peak": "2h", "duration": "6h", "shape": shape}
    hydrograph.update(extra)
    return RiverFloodSpec.model_validate({"rivers": ["x"], "start": start, "hydrograph": hydrograph})


H = 3600.0


def test_triangular_stage_at_known_times() -> None:
    spec = flood(start="1h")
    t = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 9.0]) * H
    np.testing.assert_allclose(series.stage_m(spec, t), [0, 0, 0, 0, 2, 4, 2, 1, 0, 0])


def test_trapezoidal_stage_holds_the_peak() -> None:
    spec = flood("trapezoidal", peak_duration="1h")
    t = np.array([0, 1, 2, 2.5, 3, 4.5, 6, 6.5]) * H
    np.testing.assert_allclose(series.stage_m(spec, t), [0, 2, 4, 4, 4, 2, 0, 0])


def test_smooth_stage_is_a_raised_cosine() -> None:
    spec = flood("smooth")
    t = np.array([0, 1, 2, 4, 6, 7]) * H
    np.testing.assert_allclose(series.stage_m(spec, t), [0, 2, 4, 2, 0, 0], atol=1e-12)
    np.testing.assert_allclose(series.stage_m(spec, 0.5 * H), 4 * (1 - math.cos(math.pi / 4)) / 2)
    # continuous and without a kink at the peak: equal slopes on both sides
    eps = 1e-3
    left, right = series.stage_m(spec, np.array([2 * H - eps, 2 * H + eps]))
    assert abs(left - right) < 1e-9


def test_stage_keeps_the_shape_of_the_input() -> None:
    spec = flood()
    assert series.stage_m(spec, 1 * H).shape == ()
    assert float(series.stage_m(spec, 1 * H)) == pytest.approx(2.0)
    assert series.stage_m(spec, np.zeros((3, 2))).shape == (3, 2)
    assert series.stage_m(spec, [0.0, H]).tolist() == pytest.approx([0.0, 2.0])


def test_gauge_stage_interpolates_and_holds_the_ends(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("time,stage_m\n1h,1\n2h,3\n4h,2\n")
    spec = RiverFloodSpec.model_validate(
        {"rivers": ["x"], "start": "1h", "gauge": "g.csv"}, context={"base_dir": tmp_path}
    )
    t = np.array([0, 0.99, 1, 1.5, 2, 3, 3.5, 4, 5, 10]) * H
    # before start 0; between start and the first row the first value; then linear; then the last value
    np.testing.assert_allclose(series.stage_m(spec, t), [0, 0, 1, 1, 1, 3, 2.75, 2.5, 2, 2])
    assert series.max_stage_m(spec) == 3.0
    np.testing.assert_array_equal(series.breakpoints_s(spec), np.array([1, 2, 3, 5]) * H)
    assert series.end_s(spec) == 5 * H


def test_hydrograph_breakpoints() -> None:
    np.testing.assert_array_equal(series.breakpoints_s(flood(start="1h")), np.array([1, 3, 7]) * H)
    np.testing.assert_array_equal(
        series.breakpoints_s(flood("trapezoidal", peak_duration="1h")), np.array([0, 2, 3, 6]) * H
    )
    assert series.max_stage_m(flood()) == 4.0


# ------------------------------------------------------------------------------------------------------ rain


def rain(
    shape: str = "triangular",
    total: float = 60.0,
    duration: float | str = "2h",
    start: float | str = 0,
    **extra: object,
) -> RainSpec:
    storm: dict[str, object] = {"total_mm": total, "duration": duration, "shape": shape, **extra}
    return RainSpec.model_validate({"start": start, "design_storm": storm})


def test_uniform_storm() -> None:
    spec = rain("uniform", start="1h")
    t = np.array([0, 1, 1.5, 2, 3, 4]) * H
    np.testing.assert_allclose(series.cumulative_rain_mm(spec, t), [0, 0, 15, 30, 60, 60])
    np.testing.assert_allclose(series.intensity_mm_h(spec, t), [0, 30, 30, 30, 0, 0])
    np.testing.assert_array_equal(series.breakpoints_s(spec), [H, 3 * H])


def test_triangular_storm_reaches_its_total_exactly_at_the_end() -> None:
    spec = rain(peak_at=0.25)  # peak at 30 min, peak intensity 2 x 60 / 2h = 60 mm/h
    t = np.array([-1, 0, 900, 1800, 4500, 7200, 9000])
    cumulative = series.cumulative_rain_mm(spec, t)
    assert cumulative[-2] == 60.0 and cumulative[-1] == 60.0  # exact, not approximately
    np.testing.assert_allclose(
        cumulative, [0, 0, 60 * 900**2 / (1800 * 7200), 15, 60 - 60 * 2700**2 / (5400 * 7200), 60, 60]
    )
    np.testing.assert_allclose(series.intensity_mm_h(spec, t), [0, 0, 30, 60, 30, 0, 0])
    np.testing.assert_array_equal(series.breakpoints_s(spec), [0, 1800, 7200])
    assert series.total_rain_mm(spec) == 60.0


@pytest.mark.parametrize("peak_at", [0.0, 0.4, 1.0])
def test_triangular_storm_edges(peak_at: float) -> None:
    spec = rain(peak_at=peak_at)
    t = np.linspace(-600, 8000, 2001)
    cumulative = series.cumulative_rain_mm(spec, t)
    assert np.all(np.isfinite(cumulative)) and np.all(np.diff(cumulative) >= 0)
    assert series.cumulative_rain_mm(spec, 7200.0) == 60.0 and series.cumulative_rain_mm(spec, 0.0) == 0.0
    # the intensity integrates to the cumulative (trapezoid rule on a fine grid)
    fine = np.linspace(0, 7200, 72001)
    integral = np.trapezoid(series.intensity_mm_h(spec, fine), fine) / 3600
    assert integral == pytest.approx(60.0, rel=1e-4)
    assert series.intensity_mm_h(spec, peak_at * 7200 - (1e-9 if peak_at == 1 else 0)) == pytest.approx(60.0)


def test_hyetograph_cumulative_is_exact(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("time,intensity_mm_h\n10min,12\n40min,0\n1h,30\n100min,0\n")
    spec = RainSpec.model_validate({"start": "1h", "hyetograph": "h.csv"}, context={"base_dir": tmp_path})
    s = 3600 + 60 * np.array([0, 10, 25, 40, 50, 60, 80, 100, 200])
    # 12 mm/h for 30 min = 6 mm; nothing for 20 min; 30 mm/h for 40 min = 20 mm
    np.testing.assert_allclose(series.cumulative_rain_mm(spec, s), [0, 0, 3, 6, 6, 6, 16, 26, 26], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(series.intensity_mm_h(spec, s), [0, 12, 12, 0, 0, 30, 30, 0, 0])
    np.testing.assert_array_equal(series.breakpoints_s(spec), 3600 + 60 * np.array([10, 40, 60, 100]))
    assert series.total_rain_mm(spec) == 26.0 and series.end_s(spec) == 3600 + 6000


@settings(max_examples=200, deadline=None)
@given(
    total=st.floats(0.1, 500),
    duration=st.floats(60, 86400),
    peak_at=st.floats(0, 1),
    shape=st.sampled_from(["uniform", "triangular"]),
    start=st.floats(0, 10000),
    times=st.lists(st.floats(-1e5, 2e5), min_size=1, max_size=30),
)
def test_cumulative_rain_is_non_decreasing_and_ends_at_the_total(
    total: float, duration: float, peak_at: float, shape: str, start: float, times: list[float]
) -> None:
    extra = {"peak_at": peak_at} if shape == "triangular" else {}
    spec = rain(shape, total, duration, start, **extra)
    t = np.sort(np.array(times))
    cumulative = series.cumulative_rain_mm(spec, t)
    assert np.all(np.diff(cumulative) >= -1e-9 * total)
    assert np.all(cumulative >= 0) and np.all(cumulative <= total * (1 + 1e-12))
    assert series.cumulative_rain_mm(spec, start + duration) == pytest.approx(total, rel=1e-9)
    assert series.cumulative_rain_mm(spec, start + duration + 1) == total


# -------------------------------------------------------------------------------------------- curve numbers


def test_default_curve_numbers_follow_tr55() -> None:
    assert tuple(DEFAULT_CURVE_NUMBERS) == LANDCOVER_CLASSES
    assert all(tuple(row) == SOIL_GROUPS for row in DEFAULT_CURVE_NUMBERS.values())
    assert DEFAULT_CURVE_NUMBERS["urban"] == {"A": 77, "B": 85, "C": 90, "D": 92}
    assert DEFAULT_CURVE_NUMBERS["forest"]["A"] == 30 and DEFAULT_CURVE_NUMBERS["water"]["A"] == 98
    for row in DEFAULT_CURVE_NUMBERS.values():  # soils drain worse from A to D
        assert list(row.values()) == sorted(row.values())


def test_the_classes_are_those_of_the_land_cover_grid() -> None:
    landcover = pytest.importorskip("twin.hydrology.landcover")
    assert landcover.LANDCOVER_CLASSES == LANDCOVER_CLASSES


def test_curve_numbers_for_applies_soil_group_and_overrides() -> None:
    spec = RainSpec.model_validate({"design_storm": {"total_mm": 10, "duration": "1h"}})
    np.testing.assert_array_equal(curve_numbers_for(spec), [69, 98, 85, 61, 55, 78, 86, 98])
    spec = RainSpec.model_validate(
        {"design_storm": {"total_mm": 10, "duration": "1h"}, "soil_group": "D", "curve_numbers": {"forest": 60}}
    )
    cn = curve_numbers_for(spec)
    assert cn.dtype == np.float64 and cn.shape == (len(LANDCOVER_CLASSES),)
    np.testing.assert_array_equal(cn, [84, 98, 92, 80, 60, 89, 94, 98])


# -------------------------------------------------------------------------------------------- river names


@pytest.fixture
def waterways() -> pd.DataFrame:
    rows = [
        (1, "river", "Riu Valira", "Riu Valira|Valira River"),
        (2, "river", "", "Gran Valira"),  # an alternate name (name:ca) only
        (3, "stream", "Riu de Madriu", "Riu de Madriu"),
        (4, "canal", "Canal de Engolasters", "Canal de Engolasters|Engolasters"),
        (5, "ditch", "Rec del Solà", "Rec del Solà"),
        (6, "stream", "", ""),
        (7, "river", "VALIRA DEL NORD", "VALIRA DEL NORD"),
    ]
    frame = pd.DataFrame(rows, columns=["osm_id", "kind", "name", "names"])
    frame["tunnel"] = False
    frame["geometry"] = b""
    frame.index = [10, 11, 12, 13, 14, 15, 16]  # positions, not labels, are returned
    return frame


def test_match_rivers_by_case_insensitive_substrings_over_every_name(waterways: pd.DataFrame) -> None:
    rows, unmatched = match_rivers(waterways, ["valira"])
    assert rows.tolist() == [0, 1, 6] and rows.dtype == np.int64 and unmatched == []
    rows, unmatched = match_rivers(waterways, ["  MADRIU ", "engolasters", "sola", "solà", "Ebre"])
    assert rows.tolist() == [2, 3, 4]
    assert unmatched == ["sola", "Ebre"]
    # a pattern never spans two names
    rows, unmatched = match_rivers(waterways, ["valira|valira"])
    assert rows.tolist() == [] and unmatched == ["valira|valira"]
    rows, unmatched = match_rivers(waterways.iloc[:0], ["valira"])
    assert rows.tolist() == [] and unmatched == ["valira"]


def test_river_names_lists_rivers_streams_and_canals(waterways: pd.DataFrame) -> None:
    assert river_names(waterways) == [
        "Canal de Engolasters",
        "Engolasters",
        "Gran Valira",
        "Riu de Madriu",
        "Riu Valira",
        "VALIRA DEL NORD",
        "Valira River",
    ]
    assert river_names(waterways.iloc[:0]) == []


# ------------------------------------------------------------------------------------------ sources, fuzzing


def test_loaded_entries_know_where_they_were_written(project: Path) -> None:
    s = load_scenario(write(project, scenario_text()))
    assert [h.source for h in s.hazards] == [  # type: ignore[attr-defined]
        "scenarios/s.yaml:7 hazards[0]",
        "scenarios/s.yaml:17 hazards[1]",
        "scenarios/s.yaml:20 hazards[2]",
        "scenarios/s.yaml:26 hazards[3]",
    ]


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            "6h",
            "-5min",
            "0",
            "stage.csv",
            "storm.csv",
            "nothere.csv",
            "triangular",
            "trapezoidal",
            "smooth",
            "uniform",
            "B",
            "forest",
            "valira",
            "river_flood",
            "rain",
        ]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_KEYS = st.sampled_from(
    [
        "rivers",
        "channel_min_area_km2",
        "start",
        "hydrograph",
        "gauge",
        "design_storm",
        "hyetograph",
        "shape",
        "peak_duration",
        "peak_at",
        "curve_numbers",
        "soil_group",
        "type",
        "duration",
        "time_to_peak",
        "peak_stage_m",
        "total_mm",
        "drainage_mm_h",
        "x",
    ]
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.extend(_paths(value, (*prefix, key)))
    return out


def _get(node: object, path: tuple[object, ...]) -> object:
    for part in path:
        node = node[part]
    return node


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mutated_flood_entries_give_only_scenario_errors(data: st.DataObject) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "stage.csv").write_text(STAGE_CSV)
        (root / "storm.csv").write_text(STORM_CSV)
        scenario = yaml.safe_load(scenario_text())
        for _ in range(data.draw(st.integers(1, 4), label="mutations")):
            paths = [p for p in _paths(scenario["hazards"]) if p]
            op = data.draw(st.sampled_from(["drop", "set", "add"]), label="op")
            if op in ("drop", "set"):
                where = data.draw(st.sampled_from(paths), label=op)
                parent = _get(scenario["hazards"], where[:-1])
                if op == "drop":
                    del parent[where[-1]]  # type: ignore[attr-defined]
                else:
                    parent[where[-1]] = data.draw(_VALUES, label="value")
            else:
                mappings = [n for n in (_get(scenario["hazards"], p) for p in paths) if isinstance(n, dict)]
                if mappings:
                    target = data.draw(st.sampled_from(mappings), label="add to")
                    target[data.draw(_KEYS, label="key")] = data.draw(_VALUES, label="value")
        path = root / "fuzz.yaml"
        path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
        try:
            load_scenario(path)
        except ScenarioError as exc:
            assert exc.problems and all("fuzz.yaml" in p for p in exc.problems), exc.problems
