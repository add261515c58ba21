"""The City compiled from real maps: sizes, elevations, people, facilities, the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import scipy.sparse.csgraph as csgraph

from tests.conftest import MAPS
from twin.city.build import City


def test_andorra_drivable_network_follows_the_recipe(andorra_city: City) -> None:
    drive = andorra_city.drive
    # osmnx drive_service classes, largest strongly connected component: about 3,000 nodes on Andorra.
    assert 2800 <= drive.n_nodes <= 3300
    n_components, _ = csgraph.connected_components(
        drive.adjacency(drive.free_flow_time_s()), directed=True, connection="strong"
    )
    assert n_components == 1
    assert not drive.links["highway"].isin(["footway", "path", "steps", "track", "pedestrian"]).any()
    walk = andorra_city.walk
    assert walk.n_nodes > drive.n_nodes
    assert walk.links["highway"].isin(["footway", "steps"]).any()


def test_andorra_link_attributes_are_physical(andorra_city: City) -> None:
    links = andorra_city.drive.links
    assert (links["length_m"] > 0).all()
    assert links["speed_mps"].between(5 / 3.6, 130 / 3.6).all()
    assert (links["lanes"] >= 1).all()
    assert (links["capacity_veh_h"] >= 300).all()
    assert (links["storage_veh"] >= 1).all()
    # storage = length x lanes / jam spacing (7.5 m), at least one vehicle
    expected = np.maximum(1.0, links["length_m"] * links["lanes"] / 7.5)
    np.testing.assert_allclose(links["storage_veh"], expected)
    assert links["bridge"].any() and links["tunnel"].any()
    assert (links["osm_way"] > 0).all()


def test_andorra_road_nodes_have_elevations_in_the_dem_range(andorra_city: City) -> None:
    with rasterio.open(MAPS / "andorra" / "andorra_valira_srtm3.tif") as dem:
        raw = dem.read(1).astype(float)
    raw[raw == -32768] = np.nan
    for network in (andorra_city.drive, andorra_city.walk):
        elevation = network.nodes["elevation_m"].to_numpy()
        assert np.isfinite(elevation).all()
        assert elevation.min() >= np.nanmin(raw) - 1 and elevation.max() <= np.nanmax(raw) + 1
    # the valley floor of Andorra la Vella is near 1,000 m; the crop's roads climb above 2,000 m
    assert 850 < andorra_city.drive.nodes["elevation_m"].min() < 1000
    assert andorra_city.dem_coverage > 0.99


def test_andorra_population_sums_to_the_city_yaml_totals(andorra_city: City) -> None:
    homes = andorra_city.homes
    assert andorra_city.population == sum(a.population for a in andorra_city.config.population.areas) == 55_000
    for i, area in enumerate(andorra_city.config.population.areas):
        assert homes.loc[homes["area"] == i, "population"].sum() == area.population
    assert (homes["population"] > 0).all()
    assert homes["building"].isin(andorra_city.buildings.index).all()
    assert andorra_city.buildings.loc[homes["building"], "residential"].all()
    assert homes["drive_node"].between(0, andorra_city.drive.n_nodes - 1).all()


def test_andorra_facilities_and_lifelines_come_from_osm(andorra_city: City) -> None:
    counts = andorra_city.info()
    assert counts["facilities"]["hospital"] == 2  # an unnamed hospital point without beds is a clinic
    assert counts["facilities"]["fire_station"] >= 1
    assert counts["lifeline_components"]["substation"] >= 3
    assert counts["lifeline_components"]["transformer"] == 7
    assert counts["lifeline_components"]["tower"] == 286
    facilities = andorra_city.facilities
    shelters = facilities[facilities["kind"] == "shelter"]
    assert len(shelters) == len(andorra_city.config.shelters) and shelters["assumed"].all()
    beds = facilities.loc[facilities["osm_id"] == 194554955, "beds"]
    assert beds.iloc[0] == 200
    # both hospitals have their bed count (from OSM or city.yaml): none is invented
    assert not any("no bed count" in a for a in andorra_city.assumptions)
    on_the_map = facilities[facilities["group"] == "facility"]
    assert (on_the_map["drive_distance_m"] < 2000).all()


def test_cache_round_trip_gives_identical_tables(andorra_built_and_cached: tuple[City, City]) -> None:
    built, cached = andorra_built_and_cached
    assert built is not cached and built.map_hash == cached.map_hash
    for name in ("buildings", "homes", "facilities", "waterways"):
        pd.testing.assert_frame_equal(getattr(built, name), getattr(cached, name))
    for network in ("drive", "walk"):
        pd.testing.assert_frame_equal(getattr(built, network).nodes, getattr(cached, network).nodes)
        pd.testing.assert_frame_equal(getattr(built, network).links, getattr(cached, network).links)
    np.testing.assert_array_equal(built.terrain.elevation_m, cached.terrain.elevation_m)
    assert built.terrain.transform == cached.terrain.transform
    assert built.info() == cached.info()


def test_porto_alegre_roads_only_build_reports_its_assumptions(porto_alegre_city: City) -> None:
    city = porto_alegre_city
    assert city.buildings["residential"].sum() == 0 or city.config.population.method == "roads"
    assert city.population == 450_000
    assert (city.homes["building"] == -1).all()
    assert 0.95 < city.dem_coverage < 0.99  # 97.7% of nodes inside the DEM
    text = " ".join(city.assumptions)
    assert "no buildings" in text and "nearest valid elevation" in text
    assert city.counts("facility")["hospital"] == 4
    assert np.isfinite(city.walk.nodes["elevation_m"]).all()


@pytest.mark.parametrize(
    "key",
    [
        "nodes",
        "links",
        "drivable_nodes",
        "drivable_links",
        "buildings",
        "population",
        "dem_coverage",
        "elevation_m",
        "facilities",
        "lifeline_components",
        "assumptions",
    ],
)
def test_map_info_has_every_key(andorra_city: City, key: str) -> None:
    assert key in andorra_city.info()
