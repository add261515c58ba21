"""Landslide susceptibility (twin.hazards.landslide.susceptibility), and a run's layer, raster, map and command."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from tests.conftest import MAPS, scenario_of
from twin.city.build import City
from twin.cli import main, parser
from twin.hazards.flood.spec import RainSpec
from twin.hazards.landslide.model import Landslides
from twin.hazards.landslide.outputs import (
    DEBRIS_COLUMNS,
    LANDSLIDE_DEBRIS,
    LIST_SEPARATOR,
    debris_frame,
    footprint_polygons,
    write_landslide_outputs,
)
from twin.hazards.landslide.spec import LandslideSpec, SoilSpec
from twin.hazards.landslide.stability import (
    GRAVITY,
    WATER_DENSITY,
    candidate_cells,
    factor_of_safety,
    relative_wetness,
    slope_rad,
)
from twin.hazards.landslide.susceptibility import (
    DEFAULT_DRAWS,
    DEFAULT_SOIL,
    peak_recharge_m_day,
    recharge_series_m_day,
    susceptibility,
    susceptibility_rng,
)
from twin.hydrology.landcover import LANDCOVER_CLASSES
from twin.scenario import Scenario
from twin.sim.model import CityModel

FIXED_SOIL = {  # single-valued ranges: FS is deterministic
    "cohesion_pa": 3000,
    "friction_angle_deg": 34,
    "depth_m": 1.2,
    "density_kg_m3": 1900,
    "transmissivity_m2_day": 30,
}
STRONG_SOIL = {**FIXED_SOIL, "cohesion_pa": 60_000}  # nothing fails, whatever the recharge
# A point in Andorra la Vella with streets and buildings around it.
SLIDE_LONLAT = [1.5205, 42.5063]


def _soil(values: dict[str, Any]) -> SoilSpec:
    return SoilSpec.model_validate(values)


def _scenario(tmp_path: Path, hazards: list[dict[str, Any]], **changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "landslide-test",
        "map": str(MAPS / "andorra"),
        "timezone": "UTC",
        "start": "2025-11-07T18:00",
        "duration": "3h",
        "step": "30min",
        "seed": 7,
        "hazards": hazards,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


def _landslides(city: City, spec: Scenario) -> tuple[CityModel, Landslides]:
    """The run's Landslides: the engine's own when it builds one, else one added by hand."""
    model = CityModel(city, spec)
    found = [c for c in model.phases["hazards"] if isinstance(c, Landslides)]
    if found:
        return model, found[0]
    entry = next(h for h in spec.hazards if isinstance(h, LandslideSpec))
    rains = [h for h in spec.hazards if isinstance(h, RainSpec)]
    component = Landslides(city, entry, rains[0] if rains and entry.recharge == "rain" else None, model.rng)
    model.add_phase(component)
    return model, component


def _with_dem_hole_and_flat_block(city: City) -> City:
    """NaN elevation in the north-west corner; a flat block in the middle of the grid."""
    elevation = city.terrain.elevation_m.copy()
    elevation[:20, :30] = np.nan
    elevation[150:190, 150:190] = np.nanmean(elevation[150:190, 150:190])
    return replace(city, terrain=replace(city.terrain, elevation_m=elevation))


def _fs_direct(city: City, soil: dict[str, float], recharge_m_day: float, wetness: float | None = None) -> np.ndarray:
    """FS of every cell from the formulas, for single-valued soil (NaN where there is no slope)."""
    theta = slope_rad(city.terrain.elevation_m, city.terrain.resolution_m).ravel()
    area = city.hydrology.accumulation.ravel().astype(np.float64) * city.terrain.resolution_m
    # depth_m is vertical: the thickness normal to the slope is depth x cos(theta)
    c_star = soil["cohesion_pa"] / (soil["depth_m"] * np.cos(theta) * soil["density_kg_m3"] * GRAVITY)
    tan_phi = np.tan(np.radians(soil["friction_angle_deg"]))
    ratio = WATER_DENSITY / soil["density_kg_m3"]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = relative_wetness(recharge_m_day, area, np.full(area.shape, soil["transmissivity_m2_day"]), theta)
        if wetness is not None:
            w = np.full(area.shape, wetness)
        return factor_of_safety(c_star, np.full(area.shape, tan_phi), np.full(area.shape, ratio), w, theta)


# --- susceptibility -----------------------------------------------------------------------------------------


def test_susceptibility_is_nan_outside_the_dem_and_zero_on_flat_gentle_and_bare_cells(andorra_city: City) -> None:
    city = _with_dem_hole_and_flat_block(andorra_city)
    p = susceptibility(city, DEFAULT_SOIL, 0.2, 20, susceptibility_rng(1), 15.0)
    assert p.dtype == np.float32 and p.shape == city.terrain.elevation_m.shape
    outside = ~np.isfinite(city.terrain.elevation_m)
    assert np.isnan(p[outside]).all() and np.isfinite(p[~outside]).all()
    assert (p[151:189, 151:189] == 0).all()  # flat
    theta = slope_rad(city.terrain.elevation_m, city.terrain.resolution_m)
    gentle = np.isfinite(theta) & (theta < np.radians(15.0))
    assert gentle.sum() > 1000 and (p[gentle] == 0).all()
    no_soil = np.isin(city.hydrology.landcover, [LANDCOVER_CLASSES.index("bare"), LANDCOVER_CLASSES.index("water")])
    steep_no_soil = no_soil & np.isfinite(theta) & (theta >= np.radians(15.0))
    assert steep_no_soil.sum() > 100 and (p[steep_no_soil] == 0).all()
    assert p[~outside].max() > 0.5  # the steep soil slopes do fail at this recharge
    assert ((p[~outside] >= 0) & (p[~outside] <= 1)).all()


def test_susceptibility_grows_with_recharge_cell_by_cell_and_in_the_mean(andorra_city: City) -> None:
    maps = [
        susceptibility(andorra_city, DEFAULT_SOIL, r, 30, susceptibility_rng(4), 15.0)
        for r in (0.0, 0.02, 0.05, 0.1, 0.3)
    ]
    means = [float(np.nanmean(p)) for p in maps]
    assert means[0] == 0.0  # dry: only draws stable when dry count, and they do not fail
    assert all(a < b for a, b in itertools.pairwise(means))
    land = np.isfinite(maps[0])
    for lower, higher in itertools.pairwise(maps):  # the same draws: every cell can only rise
        assert (higher[land] >= lower[land]).all()


def test_single_valued_soil_gives_exactly_the_factor_of_safety_rule(andorra_city: City) -> None:
    recharge = 0.05
    p = susceptibility(andorra_city, _soil(FIXED_SOIL), recharge, 7, susceptibility_rng(2), 15.0)
    cells, _ = candidate_cells(andorra_city, 15.0)
    fs = _fs_direct(andorra_city, FIXED_SOIL, recharge)
    dry = _fs_direct(andorra_city, FIXED_SOIL, 0.0, wetness=0.0)
    expected = np.zeros(andorra_city.terrain.elevation_m.size)
    expected[cells] = ((dry[cells] >= 1.0) & (fs[cells] < 1.0)).astype(float)
    flat = p.ravel()
    land = np.isfinite(andorra_city.terrain.elevation_m.ravel())
    np.testing.assert_array_equal(flat[land], expected[land])
    assert (flat == 1).sum() > 100 and (flat[cells] == 0).sum() > 100  # both outcomes occur
    assert ((dry[cells] < 1.0) & (flat[cells] == 0)).sum() > 0  # unstable even when dry: rock, 0


def test_strong_soil_never_fails_and_weak_saturated_soil_always_does(andorra_city: City) -> None:
    strong = susceptibility(andorra_city, _soil(STRONG_SOIL), 2.0, 10, susceptibility_rng(0), 15.0)
    assert np.nanmax(strong) == 0.0
    # No cohesion, friction 40 degrees, saturated: fails where tan(theta) > (1 - r) tan(phi) and is stable dry
    # (tan(theta) <= tan(phi)), whatever the draw of the other (single-valued) parameters.
    weak = {**FIXED_SOIL, "cohesion_pa": 0, "friction_angle_deg": 40, "transmissivity_m2_day": 0.01}
    p = susceptibility(andorra_city, _soil(weak), 2.0, 10, susceptibility_rng(0), 15.0)
    cells, theta = candidate_cells(andorra_city, 15.0)
    r = WATER_DENSITY / weak["density_kg_m3"]
    tan_theta, tan_phi = np.tan(theta[cells]), np.tan(np.radians(40.0))
    wet = relative_wetness(
        2.0, andorra_city.hydrology.accumulation.ravel()[cells] * 30.0, np.full(len(cells), 0.01), theta[cells]
    )
    assert (wet == 1.0).all()  # saturated everywhere at this T and R
    must_fail = (tan_theta > (1 - r) * tan_phi * (1 + 1e-9)) & (tan_theta < tan_phi * (1 - 1e-9))
    assert must_fail.sum() > 1000
    assert (p.ravel()[cells[must_fail]] == 1.0).all()


def test_susceptibility_is_deterministic_per_seed_and_the_seed_matters(andorra_city: City) -> None:
    first = susceptibility(andorra_city, DEFAULT_SOIL, 0.08, 25, susceptibility_rng(11), 15.0)
    again = susceptibility(andorra_city, DEFAULT_SOIL, 0.08, 25, susceptibility_rng(11), 15.0)
    other = susceptibility(andorra_city, DEFAULT_SOIL, 0.08, 25, susceptibility_rng(12), 15.0)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert abs(float(np.nanmean(first)) - float(np.nanmean(other))) < 0.01  # the same probability, other draws


def test_bad_draws_or_recharge_are_refused(andorra_city: City) -> None:
    with pytest.raises(ValueError, match="draws"):
        susceptibility(andorra_city, DEFAULT_SOIL, 0.1, 0, susceptibility_rng(0), 15.0)
    with pytest.raises(ValueError, match="recharge"):
        susceptibility(andorra_city, DEFAULT_SOIL, -0.1, 5, susceptibility_rng(0), 15.0)


def test_candidate_rule_is_the_runs(andorra_city: City, tmp_path: Path) -> None:
    soil = {name: list(bounds) for name, bounds in DEFAULT_SOIL.model_dump().items()}
    entry = {"type": "landslide", "soil": soil, "recharge_mm_day": 60, "threshold": "none", "min_slope_deg": 20}
    _, component = _landslides(andorra_city, _scenario(tmp_path, [entry]))
    cells, _ = candidate_cells(andorra_city, 20.0)
    assert np.isin(component.cells, cells).all()
    assert len(component.cells) + component.rock_cells == len(cells)


def test_the_map_and_the_run_fail_the_same_cells_for_single_valued_soil(andorra_city: City, tmp_path: Path) -> None:
    entry = {"type": "landslide", "soil": FIXED_SOIL, "recharge_mm_day": 50, "threshold": "none"}
    _, component = _landslides(andorra_city, _scenario(tmp_path, [entry]))
    run_fails = component.cells[component.factor_of_safety(1800.0) < 1.0]
    p = susceptibility(andorra_city, _soil(FIXED_SOIL), 0.05, 3, susceptibility_rng(0), 15.0)
    np.testing.assert_array_equal(np.sort(run_fails), np.flatnonzero(p.ravel() == 1.0))
    assert len(run_fails) > 100


# --- peak recharge --------------------------------------------------------------------------------------------


def _entry(**values: Any) -> LandslideSpec:
    return LandslideSpec.model_validate({"type": "landslide", "soil": FIXED_SOIL, **values})


def _rain(**storm: Any) -> RainSpec:
    return RainSpec.model_validate({"type": "rain", **storm})


def test_peak_recharge_of_a_constant_rate_is_that_rate() -> None:
    assert peak_recharge_m_day(_entry(recharge_mm_day=80), None) == pytest.approx(0.08)
    assert peak_recharge_m_day(
        _entry(recharge_mm_day=80), _rain(design_storm={"total_mm": 500, "duration": "1h"})
    ) == pytest.approx(0.08)


def test_peak_recharge_of_a_uniform_storm_is_analytic() -> None:
    storm = _rain(start="2h", design_storm={"total_mm": 120, "duration": "12h", "shape": "uniform"})
    # Window shorter than the storm: the storm's own rate, 120 mm / 0.5 day.
    assert peak_recharge_m_day(_entry(recharge="rain", recharge_window="6h"), storm) == pytest.approx(0.24)
    # Window longer: the whole storm over the window, 120 mm / 1 day.
    assert peak_recharge_m_day(_entry(recharge="rain", recharge_window="24h"), storm) == pytest.approx(0.12)


@pytest.mark.parametrize("window", ["20min", "1h", "5h", "30h"])
@pytest.mark.parametrize("peak_at", [0.0, 0.3, 0.8])
def test_peak_recharge_of_a_triangular_storm_matches_a_dense_search(window: str, peak_at: float) -> None:
    entry = _entry(recharge="rain", recharge_window=window)
    storm = _rain(
        start="30min", design_storm={"total_mm": 90, "duration": "10h", "shape": "triangular", "peak_at": peak_at}
    )
    dense = recharge_series_m_day(entry, storm, np.linspace(0.0, 45 * 3600.0, 1_000_001)).max()
    peak = peak_recharge_m_day(entry, storm)
    assert peak >= dense - 1e-12  # never below any time's recharge
    assert peak == pytest.approx(dense, rel=1e-5)  # the grid's step is 0.16 s: it can only miss the peak slightly


def test_peak_recharge_of_a_storm_starting_at_its_peak_is_analytic() -> None:
    # Intensity 2P/D = 18 mm/h at the start, falling linearly to 0 at 10 h: the first 20 minutes hold the most,
    # a mean of 18 (1 - 1/60) mm/h = 17.7 mm/h = 424.8 mm/day.
    entry = _entry(recharge="rain", recharge_window="20min")
    storm = _rain(design_storm={"total_mm": 90, "duration": "10h", "shape": "triangular", "peak_at": 0.0})
    assert peak_recharge_m_day(entry, storm) == pytest.approx(0.4248, rel=1e-12)


def test_peak_recharge_without_rain_is_zero() -> None:
    assert peak_recharge_m_day(_entry(recharge="rain"), None) == 0.0


# --- footprints and the debris layer ---------------------------------------------------------------------------


def test_footprints_are_the_union_of_cell_squares(andorra_city: City) -> None:
    cols = andorra_city.terrain.elevation_m.shape[1]
    cell = 30.0
    base = 100 * cols + 100
    # slide 0: two cells side by side; slide 1: two cells touching at a corner; slide 2: none; slide 3: an L of 3
    slide = np.array([0, 0, 1, 1, 3, 3, 3])
    cells = np.array([base, base + 1, base, base + cols + 1, base + 5, base + 6, base + cols + 5])
    polygons = footprint_polygons(andorra_city, slide, cells, 4)
    assert shapely.get_type_id(polygons).tolist() == [3, 6, 3, 3]
    assert [round(shapely.area(g) / cell**2, 9) for g in polygons] == [2.0, 2.0, 0.0, 3.0]
    assert polygons[2].is_empty
    assert len(shapely.get_coordinates(polygons[0])) == 5  # a rectangle: collinear vertices removed
    t = andorra_city.terrain.transform
    x, y = t.c + t.a * (100 + 0.5), t.f + t.e * (100 + 0.5)
    assert polygons[0].contains(shapely.Point(x, y)) and polygons[0].contains(shapely.Point(x + cell, y))


def test_debris_layer_round_trips_an_explicit_slide(andorra_city: City, tmp_path: Path) -> None:
    entry = {
        "type": "landslide",
        "runout_m": 150,
        "slides": [{"at": "1h", "at_lonlat": SLIDE_LONLAT, "width_m": 90, "depth_m": 2.0}],
    }
    model, component = _landslides(andorra_city, _scenario(tmp_path, [entry]))
    model.run()
    assert len(component.slide_t) == 1
    before = model.rng.bit_generator.state
    written = write_landslide_outputs(tmp_path, andorra_city, component, model.state, "drill", seed=model.seed_value)
    assert written == ["landslide_debris.gpkg"]  # no soil: no susceptibility
    assert model.rng.bit_generator.state == before
    assert pyogrio.list_layers(tmp_path / "landslide_debris.gpkg")[:, 0].tolist() == [LANDSLIDE_DEBRIS]
    layer = gpd.read_file(tmp_path / "landslide_debris.gpkg", layer=LANDSLIDE_DEBRIS, engine="pyogrio")
    assert list(layer.columns) == [*DEBRIS_COLUMNS, "geometry"]
    assert layer.crs == andorra_city.crs and len(layer) == 1
    row = layer.iloc[0]
    failed = len(component._explicit_cells[0])
    assert failed == 9  # 90 m square on 30 m cells
    assert row["slide"] == 1 and row["t_s"] == 3600.0 and row["time_h"] == 1.0
    assert row["failed_cells"] == failed and row["volume_m3"] == pytest.approx(failed * 2.0 * 900.0)
    assert row["footprint_cells"] == len(component.footprint_cell) > failed
    assert row.geometry.area == pytest.approx(row["footprint_cells"] * 900.0)
    # What it hit, against the run's own state.
    closed = np.flatnonzero(model.state.link_closed_debris)
    links = andorra_city.drive.links.iloc[closed]
    assert row["links"] == len(closed) > 0
    assert row["osm_ways"] == LIST_SEPARATOR.join(str(w) for w in sorted(set(links["osm_way"].astype(int))))
    assert row["streets"] == LIST_SEPARATOR.join(sorted({n for n in links["name"] if n}))
    assert row["buildings"] == int((model.state.building_damage == 1.0).sum()) > 0
    assert row["components"] == int((model.state.comp_cause == "landslide").sum())
    # Every footprint cell's centre is inside the geometry, and every closed link crosses it.
    t, cols = andorra_city.terrain.transform, andorra_city.terrain.elevation_m.shape[1]
    rows_, cols_ = np.divmod(component.footprint_cell, cols)
    centres = shapely.points(t.c + t.a * (cols_ + 0.5), t.f + t.e * (rows_ + 0.5))
    assert shapely.contains(row.geometry, centres).all()
    assert shapely.intersects(row.geometry, shapely.from_wkb(links["geometry"].to_numpy())).all()


def test_empty_debris_layer_keeps_its_schema_and_the_susceptibility_is_the_seeded_one(
    andorra_city: City, tmp_path: Path
) -> None:
    entry = {"type": "landslide", "soil": STRONG_SOIL, "recharge_mm_day": 40, "threshold": "none", "min_slope_deg": 25}
    model, component = _landslides(andorra_city, _scenario(tmp_path, [entry], duration="1h"))
    model.run()
    assert len(component.slide_t) == 0
    assert debris_frame(andorra_city, component).empty
    before = model.rng.bit_generator.state
    written = write_landslide_outputs(tmp_path, andorra_city, component, model.state, "quiet", draws=10, seed=7)
    assert written == ["landslide_debris.gpkg", "susceptibility.tif", "susceptibility.png"]
    assert model.rng.bit_generator.state == before
    info = pyogrio.read_info(tmp_path / "landslide_debris.gpkg", layer=LANDSLIDE_DEBRIS)
    assert info["features"] == 0 and info["geometry_type"] == "MultiPolygon"
    assert list(info["fields"]) == list(DEBRIS_COLUMNS)
    assert gpd.read_file(tmp_path / "landslide_debris.gpkg", engine="pyogrio").empty
    with rasterio.open(tmp_path / "susceptibility.tif") as src:
        assert src.dtypes[0] == "float32" and src.crs == rasterio.crs.CRS.from_user_input(andorra_city.crs)
        assert src.transform == andorra_city.terrain.transform
        assert src.compression == rasterio.enums.Compression.deflate and np.isnan(src.nodata)
        read = src.read(1)
    expected = susceptibility(andorra_city, _soil(STRONG_SOIL), 0.04, 10, susceptibility_rng(7), 25.0)
    np.testing.assert_array_equal(read, expected)
    assert mpimg.imread(tmp_path / "susceptibility.png").shape[1] == 1800
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*written, "s.yaml"])  # no temporaries


def test_susceptibility_png_of_a_run_with_slides(andorra_city: City, tmp_path: Path) -> None:
    entry = {
        "type": "landslide",
        "soil": FIXED_SOIL,
        "recharge_mm_day": 30,
        "threshold": "none",
        "runout_m": 90,
        "slides": [{"at": "30min", "at_lonlat": SLIDE_LONLAT, "width_m": 60}],
    }
    model, component = _landslides(andorra_city, _scenario(tmp_path, [entry], duration="1h"))
    model.run()
    assert len(component.slide_t) > 1
    written = write_landslide_outputs(tmp_path, andorra_city, component, model.state, "slides", draws=5, seed=1)
    assert "susceptibility.png" in written
    image = mpimg.imread(tmp_path / "susceptibility.png")
    assert image.shape[1] == 1800 and image[..., :3].std() > 0.1
    layer = gpd.read_file(tmp_path / "landslide_debris.gpkg", engine="pyogrio")
    assert len(layer) == len(component.slide_t)
    assert layer["slide"].tolist() == list(range(1, len(layer) + 1))
    assert layer["footprint_cells"].sum() == len(component.footprint_cell)
    np.testing.assert_allclose(layer.geometry.area, layer["footprint_cells"] * 900.0)


# --- the command ------------------------------------------------------------------------------------------------


def _cli(*args: str, cache: Path) -> list[str]:
    return ["hazard", "susceptibility", str(MAPS / "andorra"), "--cache", str(cache), *args]


def test_cli_writes_the_raster_and_map_with_assumed_soil(
    andorra_city: City, city_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_cli("--recharge-mm-day", "80", "--draws", "8", "--out", str(out), cache=city_cache)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["susceptibility.png", "susceptibility.tif"]
    captured = capsys.readouterr()
    assert "assumed" in captured.err
    line = captured.out.strip()
    assert len(line.splitlines()) == 1 and "P(fail) >= 0.5" in line and "80.0 mm/day" in line and " s " in line
    with rasterio.open(out / "susceptibility.tif") as src:
        read = src.read(1)
    expected = susceptibility(andorra_city, DEFAULT_SOIL, 0.08, 8, susceptibility_rng(1), 15.0)
    np.testing.assert_array_equal(read, expected)


def test_cli_takes_soil_slope_recharge_and_seed_from_the_scenario(
    andorra_city: City, city_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"type": "landslide", "soil": FIXED_SOIL, "recharge": "rain", "recharge_window": "3h", "min_slope_deg": 22}
    rain = {"type": "rain", "design_storm": {"total_mm": 60, "duration": "3h", "shape": "uniform"}}
    spec = _scenario(tmp_path, [rain, entry])
    out = tmp_path / "out"
    assert main(_cli("--scenario", str(tmp_path / "s.yaml"), "--draws", "4", "--out", str(out), cache=city_cache)) == 0
    assert "480.0 mm/day" in capsys.readouterr().out  # 60 mm in 3 h
    with rasterio.open(out / "susceptibility.tif") as src:
        read = src.read(1)
    expected = susceptibility(andorra_city, _soil(FIXED_SOIL), 0.48, 4, susceptibility_rng(spec.seed), 22.0)
    np.testing.assert_array_equal(read, expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/o"], "no recharge given"),
        (["--recharge-mm-day", "-5", "--out", "{tmp}/o"], "--recharge-mm-day"),
        (["--recharge-mm-day", "50", "--draws", "0", "--out", "{tmp}/o"], "--draws"),
        (["--scenario", "{tmp}/s.yaml", "--out", "{tmp}/o"], "no landslide entry"),
        (["--recharge-mm-day", "50", "--out", "{tmp}/file/o"], "cannot create the output folder"),
    ],
)
def test_cli_fails_cleanly(
    city_cache: Path,
    andorra_city: City,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    _scenario(tmp_path, [{"type": "rain", "design_storm": {"total_mm": 60, "duration": "3h"}}])
    (tmp_path / "file").write_text("not a folder")
    argv = _cli(*[a.format(tmp=tmp_path) for a in args], cache=city_cache)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "error: " in err and message in err and "Traceback" not in err


def test_cli_bad_map_folder_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["hazard", "susceptibility", str(tmp_path / "nowhere"), "--recharge-mm-day", "50", "--out", str(tmp_path / "o")]
    )
    assert code == 1
    assert "map folder not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_help_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["hazard", "susceptibility", "--help"])
    assert exit_info.value.code == 0
    assert "--recharge-mm-day" in capsys.readouterr().out
    args = parser().parse_args(["hazard", "susceptibility", "maps/andorra", "--out", "x"])
    assert args.draws == DEFAULT_DRAWS and args.seed is None and args.scenario is None
