"""Sirens (twin.city.sirens): OSM emergency=siren read by the build, heard within range, silent without power;
synthesised and listed as assumed in the map check when the map has none."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import MAPS, scenario_of
from tests.test_map_errors import NODES, _config, _osm_xml
from twin.city.build import City, load_city
from twin.city.check import check_city
from twin.city.sirens import SIREN_RANGE_M, hearing, sirens_of
from twin.residents.phase import ResidentsPhase

# 0.0060 deg of latitude north of the square's north side (42.5068): 666 m at 42.5 N (111,084 m per degree), inside
# the 700 m range; its south side (42.5060) is 0.0068 deg, 755 m, beyond it.
SIREN_LONLAT = (1.5200, 42.5128)


def _mini(tmp_path: Path, siren: bool) -> Path:
    folder = tmp_path / ("with-siren" if siren else "no-siren")
    folder.mkdir()
    xml = _osm_xml(NODES)
    if siren:
        lon, lat = SIREN_LONLAT
        node = f'<node id="99" lat="{lat}" lon="{lon}"><tag k="emergency" v="siren"/><tag k="name" v="Nord"/></node>'
        xml = xml.replace("<way ", node + "\n<way ", 1)
    (folder / "mini.osm").write_text(xml)
    shutil.copy(MAPS / "andorra" / "andorra_valira_srtm3.tif", folder / "dem.tif")
    (folder / "city.yaml").write_text(yaml.safe_dump(_config()))
    return folder


@pytest.fixture(scope="module")
def siren_city(tmp_path_factory: pytest.TempPathFactory) -> City:
    tmp = tmp_path_factory.mktemp("sirens")
    return load_city(_mini(tmp, siren=True), cache_dir=tmp / "cache")


def test_the_build_reads_an_osm_siren_and_the_nodes_within_range_hear_it(siren_city: City) -> None:
    rows = siren_city.facilities[siren_city.facilities["kind"] == "siren"]
    assert len(rows) == 1 and rows["name"].tolist() == ["Nord"] and rows["osm_id"].tolist() == [99]
    sirens = sirens_of(siren_city)
    assert not sirens.assumed and sirens.count == 1
    heard = hearing(sirens, np.ones(siren_city.walk.n_nodes, dtype=bool))
    lat = siren_city.walk.nodes["lat"].to_numpy(float)
    # the two northern corners (666 m and 671 m away) hear it, the two southern (755 m and 759 m) do not
    assert heard.tolist() == (lat > 42.5064).tolist() and heard.sum() == 2
    distance = np.hypot(*(siren_city.walk.nodes[["x", "y"]].to_numpy(float) - sirens.xy[0]).T)
    assert (distance[heard] <= SIREN_RANGE_M).all() and (distance[~heard] > SIREN_RANGE_M).all()


def test_a_siren_whose_power_is_down_reaches_nobody(siren_city: City) -> None:
    sirens = sirens_of(siren_city)
    power = np.ones(siren_city.walk.n_nodes, dtype=bool)
    power[sirens.node] = False  # the siren's own zone is cut off; every listener's home still has power
    assert not hearing(sirens, power).any()
    power = np.zeros(siren_city.walk.n_nodes, dtype=bool)
    power[sirens.node] = True  # the siren has power, the listeners' homes do not: they still hear it
    assert hearing(sirens, power).sum() == 2


def test_the_residents_siren_channel_follows_the_power_at_the_siren(siren_city: City, tmp_path: Path) -> None:
    data = {"name": "s", "map": str(MAPS / "andorra"), "start": "2025-10-14T06:00", "duration": "1h", "step": "5min"}
    spec = scenario_of(tmp_path, {**data, "residents": {}})  # the scenario's map is not read: the phase gets the City
    phase = ResidentsPhase(siren_city, spec, np.random.default_rng(0))
    n = siren_city.walk.n_nodes
    served = {name: np.ones(n, dtype=bool) for name in ("power", "water", "telecom", "health")}
    assert phase.reachable(served)["siren"].sum() == 2
    served["power"][phase.sirens.node] = False
    reach = phase.reachable(served)
    assert not reach["siren"].any() and reach["tv_radio"].sum() == n - 1


def test_the_map_check_lists_synthesised_sirens_as_assumed_and_mapped_ones_by_coverage(
    siren_city: City, tmp_path: Path
) -> None:
    plain = load_city(_mini(tmp_path, siren=False), cache_dir=tmp_path / "cache")
    assert sirens_of(plain).assumed and sirens_of(plain).count == 1  # one grid point within 500 m of the homes
    found = {(f.part, f.text.split(":")[0]) for f in check_city(plain)}
    assert ("lacks", "no outdoor warning sirens (OSM emergency=siren)") in found
    assert ("synthesised", "sirens") in found
    synthesised = [f.text for f in check_city(plain) if f.text.startswith("sirens:")]
    assert synthesised[0].startswith("sirens: 1 on a 1 km grid over the homes, each heard within 700 m")
    mapped = [f for f in check_city(siren_city) if "siren" in f.text]
    # the homes along the southern streets are beyond its range; the siren stands 666 m from the nearest road
    assert [f.part for f in mapped] == ["coverage", "coverage"]
    assert "beyond 700 m of every siren (1 mapped)" in mapped[1].text and mapped[0].text.startswith("siren 'Nord' is")
