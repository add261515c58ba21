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

    lines = _hospital_lines(SimpleNamespace(elements=[]), [])  # type: ignore[arg-type]
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
