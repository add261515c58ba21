"""Water behind a levee: weir flow over the crest and through a growing breach, level-pool filling.

Hand-computed answers on a rectangular basin (flat bottom of known area behind a straight levee), and on the
synthetic V valley the levee tests use (the pool ends at the river's level: the bathtub's depths); on Andorra, a
breached wall's run restores from a checkpoint mid-fill bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, VALIRA_FLOOD, scenario_of
from tests.hydro_grids import hydrology_of, terrain_of, v_valley, valley_river, waterways_of
from twin.city.build import City
from twin.hazards.flood.behind_levee import (
    LeveeBasins,
    StorageCurve,
    breach_width_m,
    weir_discharge,
)
from twin.hazards.flood.model import FloodHazard
from twin.hazards.flood.river import channel_mask, connection_stages
from twin.interventions.flood import Levee, barrier_hand
from twin.interventions.spec import BROAD_CREST_C
from twin.sim.model import CityModel

CELL = 10.0
ROWS, COLS = 20, 23  # columns 0-1 river side, 2 the levee, 3-22 the basin: 20 x 20 cells of 100 m2
LEVEE_COL = 2


def _rectangle(basin_hand: float, crest_m: float, gap_rows: list[int] | None = None, **breach: float) -> LeveeBasins:
    """A flat basin behind a straight levee on ground 0.5 m above the river.

    River side: HAND 0.2 (reached at stage 0.2). The levee's cells stand on HAND 0.5, each 10 m of line; the
    basin's floor is ``basin_hand``, and without the levee it joins the river through the levee's ground, at
    ``max(0.5, basin_hand)``.
    """
    hand = np.full((ROWS, COLS), basin_hand)
    hand[:, :LEVEE_COL] = 0.2
    hand[:, LEVEE_COL] = 0.5
    bare = np.maximum(hand, 0.5)
    bare[:, :LEVEE_COL] = 0.2
    walled = bare.copy()
    walled[:, LEVEE_COL:] = 0.5 + crest_m
    cells = np.arange(ROWS) * COLS + LEVEE_COL
    gap = cells[gap_rows] if gap_rows is not None else np.zeros(0, np.int64)
    levee = Levee(
        cells=cells,
        crest_m=crest_m,
        breach_s=0.0 if gap_rows is not None else None,
        label="test wall",
        gap=gap,
        gap_width_m=breach.get("width", 0.0),
        lengths_m=np.full(ROWS, CELL),
        breach_initial_width_m=breach.get("initial", 0.0),
        breach_formation_s=breach.get("formation", 0.0),
    )
    basins = LeveeBasins.of_river(hand.ravel(), bare.ravel(), walled.ravel(), [levee], (ROWS, COLS), CELL, top_m=10.0)
    assert basins is not None
    return basins


def test_overtopping_fills_a_flat_basin_at_c_l_h_to_the_1_5_over_its_area() -> None:
    # Crest 1 m on ground 0.5 m: crest level 1.5 m; stage 1.8 m, a head of 0.3 m over 20 cells x 10 m = 200 m.
    # The basin (400 cells x 100 m2 = 40,000 m2, floor 0.5 m) rises at Q / A = C 200 0.3^1.5 / 40,000 m/s while
    # it is below the crest (free flow): after 600 s, z = 0.5 + 600 C 200 0.3^1.5 / 40,000 = 0.7491 m.
    basins = _rectangle(basin_hand=0.5, crest_m=1.0)
    assert len(basins.curves) == 1 and basins.curves[0].cells.size == 400
    basins.advance(lambda t: 1.8, 0.0, 600.0)
    rise = 600.0 * BROAD_CREST_C * 200.0 * 0.3**1.5 / 40_000.0
    assert pytest.approx(1.7046, abs=1e-4) == BROAD_CREST_C
    assert basins.level_m[0] == pytest.approx(0.5 + rise, rel=1e-12)
    assert basins.volume_m3[0] == pytest.approx(40_000.0 * rise, rel=1e-12)
    cells, depth = basins.depth()
    assert cells.size == 400 and np.allclose(depth, rise)


def test_a_crest_above_the_stage_lets_no_water_behind() -> None:
    basins = _rectangle(basin_hand=0.5, crest_m=1.0)
    basins.advance(lambda t: 1.49, 0.0, 24 * 3600.0)
    assert basins.volume_m3[0] == 0.0 and basins.depth()[0].size == 0


def test_the_pool_rises_to_the_river_and_no_higher() -> None:
    # Stage 1.8 m over a 1.5 m crest for a day: the level meets the river's (the submerged weir's flow tends to
    # 0) and holds there; the basin holds 40,000 m2 x (1.8 - 0.5) m.
    basins = _rectangle(basin_hand=0.5, crest_m=1.0)
    basins.advance(lambda t: 1.8, 0.0, 24 * 3600.0)
    assert basins.level_m[0] == pytest.approx(1.8, abs=1e-9)
    assert basins.volume_m3[0] == pytest.approx(40_000.0 * 1.3, rel=1e-9)


def test_a_breach_widening_linearly_passes_the_integral_of_its_width() -> None:
    # The crest (3.5 m) stays above the 1.8 m stage; a breach opens at t = 0 on the ground under the wall (0.5 m),
    # growing from 2 m to 10 m over 600 s. The basin's floor is 0 m behind a 0.5 m sill (the wall's ground), so
    # the level waits at the sill and the weir flows free: Q(t) = C b(t) 1.3^1.5, and
    # V(900 s) = C 1.3^1.5 (2 x 900 + 8 x 600 / 2 + 8 x 300) = C 1.3^1.5 x 6,600 m.s (< the 20,000 m3 below
    # the sill, so the flow stays free).
    basins = _rectangle(basin_hand=0.0, crest_m=3.0, gap_rows=[9, 10], width=10.0, initial=2.0, formation=600.0)
    levee = basins.levees[0]
    assert [breach_width_m(levee, t) for t in (-1.0, 0.0, 300.0, 600.0, 900.0)] == [0.0, 2.0, 6.0, 10.0, 10.0]
    basins.advance(lambda t: 1.8, 0.0, 900.0)
    assert basins.volume_m3[0] == pytest.approx(BROAD_CREST_C * 1.3**1.5 * 6_600.0, rel=1e-12)
    assert basins.level_m[0] == 0.5


def test_villemonte_submergence_and_reverse_flow() -> None:
    # H1 = 1 m, H2 = 0.5 m above a 1 m crest: Q = C L (1 - 0.5^1.5)^0.385 = 1.705 x 0.8454 per metre of crest;
    # with the levels swapped the same flow runs back to the river.
    one = np.array([1.0])
    q = weir_discharge(np.array([2.0]), np.array([1.5]), one, one, np.array([1.705]))
    assert q[0] == pytest.approx(1.705 * (1.0 - 0.5**1.5) ** 0.385, rel=1e-12)
    assert q[0] == pytest.approx(1.4414, abs=1e-4)
    back = weir_discharge(np.array([1.5]), np.array([2.0]), one, one, np.array([1.705]))
    assert back[0] == -q[0]
    assert weir_discharge(np.array([0.9]), np.array([-np.inf]), one, one, np.array([1.705]))[0] == 0.0


def test_storage_curve_waits_at_a_sill_while_the_pocket_behind_it_fills() -> None:
    # Two cells of 100 m2: HAND 0 joining at 1 m (behind a sill), HAND 0.5 joining at 0.5 m.
    curve = StorageCurve(np.array([1, 0]), np.array([0.5, 1.0]), np.array([0.5, 0.0]), 100.0)
    assert curve.volume_m3(1.0) == pytest.approx(50.0)  # only the first cell, 0.5 m deep
    assert curve.level_m(50.0) == 1.0 and curve.level_m(149.0) == 1.0  # the pocket takes up to 100 m3 at 1 m
    assert curve.level_m(170.0) == pytest.approx(1.1)  # (170 / 100 + 0.5) / 2
    assert curve.volume_m3(1.1) == pytest.approx(170.0)
    assert curve.level_m(0.0) == 0.5


def test_a_valley_levee_overtopped_fills_the_land_behind_to_the_river_in_time() -> None:
    # The V valley of the levee tests (HAND 1 m per cell from the river), a 2 m wall on the east bank's first
    # column: crest 3 m above the river. At a 3.5 m stage the land behind fills over time, not at once, and a
    # day later it holds the river's level: the bathtub's depths, 3.5 - HAND.
    rows, cols = 40, 31
    centre = cols // 2
    terrain = terrain_of(v_valley(rows, cols))
    hydrology = hydrology_of(terrain, waterways_of([valley_river(rows, cols)], ["Test River"]), channel_min_area_km2=50)
    channel = channel_mask(terrain, hydrology, np.array([0]), None)
    cells = np.arange(rows) * cols + centre + 1
    levee = Levee(cells=cells, crest_m=2.0, breach_s=None, label="east wall")
    hand, bare = connection_stages(terrain, hydrology, channel)
    wall = Levee(cells=cells, crest_m=np.inf, breach_s=None, label="impassable")
    _, walled = connection_stages(terrain, hydrology, channel, lambda h: barrier_hand(h, [wall]))
    basins = LeveeBasins.of_river(hand, bare, walled, [levee], (rows, cols), CELL, top_m=5.0)
    assert basins is not None
    basins.advance(lambda t: 3.5, 0.0, 10.0)  # 400 m of crest under 0.5 m pass 241 m3/s: 2,410 m3 in 10 s
    early = np.zeros(rows * cols)
    inside, depth = basins.depth()
    early[inside] = depth
    assert early.sum() * CELL**2 == pytest.approx(basins.volume_m3.sum(), rel=1e-9)  # the pool holds what came in
    basins.advance(lambda t: 3.5, 10.0, 86_400.0)
    late = np.zeros(rows * cols)
    inside, depth = basins.depth()
    late[inside] = depth
    bathtub = np.where(bare < 3.5, 3.5 - hand, 0.0)
    protected = basins.label >= 0
    np.testing.assert_allclose(late[protected], bathtub[protected], atol=1e-6)
    assert 0 < early[protected].sum() < 0.5 * bathtub[protected].sum()


@pytest.mark.slow
def test_a_breach_run_is_deterministic_and_restores_bit_for_bit_mid_fill(andorra_city: City, tmp_path: Path) -> None:
    # The Santa Coloma wall breached at 3 h, its gap widening from 5 m to 60 m until 5 h; a checkpoint at 3 h 20 min
    # holds the pools' volumes mid-fill, and the restored run ends exactly as the straight one.
    wall = {
        "type": "levee",
        "street": "Avinguda de Santa Coloma",
        "crest_m": 2.0,
        "breach_at": "3h",
        "breach_point": [1.5077, 42.4998],
        "breach_width_m": 60,
        "breach_initial_width_m": 5,
        "breach_formation": "2h",
    }
    data = {
        "name": "breach-restore",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "UTC",
        "start": "2025-11-07T18:00",
        "duration": "4h",
        "step": "10min",
        "seed": 3,
        "hazards": [VALIRA_FLOOD],
        "interventions": [wall],
    }
    spec = scenario_of(tmp_path, data)
    first = CityModel(andorra_city, spec)
    first.run(until_s=3 * 3600 + 1200)
    flood = next(phase for phase in first.phases["hazards"] if isinstance(phase, FloodHazard))
    assert flood.basins[0] is not None and flood.basins[0].volume_m3.sum() > 0
    first.checkpoint(tmp_path / "mid.npz")
    first.run()
    second = CityModel(andorra_city, spec)
    second.run()
    restored = CityModel.restore(tmp_path / "mid.npz", andorra_city, spec)
    restored.run()
    for other in (second, restored):
        assert first.recorder.timeseries().equals(other.recorder.timeseries())
        np.testing.assert_array_equal(first.state.water_depth_m, other.state.water_depth_m)
        np.testing.assert_array_equal(first.state.water_peak_m, other.state.water_peak_m)
