"""Map builds on accepted-looking input: each refused with a MapError that names the file and the fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import MAPS
from tests.test_map_errors import NODES, _config, _osm_xml
from twin.city.build import load_city
from twin.errors import MapError


def _map(tmp_path: Path, nodes: dict[int, tuple[float, float]] = NODES, **changes: object) -> Path:
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "mini.osm").write_text(_osm_xml(nodes))
    shutil.copy(MAPS / "andorra" / "andorra_valira_srtm3.tif", folder / "dem.tif")
    (folder / "city.yaml").write_text(yaml.safe_dump(_config(**changes)))
    return folder


def _error(folder: Path, tmp_path: Path) -> str:
    with pytest.raises(MapError) as info:
        load_city(folder, cache_dir=tmp_path / "cache")
    return str(info.value)


def _float_dem(folder: Path, change: Callable[[np.ndarray], None]) -> None:
    import rasterio

    with rasterio.open(MAPS / "andorra" / "andorra_valira_srtm3.tif") as src:
        data, profile = src.read(1).astype("float32"), src.profile
    change(data)
    profile.update(dtype="float32", nodata=None)
    with rasterio.open(folder / "dem.tif", "w", **profile) as dst:
        dst.write(data, 1)


def test_a_working_grid_too_fine_for_the_extract_is_refused_before_allocating(tmp_path: Path) -> None:
    # A node 10 km away stretches the extract to Andorra's size: 1.0001 m cells would be ~100 million.
    nodes = {**NODES, 5: (1.59, 42.545), 6: (1.47, 42.455)}
    message = _error(_map(tmp_path, nodes, working_resolution_m=1.0001), tmp_path)
    assert "working_resolution_m: 1.0001 m makes a grid of" in message
    # 10.0 x 10.2 km = 1.02e8 m2; 1.02e8 / 4e6 = 25.5 m2 a cell, sqrt 5.05 m: 6 m is the coarsest whole size that fits.
    assert "at most 4,000,000: use working_resolution_m: 6 or more" in message


def test_populations_that_add_up_to_zero_are_refused(tmp_path: Path) -> None:
    areas = [{"name": "centre", "population": 0, "centre": [1.5205, 42.5064]}]
    message = _error(_map(tmp_path, population={"method": "roads", "areas": areas}), tmp_path)
    assert "city.yaml:6 population: the areas' populations add up to 0" in message


@pytest.mark.parametrize("value", [3e38, -9999.0])
def test_dem_values_no_terrain_has_are_refused(tmp_path: Path, value: float) -> None:
    folder = _map(tmp_path, dem_nodata=None)

    def wild(data: np.ndarray) -> None:
        data[::2] = value

    _float_dem(folder, wild)
    message = _error(folder, tmp_path)
    assert "DEM cells hold elevations outside -1000..9000 m" in message and "dem_nodata" in message


def test_a_dem_of_nan_is_a_coverage_error(tmp_path: Path) -> None:
    folder = _map(tmp_path, dem_nodata=None)

    def nan(data: np.ndarray) -> None:
        data[:] = np.nan

    _float_dem(folder, nan)
    assert "the DEM covers only 0.0% of the road nodes" in _error(folder, tmp_path)


def test_osm_coordinates_off_the_globe_are_refused(tmp_path: Path) -> None:
    message = _error(_map(tmp_path, {**NODES, 2: (1.521, 942.0)}), tmp_path)
    assert "mini.osm: 1 node(s) with coordinates off the globe (e.g. node 2 at lat 942" in message


def test_a_population_past_any_city_is_refused_with_its_line(tmp_path: Path) -> None:
    areas = [{"name": "centre", "population": 10**20, "centre": [1.5205, 42.5064]}]
    message = _error(_map(tmp_path, population={"method": "roads", "areas": areas}), tmp_path)
    assert "population.areas[0].population: is too large" in message
    assert message.count("population.areas[0].population") == 1  # reported once


def test_non_finite_numbers_in_city_yaml_are_refused(tmp_path: Path) -> None:
    folder = _map(tmp_path)
    (folder / "city.yaml").write_text((folder / "city.yaml").read_text() + "bridge_deck_height_m: .inf\n")
    from twin.city.config import load_city_config

    with pytest.raises(MapError, match="bridge_deck_height_m: Input should be a finite number"):
        load_city_config(folder)
