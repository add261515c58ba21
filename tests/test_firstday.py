"""A new user's first day on the maps twin was not tuned on (Monaco, a clipped town): regressions of what broke."""

from __future__ import annotations

import pandas as pd

from twin.city.build import City
from twin.city.config import LifelinesSpec
from twin.hazards.gridindex import point_cells
from twin.lifelines.networks import _site_rows


def test_synthesised_cell_sites_stand_at_homes_one_per_occupied_grid_square() -> None:
    # Two hamlets 3 km apart on a 1,500 m grid: the west one's three homes (one person each) fill the square of
    # grid point (0, 0), centroid (100, 0), a home; the east one's homes (3 and 1 people) fill the square of
    # (3000, 0), centroid (3000, 150), whose nearest home is (3000, 0). Two sites, not the six grid points
    # within 2 km of a home that stood before (three of them in squares without anyone).
    homes = pd.DataFrame(
        {"x": [0.0, 100.0, 200.0, 3000.0, 3000.0], "y": [0.0, 0.0, 0.0, 0.0, 600.0], "population": [1, 1, 1, 3, 1]}
    )
    sites = _site_rows(pd.DataFrame({"kind": pd.Series([], dtype=str)}), homes, LifelinesSpec())
    assert sites[["x", "y"]].to_numpy().tolist() == [[100.0, 0.0], [3000.0, 0.0]]
    assert sites["name"].tolist() == ["cell site 1", "cell site 2"]
    assert sites["assumed"].all()


def test_monacos_synthesised_cell_sites_stand_on_land_inside_the_dem(monaco_city: City) -> None:
    # Before, 2 of Monaco's 11 synthesised sites stood outside the DEM and 3 on the sea (HAND 0, elevation 0):
    # grid points within 2 km of a home, out in the Mediterranean.
    facilities = monaco_city.facilities
    sites = facilities[(facilities["kind"] == "mast") & facilities["assumed"]]
    assert len(sites)
    terrain = monaco_city.terrain
    cells = point_cells(terrain.transform, terrain.elevation_m.shape, sites["x"], sites["y"])
    assert (cells >= 0).all()
    sea_level = monaco_city.config.hydrology.sea_level_m or 0.0
    assert (terrain.elevation_m.ravel()[cells] > sea_level).all()
    assert not any("outside the elevation model" in w and "cell site" in w for w in monaco_city.warnings())


def test_city_yaml_of_an_extract_without_hospitals_does_not_say_every_hospital_has_beds() -> None:
    # A clip of Andorra round Encamp holds no hospital: its city.yaml said "every hospital is tagged with beds".
    from types import SimpleNamespace

    from twin.city.mapinit import _hospital_lines

    lines = _hospital_lines(SimpleNamespace(elements=[]), [])
    assert lines[0].startswith("# Hospitals in the extract: 0.")
    assert "hospital_beds: []" in lines and not any("every hospital" in line for line in lines)
    assert any("no hospital" in line and "extra_facilities" in line for line in lines)


def test_andorras_bridge_and_demand_scenario_on_monaco_says_what_monaco_lacks(monaco_city: City) -> None:
    # "the map has: " ended the bridge message with nothing on a map without named rivers, and the demand's
    # message pointed at `twin map info`, which lists no node ids, without saying every row was foreign.
    import pytest

    from tests.conftest import MAPS
    from twin.errors import ScenarioError
    from twin.scenario import load_scenario
    from twin.sim.model import CityModel

    scenario = MAPS.parent / "scenarios" / "andorra-evacuation-drill.yaml"
    spec = load_scenario(scenario, [f"map={MAPS / 'monaco'}", "timezone=Europe/Monaco"])
    with pytest.raises(ScenarioError) as info:
        CityModel(monaco_city, spec)
    message = str(info.value)
    assert "the map has no named rivers or streams; select the bridges by street or osm_ways instead" in message
    assert "the map has: \n" not in message + "\n" and "twin map info" not in message
    trips = len(pd.read_csv(scenario.parent / "andorra-evacuation-drill-trips.csv"))
    assert f"of {trips} rows) are not junctions of the drivable network of this map" in message
    assert "load_city(MAP).drive.nodes['osm_id']" in message


def test_synthesised_signals_stand_where_major_roads_meet_not_where_side_streets_join() -> None:
    # Nodes: a primary cross at 0 (arms 1-4, two-way); a primary road 5-6-7 with a residential side street 6-8.
    # Node 0 leads four major ways: a signal. Node 6 leads two major ways (plus the side street): before, its four
    # major link ends and degree 6 made it a "crossing" with a signal.
    from types import SimpleNamespace

    from twin.lifelines.networks import _signal_rows

    one_way = [(0, 1), (0, 2), (0, 3), (0, 4), (5, 6), (6, 7), (6, 8)]
    kinds = ["primary"] * 6 + ["residential"]
    src = [a for a, _ in one_way] + [b for _, b in one_way]
    dst = [b for _, b in one_way] + [a for a, _ in one_way]
    links = pd.DataFrame({"src": src, "dst": dst, "highway": kinds * 2, "oneway": False})
    nodes = pd.DataFrame({"x": [float(i) * 100 for i in range(9)], "y": [0.0] * 9})
    drive = SimpleNamespace(links=links, nodes=nodes, n_nodes=9)
    signals = _signal_rows(pd.DataFrame({"kind": pd.Series([], dtype=str)}), drive)
    assert signals[["x", "y"]].to_numpy().tolist() == [[0.0, 0.0]]
    assert signals["name"].tolist() == ["junction signal 1"]
    # A one-way ramp 9 -> 10 merging into a one-way carriageway 11 -> 10 -> 12 at node 10: three major
    # neighbours, all one-way, no junction; made two-way, the ramp makes node 10 a T of major roads.
    ramp = pd.DataFrame(
        {"src": [9, 11, 10], "dst": [10, 10, 12], "highway": ["trunk_link", "trunk", "trunk"], "oneway": True}
    )
    nodes13 = pd.DataFrame({"x": [float(i) * 100 for i in range(13)], "y": [0.0] * 13})
    merge = SimpleNamespace(links=pd.concat([links, ramp], ignore_index=True), nodes=nodes13, n_nodes=13)
    assert len(_signal_rows(pd.DataFrame({"kind": pd.Series([], dtype=str)}), merge)) == 1
    ramp.loc[0, "oneway"] = False
    tee = SimpleNamespace(links=pd.concat([links, ramp], ignore_index=True), nodes=nodes13, n_nodes=13)
    signals = _signal_rows(pd.DataFrame({"kind": pd.Series([], dtype=str)}), tee)
    assert signals["x"].tolist() == [0.0, 1000.0]
