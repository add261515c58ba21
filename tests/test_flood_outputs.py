"""A flood run's planner outputs (twin.hazards.flood.outputs): GeoTIFF, PNG and GeoPackage layers, round-tripped."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely

from tests.conftest import MAPS
from twin.city.build import City
from twin.cli import MAP_LAYERS, main
from twin.hazards.flood.outputs import (
    CLOSED_LINK_COLUMNS,
    DAMAGED_BUILDING_COLUMNS,
    write_flood_outputs,
    write_grid_tif,
)
from twin.report.maps.city import LAYERS
from twin.report.maps.flood import draw_flood
from twin.sim.state import SimState


def _read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    assert pyogrio.list_layers(path)[:, 0].tolist() == [layer]
    return gpd.read_file(path, layer=layer, engine="pyogrio")


def _with_dem_hole(city: City) -> City:
    """The city with a block of cells outside the DEM (NaN elevation) in its north-west corner."""
    elevation = city.terrain.elevation_m.copy()
    elevation[:20, :30] = np.nan
    return replace(city, terrain=replace(city.terrain, elevation_m=elevation))


def _flooded_state(city: City) -> SimState:
    """Water up to 2 m deep along the lowest ground, no closures, no damage."""
    state = SimState.normal(city)
    hand = np.nan_to_num(city.hydrology.hand_m, nan=99.0)
    state.water_peak_m[:] = np.clip(2.0 - hand, 0.0, None)
    return state


# --- GeoTIFF --------------------------------------------------------------------------------------------


def test_peak_depth_geotiff_round_trips_with_crs_transform_and_nan_outside_the_dem(
    andorra_city: City, tmp_path: Path
) -> None:
    city = _with_dem_hole(andorra_city)
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.0, 4.0, city.terrain.elevation_m.shape).astype(np.float32)
    write_grid_tif(tmp_path / "depth.tif", city, depth, "peak water depth (m)", "m", "peak depth")
    with rasterio.open(tmp_path / "depth.tif") as src:
        assert src.count == 1 and src.dtypes[0] == "float32"
        assert src.crs == rasterio.crs.CRS.from_user_input(city.crs)
        assert src.transform == city.terrain.transform
        assert np.isnan(src.nodata) and src.compression == rasterio.enums.Compression.deflate
        read = src.read(1)
    outside = ~np.isfinite(city.terrain.elevation_m)
    assert np.isnan(read[outside]).all() and outside.sum() == 600
    np.testing.assert_array_equal(read[~outside], depth[~outside])
    assert [p.name for p in tmp_path.iterdir()] == ["depth.tif"]  # atomic: no temporary or sidecar left


# --- closed links -----------------------------------------------------------------------------------------


def test_closed_links_layer_lists_exactly_the_links_water_closed(andorra_city: City, tmp_path: Path) -> None:
    links = andorra_city.drive.links
    named = np.flatnonzero(links["name"].to_numpy(str) != "")[:3]
    ids = np.sort(np.concatenate([named, [0]]))
    state = SimState.normal(andorra_city)
    state.link_flood_closed_s[ids] = [600.0, 1200.0, 5400.0, 7200.0]
    state.link_flood_peak_m[ids] = [0.35, 0.5, 1.25, 0.31]
    state.link_flood_reopened_s[ids[1]] = 9000.0  # reopened for good
    state.link_flood_reopened_s[ids[2]] = 6000.0  # reopened, then closed again: still closed at the end
    state.link_closed_flood[ids[[0, 2, 3]]] = True
    state.link_closed_event[5] = True  # closed by an event, not by water: not listed
    written = write_flood_outputs(tmp_path, andorra_city, state, "test flood")
    assert written[:3] == ["flood_peak_depth.tif", "flood_peak_depth.png", "closed_links.gpkg"]
    layer = _read_layer(tmp_path / "closed_links.gpkg", "closed_links")
    assert list(layer.columns) == [*CLOSED_LINK_COLUMNS, "geometry"]
    assert layer["link"].tolist() == ids.tolist()
    assert layer["osm_way"].tolist() == links["osm_way"].to_numpy()[ids].tolist()
    assert layer["name"].tolist() == links["name"].to_numpy(str)[ids].tolist()
    assert layer["highway"].tolist() == links["highway"].to_numpy(str)[ids].tolist()
    assert layer["bridge"].tolist() == links["bridge"].to_numpy(bool)[ids].tolist()
    np.testing.assert_allclose(layer["closed_at_s"], [600.0, 1200.0, 5400.0, 7200.0])
    np.testing.assert_allclose(layer["closed_h"], np.array([600.0, 1200.0, 5400.0, 7200.0]) / 3600)
    np.testing.assert_allclose(layer["reopened_at_s"], [np.nan, 9000.0, np.nan, np.nan])
    np.testing.assert_allclose(layer["reopened_h"], [np.nan, 2.5, np.nan, np.nan])
    np.testing.assert_allclose(layer["peak_depth_m"], [0.35, 0.5, 1.25, 0.31])
    assert layer.crs == andorra_city.crs
    expected = shapely.from_wkb(links["geometry"].to_numpy(object)[ids])
    assert shapely.equals_exact(layer.geometry.to_numpy(), expected, tolerance=1e-6).all()
    assert not list(tmp_path.glob(".*"))  # nothing temporary left behind


def test_closed_links_layer_is_valid_when_nothing_closed(andorra_city: City, tmp_path: Path) -> None:
    write_flood_outputs(tmp_path, andorra_city, SimState.normal(andorra_city), "dry")
    info = pyogrio.read_info(tmp_path / "closed_links.gpkg", layer="closed_links")
    assert info["features"] == 0 and info["geometry_type"] == "LineString"
    assert list(info["fields"]) == list(CLOSED_LINK_COLUMNS)
    layer = _read_layer(tmp_path / "closed_links.gpkg", "closed_links")
    assert layer.empty and layer.crs == andorra_city.crs
    damaged = _read_layer(tmp_path / "damaged_buildings.gpkg", "damaged_buildings")
    assert damaged.empty and list(damaged.columns) == [*DAMAGED_BUILDING_COLUMNS, "geometry"]


# --- damaged buildings -----------------------------------------------------------------------------------


def test_damaged_buildings_carry_their_residents(andorra_city: City, tmp_path: Path) -> None:
    homes = andorra_city.homes
    per_building = homes[homes["building"] >= 0].groupby("building")["population"].sum()
    inhabited = per_building.index.to_numpy()[:4]
    empty = np.setdiff1d(np.arange(len(andorra_city.buildings)), per_building.index.to_numpy())[:2]
    chosen = np.sort(np.concatenate([inhabited, empty]))
    state = SimState.normal(andorra_city)
    state.building_damage[chosen] = 0.4
    state.building_peak_depth_m[chosen] = 1.0
    state.building_peak_depth_m[chosen[-1] + 1] = 0.05  # wet but undamaged: not listed
    written = write_flood_outputs(tmp_path, andorra_city, state, "test flood")
    assert written[-1] == "damaged_buildings.gpkg"
    layer = _read_layer(tmp_path / "damaged_buildings.gpkg", "damaged_buildings")
    buildings = andorra_city.buildings
    assert layer["osm_id"].tolist() == buildings["osm_id"].to_numpy()[chosen].tolist()
    assert layer["osm_type"].tolist() == buildings["osm_type"].to_numpy(str)[chosen].tolist()
    expected = pd.Series(per_building).reindex(chosen, fill_value=0).to_numpy()
    assert layer["residents"].tolist() == expected.tolist()
    assert layer["residents"].sum() == per_building.loc[inhabited].sum() > 0
    np.testing.assert_allclose(layer["damage_ratio"], 0.4)
    np.testing.assert_allclose(layer["peak_depth_m"], 1.0)
    assert layer.crs == andorra_city.crs and set(layer.geom_type) <= {"Polygon", "MultiPolygon"}


def test_roads_only_map_writes_no_building_layer(porto_alegre_city: City, tmp_path: Path) -> None:
    state = SimState.normal(porto_alegre_city)
    state.building_damage[:] = 0.5  # the extract's few buildings house nobody: still no layer
    written = write_flood_outputs(tmp_path, porto_alegre_city, state, "Guaiba flood")
    assert written == ["flood_peak_depth.tif", "flood_peak_depth.png", "closed_links.gpkg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)


# --- PNG ------------------------------------------------------------------------------------------------


def test_flood_png_shows_water_and_closed_roads(andorra_city: City, tmp_path: Path) -> None:
    state = _flooded_state(andorra_city)
    closed = np.arange(0, andorra_city.drive.n_links, 10)
    state.link_flood_closed_s[closed] = 1800.0
    write_flood_outputs(tmp_path, andorra_city, state, "Valira flood")
    out = tmp_path / "flood_peak_depth.png"
    assert out.stat().st_size > 200_000
    image = mpimg.imread(out)
    assert image.shape[1] == 1800 and 1500 <= image.shape[0] <= 1800
    rgb = (image[..., :3] * 255).astype(int)
    red = (rgb[..., 0] > 190) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    blue = (rgb[..., 2] > 120) & (rgb[..., 2] - rgb[..., 0] > 60)
    assert red.sum() > 2000 and blue.sum() > 20_000


def test_draw_flood_rejects_a_grid_of_the_wrong_shape_and_unknown_links(andorra_city: City, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="terrain grid"):
        draw_flood(andorra_city, np.zeros((3, 3)), np.array([], dtype=int), tmp_path / "x.png", "x")
    depth = np.zeros(andorra_city.terrain.elevation_m.shape)
    with pytest.raises(ValueError, match="closed link ids"):
        draw_flood(andorra_city, depth, np.array([andorra_city.drive.n_links]), tmp_path / "x.png", "x")
    assert not (tmp_path / "x.png").exists()


# --- CLI ------------------------------------------------------------------------------------------------


def test_map_show_hand_layer_writes_a_png(andorra_city: City, city_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "hand.png"
    args = ["map", "show", str(MAPS / "andorra"), "--cache", str(city_cache), "--out", str(out), "--layer", "hand"]
    assert main(args) == 0
    assert out.stat().st_size > 200_000 and mpimg.imread(out).shape[1] == 1800


def test_map_show_unknown_layer_fails_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["map", "show", str(MAPS / "andorra"), "--layer", "nonsense"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nonsense'" in err and "'roads'" in err and "'hand'" in err


def test_cli_layers_are_the_map_layers() -> None:
    assert tuple(MAP_LAYERS) == LAYERS
