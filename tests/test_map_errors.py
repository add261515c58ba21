"""Bad map input: a MapError naming the file, the problem and the fix; the CLI prints it and exits 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import MAPS
from twin.city.build import load_city
from twin.cli import main
from twin.errors import MapError

# A small square of two-way streets in Andorra la Vella (inside the shipped DEM).
NODES = {1: (1.5200, 42.5060), 2: (1.5210, 42.5060), 3: (1.5210, 42.5068), 4: (1.5200, 42.5068)}


def _osm_xml(nodes: dict[int, tuple[float, float]], highway: bool = True) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    tag = '<tag k="highway" v="residential"/>' if highway else '<tag k="building" v="yes"/>'
    lines.append(f'<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>{tag}</way>')
    lines.append(f'<way id="11"><nd ref="3"/><nd ref="4"/><nd ref="1"/>{tag}</way>')
    # the two diagonals make every node a junction (osmnx drops a bare ring when simplifying)
    lines.append(f'<way id="12"><nd ref="1"/><nd ref="3"/>{tag}</way>')
    lines.append(f'<way id="13"><nd ref="2"/><nd ref="4"/>{tag}</way>')
    return "\n".join([*lines, "</osm>"])


def _config(**changes: object) -> dict[str, object]:
    config: dict[str, object] = {
        "name": "mini",
        "osm": "mini.osm",
        "dem": "dem.tif",
        "crs": "EPSG:32631",
        "dem_nodata": -32768,
        "population": {
            "method": "roads",
            "areas": [{"name": "centre", "population": 100, "centre": [1.5205, 42.5064]}],
        },
    }
    config.update(changes)
    return config


@pytest.fixture
def mini_map(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "mini.osm").write_text(_osm_xml(NODES))
    shutil.copy(MAPS / "andorra" / "andorra_valira_srtm3.tif", folder / "dem.tif")
    (folder / "city.yaml").write_text(yaml.safe_dump(_config()))
    return folder


def _write_config(folder: Path, **changes: object) -> None:
    (folder / "city.yaml").write_text(yaml.safe_dump(_config(**changes)))


def _error(folder: Path, tmp_path: Path) -> str:
    with pytest.raises(MapError) as info:
        load_city(folder, cache_dir=tmp_path / "cache")
    return str(info.value)


def test_the_mini_map_builds(mini_map: Path, tmp_path: Path) -> None:
    city = load_city(mini_map, cache_dir=tmp_path / "cache")
    assert city.drive.n_nodes == 4 and city.population == 100


def test_missing_folder(tmp_path: Path) -> None:
    assert "map folder not found" in _error(tmp_path / "nowhere", tmp_path)


def test_missing_city_yaml(mini_map: Path, tmp_path: Path) -> None:
    (mini_map / "city.yaml").unlink()
    message = _error(mini_map, tmp_path)
    assert "city.yaml: missing" in message and "maps/andorra/city.yaml" in message


def test_missing_files_are_all_reported(mini_map: Path, tmp_path: Path) -> None:
    _write_config(mini_map, osm="gone.osm.bz2", dem="gone.tif")
    message = _error(mini_map, tmp_path)
    assert "osm: file gone.osm.bz2 not found" in message and "dem: file gone.tif not found" in message


def test_unreadable_osm(mini_map: Path, tmp_path: Path) -> None:
    (mini_map / "mini.osm").write_text("this is not xml <")
    message = _error(mini_map, tmp_path)
    assert "mini.osm: not a readable OSM XML file" in message


def test_a_pbf_extract_builds_like_its_xml(mini_map: Path, tmp_path: Path) -> None:
    import osmium

    with osmium.SimpleWriter(str(mini_map / "mini.osm.pbf")) as writer:
        for obj in osmium.FileProcessor(str(mini_map / "mini.osm")):
            writer.add(obj)
    from_xml = load_city(mini_map, cache_dir=tmp_path / "cache")
    _write_config(mini_map, osm="mini.osm.pbf")
    from_pbf = load_city(mini_map, cache_dir=tmp_path / "cache")
    assert from_pbf.map_hash != from_xml.map_hash
    assert from_pbf.drive.links.equals(from_xml.drive.links) and from_pbf.homes.equals(from_xml.homes)


def test_unreadable_pbf(mini_map: Path, tmp_path: Path) -> None:
    (mini_map / "mini.osm.pbf").write_bytes(b"\x00\x01")
    _write_config(mini_map, osm="mini.osm.pbf")
    assert "mini.osm.pbf: not a readable OSM PBF file" in _error(mini_map, tmp_path)


def test_osm_without_roads(mini_map: Path, tmp_path: Path) -> None:
    (mini_map / "mini.osm").write_text(_osm_xml(NODES, highway=False))
    assert "has no highway ways" in _error(mini_map, tmp_path)


def test_dem_below_the_coverage_threshold_says_the_share(mini_map: Path, tmp_path: Path) -> None:
    far = {i: (lon - 0.5, lat) for i, (lon, lat) in NODES.items()}  # west of the DEM tile
    (mini_map / "mini.osm").write_text(_osm_xml(far))
    _write_config(
        mini_map,
        population={"method": "roads", "areas": [{"name": "c", "population": 10, "centre": [1.0205, 42.5064]}]},
    )
    message = _error(mini_map, tmp_path)
    assert "covers only 0.0% of the road nodes" in message and "min_dem_coverage" in message


def test_crs_that_is_not_metric(mini_map: Path, tmp_path: Path) -> None:
    _write_config(mini_map, crs="EPSG:4326")
    message = _error(mini_map, tmp_path)
    assert "crs: EPSG:4326 is not a metric projected CRS" in message and "UTM" in message


def test_unknown_key_suggests_the_right_one(mini_map: Path, tmp_path: Path) -> None:
    _write_config(mini_map, min_dem_coverge=0.9)
    assert "min_dem_coverge: unknown key; did you mean 'min_dem_coverage'?" in _error(mini_map, tmp_path)


def test_wrong_values_are_all_reported(mini_map: Path, tmp_path: Path) -> None:
    _write_config(
        mini_map, min_dem_coverage=1.5, population={"areas": [{"name": "c", "population": -3, "centre": [1.52, 42.5]}]}
    )
    message = _error(mini_map, tmp_path)
    assert "min_dem_coverage: Input should be less than or equal to 1, got 1.5" in message
    assert "population.areas[0].population: Input should be greater than or equal to 0, got -3" in message


def test_yaml_that_is_not_a_mapping(mini_map: Path, tmp_path: Path) -> None:
    (mini_map / "city.yaml").write_text("- just\n- a list\n")
    assert "must be a mapping" in _error(mini_map, tmp_path)


def test_shelter_not_in_the_extract(mini_map: Path, tmp_path: Path) -> None:
    _write_config(mini_map, shelters=[{"name": "School", "osm_id": 999, "capacity": 100}])
    assert "shelters[0] (School): OSM element 999 is not in the extract" in _error(mini_map, tmp_path)


def test_cli_prints_the_error_without_traceback(
    mini_map: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_config(mini_map, crs="EPSG:4326")
    assert main(["map", "info", str(mini_map), "--cache", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "not a metric projected CRS" in err


def test_cli_map_info_json(mini_map: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["map", "info", str(mini_map), "--json", "--cache", str(tmp_path / "cache")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["drivable_nodes"] == 4 and info["population"] == 100 and info["dem_coverage"] == 1.0
