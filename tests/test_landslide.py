"""Landslides against known answers: the infinite slope, the trigger, runout down D8, impacts, determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.hazards.gridindex import line_cell_pairs
from twin.hazards.landslide.model import Landslides
from twin.hazards.landslide.spec import ThresholdSpec
from twin.hazards.landslide.stability import critical_wetness, factor_of_safety, runout_pairs, trigger_exceeded
from twin.scenario import Scenario
from twin.sim.model import CityModel

SOIL = {
    "cohesion_pa": [5000, 15000],
    "friction_angle_deg": [32, 40],
    "depth_m": [0.5, 1.5],
    "density_kg_m3": [1800, 2000],
    "transmissivity_m2_day": [50, 150],
}
STORM = {"type": "rain", "design_storm": {"total_mm": 120, "duration": "12h", "shape": "triangular"}}


def _scenario(tmp_path: Path, hazards: list[dict[str, Any]], **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "landslide-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-11-07T00:00",
        "duration": "18h",
        "step": "10min",
        "seed": 11,
        "hazards": hazards,
    }
    data.update(changes)
    return scenario_of(tmp_path, data, f"s{len(list(tmp_path.iterdir()))}.yaml")


def _landslides(model: CityModel) -> Landslides:
    return next(c for c in model.phases["hazards"] if isinstance(c, Landslides))


def test_factor_of_safety_is_one_exactly_at_the_critical_wetness() -> None:
    theta = np.radians(np.array([25.0, 35.0, 40.0]))
    cohesion_star, tan_phi, ratio = np.array([0.1, 0.2, 0.3]), np.tan(np.radians([30.0, 33.0, 36.0])), 1000 / 1900
    w_star = critical_wetness(cohesion_star, tan_phi, np.full(3, ratio), theta)
    np.testing.assert_allclose(factor_of_safety(cohesion_star, tan_phi, np.full(3, ratio), w_star, theta), 1.0)
    # dry: FS = C*/sin + tan(phi)/tan(theta), the textbook infinite slope
    dry = factor_of_safety(cohesion_star, tan_phi, np.full(3, ratio), np.zeros(3), theta)
    np.testing.assert_allclose(dry, cohesion_star / np.sin(theta) + tan_phi / np.tan(theta))


def test_caine_threshold_known_values() -> None:
    caine = ThresholdSpec.model_validate({})
    assert trigger_exceeded(14.82, 1.0, caine) and not trigger_exceeded(14.8, 1.0, caine)
    at_a_day = 14.82 * 24**-0.39 * 24  # mm over 24 h at the threshold: 104 mm
    assert trigger_exceeded(at_a_day + 0.01, 24.0, caine) and not trigger_exceeded(at_a_day - 0.01, 24.0, caine)


def test_runout_follows_d8_for_its_length() -> None:
    # A 3 x 6 grid draining east along the middle row, then off the map; 10 m cells.
    receiver = np.full(18, -1)
    receiver[6:11] = np.arange(7, 12)
    receiver[0] = 7  # a diagonal step into the middle row
    slide, cell = runout_pairs(np.array([6, 0]), np.array([0, 1]), receiver, 25.0, 10.0, 6)
    assert cell[slide == 0].tolist() == [6, 7, 8]  # 20 m travelled; the next step would make 30 m
    assert cell[slide == 1].tolist() == [0, 7, 8]  # 14.1 m diagonal, then 24.1 m; the next would be 34.1 m


def test_slides_start_exactly_at_the_computed_wetness(andorra_city: City, tmp_path: Path) -> None:
    """Single-valued soil and a constant recharge: the cells that fail are exactly those whose critical recharge
    R* = w* T sin(theta) / a lies below the recharge given, and no others."""
    # The mean soil with its weakest cohesion, so that some cells can fail when saturated.
    soil = {key: float(np.mean(np.asarray(value, dtype=float))) for key, value in SOIL.items()}
    soil["cohesion_pa"] = 5000.0
    probe = CityModel(andorra_city, _scenario(tmp_path, [{"type": "landslide", "soil": soil, "recharge_mm_day": 0.0}]))
    slides = _landslides(probe)
    assert slides.soil is not None
    w_star = critical_wetness(slides.soil.cohesion_star, slides.soil.tan_phi, slides.soil.density_ratio, slides.theta)
    critical_mm_day = 1000 * w_star * slides.soil.transmissivity_m2_day * np.sin(slides.theta) / slides.area_m
    chosen = float(np.quantile(critical_mm_day[w_star <= 1], 0.001))  # the weakest 0.1% of cells fail
    for recharge, expected in ((chosen * 0.999, critical_mm_day < chosen * 0.999), (chosen, critical_mm_day <= chosen)):
        entry = {"type": "landslide", "soil": soil, "recharge_mm_day": recharge, "runout_m": 0}
        model = CityModel(andorra_city, _scenario(tmp_path, [entry], duration="20min"))
        model.run()
        np.testing.assert_array_equal(_landslides(model).failed, expected & (w_star <= 1))
    assert (critical_mm_day <= chosen).sum() > (critical_mm_day < chosen * 0.999).sum() >= 0


def test_storm_slides_do_not_depend_on_the_step(andorra_city: City, tmp_path: Path) -> None:
    hazards = [STORM, {"type": "landslide", "soil": SOIL, "recharge": "rain"}]
    runs = []
    for step in ("60s", "300s"):
        model = CityModel(andorra_city, _scenario(tmp_path, hazards, step=step))
        model.run()
        runs.append(model)
    fine, coarse = (_landslides(m) for m in runs)
    assert fine.failed.sum() > 0
    np.testing.assert_array_equal(fine.failed, coarse.failed)
    np.testing.assert_array_equal(runs[0].state.link_closed_debris, runs[1].state.link_closed_debris)
    assert runs[0].recorder.latest("slides") > 0


def test_storm_blocks_roads_under_debris_only_and_is_deterministic(andorra_city: City, tmp_path: Path) -> None:
    hazards = [STORM, {"type": "landslide", "soil": SOIL, "recharge": "rain"}]
    first = CityModel(andorra_city, _scenario(tmp_path, hazards))
    first.run()
    state = first.state
    assert state.link_closed_debris.any()
    slides = _landslides(first)
    covered = np.zeros(andorra_city.terrain.elevation_m.size, dtype=bool)
    covered[slides.footprint_cell] = True
    link, cell = line_cell_pairs(
        shapely.from_wkb(andorra_city.drive.links["geometry"].to_numpy()),
        andorra_city.terrain.transform,
        andorra_city.terrain.elevation_m.shape,
    )
    under = np.zeros(len(state.link_closed_debris), dtype=bool)
    under[link[covered[cell]]] = True
    np.testing.assert_array_equal(state.link_closed_debris, under)
    assert (state.link_debris_m3[under] > 0).all() and (state.link_debris_m3[~under] == 0).all()
    again = CityModel(andorra_city, _scenario(tmp_path, hazards))
    again.run()
    assert first.recorder.timeseries().equals(again.recorder.timeseries())
    other = CityModel(andorra_city, _scenario(tmp_path, hazards, seed=12))
    other.run()
    assert not np.array_equal(_landslides(other).failed, slides.failed)


def test_explicit_slide_closes_exactly_the_links_its_footprint_touches(andorra_city: City, tmp_path: Path) -> None:
    links = andorra_city.drive.links
    target = int(np.flatnonzero(links["name"].str.contains("Meritxell", na=False).to_numpy())[0])
    middle = shapely.line_interpolate_point(shapely.from_wkb(links["geometry"].iloc[target]), 0.5, normalized=True)
    lon, lat = Transformer.from_crs(andorra_city.crs, "EPSG:4326", always_xy=True).transform(middle.x, middle.y)
    slide = {"at": "30min", "at_lonlat": [lon, lat], "width_m": 10, "runout_m": 0, "depth_m": 2.0}
    model = CityModel(andorra_city, _scenario(tmp_path, [{"type": "landslide", "slides": [slide]}], duration="1h"))
    model.run()
    slides = _landslides(model)
    assert len(slides.slide_t) == 1 and slides.slide_t[0] == 1800.0
    cell = int(slides.footprint_cell[0])
    assert slides.footprint_cell.tolist() == [cell]
    assert slides.slide_volume[0] == pytest.approx(andorra_city.terrain.resolution_m**2 * 2.0)
    pair_link, pair_cell = line_cell_pairs(
        shapely.from_wkb(links["geometry"].to_numpy()),
        andorra_city.terrain.transform,
        andorra_city.terrain.elevation_m.shape,
    )
    expected = np.unique(pair_link[pair_cell == cell])
    assert target in expected
    np.testing.assert_array_equal(np.flatnonzero(model.state.link_closed_debris), expected)
    events = model.recorder.events_table()
    assert (events["kind"] == "landslide").sum() == 1
    assert set(events.loc[events["kind"] == "close_link", "cause"]) == {"landslide"}


def test_landslide_entries_that_do_not_fit_are_reported(andorra_city: City, tmp_path: Path) -> None:
    paris = {"at": "1h", "at_lonlat": [2.35, 48.85]}
    entry = {"type": "landslide", "soil": SOIL, "recharge": "rain", "slides": [paris]}
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, [entry]))
    text = "\n".join(info.value.problems)
    assert "no rain entry" in text and "outside the elevation grid" in text and "hazards[0]" in text


def test_landslide_checkpoint_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, [STORM, {"type": "landslide", "soil": SOIL, "recharge": "rain"}])
    first = CityModel(andorra_city, spec)
    first.run(until_s=6 * 3600)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    assert first.recorder.timeseries().equals(restored.recorder.timeseries())
    np.testing.assert_array_equal(_landslides(first).footprint_cell, _landslides(restored).footprint_cell)
