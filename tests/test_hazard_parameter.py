"""set_hazard_parameter: a river raised at run time beyond the scenario's highest stage.

The flood plain is computed up to the scenario's highest stage and extended when an event raises the river
above it; the answer must not depend on when the plain was extended.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT
from tests.hydro_grids import hydrology_of, terrain_of, v_valley, valley_river, waterways_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.hazards.flood.river import FloodPlain, channel_mask
from twin.hazards.flood.series import max_stage_m, stage_m
from twin.hazards.flood.spec import RiverFloodSpec
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

ROWS, COLS = 40, 31
CENTRE = COLS // 2


def _valley(max_stage: float) -> tuple[FloodPlain, object, object]:
    terrain = terrain_of(v_valley(ROWS, COLS))
    hydrology = hydrology_of(terrain, waterways_of([valley_river(ROWS, COLS)], ["Test River"]), channel_min_area_km2=50)
    mask = channel_mask(terrain, hydrology, np.array([0]), None)
    return FloodPlain.of_channel(terrain, hydrology, mask, max_stage), terrain, hydrology


def test_extended_v_valley_plain_equals_the_plain_computed_for_the_higher_stage() -> None:
    low, terrain, hydrology = _valley(3.0)
    with pytest.raises(ValueError, match="above the 3 m"):
        low.depth(6.5)
    extended = low.extended(terrain, hydrology, 8.0)
    direct, _, _ = _valley(8.0)
    for name in ("cells", "connect_m", "hand_m"):
        np.testing.assert_array_equal(getattr(extended, name), getattr(direct, name))
    assert low.extended(terrain, hydrology, 2.0) is low
    # Analytic: HAND rises 1 m per cell from the river, so at 6.5 m the band is 13 cells wide, 6.5 m deep at the
    # river and 0.5 m at its edges (the valley's top rows drain off the grid; the bottom row is the outlet).
    cells, depth = extended.depth(6.5)
    grid = np.zeros((ROWS, COLS))
    grid.ravel()[cells] = depth
    expected = np.maximum(6.5 - 1.0 * np.abs(np.arange(1, COLS - 1) - CENTRE), 0.0)
    inner = grid[8:-1, 1:-1]
    np.testing.assert_allclose(inner, np.broadcast_to(expected, inner.shape), atol=1e-4)


def test_stage_offset_and_peak_change_the_stage_series() -> None:
    spec = RiverFloodSpec.model_validate(
        {"rivers": ["x"], "hydrograph": {"peak_stage_m": 2.0, "time_to_peak": "1h", "duration": "3h"}}
    )
    t = np.array([-60.0, 1800.0, 3600.0, 3 * 3600.0 + 60])
    np.testing.assert_allclose(stage_m(spec, t), [0.0, 1.0, 2.0, 0.0])
    raised = spec.with_parameter("stage_offset_m", 1.5)
    np.testing.assert_allclose(stage_m(raised, t), [1.5, 2.5, 3.5, 1.5])
    assert max_stage_m(raised) == 3.5
    lowered = spec.with_parameter("stage_offset_m", -1.5)
    np.testing.assert_allclose(stage_m(lowered, t), [0.0, 0.0, 0.5, 0.0])  # never below 0
    higher = spec.with_parameter("hydrograph.peak_stage_m", 5.0)
    np.testing.assert_allclose(stage_m(higher, t), [0.0, 2.5, 5.0, 0.0])
    assert spec.hydrograph is not None and spec.hydrograph.peak_stage_m == 2.0  # the original is unchanged
    with pytest.raises(ValueError, match=r"stage_offset_m .*hydrograph\.peak_stage_m"):
        spec.with_parameter("peak_stage_m", 5.0)
    with pytest.raises(ValueError, match="> 0"):
        spec.with_parameter("hydrograph.peak_stage_m", -1.0)


# --- scenarios -----------------------------------------------------------------------------------------

VALIRA: dict[str, object] = {
    "type": "river_flood",
    "rivers": ["valira"],
    "channel_depth_m": 3.0,
    "hydrograph": {"peak_stage_m": 4.5, "time_to_peak": "3h", "duration": "8h"},
}
RAISE_AT_S = 2 * 3600.0


def _write(tmp_path: Path, hazards: list[dict[str, object]], events: list[dict[str, object]], name: str) -> Path:
    data: dict[str, object] = {
        "name": "raise-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "UTC",
        "start": "2025-11-07T18:00",
        "duration": "5h",
        "step": "10min",
        "seed": 5,
        "hazards": hazards,
        "events": events,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _scenario(tmp_path: Path, hazards: list[dict[str, object]], events: list[dict[str, object]]) -> Scenario:
    return load_scenario(_write(tmp_path, hazards, events, "s.yaml"))


def _depths_by_step(model: CityModel) -> list[tuple[float, np.ndarray]]:
    out = []
    while not model.finished:
        model.step()
        out.append((model.clock_s, model.state.water_depth_m.copy()))
    return out


def test_bad_hazard_index_and_parameter_are_reported_with_file_line_and_valid_names(tmp_path: Path) -> None:
    events: list[dict[str, object]] = [
        {"kind": "set_hazard_parameter", "at": "1h", "hazard": 3, "parameter": "stage_offset_m", "value": 1.0},
        {"kind": "set_hazard_parameter", "at": "1h", "hazard": 0, "parameter": "peak_stage_m", "value": 6.0},
        {"kind": "set_hazard_parameter", "at": "1h", "hazard": 0, "parameter": "stage_offset_m", "value": 500},
    ]
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, [VALIRA], events, "bad.yaml"))
    text = "\n".join(info.value.problems)
    assert "bad.yaml:" in text
    assert "events[0].hazard" in text and "no hazards[3]" in text and "entries 0 to 0" in text
    assert "events[1].parameter" in text and "hydrograph.peak_stage_m" in text and "stage_offset_m (" in text
    assert "events[2].value" in text and "within -100 to 100 m" in text


def test_keys_of_a_set_hazard_parameter_event_are_checked_with_the_event(tmp_path: Path) -> None:
    events: list[dict[str, object]] = [
        {"kind": "set_hazard_parameter", "at": "1h", "hazard": 0, "parameter": "stage_offset_m"},
        {"kind": "message", "at": "1h", "text": "hi", "hazard": 0},
        {
            "kind": "set_hazard_parameter",
            "at": "1h",
            "hazard": 0,
            "parameter": "stage_offset_m",
            "value": 1,
            "text": "a",
        },
    ]
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, [VALIRA], events, "bad.yaml"))
    text = "\n".join(info.value.problems)
    assert "bad.yaml:" in text
    assert "events[0].value" in text and "required key is missing" in text
    assert "events[1].hazard" in text and "only for set_hazard_parameter" in text
    assert "events[2].text" in text and "not used by set_hazard_parameter" in text


@pytest.mark.slow
def test_raising_the_river_mid_run_equals_a_run_that_had_that_stage(andorra_city: City, tmp_path: Path) -> None:
    raise_peak = {"kind": "set_hazard_parameter", "at": "2h", "hazard": 0}
    raised = _scenario(tmp_path, [VALIRA], [{**raise_peak, "parameter": "hydrograph.peak_stage_m", "value": 7.0}])
    high = {**VALIRA, "hydrograph": {"peak_stage_m": 7.0, "time_to_peak": "3h", "duration": "8h"}}
    base = _scenario(tmp_path, [high], [])
    first = CityModel(andorra_city, raised)
    # the river's plains are [(from_s, plain), ...], one per levee breach: the first holds from the start
    precomputed = first.phases["hazards"][0].rivers[0][1][0][1]  # type: ignore[attr-defined]
    assert precomputed.max_stage_m == 1.5  # 4.5 m peak, 3 m channel depth
    by_event = _depths_by_step(first)
    by_spec = _depths_by_step(CityModel(andorra_city, base))
    after = [i for i, (t, _) in enumerate(by_event) if t >= RAISE_AT_S]  # it fires in the step ending at 2h
    assert after and all(np.array_equal(by_event[i][1], by_spec[i][1]) for i in after)
    assert not np.array_equal(by_event[after[0] - 1][1], by_spec[after[0] - 1][1])  # before the raise they differ
    # The plain was extended to the new peak, and at the peak the water reached cells the old plain did not have.
    assert first.phases["hazards"][0].rivers[0][1][0][1].max_stage_m == 4.0  # type: ignore[attr-defined]
    at_peak = next(depth for t, depth in by_event if t == 3 * 3600.0)
    assert np.setdiff1d(np.flatnonzero(at_peak > 0), precomputed.cells).size > 50
    logged = first.recorder.events_table()
    assert (logged["kind"] == "set_hazard_parameter").sum() == 1

    offset = {**raise_peak, "parameter": "stage_offset_m", "value": 1.0}
    by_offset = _depths_by_step(CityModel(andorra_city, _scenario(tmp_path, [VALIRA], [offset])))
    shifted = _depths_by_step(CityModel(andorra_city, _scenario(tmp_path, [{**VALIRA, "stage_offset_m": 1.0}], [])))
    assert all(np.array_equal(by_offset[i][1], shifted[i][1]) for i in after)


@pytest.mark.slow
def test_a_checkpoint_after_the_raise_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    event = {"kind": "set_hazard_parameter", "at": "1h", "hazard": 0, "parameter": "stage_offset_m", "value": 2.0}
    spec = _scenario(tmp_path, [VALIRA], [event])
    whole = CityModel(andorra_city, spec)
    whole.run(until_s=2 * 3600)
    whole.checkpoint(tmp_path / "half.npz")
    whole.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    assert restored.phases["hazards"][0].rivers[0][0].stage_offset_m == 2.0  # type: ignore[attr-defined]
    restored.run()
    assert whole.recorder.timeseries().equals(restored.recorder.timeseries())
    np.testing.assert_array_equal(whole.state.water_peak_m, restored.state.water_peak_m)


def test_an_inject_with_a_bad_entry_or_value_is_refused(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, [VALIRA], []))
    with pytest.raises(ScenarioError, match="hazard: must be the index of a hazard entry \\(0 to 0\\), got 2"):
        model.inject("set_hazard_parameter", hazard=2, parameter="stage_offset_m", value=1.0)
    with pytest.raises(ScenarioError, match="it has: stage_offset_m"):
        model.inject("set_hazard_parameter", hazard=0, parameter="rain_mm", value=1.0)
    with pytest.raises(ScenarioError, match="value: must be a finite number"):
        model.inject("set_hazard_parameter", hazard=0, parameter="stage_offset_m", value=float("nan"))
    model.inject("set_hazard_parameter", hazard=0, parameter="stage_offset_m", value=1.0)
    model.step()
    assert model.phases["hazards"][0].rivers[0][0].stage_offset_m == 1.0  # type: ignore[attr-defined]
