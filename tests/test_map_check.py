"""twin map check: what the map lacks, what the build made up and whom it serves, exposure, gaps, DEM scale."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from affine import Affine

from tests.test_map_errors import _config, mini_map  # noqa: F401  (the fixture)
from twin.city.build import City, load_city
from twin.city.check import HAND_FLOOD_M, check_city, format_findings, grid_values, slope_deg
from twin.cli import main


def _grid_city(elevation: np.ndarray, cell: float) -> SimpleNamespace:
    terrain = SimpleNamespace(
        elevation_m=elevation, transform=Affine(cell, 0, 1000.0, 0, -cell, 2000.0), resolution_m=cell
    )
    return SimpleNamespace(terrain=terrain)


def test_slope_of_a_plane_is_its_hand_computed_angle() -> None:
    # z = 0.1 x on a 30 m grid: a 10 % grade, atan(0.1) = 5.7106 degrees everywhere
    x = np.arange(6) * 30.0
    elevation = np.tile(0.1 * x, (5, 1)).astype(np.float32)
    assert slope_deg(_grid_city(elevation, 30.0)) == pytest.approx(np.full((5, 6), 5.7106), abs=1e-4)


def test_grid_values_take_the_cell_holding_the_point() -> None:
    grid = np.arange(12, dtype=float).reshape(3, 4)
    city = _grid_city(grid, 10.0)
    # origin (1000, 2000) top-left: (1015, 1985) is row 1, col 1 -> 5; (1039, 1971) row 2, col 3 -> 11; outside -> NaN
    values = grid_values(city, grid, np.array([1015.0, 1039.0, 900.0]), np.array([1985.0, 1971.0, 1985.0]))
    assert values[:2].tolist() == [5.0, 11.0] and np.isnan(values[2])


def test_the_mini_map_lacks_everything_and_one_pump_serves_all(mini_map: Path, tmp_path: Path) -> None:  # noqa: F811
    # a hospital at (1.5200, 42.5100): 0.0032 deg north of the square's nearest corner (1.5200, 42.5068)
    config = _config(
        extra_facilities=[{"kind": "hospital", "name": "Far", "at": [1.5200, 42.5100], "beds": 10, "source": "test"}]
    )
    (mini_map / "city.yaml").write_text(yaml.safe_dump(config))
    city = load_city(mini_map, cache_dir=tmp_path / "cache")
    findings = check_city(city)
    by_part: dict[str, list[str]] = {}
    for f in findings:
        by_part.setdefault(f.part, []).append(f.text)
    assert any(t.startswith("no buildings") for t in by_part["lacks"])
    assert any(t.startswith("no designated shelters") for t in by_part["lacks"])
    assert "no fire station" in by_part["lacks"]
    # no substation either (Portland's and Porto Alegre's roads-only extracts too): power is not measured
    assert any(t.startswith("no substation or transformer: power is not modelled") for t in by_part["lacks"])
    # one pressure zone: its synthesised pump and tank serve all 100 residents
    assert any(
        "pumping station 'pump, water zone 1" in t and "100 residents (100%)" in t for t in by_part["single point"]
    )
    far = [t for t in by_part["coverage"] if t.startswith("hospital 'Far' is ")]
    assert len(far) == 1
    metres = float(far[0].split(" is ")[1].split(" m ")[0].replace(",", ""))
    # a degree of latitude at 42.5 N is 111,084 m (111,132.95 - 559.82 cos 2phi), so 0.0032 deg = 355.5 m; UTM
    # zone 31's scale 121 km from its central meridian is 0.9998: 355.4 m
    assert 354.5 < metres < 356.5
    text = format_findings(city.name, findings)
    assert text.startswith("map check: mini\nwhat the map lacks:") and "coverage gaps:" in text


def test_andorra_flags_what_stands_in_the_floodplain(andorra_city: City) -> None:
    findings = [f.text for f in check_city(andorra_city) if f.part == "hazard"]
    flood = [t for t in findings if f"less than {HAND_FLOOD_M:g} m above the nearest drainage" in t]
    assert len(flood) == 1 and "fire station 'Parc de Bombers d'Andorra la Vella'" in flood[0]
    # the check agrees with the HAND grid at the fire station
    table = andorra_city.facilities
    station = table[table["name"] == "Parc de Bombers d'Andorra la Vella"].iloc[0]
    hand = grid_values(andorra_city, andorra_city.hydrology.hand_m, np.array([station["x"]]), np.array([station["y"]]))
    assert hand[0] < HAND_FLOOD_M


def test_map_build_prints_the_check(mini_map: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["map", "build", str(mini_map), "--cache", str(tmp_path / "cache")]) == 0
    assert "map check: mini" in capsys.readouterr().err
    assert main(["map", "check", str(mini_map), "--cache", str(tmp_path / "cache")]) == 0
    assert "what the build synthesised (assumed):" in capsys.readouterr().out
