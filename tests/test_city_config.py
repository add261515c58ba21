"""city.yaml validation: every problem in one report, in the user's words, with the right form next to it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from tests.conftest import MAPS
from twin.city.config import CityConfig, city_json_schema, load_city_config
from twin.city.extent import Extent, haversine_m, utm_epsg
from twin.cli import main
from twin.errors import MapError

ANDORRA_DEM = MAPS / "andorra" / "andorra_valira_srtm3.tif"
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6"><bounds minlat="42.50" minlon="1.51" maxlat="42.51" maxlon="1.53"/>
<node id="1" lat="42.5060" lon="1.5200"/><node id="2" lat="42.5060" lon="1.5210"/>
<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way></osm>
"""


def _folder(tmp_path: Path, config: dict[str, object]) -> Path:
    folder = tmp_path / "town"
    folder.mkdir(exist_ok=True)
    (folder / "town.osm").write_text(OSM)
    if not (folder / "dem.tif").exists():
        shutil.copy(ANDORRA_DEM, folder / "dem.tif")
    (folder / "city.yaml").write_text(yaml.safe_dump(config))
    return folder


def _config(**changes: object) -> dict[str, object]:
    config: dict[str, object] = {
        "name": "town",
        "osm": "town.osm",
        "dem": "dem.tif",
        "crs": "EPSG:32631",
        "population": {"areas": [{"name": "Centre", "population": 100, "centre": [1.52, 42.506]}]},
    }
    config.update(changes)
    return config


def _problems(folder: Path) -> list[str]:
    with pytest.raises(MapError) as info:
        load_city_config(folder)
    return info.value.problems


def test_haversine_against_a_hand_computed_distance() -> None:
    # one degree of latitude on a sphere of radius 6,371,008.8 m: 2 pi R / 360 = 111,195.08 m
    assert haversine_m(1.0, 42.0, 1.0, 43.0) == pytest.approx(111_195.08, abs=0.01)
    assert Extent(1.0, 42.0, 2.0, 43.0, "box").distance_km(1.5, 42.5) == 0.0


def test_utm_zone_of_the_data() -> None:
    assert utm_epsg(1.52, 42.5) == (32631, "UTM zone 31N")
    assert utm_epsg(7.42, 43.74)[0] == 32632  # Monaco
    assert utm_epsg(-51.2, -30.05)[0] == 32722  # Porto Alegre, south
    assert utm_epsg(106.55, 29.56)[0] == 32648  # Chongqing


def test_the_good_file_loads_and_takes_the_dem_nodata_from_the_geotiff(tmp_path: Path) -> None:
    config = load_city_config(_folder(tmp_path, _config()))
    assert config.dem_nodata == -32768.0  # declared by the SRTM GeoTIFF


def test_a_dem_without_nodata_asks_for_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _config())
    with rasterio.open(ANDORRA_DEM) as src:
        profile, data = src.profile, src.read(1)
    profile.pop("nodata")
    with rasterio.open(folder / "dem.tif", "w", **profile) as dst:
        dst.write(data.astype(np.int16), 1)
    problems = _problems(folder)
    assert len(problems) == 1 and _without_line(problems[0]).startswith(
        "dem_nodata: required, because dem.tif declares no nodata"
    )
    assert "e.g. dem_nodata: -32768" in problems[0]
    # saying so explicitly is enough, null included
    (folder / "city.yaml").write_text(yaml.safe_dump(_config(dem_nodata=None)))
    assert load_city_config(folder).dem_nodata is None


def test_a_swapped_centre_says_so_with_the_distance_off_the_map(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path, _config(population={"areas": [{"name": "Centre", "population": 9, "centre": [42.506, 1.52]}]})
    )
    (problem,) = _problems(folder)
    assert _without_line(problem).startswith("population.areas[0].centre (Centre): [42.506, 1.52] is ")
    assert "km off the map, and swapped it lies on the map: longitude comes first; e.g. [1.52, 42.506]" in problem
    km = float(problem.split(" is ")[1].split(" km")[0].replace(",", ""))
    # to the map's nearest corner (1.75 E, 42.31 N), spherical law of cosines by hand:
    # cos d = sin 1.52 sin 42.31 + cos 1.52 cos 42.31 cos 40.756 = 0.5779 -> d = 54.7 deg = 6,083 km
    assert 6_050 < km < 6_120


def test_a_centre_beyond_90_degrees_is_named_swapped_not_out_of_range(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _config(shelters=[{"name": "Hall", "capacity": 9, "at": [-100.0, 1.52]}]))
    (problem,) = _problems(folder)
    assert "shelters[0].at (Hall)" in problem and "off the map" in problem


def test_a_crs_far_from_the_data_names_the_data_zone(tmp_path: Path) -> None:
    (problem,) = _problems(_folder(tmp_path, _config(crs="EPSG:32610")))
    assert _without_line(problem).startswith("crs: EPSG:32610 (WGS 84 / UTM zone 10N) is meant for a place ")
    assert "use EPSG:32631 (UTM zone 31N), the UTM zone the map's data is in" in problem


def test_a_non_metric_crs_suggests_the_data_zone(tmp_path: Path) -> None:
    (problem,) = _problems(_folder(tmp_path, _config(crs="EPSG:4326")))
    assert "not a metric projected CRS" in problem and "EPSG:32631" in problem


def test_a_right_crs_does_not_ask_projs_database_for_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The UTM zone (a PROJ database query, a fifth of a second) is looked up only to correct a wrong CRS."""
    import twin.city.config as config_module

    asked: list[tuple[float, float]] = []

    def counting(lon: float, lat: float) -> tuple[int, str]:
        asked.append((lon, lat))
        return utm_epsg(lon, lat)

    monkeypatch.setattr(config_module, "utm_epsg", counting)
    assert load_city_config(MAPS / "andorra").crs == "EPSG:32631"
    assert asked == []
    assert config_module._crs_problems("EPSG:4326", Extent(1.4, 42.4, 1.6, 42.6, "test"))
    assert asked == [(1.5, 42.5)]


def test_population_as_a_number_gets_the_right_form_and_no_class_name(tmp_path: Path) -> None:
    (problem,) = _problems(_folder(tmp_path, _config(population=2000)))
    assert _without_line(problem).startswith(
        "population: expected a mapping of keys, got 2000 (a number); e.g. population: {"
    )
    assert "areas: [{name: Old Town, population: 12000, centre: [" in problem
    assert "PopulationSpec" not in problem and "instance" not in problem


def test_a_shelter_given_by_name_gets_the_right_form(tmp_path: Path) -> None:
    problems = [_without_line(p) for p in _problems(_folder(tmp_path, _config(shelters=["Escola Andorrana"])))]
    assert problems == [
        "shelters[0]: expected a mapping of keys, got 'Escola Andorrana' (text); e.g. shelters: "
        "[{name: Sports hall, osm_id: 334464445, capacity: 800}]"
    ]


def test_every_problem_comes_in_one_report(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        _config(
            crs="EPSG:32610",
            population=2000,
            shelters=[{"name": "Hall", "capacity": 10}, {"name": "Gym", "capacity": 5, "at": [42.506, 1.52]}],
            dem="missing.tif",
            min_dem_coverge=0.9,
        ),
    )
    problems = _problems(folder)
    text = "\n".join(problems)
    assert "dem: file missing.tif not found" in text
    assert "crs: EPSG:32610" in text and "EPSG:32631" in text
    assert "population: expected a mapping of keys, got 2000" in text
    assert "shelters[0]: give exactly one of osm_id (way or node id) or at: [lon, lat]" in text
    assert "shelters[1].at (Gym): [42.506, 1.52] is " in text and "swapped" in text
    assert "min_dem_coverge: unknown key; did you mean 'min_dem_coverage'?" in text
    assert len(problems) == 6
    assert all("Spec" not in p and "Config" not in p for p in problems)


def test_the_shipped_maps_validate() -> None:
    for name in ("andorra", "monaco", "portland", "porto-alegre"):
        load_city_config(MAPS / name)


def test_schema_documents_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--city"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(city_json_schema()))
    assert set(schema["required"]) == {"name", "osm", "dem", "crs", "population"}
    reference = (Path(__file__).resolve().parents[1] / "docs" / "city-yaml.md").read_text()
    for name, field in CityConfig.model_fields.items():
        assert field.description, name
        assert f"`{name}`" in reference, f"docs/city-yaml.md does not describe {name}"


def _without_line(problem: str) -> str:
    """A problem without the ``.../city.yaml:12 `` the reader puts before a key it can place in the file."""
    return re.sub(r"^\S*city\.yaml:\d+ ", "", problem)
