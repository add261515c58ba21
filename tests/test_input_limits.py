"""Ranges and places of scenario inputs: steps and durations, --until, the time zone against the map, CSV paths
inside the scenario's folder, whole numbers within 64 bits, and user text in figures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from twin.errors import ScenarioError
from twin.scenario import load_scenario
from twin.scenario.schema import MAX_STEPS
from twin.scenario.times import solar_gap_problem

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "andorra-baseline.yaml"
DRILL = "andorra-evacuation-drill"


def _error(path: Path, overrides: list[str], **allow: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides, **allow)
    return str(info.value)


# --- steps and durations --------------------------------------------------------------------------------------


def test_a_step_under_a_second_is_refused() -> None:
    assert "step: must be at least 1s, got '0.01s'" in _error(BASELINE, ["step=0.01s"])


def test_ten_years_is_refused_unless_long_runs_are_allowed() -> None:
    message = _error(BASELINE, ["duration=3650d", "step=1h"])
    assert "duration: must be at most 366d" in message and "--allow-long" in message
    assert load_scenario(BASELINE, ["duration=3650d", "step=1h"], allow_long=True).duration_s == 3650 * 86400


def test_too_many_steps_names_the_count_and_the_shortest_step() -> None:
    # 30 days at 10 s: 259,200 steps.
    message = _error(BASELINE, ["duration=30d", "step=10s"])
    assert f"makes 259,200 steps over the duration (30d); at most {MAX_STEPS:,} steps" in message
    assert "use a step of at least 26s" in message
    assert load_scenario(BASELINE, ["duration=30d", "step=10s"], allow_long=True).step_s == 10.0


def test_traffic_substeps_count_against_the_same_limit(tmp_path: Path) -> None:
    scenario = _copy_drill(tmp_path)
    message = _error(scenario, ["duration=10d", "step=5min", "traffic.substep=1s"])
    assert "traffic.substep: makes 864,000 steps" in message


def test_a_run_that_would_end_after_year_9999_is_refused() -> None:
    message = _error(BASELINE, ["start=9999-12-30T00:00", "duration=5d", "step=1h"])
    assert "duration: ends after the last date that can be simulated" in message


def test_until_after_the_end_is_refused() -> None:
    from twin.run import until_seconds

    spec = load_scenario(BASELINE)
    with pytest.raises(ScenarioError, match=r"until \(--until\): 100h is outside the scenario, which runs 6h"):
        until_seconds("100h", spec)
    with pytest.raises(ScenarioError, match=r"until \(--until\): 0s is outside"):
        until_seconds("0s", spec)
    assert until_seconds("2h", spec) == 7200.0 and until_seconds(None, spec) is None


def test_cli_refuses_until_beyond_the_end_before_loading_the_map(capsys: pytest.CaptureFixture[str]) -> None:
    from twin.cli import main

    assert main(["run", str(BASELINE), "--until", "100h", "--quiet", "--out", "unused"]) == 1
    assert "error: until (--until): 100h is outside" in capsys.readouterr().err


# --- time zone and map --------------------------------------------------------------------------------------


def test_a_time_zone_for_another_place_is_refused_with_the_maps_zone() -> None:
    message = _error(BASELINE, ["map=../maps/portland"])  # Europe/Andorra on Portland: 10.2 h off
    assert "timezone: is UTC+02:00 at the start, 10.2 h from the map's solar time" in message
    assert "use the map's zone, America/Los_Angeles" in message
    assert load_scenario(BASELINE, ["map=../maps/portland", "timezone=America/Los_Angeles"]).timezone


@pytest.mark.parametrize(
    ("zone", "longitude", "refused"),
    [
        ("Asia/Urumqi", 87.6, False),  # UTC+6 at 87.6 E: 0.2 h
        ("Asia/Shanghai", 75.99, False),  # Kashgar on Beijing time: 2.9 h
        ("Europe/Madrid", -8.72, False),  # Vigo in summer: 2.6 h
        ("Pacific/Kiritimati", -157.4, False),  # UTC+14 at 157 W: 0.5 h across the date line
        ("Europe/Andorra", -122.67, True),
        ("UTC", 139.7, True),  # Tokyo on UTC: 9.3 h
    ],
)
def test_solar_gap_against_hand_computed_offsets(zone: str, longitude: float, refused: bool) -> None:
    import datetime as dt
    import zoneinfo

    start = dt.datetime(2025, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo(zone))
    assert (solar_gap_problem(start, longitude) is not None) == refused


# --- CSV files named by a scenario --------------------------------------------------------------------------


def _copy_drill(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(ROOT / "scenarios" / f"{DRILL}.yaml", folder)
    shutil.copy(ROOT / "scenarios" / f"{DRILL}-trips.csv", folder)
    (tmp_path / "maps").symlink_to(ROOT / "maps")
    return folder / f"{DRILL}.yaml"


@pytest.mark.parametrize(
    ("demand", "words"),
    [
        ("/etc/passwd", "is absolute: files must be inside the scenario file's folder"),
        ("~/trips.csv", "is absolute"),
        ("../../etc/passwd", "goes up with '..'"),
        ("sub/../andorra-evacuation-drill-trips.csv", "goes up with '..'"),
    ],
)
def test_csv_paths_outside_the_scenario_folder_are_refused(tmp_path: Path, demand: str, words: str) -> None:
    message = _error(_copy_drill(tmp_path), [f"traffic.demand={demand}"])
    assert f"traffic.demand: {words}" in message and "--allow-outside-paths" in message
    assert "root:x" not in message


def test_a_link_out_of_the_folder_is_refused_and_the_flag_allows_it(tmp_path: Path) -> None:
    scenario = _copy_drill(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(ROOT / "scenarios" / f"{DRILL}-trips.csv", outside)
    (scenario.parent / "link.csv").symlink_to(outside)
    message = _error(scenario, ["traffic.demand=link.csv"])
    assert "traffic.demand: is a link that leads out of the scenario file's folder" in message
    spec = load_scenario(scenario, ["traffic.demand=link.csv"], allow_outside_paths=True)
    assert spec.traffic is not None and len(spec.traffic.table()) == 2998
    spec = load_scenario(scenario, [f"traffic.demand={outside}"], allow_outside_paths=True)
    assert spec.traffic is not None


def test_a_foreign_files_content_is_never_quoted(tmp_path: Path) -> None:
    scenario = _copy_drill(tmp_path)
    (scenario.parent / "secret.csv").write_text("root:x:0:0:root:/root:/bin/bash\n")
    message = _error(scenario, ["traffic.demand=secret.csv"])
    assert "has no column 'origin'" in message and "root:x" not in message and "/bin/bash" not in message


def test_a_csv_that_is_a_folder_or_unreadable_is_a_clean_error(tmp_path: Path) -> None:
    from twin.scenario.traffic import read_demand

    scenario = _copy_drill(tmp_path)
    (scenario.parent / "folder.csv").mkdir()
    assert "folder.csv is a folder, not a file" in _error(scenario, ["traffic.demand=folder.csv"])
    # What the field check cannot see (a file that turns unreadable): pandas' parser never gets it.
    table, problems = read_demand(scenario.parent / "folder.csv")
    assert table.empty and "folder.csv is a folder, not a CSV file" in problems[0].message


def test_csv_ids_past_64_bits_are_bad_rows(tmp_path: Path) -> None:
    from twin.scenario.traffic import read_demand

    path = tmp_path / "t.csv"
    path.write_text("origin,destination,departure\n99999999999999999999999,1,0\n9223372036854775808,2,0\n3,4,0\n")
    table, problems = read_demand(path)
    assert "column 'origin' must be an OSM node id (a whole number): rows 2, 3 (2 in all)" in problems[0].message
    assert table["origin_osm"].tolist() == [-1, -1, 3]


# --- whole numbers and text ---------------------------------------------------------------------------------


def test_whole_numbers_past_64_bits_are_refused_with_their_line_and_path(tmp_path: Path) -> None:
    text = BASELINE.read_text().replace("seed: 0", "seed: 100000000000000000000000")
    assert "seed: 1" in text or "seed:" in text
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("../maps/andorra", str(ROOT / "maps" / "andorra")))
    if "100000000000000000000000" not in text:
        path.write_text(path.read_text() + "seed: 100000000000000000000000\n")
    message = _error(path, [])
    assert "seed: is too large: whole numbers must lie within ±9.2e18 (64-bit)" in message
    assert "must be" not in message.split("64-bit)")[1]  # reported once, not again by the field
    message = _error(BASELINE, ["events[0].target.links=[99999999999999999999]"])
    assert "the value is too large" in message


def test_a_landslide_range_too_large_for_a_float_is_a_problem_not_an_overflow() -> None:
    from pydantic import ValidationError

    from twin.hazards.landslide.spec import SoilSpec

    with pytest.raises(ValidationError, match="is too large"):
        SoilSpec.model_validate({"cohesion_pa": 10**400})


def test_link_ids_past_int64_do_not_reach_numpy() -> None:
    from twin.sim.targets import TargetError, _by_ids

    city: Any = SimpleNamespace(drive=SimpleNamespace(n_links=10))
    with pytest.raises(TargetError, match=r"links \[99999999999999999999\] do not exist"):
        _by_ids(city, [2, 99999999999999999999])


def test_names_with_markup_are_drawn_as_text(tmp_path: Path) -> None:
    from twin.report.curves import plot_service_levels

    series = pd.DataFrame({"t_s": [0.0, 60.0], "Q_power": [1.0, 0.5]})
    events = pd.DataFrame({"t_s": [], "kind": [], "cause": []})
    plot_service_levels(series, events, tmp_path / "q.png", "flood $x^{ and ${")  # mathtext would raise
    assert (tmp_path / "q.png").stat().st_size > 0


def test_report_and_comparison_pictures_draw_labels_with_markup_as_text() -> None:
    from twin.report.figures import overlay_png

    t_s, q = np.array([0.0, 3600.0]), np.array([1.0, 0.5])
    png = overlay_png([("flood $x^{ and ${", {"power": (t_s, q, np.vstack([q, q]))})], "en")  # mathtext would raise
    assert png.startswith(b"\x89PNG")


def test_an_argument_with_undecodable_bytes_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from twin.cli import main

    name = os.fsdecode(b"caf\xe9")  # how Python hands an argument in Latin-1 to the program
    assert main(["run", str(BASELINE), "--set", f"map={name}", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "caf\\udce9" in err


def test_records_are_bounded_by_default_and_when_given() -> None:
    # 30 days at 60 s: 43,200 steps, recorded every 3 steps (14,400 times) by default.
    spec = load_scenario(BASELINE, ["duration=30d", "step=60s"])
    assert spec.outputs.record_every_s == 180.0
    assert load_scenario(BASELINE).outputs.record_every_s == 60.0  # the shipped scenario: every step
    message = _error(BASELINE, ["duration=30d", "step=60s", "outputs.record_every=60s"])
    assert "outputs.record_every: records 43,200 times over the duration; at most 20,000" in message
    assert "record every 3min or more" in message


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "s.yaml", "--seed", "-1"],
        ["run", "s.yaml", "--seed", "99999999999999999999"],
    ],
)
def test_command_line_numbers_are_checked_by_the_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from twin.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and "must be" in capsys.readouterr().err


def test_a_hazard_that_starts_after_the_end_is_refused() -> None:
    # Found by benchmarks/fuzz.py (seed 1, case 438): start 1e12 s was accepted, and the flood never came.
    scenario = ROOT / "scenarios" / "andorra-compound.yaml"
    message = _error(scenario, ["hazards[1].start=1000000000000"])
    assert "hazards[1].start: must be within the run, 0s to 1d after the start" in message
