"""twin map init: a map folder and a city.yaml that builds and runs as written, from .osm, .osm.bz2 or .osm.pbf."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import osmium
import pytest
import yaml

from tests.conftest import MAPS
from twin.city.build import load_city
from twin.city.config import load_city_config
from twin.city.extract import Element, Scan, classify, polygon_area_m2, scan_extract
from twin.city.mapinit import init_map, parse_bbox, read_population_csv, shelter_capacity
from twin.cli import main
from twin.errors import MapError

MONACO_OSM = MAPS / "monaco" / "monaco-2021.osm.bz2"
MONACO_DEM = MAPS / "monaco" / "monaco_srtm3.tif"
# Monaco-Ville and La Condamine: a quarter of the principality.
CLIP = (7.415, 43.728, 7.432, 43.740)


def _pbf(tmp_path: Path) -> Path:
    """Monaco's .osm.bz2 written as .osm.pbf with the same binding."""
    target = tmp_path / "monaco.osm.pbf"
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(MONACO_OSM)):
            writer.add(obj)
    return target


def test_polygon_area_against_a_hand_computed_square() -> None:
    # 0.001 x 0.001 degrees on the equator: (2 pi R / 360 x 0.001)^2 = 111.19508^2 = 12,364.35 m2
    lon = np.array([0.0, 0.001, 0.001, 0.0, 0.0])
    lat = np.array([0.0, 0.0, 0.001, 0.001, 0.0])
    assert polygon_area_m2(lon, lat) == pytest.approx(12_364.35, rel=1e-5)


def test_shelter_capacity_is_floor_area_over_the_sphere_minimum() -> None:
    hall = Element("sports_hall", "way", 7, "Hall", 1.0, 42.0, building=True, footprint_m2=700.0, levels=2.0)
    floor, how = shelter_capacity(hall, Scan())
    assert floor == 1400.0 and how == "2 levels"  # 1,400 m2 / 3.5 m2 a person = 400 places
    point = Element("school", "node", 8, "School", 1.0, 42.0, building=False)
    assert math.isnan(shelter_capacity(point, Scan())[0])


def test_classify_follows_the_osm_tags() -> None:
    assert classify({"amenity": "school"}) == "school"
    assert classify({"building": "sports_hall"}) == "sports_hall"
    assert classify({"healthcare": "hospital"}) == "hospital"
    assert classify({"power": "substation"}) == "substation"
    assert classify({"amenity": "community_centre"}) == "community_centre"
    assert classify({"amenity": "bench"}) is None


def test_bad_clip_and_population_csv_say_every_problem(tmp_path: Path) -> None:
    with pytest.raises(MapError) as info:
        parse_bbox("42.5,1.5,42.6,1.6x")
    assert "not four numbers" in str(info.value)
    with pytest.raises(MapError) as info:
        parse_bbox("1.6,42.6,1.5,42.5")
    assert len(info.value.problems) == 2 and "e.g. 1.47,42.45,1.59,42.55" in str(info.value)
    csv = tmp_path / "areas.csv"
    csv.write_text("name,population,lon,lat\nA,12x,1.5,42.5\nB,-4,1.5,42.5\nC,100,1.52,42.51\n")
    with pytest.raises(MapError) as info:
        read_population_csv(csv)
    assert [p.split(":")[0] for p in info.value.problems] == ["line 2", "line 3"]


def test_init_without_residents_or_a_dem_of_the_area_says_both(tmp_path: Path) -> None:
    osm = tmp_path / "street.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        '<node id="1" lat="42.5060" lon="1.5200"/><node id="2" lat="42.5060" lon="1.5210"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way></osm>'
    )
    with pytest.raises(MapError) as info:
        init_map(tmp_path / "town", osm, MONACO_DEM)
    problems = info.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("--dem: monaco_srtm3.tif covers 0% of the roads (")
    assert "give --population N" in problems[1] and "--population-csv" in problems[1]
    assert "boundary relation with its population tag" in problems[1]


def test_scan_reads_pbf_as_xml(tmp_path: Path) -> None:
    from_xml, from_pbf = scan_extract(MONACO_OSM), scan_extract(_pbf(tmp_path))
    assert from_xml.road_bounds == from_pbf.road_bounds and from_xml.highway_ways == from_pbf.highway_ways > 2000
    assert from_xml.buildings == from_pbf.buildings > 1000
    kinds = [e.kind for e in from_xml.elements]
    assert kinds.count("hospital") == 6 and kinds.count("fire_station") == 2 and kinds.count("substation") == 2


@pytest.mark.slow
def test_init_monaco_builds_and_runs_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twin.run import run_scenario
    from twin.scenario import load_scenario

    folder = tmp_path / "monaco"
    argv = ["map", "init", str(folder), "--osm", str(MONACO_OSM), "--dem", str(MONACO_DEM), "--population", "38000"]
    assert main(argv) == 0
    assert f"next: twin map check {folder}" in capsys.readouterr().out
    text = (folder / "city.yaml").read_text()
    assert "crs: EPSG:32632" in text and "ASSUMED" in text and "osm_id: 176684621" in text
    config = load_city_config(folder)
    assert config.dem_nodata == -32768 and config.population.areas[0].population == 38000
    city = load_city(folder, cache_dir=tmp_path / "cache")
    assert city.population == 38000 and len(city.facilities[city.facilities["kind"] == "shelter"]) == 4
    assert main(["map", "init", str(folder), "--osm", str(MONACO_OSM), "--dem", str(MONACO_DEM)]) == 1
    assert "exists; give another folder, or --force" in capsys.readouterr().err
    spec = load_scenario(MAPS.parent / "scenarios" / "andorra-baseline.yaml", [f"map={folder}"])
    results = run_scenario(spec, until="30min", out=tmp_path / "run")
    assert (tmp_path / "run" / "report.html").is_file() and results is not None


@pytest.mark.slow
def test_init_clips_a_pbf_and_the_dem_and_the_result_builds(tmp_path: Path) -> None:
    folder = tmp_path / "condamine"
    result = init_map(folder, _pbf(tmp_path), MONACO_DEM, population=9000, name="La Condamine", clip=CLIP)
    assert result.osm_file == "monaco.osm.bz2"
    raw = yaml.safe_load((folder / "city.yaml").read_text())
    assert raw["name"] == "La Condamine" and raw["crs"] == "EPSG:32632"
    box = osmium.FileProcessor(str(folder / "monaco.osm.bz2")).header.box()
    assert (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat) == pytest.approx(CLIP)
    scan = scan_extract(folder / "monaco.osm.bz2")
    assert scan.road_bounds is not None
    lon_min, lat_min, lon_max, lat_max = scan.road_bounds
    # the roads fill the box (complete ways keep the nodes of roads that leave it, so they may reach beyond)
    assert lon_min < CLIP[0] + 0.001 and lat_min < CLIP[1] + 0.001
    assert lon_max > CLIP[2] - 0.001 and lat_max > CLIP[3] - 0.001
    assert scan.highway_ways < scan_extract(MONACO_OSM).highway_ways
    city = load_city(folder, cache_dir=tmp_path / "cache")
    assert city.population == 9000 and city.dem_coverage > 0.95


def test_missing_inputs_are_all_reported_by_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["map", "init", str(tmp_path / "town"), "--osm", "gone.osm.pbf", "--dem", "gone.tif", "--population", "9"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--osm: gone.osm.pbf not found" in err and "--dem: gone.tif not found" in err and "Traceback" not in err
    assert main([*argv, "--clip", "1,2,3"]) == 1
    assert "--clip: '1,2,3' is not four numbers" in capsys.readouterr().err


def _square(way_id: int, first_node: int, box: tuple[float, float, float, float]) -> tuple[str, str]:
    """OSM XML nodes and a closed way around a lon/lat box."""
    w, s, e, n = box
    corners = [(w, s), (e, s), (e, n), (w, n)]
    nodes = "".join(f'<node id="{first_node + i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in enumerate(corners))
    refs = "".join(f'<nd ref="{first_node + i}"/>' for i in [0, 1, 2, 3, 0])
    return nodes, f'<way id="{way_id}">{refs}</way>'


def _town_with_boundaries(path: Path) -> Path:
    """Three streets in Monaco spanning lon 7.420..7.430, lat 43.730..43.740, inside two tagged boundaries.

    The commune (lon 7.420..7.440, population 8,000) covers exactly half its area with the streets' box;
    the country around it (population 100,000) is larger, so the commune is the one taken.
    """
    streets = [
        ((7.420, 43.730), (7.425, 43.735)),
        ((7.425, 43.735), (7.430, 43.740)),
        ((7.422, 43.738), (7.428, 43.732)),
    ]
    nodes, ways = [], []
    for i, (a, b) in enumerate(streets):
        nodes.append(
            f'<node id="{10 + 2 * i}" lat="{a[1]}" lon="{a[0]}"/><node id="{11 + 2 * i}" lat="{b[1]}" lon="{b[0]}"/>'
        )
        ways.append(
            f'<way id="{100 + i}"><nd ref="{10 + 2 * i}"/><nd ref="{11 + 2 * i}"/>'
            '<tag k="highway" v="residential"/></way>'
        )
    commune_nodes, commune_way = _square(200, 1000, (7.420, 43.730, 7.440, 43.740))
    country_nodes, country_way = _square(201, 2000, (7.400, 43.720, 7.460, 43.760))
    relations = (
        '<relation id="300"><member type="way" ref="200" role="outer"/><tag k="type" v="boundary"/>'
        '<tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/><tag k="name" v="Commune"/>'
        '<tag k="population" v="8 000"/></relation>'
        '<relation id="301"><member type="way" ref="201" role="outer"/><tag k="type" v="boundary"/>'
        '<tag k="boundary" v="administrative"/><tag k="admin_level" v="2"/><tag k="name" v="Country"/>'
        '<tag k="population" v="100000"/></relation>'
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        + "".join(nodes)
        + commune_nodes
        + country_nodes
        + "".join(ways)
        + commune_way
        + country_way
        + relations
        + "</osm>"
    )
    return path


def test_area_from_boundaries_takes_the_smallest_enclosing_one_weighted_by_area() -> None:
    import shapely

    from twin.city.extract import Boundary
    from twin.city.mapinit import area_from_boundaries

    box = (7.420, 43.730, 7.430, 43.740)
    commune = Boundary(
        "Commune (boundary=administrative)", "relation", 300, 8000, shapely.box(7.420, 43.730, 7.440, 43.740)
    )
    country = Boundary(
        "Country (boundary=administrative)", "relation", 301, 100_000, shapely.box(7.40, 43.72, 7.46, 43.76)
    )
    away = Boundary("Away (place=town)", "way", 5, 50, shapely.box(8.0, 44.0, 8.1, 44.1))
    residents = area_from_boundaries([country, away, commune], box)
    assert residents is not None
    # two lon strips of equal width over the same latitudes have equal areas: half of 8,000
    assert [(a.name, a.population, a.lon, a.lat) for a in residents.areas] == [("Commune", 4000, 7.425, 43.735)]
    assert residents.source.startswith("ASSUMED") and "relation 300" in residents.source and "50%" in residents.source
    assert area_from_boundaries([away], box) is None


def test_init_takes_residents_from_the_enclosing_boundary_and_the_time_zone(tmp_path: Path) -> None:
    osm = _town_with_boundaries(tmp_path / "town.osm")
    result = init_map(tmp_path / "town", osm, MONACO_DEM)
    assert [(a.name, a.population) for a in result.areas] == [("Commune", 4000)]
    text = (tmp_path / "town" / "city.yaml").read_text()
    assert "ASSUMED: OSM population tag of Commune (boundary=administrative, admin_level 8)" in text
    config = load_city_config(tmp_path / "town")
    assert config.timezone == "Europe/Monaco" and "timezone" not in result.assumed
    assert config.population.areas[0].population == 4000


def test_detect_timezone_from_the_boundaries_of_the_zones() -> None:
    from twin.city.mapinit import detect_timezone

    assert detect_timezone(1.5218, 42.5063) == "Europe/Andorra"
    assert detect_timezone(-122.675, 45.52) == "America/Los_Angeles"
    assert detect_timezone(106.55, 29.56) == "Asia/Shanghai"  # Chongqing
    assert detect_timezone(-30.0, 0.0) is None  # mid-Atlantic: no city's zone


@pytest.mark.slow
def test_init_portland_builds_and_runs_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A roads-only extract with negative (JOSM) ids, no population tags and a 10 m DEM, as a new user brings it."""
    from twin.run import run_scenario
    from twin.scenario import load_scenario

    folder = tmp_path / "portland"
    osm, dem = MAPS / "portland" / "portland-central.osm.bz2", MAPS / "portland" / "portland-ned.tif"
    assert main(["map", "init", str(folder), "--osm", str(osm), "--dem", str(dem)]) == 1
    assert "give --population N" in capsys.readouterr().err  # no boundary or place tags a population
    assert main(["map", "init", str(folder), "--osm", str(osm), "--dem", str(dem), "--population", "60000"]) == 0
    config = load_city_config(folder)
    assert config.crs == "EPSG:32610" and config.timezone == "America/Los_Angeles"
    assert config.dem_nodata == -999999 and config.population.method == "roads"
    city = load_city(folder, cache_dir=tmp_path / "cache")
    assert city.population == 60000 and city.drive.n_nodes > 5000
    # the shipped scenario is set in Andorra's zone: the one map init detected is the one to give it
    overrides = [f"map={folder}", f"timezone={config.timezone}"]
    spec = load_scenario(MAPS.parent / "scenarios" / "andorra-baseline.yaml", overrides)
    results = run_scenario(spec, until="30min", out=tmp_path / "run")
    assert (tmp_path / "run" / "report.html").is_file() and results is not None
