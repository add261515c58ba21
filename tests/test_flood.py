"""River flood and rain ponding against known answers, and the flood hazard on real maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.ndimage as ndi

from tests.conftest import ROOT, VALIRA_FLOOD, scenario_of
from tests.hydro_grids import CELL_M, bowl, hydrology_of, terrain_of, v_valley, valley_river, waterways_of
from twin.city.build import City
from twin.city.rivers import match_rivers
from twin.errors import ScenarioError
from twin.hazards.flood.model import FloodHazard
from twin.hazards.flood.ponding import Depressions, Ponding, scs_runoff_mm
from twin.hazards.flood.river import FloodPlain, channel_mask
from twin.run import results_of
from twin.scenario import Scenario
from twin.sim.model import CityModel

ROWS, COLS = 40, 31
CENTRE = COLS // 2


def _valley_plain(z: np.ndarray, max_stage: float = 20.0) -> FloodPlain:
    terrain = terrain_of(z)
    hydrology = hydrology_of(terrain, waterways_of([valley_river(ROWS, COLS)], ["Test River"]), channel_min_area_km2=50)
    mask = channel_mask(terrain, hydrology, np.array([0]), None)
    return FloodPlain.of_channel(terrain, hydrology, mask, max_stage)


def test_wet_band_of_a_v_valley_has_the_analytic_width_and_depths() -> None:
    # HAND = 1 m per cell from the river (cross slope 0.1 on 10 m cells): at stage 2.5 m the band is the river
    # cell and two cells each side, 2.5, 1.5 and 0.5 m deep.
    plain = _valley_plain(v_valley(ROWS, COLS))
    cells, depth = plain.depth(2.5)
    grid = np.zeros((ROWS, COLS))
    grid.ravel()[cells] = depth
    inner = grid[5:-1, 1:-1]
    expected = np.maximum(2.5 - 1.0 * np.abs(np.arange(1, COLS - 1) - CENTRE), 0.0)
    np.testing.assert_allclose(inner, np.broadcast_to(expected, inner.shape), atol=1e-4)
    assert ((grid[5:-1] > 0).sum(axis=1) == 5).all()


def test_land_below_the_stage_but_cut_off_from_the_river_stays_dry() -> None:
    z = v_valley(ROWS, COLS)
    z[20:23, 25:28] -= 8.5  # a hollow 10 m above the river, sunk to 1.5 m above it, behind a 10 m ridge
    plain = _valley_plain(z)
    cells, _ = plain.depth(2.5)
    wet = np.zeros(z.size, dtype=bool)
    wet[cells] = True
    assert not wet.reshape(z.shape)[20:23, 25:28].any()
    cells, _ = plain.depth(10.5)  # once the ridge is under water, the hollow fills too
    wet[:] = False
    wet[cells] = True
    assert wet.reshape(z.shape)[20:23, 25:28].all()


def _bowl_ponding(drainage_mm_h: float = 0.0) -> Ponding:
    terrain = terrain_of(bowl(21))
    hydrology = hydrology_of(terrain, burn_depth_m=0.0, channel_min_area_km2=50)
    depressions = Depressions.of_grid(terrain, hydrology)
    assert depressions.count == 1
    return Ponding(depressions, np.full(terrain.elevation_m.size, 100.0), drainage_mm_h)


def test_closed_bowl_stores_the_rain_excess_then_spills() -> None:
    ponding = _bowl_ponding()
    capacity = float(ponding.depressions.capacity_m3[0])
    # CN 100: every drop runs off. Every cell drains into the bowl except its spill point (one of the four
    # lowest rim cells, mid-side) and the two rim cells beside it, which slope to it and leave with it.
    leaving = np.flatnonzero(ponding.depressions.target_region < 0)
    assert len(leaving) == 3
    catchment = (21 * 21 - 3) * CELL_M**2
    rain_mm = 0.0
    while True:
        ponding.step(rain_mm, rain_mm + 2.0, 60.0)
        rain_mm += 2.0
        if rain_mm / 1000 * catchment > capacity:
            break
        assert ponding.stored_m3 == pytest.approx(rain_mm / 1000 * catchment, rel=1e-9)
        assert ponding.budget.outflow == pytest.approx(rain_mm / 1000 * 3 * CELL_M**2, rel=1e-9)
    assert ponding.stored_m3 == pytest.approx(capacity, rel=1e-9)
    assert ponding.budget.outflow == pytest.approx(rain_mm / 1000 * 21 * 21 * CELL_M**2 - capacity, rel=1e-9)
    cells, depth = ponding.depth_grid_values()
    z = bowl(21).ravel()
    np.testing.assert_allclose(z[cells] + depth, 50.0 + 0.01 * 10**2, atol=1e-6)  # a flat lake at the rim


def test_level_pool_depths_hold_the_stored_volume() -> None:
    ponding = _bowl_ponding()
    ponding.step(0.0, 30.0, 600.0)
    _, depth = ponding.depth_grid_values()
    assert depth.sum() * CELL_M**2 == pytest.approx(ponding.stored_m3, rel=1e-9)


def test_drains_empty_the_pond_after_the_rain_and_the_budget_closes() -> None:
    ponding = _bowl_ponding(drainage_mm_h=36.0)
    ponding.step(0.0, 40.0, 600.0)
    stored = ponding.stored_m3
    _, depth = ponding.depth_grid_values()
    wet_area = (depth > 0).sum() * CELL_M**2
    ponding.step(40.0, 40.0, 60.0)  # no rain: the pond loses 36 mm/h over its wet area for a minute
    assert ponding.stored_m3 == pytest.approx(stored - 0.036 / 60 * wet_area, rel=1e-9)
    budget = ponding.budget
    assert budget.rain == pytest.approx(budget.losses + budget.drained + budget.outflow + ponding.stored_m3, rel=1e-9)


def test_scs_runoff_known_values() -> None:
    # CN 80 (S = 63.5 mm), P = 100 mm -> Q = (100 - 12.7)^2 / (100 + 50.8) = 7621.29 / 150.8 = 50.539 mm.
    assert float(scs_runoff_mm(100.0, np.array([80.0]))[0]) == pytest.approx(50.539, abs=1e-3)
    assert float(scs_runoff_mm(10.0, np.array([80.0]))[0]) == 0.0  # below the initial abstraction 0.2 S
    assert float(scs_runoff_mm(25.0, np.array([100.0]))[0]) == pytest.approx(25.0)


# --- on real maps ----------------------------------------------------------------------------------


def _scenario(tmp_path: Path, map_name: str, hazards: list[dict[str, Any]], **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "flood-test",
        "map": str(ROOT / "maps" / map_name),
        "timezone": "UTC",
        "start": "2025-11-07T18:00",
        "duration": "12h",
        "step": "10min",
        "seed": 5,
        "hazards": hazards,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


VALIRA = VALIRA_FLOOD


def test_valira_flood_wets_the_valley_floor_and_closes_riverside_links_only(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, "andorra", [VALIRA]))
    model.run()
    state = model.state
    peak = state.water_peak_m
    wet = peak > 0
    assert wet.sum() > 300
    # Only the valley floor along the Valira is wet: every wet cell lies within 600 m of the river's channel.
    rows, _ = match_rivers(andorra_city.waterways, ["valira"])
    channel = channel_mask(andorra_city.terrain, andorra_city.hydrology, rows, None).reshape(wet.shape)
    distance, (near_row, near_col) = ndi.distance_transform_edt(~channel, return_indices=True)
    assert distance[wet].max() * andorra_city.terrain.resolution_m < 600
    assert wet[channel].mean() > 0.5  # along most of its course the river overflows its banks
    # ... and no wet cell stands more than a few metres above the river next to it (the mountains stay dry).
    elevation = andorra_city.terrain.elevation_m
    above_river = elevation - elevation[near_row, near_col]
    assert above_river[wet].max() < 10.0
    closed = np.isfinite(state.link_flood_closed_s)
    assert closed.sum() > 20
    links = andorra_city.drive.links
    ever = links[closed]
    assert (ever["name"].str.contains("Carlemany|Meritxell|Prat de la Creu|Valira", case=False)).any()
    # Hillside links (node elevations far above the valley floor) never close.
    nodes = andorra_city.drive.nodes["elevation_m"].to_numpy()
    high = nodes[links["src"].to_numpy()] > 1400
    assert not (closed & high).any()
    # The flood ends: by the end of the hydrograph every link has reopened and the water is gone.
    assert not state.link_closed_flood.any() and not state.water_depth_m.any()
    timeseries = model.recorder.timeseries()
    assert timeseries["links_closed"].max() > 0 and timeseries["flooded_area_m2"].max() > 0
    assert (timeseries["people_exposed"] >= timeseries["people_need_rescue"]).all()


def test_flood_runs_are_deterministic_and_restore_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    rain = {"type": "rain", "design_storm": {"total_mm": 60, "duration": "1h"}}
    spec = _scenario(tmp_path, "andorra", [VALIRA, rain], duration="6h")
    first = CityModel(andorra_city, spec)
    first.run(until_s=3 * 3600)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    second = CityModel(andorra_city, spec)
    second.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    # The rain's water budget reaches the run's metrics (metrics.json), as the flood hazard keeps it, and closes.
    flood = next(phase for phase in first.phases["hazards"] if isinstance(phase, FloodHazard))
    kept = flood.water_budget()
    assert kept is not None
    written = results_of(first, {}).metrics["water_budget"]
    assert {name: written[f"{name}_m3"] for name in kept} == pytest.approx(kept, rel=1e-12)
    assert abs(written["relative_error"]) < 1e-6 and written["rain_m3"] > 0
    for other in (second, restored):
        assert first.recorder.timeseries().equals(other.recorder.timeseries())
        np.testing.assert_array_equal(first.state.water_peak_m, other.state.water_peak_m)
        np.testing.assert_array_equal(first.state.building_damage, other.state.building_damage)


def test_unknown_river_names_list_the_map_rivers(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, "andorra", [{**VALIRA, "rivers": ["Gran Valyra"]}])
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, spec)
    text = "\n".join(info.value.problems)
    assert "s.yaml" in text and "hazards[0]" in text and "Gran Valyra" in text and "Riu Valira" in text


def test_map_without_named_rivers_says_so_and_floods_its_drainage_instead(monaco_city: City, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"no named rivers|the map has"):
        CityModel(monaco_city, _scenario(tmp_path, "monaco", [{**VALIRA, "rivers": ["Seine"]}]))
    drainage = {**VALIRA, "rivers": None, "channel_min_area_km2": 0.5, "channel_depth_m": 0.0}
    del drainage["rivers"]
    model = CityModel(monaco_city, _scenario(tmp_path, "monaco", [drainage], duration="6h"))
    model.run()
    assert (model.state.water_peak_m > 0).any()


def test_portland_river_flood_on_its_10_m_elevation_model(portland_city: City, tmp_path: Path) -> None:
    """Not tuned to Andorra: the Willamette's drainage network on a 10 m NED grid, a roads-only map."""
    flood = {
        "type": "river_flood",
        "channel_min_area_km2": 10.0,
        # 9 m over the NED's river surface (about 2.5 m): the water at 11.5 m tops the downtown seawall,
        # as in the flood of 1894; at 6 m (near the 1996 crest) it would stay in the river.
        "hydrograph": {"peak_stage_m": 9.0, "time_to_peak": "6h", "duration": "12h"},
    }
    model = CityModel(portland_city, _scenario(tmp_path, "portland", [flood], timezone="America/Los_Angeles"))
    model.run(until_s=6 * 3600)
    peak = model.state.water_peak_m
    wet = peak > 0
    assert wet.sum() * 100 > 1_000_000  # more than 1 km2 on 10 m cells
    # Nothing above the water surface: the river bed is at 2.5-2.9 m in the NED, so the surface is at most 11.9 m.
    assert np.nanmax(np.where(wet, portland_city.terrain.elevation_m, np.nan)) < 11.9
    assert model.state.link_closed_flood.any()
    assert model.recorder.latest("people_exposed") > 0  # residents by road length are exposed on a roads-only map
