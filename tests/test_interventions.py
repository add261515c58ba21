"""Interventions: each one changes the physics it claims to, by a hand-computed amount.

Levees on a synthetic valley (HAND known cell by cell); raised roads and floodproofing on Andorra's exposure
with a water grid set by hand; generators, pump backups, tanks and hospital water on Andorra's lifelines with
the Escaldes plant and substation failed by an event (their times of failure move by exactly the hours added).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.ops

from tests.conftest import VALIRA_FLOOD, scenario_of
from tests.hydro_grids import CELL_M, hydrology_of, terrain_of, v_valley, valley_river, waterways_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.hazards.exposure import FloodExposure
from twin.hazards.flood.model import FloodHazard, _plain_at, _plains
from twin.hazards.flood.river import FloodPlain, channel_mask
from twin.hazards.flood.spec import RiverFloodSpec
from twin.interventions.flood import Levee, barrier_hand, gap_cells
from twin.interventions.spec import LeveeSpec
from twin.lifelines.model import Lifelines
from twin.scenario import Scenario
from twin.sim.model import CityModel
from twin.sim.state import SimState

ROOT = Path(__file__).resolve().parents[1]
ROWS, COLS = 40, 31
CENTRE = COLS // 2

# ------------------------------------------------------------------------------------------------ levees


def _valley() -> tuple[Any, Any, np.ndarray]:
    """A V valley whose land rises 1 m per cell from the river (cross slope 0.1 on 10 m cells): HAND = 1 m per cell."""
    terrain = terrain_of(v_valley(ROWS, COLS))
    hydrology = hydrology_of(terrain, waterways_of([valley_river(ROWS, COLS)], ["Test River"]), channel_min_area_km2=50)
    return terrain, hydrology, channel_mask(terrain, hydrology, np.array([0]), None)


def _wet(plain: FloodPlain, stage_m: float) -> np.ndarray:
    grid = np.zeros(ROWS * COLS)
    cells, depth = plain.depth(stage_m)
    grid[cells] = depth
    return grid.reshape(ROWS, COLS)


def _levee_east_bank(crest_m: float, breach_s: float | None = None, gap: np.ndarray | None = None) -> Levee:
    """A levee on the first column east of the river, the whole valley long; its breach opens ``gap`` (default all)."""
    cells = np.arange(ROWS) * COLS + CENTRE + 1
    return Levee(cells=cells, crest_m=crest_m, breach_s=breach_s, label="test levee", gap=cells if gap is None else gap)


def test_levee_keeps_the_land_behind_it_dry_up_to_its_crest_and_floods_it_above() -> None:
    # The levee stands on land 1 m above the river, crest 2 m: water tops it at stage 3 m.
    terrain, hydrology, channel = _valley()
    levee = _levee_east_bank(2.0)
    plain = FloodPlain.of_channel(terrain, hydrology, channel, 5.0, lambda hand: barrier_hand(hand, [levee]))
    bare = FloodPlain.of_channel(terrain, hydrology, channel, 5.0)
    behind = np.s_[5:-1, CENTRE + 2 : -1]
    west = np.s_[5:-1, 1:CENTRE]
    below = _wet(plain, 2.5)
    assert not below[behind].any()  # 2.5 m stage: nothing behind the levee is wet ...
    assert _wet(bare, 2.5)[behind].any()  # ... the land 2 m above the river would be without it
    np.testing.assert_array_equal(below[west], _wet(bare, 2.5)[west])  # the other bank is unchanged
    above = _wet(plain, 3.5)
    np.testing.assert_allclose(above[behind], _wet(bare, 3.5)[behind])  # 3.5 m tops the crest: as if no levee
    # Depth behind at 3.5 m is the stage less HAND: 3.5 - 2 two cells east of the river, 3.5 - 3 three cells.
    np.testing.assert_allclose(above[10, CENTRE + 2 : CENTRE + 5], [1.5, 0.5, 0.0], atol=1e-4)
    assert _wet(plain, 2.99)[behind].sum() == 0 and _wet(plain, 3.01)[behind].sum() > 0


def test_a_breached_levee_lets_the_water_in_from_its_breach_time() -> None:
    terrain, hydrology, channel = _valley()
    city = SimpleNamespace(terrain=terrain, hydrology=hydrology)
    spec = RiverFloodSpec.model_validate(
        {
            "type": "river_flood",
            "channel_min_area_km2": 1.0,
            "channel_depth_m": 0.0,
            "hydrograph": {"peak_stage_m": 3.0, "time_to_peak": "2h", "duration": "4h"},
        }
    )
    plains = _plains(city, spec, channel, [_levee_east_bank(2.0, breach_s=3600.0)])
    assert [from_s for from_s, _ in plains] == [0.0, 3600.0]
    behind = np.s_[5:-1, CENTRE + 2 : -1]
    assert not _wet(_plain_at(plains, 3599.0), 2.5)[behind].any()
    assert _wet(_plain_at(plains, 3600.0), 2.5)[behind].any()


def _two_basins() -> tuple[Any, Any, np.ndarray]:
    """The V valley with a ridge 10 m high across the east side at row 20 (from two cells east of the river):
    behind the east-bank levee lie two basins, rows 0-19 and rows 21-39, that water cannot cross between."""
    z = v_valley(ROWS, COLS)
    z[20, CENTRE + 2 :] += 10.0
    terrain = terrain_of(z)
    hydrology = hydrology_of(terrain, waterways_of([valley_river(ROWS, COLS)], ["Test River"]), channel_min_area_km2=50)
    return terrain, hydrology, channel_mask(terrain, hydrology, np.array([0]), None)


def _east_bank_line() -> shapely.LineString:
    """The east-bank levee's line, north to south through its cells' centres (row r is r x 10 m along it)."""
    x = (CENTRE + 1.5) * CELL_M
    return shapely.LineString([(x, (ROWS - 0.5) * CELL_M), (x, 0.5 * CELL_M)])


def _east_bank_gap(along_m: float, width_m: float) -> np.ndarray:
    cells = np.arange(ROWS) * COLS + CENTRE + 1
    return gap_cells(_east_bank_line(), along_m, width_m, cells, terrain_of(v_valley(ROWS, COLS)).transform, COLS)


def test_a_breach_opens_cells_within_half_its_width_along_the_levee() -> None:
    # Cell centres lie every 10 m along the line, row r at 10 r m. A 30 m breach centred at 100 m opens rows 9-11
    # (|10 r - 100| <= 15); centred at 105 m it opens rows 9-12 (|90 - 105| = |120 - 105| = 15); a 4 m breach
    # narrower than a cell still opens the one cell under it.
    assert (_east_bank_gap(100.0, 30.0) // COLS).tolist() == [9, 10, 11]
    assert (_east_bank_gap(105.0, 30.0) // COLS).tolist() == [9, 10, 11, 12]
    assert (_east_bank_gap(253.0, 4.0) // COLS).tolist() == [25]
    assert (_east_bank_gap(100.0, 30.0) % COLS == CENTRE + 1).all()


def test_a_breach_floods_only_the_basin_behind_its_gap() -> None:
    # Stage 2.5 m, crest 2 m on land 1 m above the river: nothing overtops (3 m). A 30 m breach at 100 m along
    # (rows 9-11) lets the water into the northern basin only: the gap's cells (HAND 1 m) take 1.5 m, the next
    # column east (HAND 2 m) 0.5 m from row 0 to row 19, where the ridge stops it; the column beyond (HAND 3 m)
    # stays dry, and so does the southern basin. A breach at 300 m (rows 29-31) floods the southern one instead.
    terrain, hydrology, channel = _two_basins()
    city = SimpleNamespace(terrain=terrain, hydrology=hydrology)
    spec = RiverFloodSpec.model_validate(
        {
            "type": "river_flood",
            "channel_min_area_km2": 1.0,
            "channel_depth_m": 0.0,
            "hydrograph": {"peak_stage_m": 2.5, "time_to_peak": "2h", "duration": "4h"},
        }
    )
    behind = np.s_[:, CENTRE + 1 :]
    for along_m, basin in ((100.0, slice(0, 20)), (300.0, slice(21, ROWS))):
        levee = _levee_east_bank(2.0, breach_s=3600.0, gap=_east_bank_gap(along_m, 30.0))
        plains = _plains(city, spec, channel, [levee])
        assert not _wet(_plain_at(plains, 3599.0), 2.5)[behind].any()  # before the breach the levee holds
        expected = np.zeros((ROWS, COLS - CENTRE - 1))
        gap_rows = levee.gap // COLS
        expected[gap_rows, 0] = 1.5
        expected[basin, 1] = 0.5
        np.testing.assert_allclose(_wet(_plain_at(plains, 3600.0), 2.5)[behind], expected, atol=1e-5)


def _scenario(tmp_path: Path, **changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "interventions-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "UTC",
        "start": "2025-11-07T18:00",
        "duration": "30h",
        "step": "10min",
        "seed": 3,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


VALIRA = VALIRA_FLOOD


def test_levee_along_a_street_protects_homes_and_is_logged_when_it_breaches(andorra_city: City, tmp_path: Path) -> None:
    levee = {"type": "levee", "street": "Avinguda de Santa Coloma", "crest_m": 2.0, "cost": 1.0}
    base = CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], duration="8h"))
    base.run()
    held = CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], duration="8h", interventions=[levee]))
    held.run()
    assert (held.state.water_peak_m <= base.state.water_peak_m).all()
    assert held.recorder.timeseries()["people_exposed"].max() < base.recorder.timeseries()["people_exposed"].max()
    # A 60 m breach at 3 h where the wall is nearest to land it keeps dry: water enters there only, so the
    # peak lies between the intact wall's and no wall's, and differs from both.
    point = _breach_point_by_dry_land(andorra_city, levee, held.state.water_peak_m < base.state.water_peak_m)
    breached = {**levee, "breach_at": "3h", "breach_point": point, "breach_width_m": 60}
    late = CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], duration="8h", interventions=[breached]))
    late.run()
    events = pd.DataFrame(late.recorder.events, columns=["t_s", "kind", "what", "cause", "data"])
    breaches = events[events["kind"] == "levee_breach"]
    assert breaches["t_s"].tolist() == [3 * 3600.0] and json.loads(breaches["data"].iloc[0])["width_m"] == 60
    held_peak, late_peak, base_peak = held.state.water_peak_m, late.state.water_peak_m, base.state.water_peak_m
    assert (held_peak <= late_peak).all() and (late_peak <= base_peak).all()
    assert (late_peak > held_peak).any() and (late_peak < base_peak).any()
    # Ten minutes after the breach, a gap opening at 5 m (growing to 60 m over 2 h) has let less water behind the
    # wall than one open at 60 m at once; the pools hold at least the water drawn on their cells (more while a
    # pocket behind a sill fills, see twin.hazards.flood.behind_levee).
    slow = {**breached, "breach_initial_width_m": 5, "breach_formation": "2h"}
    after: dict[str, Any] = {}
    for name, wall in (("sudden", breached), ("slow", slow)):
        model = CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], duration="190min", interventions=[wall]))
        model.run()
        after[name] = model
    flood = next(phase for phase in after["slow"].phases["hazards"] if isinstance(phase, FloodHazard))
    basins = flood.basins[0]
    assert basins is not None
    behind = np.zeros(andorra_city.terrain.elevation_m.size, dtype=bool)
    behind[basins.label >= 0] = True
    water = {name: model.state.water_depth_m.ravel()[behind].sum() for name, model in after.items()}
    assert 0 < water["slow"] < water["sudden"]
    _, depth = basins.depth()
    assert 0 < depth.sum() * andorra_city.terrain.resolution_m**2 <= basins.volume_m3.sum() * (1 + 1e-9)
    assert any("growing linearly from 5 m over 2 h" in note for note in flood.assumptions())


def _levee_pieces(city: City, levee: dict[str, Any]) -> np.ndarray:
    """A street levee's lines, merged into pieces (metric CRS)."""
    from twin.interventions.flood import levee_line
    from twin.interventions.spec import LeveeSpec

    lines = levee_line(city, LeveeSpec.model_validate(levee))
    return np.asarray(shapely.get_parts(shapely.line_merge(shapely.union_all(lines))))


def _to_lonlat(city: City, point: shapely.Point) -> list[float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(city.config.crs, "EPSG:4326", always_xy=True).transform(point.x, point.y)
    return [float(lon), float(lat)]


def _breach_point_by_dry_land(city: City, levee: dict[str, Any], kept_dry: np.ndarray) -> list[float]:
    """[lon, lat] of the point of a street levee nearest to the land it keeps dry (bool grid)."""
    rows, cols = np.nonzero(kept_dry)
    x, y = city.terrain.transform @ (cols + 0.5, rows + 0.5)
    dry = shapely.points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    wall = shapely.union_all(_levee_pieces(city, levee))
    nearest = dry[int(np.argmin(shapely.distance(wall, dry)))]
    return _to_lonlat(city, shapely.ops.nearest_points(wall, nearest)[0])


def _middle_lonlat(city: City, levee: dict[str, Any]) -> list[float]:
    """[lon, lat] of the middle of a street levee's longest piece."""
    pieces = _levee_pieces(city, levee)
    longest = pieces[int(np.argmax(shapely.length(pieces)))]
    return _to_lonlat(city, longest.interpolate(0.5, normalized=True))


def test_levee_off_the_map_or_without_a_river_is_refused_with_its_line(andorra_city: City, tmp_path: Path) -> None:
    far = {"type": "levee", "line": [[2.0, 41.0], [2.01, 41.01]], "crest_m": 2.0}
    nowhere = {"type": "levee", "street": "Carrer Inexistent", "crest_m": 1.0}
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], interventions=[far, nowhere]))
    text = "\n".join(info.value.problems)
    assert "interventions[0]: the levee lies outside the elevation grid" in text and "lon 1." in text
    assert "interventions[1]: street:" in text and "Carrer Inexistent" in text
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, interventions=[nowhere]))
    assert "has no river_flood hazard" in "\n".join(info.value.problems)


# ------------------------------------------------------------------------------- raised roads, floodproofing


def _flat_water(city: City, depth_m: float) -> SimState:
    state = SimState.normal(city)
    state.water_depth_m[:] = depth_m
    return state


def test_a_raised_road_carries_that_much_less_water(andorra_city: City) -> None:
    exposure = FloodExposure(andorra_city)
    ordinary = np.flatnonzero(
        ~andorra_city.drive.links["bridge"].to_numpy(bool) & ~andorra_city.drive.links["tunnel"].to_numpy(bool)
    )
    ordinary = ordinary[np.isin(ordinary, exposure.pair_link)]
    # Water over a road counts from the road's own surface (twin.hazards.roadwater), so the same 0.5 m on every
    # cell puts different depths on different roads: find them first, then raise one road closed at 0.3-0.6 m.
    before = _flat_water(andorra_city, 0.5)
    exposure.apply(before, 0.0, deck_height_m=5.0, component_threshold_m=0.3)
    depth = before.link_flood_depth_m
    link = int(ordinary[(depth[ordinary] >= 0.3) & (depth[ordinary] < 0.6)][0])
    exposure.road_raise_m[link] = 0.3
    state = _flat_water(andorra_city, 0.5)
    exposure.apply(state, 0.0, deck_height_m=5.0, component_threshold_m=0.3)
    assert state.link_flood_depth_m[link] == pytest.approx(depth[link] - 0.3)  # that much less water ...
    assert not state.link_closed_flood[link]  # ... below the 0.3 m closure depth
    others = np.setdiff1d(ordinary, [link])
    np.testing.assert_array_equal(state.link_flood_depth_m[others], depth[others])
    np.testing.assert_array_equal(state.link_closed_flood[others], before.link_closed_flood[others])


def test_floodproofing_protects_a_component_up_to_its_design_depth(andorra_city: City) -> None:
    exposure = FloodExposure(andorra_city)
    transformer = int(np.flatnonzero(exposure.vulnerable & (exposure.component_cell >= 0))[0])
    exposure.withstand_m[transformer] = 1.5
    for depth, damaged in ((1.0, False), (1.5, False), (1.6, True)):
        state = _flat_water(andorra_city, depth)
        exposure.apply(state, 0.0, deck_height_m=5.0, component_threshold_m=0.3)
        assert state.comp_damaged[transformer] == damaged, depth
        others = np.flatnonzero(exposure.vulnerable & (exposure.component_cell >= 0) & (exposure.withstand_m == 0))
        assert state.comp_damaged[others].all()  # 1 m > 0.3 m: the unprotected ones fail


def test_floodproofing_what_water_cannot_harm_is_refused(andorra_city: City, tmp_path: Path) -> None:
    proof = {"type": "floodproof", "target": {"kinds": ["line"]}, "depth_m": 1.0}
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], interventions=[proof]))
    assert "water does not damage in this model (line)" in "\n".join(info.value.problems)


# ------------------------------------------------------------------------------------------ lifelines

#: The Escaldes hydro plant and its substation fail at 1 h (a third of the city loses grid power; the pumps of
#: water zones 3, 4 and 8 stop), and so does the pump of zone 1 (component 448), whose hospital (6) then lives
#: on the zone's 12 h tank.
OUTAGE = {"kind": "fail_component", "at": "1h", "target": {"components": [78, 96, 448]}}


def _down_times(model: CityModel) -> dict[str, float]:
    """First ``component_down`` time of every component, by its description."""
    events = pd.DataFrame(model.recorder.events, columns=["t_s", "kind", "what", "cause", "data"])
    down = events[events["kind"] == "component_down"]
    return {str(what): float(t) for what, t in down.groupby("what")["t_s"].min().items()}


def _run(city: City, tmp_path: Path, interventions: list[dict[str, Any]]) -> dict[str, float]:
    # 48 h: the hospital's own 24 h of water (city.yaml hospital_water_hours) runs out after its zone's 12 h tank
    model = CityModel(city, _scenario(tmp_path, events=[OUTAGE], interventions=interventions, duration="48h"))
    model.run()
    return _down_times(model)


def test_generators_pump_backups_tanks_and_hospital_water_add_exactly_their_hours(
    andorra_city: City, tmp_path: Path
) -> None:
    base = _run(andorra_city, tmp_path, [])
    masts = {k: v for k, v in base.items() if k.startswith("mast ")}
    assert masts and all(t == 3600.0 + 4 * 3600.0 for t in masts.values())  # 4 h batteries
    measures = [
        {"type": "generator", "target": {"kinds": ["mast"]}, "hours": 6, "cost": 30000, "currency": "EUR"},
        {"type": "pump_backup", "hours": 2},
        {"type": "tank", "hours": 3},
        {"type": "hospital_water", "hours": 5},
    ]
    helped = _run(andorra_city, tmp_path, measures)
    hours = {
        what: (helped.get(what, np.inf) - t) / 3600.0 for what, t in base.items() if not what.startswith("traffic")
    }
    by_component = {int(what.split("(component ")[1].split(",")[0]): h for what, h in hours.items()}
    assert by_component == {
        78: 0.0,  # failed by the event: nothing delays that
        96: 0.0,
        448: 0.0,
        392: 6.0,  # masts: 4 h battery, then the 6 h generator
        393: 6.0,
        394: 6.0,
        452: 2.0,  # pumps without grid power run 2 h on their backup
        453: 2.0,
        460: 2.0,
        444: 5.0,  # their zones' tanks: the pump's 2 h, then 3 h more storage
        446: 5.0,
        461: 5.0,
        449: 3.0,  # zone 1's tank: its pump is broken, so only the 3 h of storage
    }
    # No hospital runs dry within the 48 h: each holds city.yaml's 24 h of water of its own, and hospital_water
    # adds its 5 h to that store.
    model = CityModel(andorra_city, _scenario(tmp_path, interventions=[measures[3]]))
    (lifelines,) = model.phases["lifelines"]
    assert isinstance(lifelines, Lifelines)
    assert lifelines.store_hours.tolist() == [24.0 + 5.0] * len(lifelines.store_comp) and len(lifelines.store_comp)


def test_lifeline_interventions_on_the_wrong_components_are_refused(andorra_city: City, tmp_path: Path) -> None:
    measures = [
        {"type": "generator", "target": {"kinds": ["substation"]}, "hours": 6},
        {"type": "hospital_water", "target": {"kinds": ["mast"]}, "hours": 6},
        {"type": "tank", "target": {"name": "no such tank"}, "hours": 6},
    ]
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, interventions=measures))
    text = info.value.problems
    assert len(text) == 3
    assert "interventions[0]: target: selects" in text[0] and "not components that need power" in text[0]
    assert "not hospitals (mast)" in text[1]
    assert "interventions[2]: target:" in text[2] and "no such tank" in text[2]


def test_interventions_are_validated_with_every_problem_and_its_line(tmp_path: Path) -> None:
    bad = [
        {"type": "levee", "crest_m": -1, "line": [[1.5, 42.5]]},
        {"type": "shelter"},
        {"type": "levy"},
        {"type": "generator", "target": {"kinds": ["hospital"]}, "hours": 0},
        {"type": "levee", "crest_m": 1},
        {"kind": "message", "at": "1h", "text": "scripted actions still work"},
    ]
    with pytest.raises(ScenarioError) as info:
        _scenario(tmp_path, interventions=bad)
    text = "\n".join(info.value.problems)
    assert "interventions[0].crest_m: must be > 0" in text
    assert "interventions[0].line: must be a list of at least two [lon, lat] points" in text
    assert "interventions[1].type: 'shelter' is not an intervention type: shelters are the map's (city.yaml)" in text
    assert "interventions[2].type: unknown intervention type 'levy'; did you mean 'levee'?" in text
    assert "interventions[3].hours: must be > 0" in text
    assert "interventions[4]: has neither of line and street" in text
    assert len(info.value.problems) == 6
    good = _scenario(tmp_path, interventions=[bad[5], {"type": "tank", "hours": 6, "cost": 10, "currency": "EUR"}])
    assert [type(m).__name__ for m in good.measures] == ["TankSpec"] and len(good.intervention_events) == 1


def test_a_breach_s_growth_and_weir_are_validated_in_the_planner_s_words(tmp_path: Path) -> None:
    wall = {"type": "levee", "street": "Avinguda de Santa Coloma", "crest_m": 2.0}
    breach = {"breach_at": "1h", "breach_along_m": 10, "breach_width_m": 20}
    bad = [
        {**wall, "breach_initial_width_m": 5, "breach_formation": "1h"},
        {**wall, **breach, "breach_initial_width_m": 30},
        {**wall, **breach, "breach_formation": "-2h", "weir_coefficient": 0},
    ]
    with pytest.raises(ScenarioError) as info:
        _scenario(tmp_path, interventions=bad)
    text = info.value.problems
    assert len(text) == 6
    assert any("interventions[0].breach_formation: is given without breach_at; a breach needs" in t for t in text)
    assert any("interventions[0].breach_initial_width_m: is given without breach_at" in t for t in text)
    assert any(
        "[1].breach_initial_width_m: is given without breach_formation; add breach_formation: 2h" in t for t in text
    )
    assert any(
        "[1].breach_initial_width_m: 30 m is not below breach_width_m (20 m); the breach grows" in t for t in text
    )
    assert any("interventions[2].breach_formation: must be > 0, got '-2h'" in t for t in text)
    assert any("interventions[2].weir_coefficient: must be > 0, got 0" in t for t in text)
    good = _scenario(
        tmp_path, interventions=[{**wall, **breach, "breach_initial_width_m": 5, "breach_formation": "2h"}]
    )
    measure = good.measures[0]
    assert isinstance(measure, LeveeSpec) and measure.breach_formation_s == 7200.0
    assert measure.weir_coefficient == pytest.approx(1.7046, abs=1e-4)


# ------------------------------------------------------------------------------------ the what-if pair


def test_levee_what_if_through_compare_reports_hours_avoided_per_unit_of_cost(tmp_path: Path) -> None:
    from twin.report.compare_page import COSTS_CSV, compare_runs
    from twin.run import run_scenario

    levee = {
        "type": "levee",
        "label": "Santa Coloma wall",
        "street": "Avinguda de Santa Coloma",
        "crest_m": 2.0,
        "cost": 2_000_000,  # a test figure, not a default: twin has none
        "currency": "EUR",
    }
    folders: dict[str, list[Path]] = {"base": [], "levee": []}
    for variant, interventions in (("base", []), ("levee", [levee])):
        (tmp_path / variant).mkdir()
        spec = _scenario(tmp_path / variant, hazards=[VALIRA], duration="8h", interventions=interventions)
        for seed in (1, 2):
            out = tmp_path / "runs" / f"{variant}-{seed}"
            run_scenario(spec, seed=seed, out=out)
            folders[variant].append(out)
    report = (folders["levee"][0] / "report.html").read_text(encoding="utf-8")
    assert "Santa Coloma wall" in report and "2,000,000 EUR" in report
    assert 'class="pz-toggle"' in report and "<script" not in report  # the hazard map pans and zooms, no script
    frame = compare_runs([*folders["base"], *folders["levee"]], tmp_path / "cmp")
    costs = pd.read_csv(tmp_path / "cmp" / COSTS_CSV)
    access = costs[costs["service"] == "access"].iloc[0]
    hours = frame[(frame["metric"] == "people_hours_without_service") & (frame["service"] == "access")]
    avoided = hours["mean"].iloc[0] - hours["mean"].iloc[1]
    assert avoided > 0  # the wall keeps riverside roads open
    assert access["cost"] == 2_000_000 and access["currency"] == "EUR"
    assert access["avoided_people_hours"] == pytest.approx(avoided)
    assert access["per_unit_cost"] == pytest.approx(avoided / 2_000_000)
    assert "Cost and benefit of the interventions" in (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")


def test_runs_with_interventions_are_deterministic_and_restore_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    measures = [
        {
            "type": "levee",
            "street": "Avinguda de Santa Coloma",
            "crest_m": 2.0,
            "breach_at": "5h",
            "breach_point": _middle_lonlat(
                andorra_city, {"type": "levee", "street": "Avinguda de Santa Coloma", "crest_m": 2.0}
            ),
            "breach_width_m": 90,
        },
        {"type": "raise_road", "target": {"street": "Avinguda Carlemany"}, "height_m": 0.5},
        {"type": "hospital_water", "hours": 3},
        {"type": "generator", "target": {"kinds": ["mast"]}, "hours": 2},
    ]
    spec = _scenario(tmp_path, hazards=[VALIRA], duration="10h", events=[OUTAGE], interventions=measures)
    first = CityModel(andorra_city, spec)
    first.run(until_s=4 * 3600)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    second = CityModel(andorra_city, spec)
    second.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    for other in (second, restored):
        pd.testing.assert_frame_equal(first.recorder.timeseries(), other.recorder.timeseries())
        np.testing.assert_array_equal(first.state.water_peak_m, other.state.water_peak_m)
        np.testing.assert_array_equal(first.state.comp_up, other.state.comp_up)


def test_a_levee_between_two_points_covers_the_cells_of_its_line(andorra_city: City) -> None:
    from twin.interventions.flood import levee_of
    from twin.interventions.spec import LeveeSpec

    spec = LeveeSpec.model_validate({"type": "levee", "line": [[1.5200, 42.5000], [1.5300, 42.5000]], "crest_m": 1.0})
    channel = np.zeros(andorra_city.terrain.elevation_m.size, dtype=bool)
    levee, problem = levee_of(andorra_city, spec, channel)
    assert problem is None and levee is not None
    # 0.01 degree of longitude at 42.5 N is 820 m: about 28 cells of 30 m along one row (UTM is nearly north-up).
    assert 26 <= levee.cells.size <= 32
    rows = levee.cells // andorra_city.terrain.elevation_m.shape[1]
    assert np.ptp(rows) <= 1


def test_a_breach_without_its_place_or_width_is_refused_with_every_problem(tmp_path: Path) -> None:
    wall = {"type": "levee", "street": "Avinguda de Santa Coloma", "crest_m": 2.0}
    entries = [
        {**wall, "breach_at": "3h"},  # no place, no width
        {**wall, "breach_width_m": 50, "breach_along_m": 10},  # a place and a width, but no time
        {**wall, "breach_at": "3h", "breach_point": [1.5], "breach_width_m": 50},
    ]
    with pytest.raises(ScenarioError) as info:
        _scenario(tmp_path, hazards=[VALIRA], interventions=entries)
    text = "\n".join(info.value.problems)
    assert "interventions[0].breach_at: has no place: give breach_point or breach_along_m" in text
    assert "interventions[0].breach_at: has no width: give breach_width_m" in text
    assert "interventions[1].breach_width_m: is given without breach_at" in text
    assert "interventions[1].breach_along_m: is given without breach_at" in text
    assert "interventions[2].breach_point: must be a point [lon, lat]" in text
    assert "Traceback" not in text and "LeveeSpec" not in text


def test_a_breach_off_its_levee_is_refused_against_the_map(andorra_city: City, tmp_path: Path) -> None:
    # The line runs 820 m east along 42.50 N; 2 km along it is past its end, and a point 0.01 degree (1.1 km)
    # north of it is not on it.
    line = {"type": "levee", "line": [[1.5200, 42.5000], [1.5300, 42.5000]], "crest_m": 1.0, "breach_at": "1h"}
    far_along = {**line, "breach_along_m": 2000, "breach_width_m": 50}
    far_point = {**line, "breach_point": [1.5250, 42.5100], "breach_width_m": 50}
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, hazards=[VALIRA], interventions=[far_along, far_point]))
    text = "\n".join(info.value.problems)
    assert "interventions[0]: breach_along_m: 2000 m is beyond the levee's end (82" in text
    assert "interventions[1]: breach_point: lies 11" in text and "m from the levee; give a point on it" in text
