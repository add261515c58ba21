"""A run's lifeline outputs (twin.lifelines.outputs): zone polygons, lifelines.gpkg, the service-loss map, the layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from tests.conftest import MAPS, ROOT
from twin.city.build import City
from twin.cli import main
from twin.lifelines.outputs import (
    COMPONENT_COLUMNS,
    LIFELINES_GPKG,
    SERVICE_LOSS_PNG,
    worst_moment,
    write_lifelines_gpkg,
    zones_at,
)
from twin.lifelines.zones import lifeline_rows, terrain_box, zone_polygons
from twin.report.maps.city import draw_city
from twin.report.maps.service import ZoneService, draw_service_loss
from twin.results import read_provenance
from twin.run import run_model
from twin.scenario import load_scenario
from twin.sim.model import CityModel

LAYERS = ["components", "power_zones", "water_zones", "dependencies"]


def _read(path: Path, layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer=layer, engine="pyogrio")


# --- zone polygons ----------------------------------------------------------------------------------------


def _check_partition(city: City, shapes: gpd.GeoDataFrame, node_zone: np.ndarray) -> None:
    """The zones tile the terrain grid's rectangle, and every road node lies in its own zone's polygon."""
    box = terrain_box(city)
    geometry = shapes.geometry.to_numpy()
    assert shapes["zone"].tolist() == list(range(len(shapes)))
    assert shapely.is_valid(geometry).all() and shapely.covers(box.buffer(1e-6), geometry).all()
    areas = shapely.area(geometry)
    union = shapely.union_all(geometry).area
    assert union == pytest.approx(box.area, rel=1e-9)
    assert areas.sum() == pytest.approx(union, rel=1e-9)  # no overlaps beyond rounding
    nodes = city.drive.nodes
    points = shapely.points(nodes[["x", "y"]].to_numpy(float))
    inside = shapely.covers(box, points)
    assert inside.mean() > 0.99
    own = shapely.covers(geometry[node_zone[inside]], points[inside])
    assert own.all()


def test_power_and_water_zone_polygons_partition_the_andorra_grid(andorra_city: City) -> None:
    shapes = zone_polygons(andorra_city)
    net = andorra_city.lifelines
    assert len(shapes["power"]) == len(net.power_sources) == 3
    assert len(shapes["water"]) == len(net.water_pump) == 10
    assert shapes["power"].crs == shapes["water"].crs == andorra_city.crs
    _check_partition(andorra_city, shapes["power"], net.node_power_zone)
    _check_partition(andorra_city, shapes["water"], net.node_water_zone)


def test_a_map_without_substations_has_no_power_zone_polygons(porto_alegre_city: City) -> None:
    shapes = zone_polygons(porto_alegre_city)
    assert len(shapes["power"]) == 0
    assert len(shapes["water"]) == len(porto_alegre_city.lifelines.water_pump) > 0
    _check_partition(porto_alegre_city, shapes["water"], porto_alegre_city.lifelines.node_water_zone)


# --- lifelines.gpkg ---------------------------------------------------------------------------------------


def test_gpkg_holds_every_component_zone_and_dependency(andorra_city: City, tmp_path: Path) -> None:
    city = andorra_city
    facilities = city.facilities
    up = np.ones(len(facilities), dtype=bool)
    up[[94, 448]] = False
    path = tmp_path / LIFELINES_GPKG
    write_lifelines_gpkg(path, city, up)
    assert [p.name for p in tmp_path.iterdir()] == [LIFELINES_GPKG]  # atomic: no temporary left
    layers = pyogrio.list_layers(path)
    assert layers[:, 0].tolist() == LAYERS
    assert layers[3, 1] is None  # dependencies: a table without geometry

    components = _read(path, "components")
    expected = np.flatnonzero((facilities["group"] != "facility").to_numpy() | (facilities["kind"] == "hospital"))
    np.testing.assert_array_equal(lifeline_rows(city), expected)
    assert components["comp"].tolist() == expected.tolist() and len(components) == 406  # 2 hospitals
    assert list(components.columns) == [*COMPONENT_COLUMNS, "up", "geometry"]
    np.testing.assert_array_equal(components["assumed"].to_numpy(bool), facilities["assumed"].to_numpy(bool)[expected])
    assert int(components["assumed"].sum()) == 18
    assert components.loc[~components["up"], "comp"].tolist() == [94, 448]
    assert components.crs == city.crs
    synthetic = components[components["osm_type"] == "synthetic"]
    assert synthetic["assumed"].all() and (synthetic["source"] != "").all()
    geometry = shapely.from_wkb(facilities["geometry"].to_numpy(object)[expected])
    assert shapely.equals_exact(components.geometry.to_numpy(), geometry, tolerance=1e-6).all()
    line = components[components["kind"] == "line"]
    assert len(line) and (line.geometry.geom_type == "LineString").all()  # lines keep their shape

    power = _read(path, "power_zones")
    net = city.lifelines
    assert power["zone"].tolist() == [0, 1, 2] and power["source"].tolist() == net.power_sources.tolist()
    assert power.loc[0, "source_name"] == "l’ETR d’Escaldes" and not power["source_assumed"].any()
    assert int(power["residents"].sum()) == city.population
    assert (power.geometry.geom_type == "MultiPolygon").all() and power.crs == city.crs

    water = _read(path, "water_zones")
    assert len(water) == len(net.water_pump) == 10
    assert water["pump"].tolist() == net.water_pump.tolist() and water["tank"].tolist() == net.water_tank.tolist()
    np.testing.assert_array_equal(water["pump_assumed"], facilities["assumed"].to_numpy(bool)[net.water_pump])
    np.testing.assert_array_equal(water["tank_assumed"], facilities["assumed"].to_numpy(bool)[net.water_tank])
    assert int(water["residents"].sum()) == city.population

    dependencies = pyogrio.read_dataframe(path, layer="dependencies")
    assert list(dependencies.columns) == ["comp", "kind", "name", "needs", "backup_hours"]
    pd.testing.assert_frame_equal(
        dependencies[["comp", "needs", "backup_hours"]], net.dependencies.reset_index(drop=True), check_dtype=False
    )
    assert set(dependencies.loc[dependencies["needs"] == "water", "kind"]) == {"hospital"}


def test_gpkg_of_a_map_without_substations_keeps_an_empty_power_zone_layer(
    porto_alegre_city: City, tmp_path: Path
) -> None:
    path = tmp_path / LIFELINES_GPKG
    write_lifelines_gpkg(path, porto_alegre_city)
    assert pyogrio.list_layers(path)[:, 0].tolist() == LAYERS
    components = _read(path, "components")
    assert "up" not in components.columns and (components["power_zone"] == -1).all()
    assert int(components["assumed"].sum()) == int(porto_alegre_city.facilities["assumed"].sum())
    power = _read(path, "power_zones")
    assert len(power) == 0 and "source_name" in power.columns
    assert len(_read(path, "water_zones")) == len(porto_alegre_city.lifelines.water_pump)


def test_gpkg_refuses_a_state_of_the_wrong_length(andorra_city: City, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one entry per facility row"):
        write_lifelines_gpkg(tmp_path / LIFELINES_GPKG, andorra_city, np.ones(3, dtype=bool))
    assert list(tmp_path.iterdir()) == []


# --- the worst moment -------------------------------------------------------------------------------------


def test_worst_moment_is_the_lowest_mean_of_power_and_water_first_of_ties() -> None:
    series = pd.DataFrame(
        {
            "t_s": [0.0, 60.0, 120.0, 180.0],
            "Q_power": [1.0, 0.5, 1.0, 0.5],
            "Q_water": [1.0, 1.0, 0.4, 1.0],
            "Q_telecom": [1.0, 0.0, 1.0, 1.0],
        }
    )
    assert worst_moment(series) == 2  # means 1, 0.75, 0.7, 0.75; telecom does not count
    assert worst_moment(series.drop(columns="Q_water")) == 1
    series["Q_power"] = np.nan  # a map without substations: power is not measured
    assert worst_moment(series) == 2
    assert worst_moment(series.drop(columns="Q_water")) is None
    assert worst_moment(pd.DataFrame({"t_s": [0.0], "Q_power": [1.0]})) == 0


def test_zones_at_takes_the_last_record_at_or_before_the_moment() -> None:
    table = pd.DataFrame(
        {
            "t_s": [0.0, 0.0, 0.0, 60.0, 60.0, 60.0],
            "zone": [0, 1, 0, 0, 1, 0],
            "service": ["power", "power", "water", "power", "power", "water"],
            "q": [1.0, 1.0, 1.0, 0.0, 1.0, 0.0],
            "customers": [5.0, 6.0, 11.0, 5.0, 6.0, 11.0],
        }
    )
    np.testing.assert_array_equal(zones_at(table, 60.0, "power", 2), [0.0, 1.0])
    np.testing.assert_array_equal(zones_at(table, 59.0, "power", 2), [1.0, 1.0])
    np.testing.assert_array_equal(zones_at(table, 90.0, "water", 1), [0.0])
    assert zones_at(table, 60.0, "telecom", 2) is None and zones_at(None, 0.0, "power", 2) is None


# --- a run ------------------------------------------------------------------------------------------------


def test_substation_outage_run_writes_the_gpkg_and_the_service_loss_map(andorra_city: City, tmp_path: Path) -> None:
    spec = load_scenario(ROOT / "scenarios" / "andorra-substation-outage.yaml")
    model = CityModel(andorra_city, spec)
    out = tmp_path / "run"
    results = run_model(model, out=out)
    assert read_provenance(out)["status"] == "complete"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    series = results.timeseries
    worst = worst_moment(series)
    # The substation fire at 1 h, then at 2 h the two most critical transformers still up (outside the burnt
    # substation): the second hour is the worst.
    assert worst is not None and series["t_s"].iloc[worst] == 7200.0
    assert series["Q_power"].iloc[worst] < 0.5

    components = _read(out / LIFELINES_GPKG, "components")
    np.testing.assert_array_equal(components["up"].to_numpy(bool), model.state.comp_up[components["comp"].to_numpy()])
    assert not components["up"].all()  # the two transformers stay down until repaired

    image = mpimg.imread(out / SERVICE_LOSS_PNG)
    assert image.shape[1] == 1800 and 1500 <= image.shape[0] <= 1800
    rgb = (image[..., :3] * 255).astype(int)
    cut = (rgb[..., 0] > 180) & (rgb[..., 0] - rgb[..., 1] > 60) & (rgb[..., 0] - rgb[..., 2] > 60)
    assert cut.mean() > 0.05  # the zone of l’ETR d’Escaldes, in red


def test_service_loss_map_of_water_only_zones(porto_alegre_city: City, tmp_path: Path) -> None:
    shapes = zone_polygons(porto_alegre_city)["water"].geometry.to_numpy()
    served = np.zeros(len(shapes), dtype=bool)
    residents = np.ones(len(shapes), dtype=np.int64)
    out = tmp_path / "loss.png"
    draw_service_loss(porto_alegre_city, [ZoneService("water", shapes, served, residents)], out, "t", "worst")
    assert out.stat().st_size > 100_000
    with pytest.raises(ValueError, match="one of each per zone"):
        draw_service_loss(porto_alegre_city, [ZoneService("water", shapes, served[:1], residents)], out, "t", "w")
    with pytest.raises(ValueError, match="unknown zone service 'gas'"):
        draw_service_loss(porto_alegre_city, [ZoneService("gas", shapes, served, residents)], out, "t", "w")


# --- the map layer ----------------------------------------------------------------------------------------


def test_map_show_lifelines_layer_writes_a_png(andorra_city: City, city_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "lifelines.png"
    args = ["map", "show", str(MAPS / "andorra"), "--cache", str(city_cache), "--out", str(out), "--layer", "lifelines"]
    assert main(args) == 0
    image = mpimg.imread(out)
    assert out.stat().st_size > 200_000 and image.shape[1] == 1800
    draw_city(andorra_city, tmp_path / "again.png", layer="lifelines")
    assert (tmp_path / "again.png").read_bytes() == out.read_bytes()  # the same City gives the same PNG


def test_lifelines_layer_of_a_map_without_substations(porto_alegre_city: City, tmp_path: Path) -> None:
    out = tmp_path / "poa.png"
    draw_city(porto_alegre_city, out, layer="lifelines")
    assert out.stat().st_size > 200_000
