"""Model validity (issue 14): each rule on top of the physics checked on a small analytic terrain or network
built in the test, against a formula."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely

from tests.conftest import ROOT
from tests.hydro_grids import bowl, hydrology_of, terrain_of, waterways_of
from twin.city.build import City
from twin.city.roads import Network
from twin.cli import main
from twin.hazards.damage import CLOSURE_DEPTH_M
from twin.hazards.exposure import FloodExposure
from twin.hazards.flood.model import FloodHazard
from twin.hazards.flood.ponding import Depressions, Ponding, composite_curve_number, table_sealed_share
from twin.hazards.flood.river import FloodPlain, channel_mask
from twin.hazards.landslide.spec import SoilSpec
from twin.hazards.landslide.stability import Soil, factor_of_safety, reach_ratio, runout_pairs
from twin.hazards.restoration import Recovery, restoration_delay_h
from twin.hazards.roadwater import RoadSamples
from twin.lifelines.model import Lifelines
from twin.lifelines.networks import sited_home
from twin.lifelines.weak_points import flood_prone_syntheses, single_points_of_failure
from twin.metrics.resilience import disruption_onset_s, resilience_index
from twin.metrics.summary import run_metrics, service_metrics, service_names
from twin.metrics.water import water_budget
from twin.scenario import load_scenario
from twin.sim.access import access_to_care, cut_off_nodes
from twin.sim.phase import StepContext
from twin.sim.state import SimState

# --- item 1: a road closes by the water over its own surface ------------------------------------------------------

CROSS = 0.1  # cross-valley slope of the planar V-valley (m per m)
LONG = 0.002  # down-valley slope
WIDTH_M, LENGTH_M = 930.0, 1200.0


def _planar_valley(cell_m: float) -> tuple[np.ndarray, float]:
    """z = 100 + CROSS |x - x0| + LONG (LENGTH - y) at cell centres; x0 the centre of the middle column."""
    rows, cols = round(LENGTH_M / cell_m), round(WIDTH_M / cell_m)
    x0 = (cols // 2 + 0.5) * cell_m
    row, col = np.mgrid[0:rows, 0:cols]
    x, y = (col + 0.5) * cell_m, LENGTH_M - (row + 0.5) * cell_m
    return 100.0 + CROSS * np.abs(x - x0) + LONG * (LENGTH_M - y), x0


def _closing_stage(cell_m: float, road: shapely.LineString) -> float:
    """The lowest stage (1 cm steps) at which the road's water depth reaches the closure depth."""
    z, x0 = _planar_valley(cell_m)
    terrain = terrain_of(z, cell_m)
    river = shapely.LineString([(x0, LENGTH_M - cell_m / 2), (x0, cell_m / 2)])
    hydrology = hydrology_of(terrain, waterways_of([river], ["River"]), channel_min_area_km2=50)
    plain = FloodPlain.of_channel(terrain, hydrology, channel_mask(terrain, hydrology, np.array([0]), None), 12.0)
    samples = RoadSamples.of_links(np.array([road]), terrain)
    for stage in np.arange(0.01, 12.0, 0.01):
        depth = np.zeros(z.size)
        cells, values = plain.depth(float(stage))
        depth[cells] = values
        if samples.depth_m(depth, 1)[0] >= CLOSURE_DEPTH_M:
            return float(stage)
    raise AssertionError("the road never closed")


@pytest.mark.parametrize("cell_m", [10.0, 30.0])
@pytest.mark.parametrize("offset_m", [12.0, 37.0, 100.0])
def test_road_parallel_to_the_river_closes_at_the_analytic_stage(cell_m: float, offset_m: float) -> None:
    # A road along the valley, offset_m from the river: its surface is CROSS * offset above the bed at the same
    # cross-section, so water 0.3 m deep stands on it at stage s* = CROSS * offset + 0.3 (the down-valley slope
    # cancels: the bed and the road fall together). Within one cell's slope, at 10 m and at 30 m.
    _, x0 = _planar_valley(cell_m)
    road = shapely.LineString([(x0 + offset_m, 300.0), (x0 + offset_m, 900.0)])
    expected = CROSS * offset_m + CLOSURE_DEPTH_M
    assert abs(_closing_stage(cell_m, road) - expected) <= CROSS * cell_m / 2 + LONG * cell_m + 0.011


@pytest.mark.parametrize("cell_m", [10.0, 30.0])
def test_road_climbing_from_the_river_closes_at_its_lowest_point(cell_m: float) -> None:
    # A road leaving the river bank at 20 m and climbing the valley side: its lowest point, CROSS * 20 m above
    # the bed, floods first, at s* = CROSS * 20 + 0.3.
    _, x0 = _planar_valley(cell_m)
    road = shapely.LineString([(x0 + 20.0, 600.0), (x0 + 200.0, 600.0)])
    expected = CROSS * 20.0 + CLOSURE_DEPTH_M
    assert abs(_closing_stage(cell_m, road) - expected) <= CROSS * cell_m / 2 + LONG * cell_m + 0.011


# --- item 2: a flooded hospital is out of service -----------------------------------------------------------------


def test_flooded_hospital_is_out_and_its_beds_leave_q_health(andorra_city: City) -> None:
    # Water deeper than facility_flood_depth_m at a hospital's cell puts it out with cause "flood"; Q_health
    # then loses exactly that hospital's share of the beds, b_h / sum(b).
    exposure = FloodExposure(andorra_city)
    facilities = andorra_city.facilities
    hospitals = np.flatnonzero((facilities["kind"] == "hospital").to_numpy() & (exposure.component_cell >= 0))
    assert hospitals.size
    lifelines = Lifelines(andorra_city)
    beds = dict(zip(lifelines.hospitals.tolist(), lifelines.hospital_beds.tolist(), strict=True))
    hospital = int(hospitals[0])
    threshold = andorra_city.config.facility_flood_depth_m
    state = SimState.normal(andorra_city)
    for depth, out in ((threshold - 0.05, False), (1.5, True)):
        grid = np.zeros_like(state.water_depth_m)
        grid.reshape(-1)[exposure.component_cell[hospital]] = depth
        state.water_depth_m = grid
        changes = exposure.apply(state, 60.0, deck_height_m=5.0, component_threshold_m=0.3)
        assert bool(state.comp_damaged[hospital]) is out
        assert (hospital in changes.damaged_components) is out
    assert state.comp_cause[hospital] == "flood"
    lifelines._evaluate(state, 1 / 6)
    expected = 1.0 - beds[hospital] / sum(beds.values())
    assert lifelines.series()["Q_health"] == pytest.approx(expected)


# --- item 3: synthesised pumps and tanks out of flood-prone land; weak points; hospital water storage ------------


def test_synthesised_pump_and_tank_stand_out_of_flood_prone_land() -> None:
    # Homes every 10 m up the side of a V-valley of cross slope 0.1: home i stands 10 i m from the river,
    # z = 100 + 0.1 * 10 i and HAND = 0.1 * 10 i. The pump goes to the lowest home with HAND >= 5 m,
    # i = ceil(5 / 1) = 5; the tank to the highest home, i = 11.
    i = np.arange(12)
    z = 100.0 + CROSS * 10.0 * i
    hand = CROSS * 10.0 * i
    members = np.arange(12)
    assert sited_home(members, z, hand, 5.0, lowest=True) == 5
    assert sited_home(members, z, hand, 5.0, lowest=False) == 11
    # No home high enough: the band's lowest home after all (and map build warns about it).
    assert sited_home(members[:4], z, hand, 5.0, lowest=True) == 0


def test_flood_prone_synthesised_components_are_warned_about() -> None:
    table = pd.DataFrame(
        {
            "kind": ["pumping_station", "pumping_station", "traffic_signals", "storage_tank", "mast", "mast"],
            "osm_type": ["synthetic", "node", "synthetic", "synthetic", "synthetic", "synthetic"],
            "osm_id": [0, 7, 0, 0, 0, 0],
            "name": ["pump, zone 1", "real pump", "signal", "tank, zone 1", "cell site 1", "cell site 2"],
        }
    )
    warnings = flood_prone_syntheses(table, np.array([1.0, 1.0, 0.0, 40.0, np.nan, 4.9]), 5.0)
    # The synthesised pump (1.0 m) and cell site 2 (4.9 m), cell site 1 off the grid; not the OSM pump (real),
    # the signal (water does not fail it) nor the tank (40 m up). One line per kind and rule.
    assert len(warnings) == 3
    pump, low_sites, off_grid = warnings
    assert pump.startswith("warning: 1 water pumps") and "pump, zone 1 (1.0 m)" in pump and "real pump" not in pump
    assert "cuts water" in pump and "less than 5 m above the nearest stream or river" in pump
    assert "cell site 2 (4.9 m)" in low_sites and "cuts telecom" in low_sites
    assert "outside the elevation model" in off_grid and "cell site 1" in off_grid


def test_map_build_prints_the_maps_warnings(
    monaco_city: City, city_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Monaco's one synthesised pump and tank serve 93 % of its residents, and some synthesised cell sites stand
    # in flood-prone land: twin map build says so on stderr, each warning once, as map info lists them.
    assert main(["map", "build", str(ROOT / "maps" / "monaco"), "--cache", str(city_cache)]) == 0
    err = capsys.readouterr().err
    printed = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert printed == monaco_city.warnings()
    assert any("single point of failure" in line and "water" in line for line in printed)
    assert "Traceback" not in err


def test_single_points_of_failure_list_the_people_they_serve() -> None:
    # Three homes on a three-node network: 600 residents in water zone 0 (pump row 0, tank row 1), 400 in zone 1
    # (pump row 2, tank row 3); one substation (row 4) feeds all 1000, through one line (row 5).
    homes = pd.DataFrame({"population": [500, 100, 400], "drive_node": [0, 1, 2]})
    net = SimpleNamespace(
        water_pump=np.array([0, 2]),
        water_tank=np.array([1, 3]),
        node_water_zone=np.array([0, 0, 1]),
        power_sources=np.array([4]),
        node_power_zone=np.array([0, 0, 0]),
        feeds_comp=np.array([5]),
        feeds_zone=np.array([0]),
    )
    found = single_points_of_failure(pd.DataFrame(), homes, net)
    # Served share >= 0.5: zone 0's pump and tank (600 = 60 %), the substation and the line (1000); not zone 1's.
    assert sorted(found) == [(0, "water", 600.0), (1, "water", 600.0), (4, "power", 1000.0), (5, "power", 1000.0)]


def test_hospital_runs_on_its_water_storage_after_the_mains_run_dry(andorra_city: City) -> None:
    # Every pump damaged at t = 0: the zone's tank lasts tank_hours, then the hospital's own storage
    # hospital_water_hours; the hospital goes down at T = tank_hours + hospital_water_hours (hourly steps).
    spec = andorra_city.config.lifelines
    lifelines = Lifelines(andorra_city)
    state = SimState.normal(andorra_city)
    pumps = lifelines.city.lifelines.water_pump
    state.comp_damaged[pumps[pumps >= 0]] = True
    hospital = int(lifelines.hospitals[0])
    down_at = None
    for hour in range(1, 100):
        up = lifelines._evaluate(state, 1.0)
        if not up[hospital]:
            down_at = hour
            break
    assert down_at is not None
    assert abs(down_at - (spec.water.tank_hours + spec.hospital_water_hours)) <= 1


# --- item 4: wet, not destroyed components come back after the water leaves ----------------------------------------


def test_wet_components_return_after_the_hazus_restoration_time() -> None:
    # Three substations under 0.5 m, 1.5 m and 2.5 m of water (damage depth 0.3 m) for the first 4 h. The first is
    # moderately damaged (Hazus mean 3 days), the second extensively (7 days), the third destroyed: they work again
    # at 4 h + 72 h and 4 h + 168 h; the third never without a repair.
    recovery = Recovery(["substation"] * 3, [0.3] * 3)
    peaks = np.array([0.5, 1.5, 2.5])
    rows = np.arange(3)
    back_at: dict[int, float] = {}
    for t_h in np.arange(0.0, 400.0, 0.5):
        water = peaks if t_h < 4.0 else np.zeros(3)
        pending = rows[~np.isin(rows, list(back_at))]
        back, _ = recovery.step(t_h * 3600.0, pending, water[pending])
        recovery.reset(back)
        back_at.update({int(r): float(t_h) for r in back})
    assert back_at == {0: 4.0 + 3.0 * 24, 1: 4.0 + 7.0 * 24}
    np.testing.assert_array_equal(restoration_delay_h(["pumping_station"], [0.5]), [3.1 * 24])
    assert np.isinf(restoration_delay_h(["mast"], [2.01])[0])


def test_water_back_above_the_damage_depth_restarts_the_clock() -> None:
    recovery = Recovery(["mast"], [0.3])
    rows = np.array([0])
    assert recovery.step(0.0, rows, np.array([0.4]))[0].size == 0
    assert recovery.step(3600.0, rows, np.array([0.0]))[0].size == 0  # dry from 1 h
    assert recovery.step(7200.0, rows, np.array([0.5]))[0].size == 0  # wet again: clock stopped
    assert recovery.step(10800.0, rows, np.array([0.0]))[0].size == 0  # dry from 3 h: back at 3 h + 24 h
    assert recovery.step(3600.0 * 26.5, rows, np.array([0.0]))[0].size == 0
    assert recovery.step(3600.0 * 27, rows, np.array([0.0]))[0].tolist() == [0]


def test_the_flood_phase_repairs_a_dried_component_and_logs_why(andorra_city: City, tmp_path: Path) -> None:
    # A substation damaged by the flood, its cell dry from t = 0 (peak 0.5 m: moderate, Hazus mean 3 days): the
    # flood phase clears its damage at 72 h, not before, and logs repair_component with cause "flood receded".
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"name: t\nmap: {ROOT / 'maps' / 'andorra'}\nstart: '2025-11-07T18:00'\nduration: 4d\nstep: 1h\n"
        "hazards:\n  - {type: river_flood, rivers: [valira], hydrograph: {peak_stage_m: 1, time_to_peak: 1h, "
        "duration: 2h}}\n"
    )
    hazard = FloodHazard.from_specs(andorra_city, list(load_scenario(scenario).hazards))
    assert hazard is not None
    facilities = andorra_city.facilities
    row = int(
        np.flatnonzero((facilities["kind"] == "substation").to_numpy() & (hazard.exposure.component_cell >= 0))[0]
    )
    state = SimState.normal(andorra_city)
    state.comp_damaged[row], state.comp_cause[row] = True, "flood"
    hazard.recovery.peak_m[row] = 0.5
    logged: list[tuple[float, str, str]] = []

    def context(t_s: float) -> StepContext:
        def log(t: float, kind: str, target: str, cause: str, details: dict[str, object]) -> None:
            logged.append((t, kind, cause))

        return StepContext(t_s, 0, andorra_city, state, np.random.default_rng(0), log, lambda event: event)

    dry = np.zeros(andorra_city.terrain.elevation_m.size, dtype=np.float32)
    for hours in (0.0, 71.0):
        hazard._recover(context(hours * 3600.0), hours * 3600.0, dry)
        assert state.comp_damaged[row] and not logged
    hazard._recover(context(72 * 3600.0), 72 * 3600.0, dry)
    assert not state.comp_damaged[row] and state.comp_cause[row] == ""
    assert logged == [(72 * 3600.0, "repair_component", "flood receded")]


# --- item 5: people-hours from the people each zone holds ----------------------------------------------------------


def test_people_hours_count_the_people_of_the_zones_out() -> None:
    # 1000 residents; telecom reaches 600 normally and 300 of them lose it for 2 h (records every hour, the
    # trapezoid integral of N(t) = 0, 300, 300, 0 is 300 x 2 = 600 person-hours, where 1000 x L would give
    # 1000 x (0.5 x 2) = 1000). Health (beds) takes its people from access: 200 lose care for 1 h -> 200.
    t = np.array([0.0, 3600.0, 7200.0, 10800.0])
    series = pd.DataFrame(
        {
            "t_s": t,
            "Q_telecom": [1.0, 0.5, 0.5, 1.0],
            "people_out_telecom": [0.0, 300.0, 300.0, 0.0],
            "Q_health": [1.0, 0.0, 1.0, 1.0],
            "people_out_access": [0.0, 200.0, 0.0, 0.0],
            "Q_water": [1.0, 0.0, 1.0, 1.0],
        }
    )
    figures = service_metrics(series, population=1000)
    assert figures["telecom"]["people_hours_without_service"] == pytest.approx(300.0 * 2)
    assert figures["health"]["people_hours_without_service"] == pytest.approx(200.0 * 1)
    # No people column: the whole city times the loss, (1000 x 1 h).
    assert figures["water"]["people_hours_without_service"] == pytest.approx(1000.0)


def test_lifelines_count_the_people_of_the_power_zone_out(andorra_city: City) -> None:
    lifelines = Lifelines(andorra_city)
    state = SimState.normal(andorra_city)
    net = andorra_city.lifelines
    source = int(net.power_sources[0])
    state.comp_damaged[source] = True
    lifelines._evaluate(state, 1 / 6)
    homes = andorra_city.homes
    zone = net.node_power_zone[homes["drive_node"].to_numpy()]
    expected = float(homes["population"].to_numpy()[zone == 0].sum())
    assert lifelines.series()["people_out_power"] == pytest.approx(expected)


# --- item 6: Cimellaro's index from the disruption's onset --------------------------------------------------------


def test_resilience_index_integrates_from_the_onset() -> None:
    # Q = 1 for the first hour, then every bridge closes and Q steps to q1 = 0.5 at 1 h (records every 60 s) and
    # stays there until 4 h. From the run's start R would be (1 h + 3 h x q1) / 4 h
    # = 0.625 (plus half a record of ramp); from the onset (the record at 1 h - 60 s) it is the mean over the 3 h +
    # 60 s that follow: (30 s x (1 + q1) + 3 h x q1) / (3 h + 60 s).
    t = np.arange(0.0, 4 * 3600.0 + 1, 60.0)
    q = np.where(t >= 3600.0, 0.5, 1.0)
    onset = 3600.0 - 60.0
    assert disruption_onset_s(t, q) == onset
    expected = (30.0 * 1.5 + 3 * 3600.0 * 0.5) / (3 * 3600.0 + 60.0)
    assert resilience_index(t, q) == pytest.approx(expected, rel=1e-12)
    # With a control time of 2 h from the onset: (30 s x 1.5 + (2 h - 60 s) x 0.5) / 2 h.
    expected_2h = (30.0 * 1.5 + (7200.0 - 60.0) * 0.5) / 7200.0
    assert resilience_index(t, q, control_time_s=7200.0) == pytest.approx(expected_2h, rel=1e-12)
    # A service that never drops: R = 1 whatever the control time.
    assert resilience_index(t, np.ones_like(t), control_time_s=600.0) == 1.0


# --- item 7: debris stops at its angle of reach and where the slope flattens --------------------------------------


def _profile(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A one-row terrain draining east, cell i to i + 1, and its flat elevations."""
    receiver = np.append(np.arange(1, z.size), -1)
    return receiver, z.astype(np.float64)


def test_debris_from_a_wall_stops_at_its_foot() -> None:
    # A 45 degree wall (z = 300 - x) meets a flat floor (z = 0.001 per cell down-valley) at x = 300 m; 10 m cells.
    # Debris from the top of the wall reaches the foot (the line from the source is 45 degrees, steeper than its
    # angle of reach) and stops within a cell of it, where the ground flattens below 10 degrees; the fixed runout
    # would have carried it 2 km across the floor.
    cell = 10.0
    x = (np.arange(300) + 0.5) * cell
    z = np.where(x < 300.0, 300.0 - x, -0.001 * (x - 300.0) / cell)
    receiver, elevation = _profile(z)
    one = np.array([0])
    _, covered = runout_pairs(one, one, receiver, 2000.0, cell, z.size, elevation, reach_ratio([900.0]))
    foot = int(np.argmax(x >= 300.0))
    assert abs(int(covered.max()) - foot) <= 1
    _, old = runout_pairs(one, one, receiver, 2000.0, cell, z.size)
    assert x[old.max()] - 300.0 > 1500.0  # the fixed 2 km runout: 1.7 km across the floor


def test_debris_on_a_concave_slope_stops_at_its_angle_of_reach() -> None:
    # 45 degrees for 100 m, then a 15 degree apron (steeper than the deposition slope, so only the angle of reach
    # stops it). From the source at x0 (z0) debris stops where (z0 - z(x)) / (x - x0) = tan(alpha):
    # z0 - z_f + t15 (x - x_f) = ta (x - x0)  =>  x* = (z0 - z_f - t15 x_f + ta x0) / (ta - t15).
    cell = 5.0
    x = (np.arange(400) + 0.5) * cell
    t15 = np.tan(np.radians(15.0))
    z_f, x_f = 500.0, 100.0
    z = np.where(x < x_f, z_f + (x_f - x), z_f - t15 * (x - x_f))
    receiver, elevation = _profile(z)
    volume = 5000.0
    ta = float(reach_ratio([volume])[0])
    assert ta == pytest.approx(0.97 * volume**-0.105)
    assert ta > t15
    _, covered = runout_pairs(
        np.array([0]), np.array([0]), receiver, 5000.0, cell, z.size, elevation, reach_ratio([volume])
    )
    x0, z0 = x[0], z[0]
    x_star = (z0 - z_f - t15 * x_f + ta * x0) / (ta - t15)
    assert abs(x[int(covered.max())] - x_star) <= cell


# --- item 8: soil depth is vertical; the infinite slope takes the thickness normal to it --------------------------


def test_factor_of_safety_matches_the_hand_calculation_with_vertical_depth() -> None:
    # Infinite slope with vertical soil depth z (Hammond et al. 1992; Skempton & DeLory 1957):
    #   FS = [C + (gamma - m gamma_w) z cos^2(beta) tan(phi)] / (gamma z sin(beta) cos(beta))
    # on a 21.8 degree wall (tan beta = 0.4), C = 4000 Pa, phi = 30 degrees, z = 1.2 m, rho_s = 1800 kg/m3, and a
    # water table at m = w = 0.5 of the soil.
    beta = np.arctan(0.4)
    cohesion, phi, z, rho, w = 4000.0, np.radians(30.0), 1.2, 1800.0, 0.5
    g, gamma_w = 9.81, 1000.0 * 9.81
    gamma = rho * g
    hand = (cohesion + (gamma - w * gamma_w) * z * np.cos(beta) ** 2 * np.tan(phi)) / (
        gamma * z * np.sin(beta) * np.cos(beta)
    )
    spec = SoilSpec(
        cohesion_pa=cohesion,
        friction_angle_deg=30.0,
        depth_m=z,
        density_kg_m3=rho,
        transmissivity_m2_day=10.0,
    )
    soil = Soil.draw(spec, 1, np.random.default_rng(0)).on_slope(np.array([beta]))
    fs = factor_of_safety(soil.cohesion_star, soil.tan_phi, soil.density_ratio, np.array([w]), np.array([beta]))
    assert fs[0] == pytest.approx(hand, rel=1e-12)
    # Taking the vertical depth as the normal thickness understates C* by cos(beta): FS lower by C*(1 - cos)/sin.
    raw = Soil.draw(spec, 1, np.random.default_rng(0))
    fs_raw = factor_of_safety(raw.cohesion_star, raw.tan_phi, raw.density_ratio, np.array([w]), np.array([beta]))
    assert fs_raw[0] < fs[0]


# --- item 9: curve numbers composite only the sealed share beyond the table's ------------------------------------


def test_residential_curve_number_counts_only_the_extra_pavement() -> None:
    # TR-55 Figure 2-3: CN_c = CN_p + f (98 - CN_p). Residential (B) has CN_t = 85 at f0 = 65 % sealed, so its
    # pervious part has CN_p = (85 - 98 f0) / (1 - f0). A residential cell measured 65 % sealed keeps 85; one at 80 %
    # takes CN_p + 0.8 (98 - CN_p); grass (B, 61, nothing sealed in the table) at 30 % takes 0.7 x 61 + 0.3 x 98.
    classes = ("urban", "grass")
    class_cn = np.array([85.0, 61.0])
    landcover = np.array([0, 0, 0, 1])
    sealed = np.array([0.65, 0.80, 0.30, 0.30])
    cn = composite_curve_number(class_cn, landcover, sealed, table_sealed_share(classes))
    cn_p = (85.0 - 98.0 * 0.65) / (1 - 0.65)
    expected = [85.0, cn_p + 0.8 * (98.0 - cn_p), 85.0, 0.7 * 61.0 + 0.3 * 98.0]
    np.testing.assert_allclose(cn, expected, rtol=1e-12)
    # Paved cells stay at 98 whatever their measured share.
    assert composite_curve_number(np.array([98.0]), np.array([0]), np.array([0.4]), np.array([1.0]))[0] == 98.0


# --- item 10: damage and exposure from the water above the ground floor ------------------------------------------


def test_buildings_are_damaged_and_people_exposed_by_water_above_their_floor(andorra_city: City) -> None:
    # Ground floor h_f = first_floor_height_m above the street. 5 mm in the street: no damage. 0.8 m: damage is
    # the JRC ratio at 0.8 m (Europe residential: 0.25 + (0.40 - 0.25) x 0.3 / 0.5 = 0.34). People are exposed
    # when the water above the floor, d - h_f, exceeds 0.5 m: at d = 0.8 m only if h_f < 0.3 m, at 0.81 m yes.
    exposure = FloodExposure(andorra_city)
    floor = andorra_city.config.first_floor_height_m
    assert floor == 0.3
    building = int(np.flatnonzero(exposure.building_classes == "residential")[0])
    state = SimState.normal(andorra_city)
    for depth, ratio in ((0.005, 0.0), (floor - 0.01, 0.0), (0.8, 0.25 + 0.15 * 0.3 / 0.5)):
        grid = np.zeros_like(state.water_depth_m)
        grid.reshape(-1)[exposure.building_cell[building]] = depth
        state.water_depth_m = grid
        exposure.apply(state, 60.0, deck_height_m=5.0, component_threshold_m=0.3)
        assert state.building_damage[building] == pytest.approx(ratio)
    home_cell = exposure.home_cell[0]
    people = int(andorra_city.homes["population"].to_numpy()[exposure.home_cell == home_cell].sum())
    for depth, exposed in ((0.5 + floor, 0), (0.51 + floor, people)):
        grid = np.zeros_like(state.water_depth_m)
        grid.reshape(-1)[home_cell] = depth
        state.water_depth_m = grid
        assert exposure.people_in_water(state, 0.5) == exposed


# --- item 11: access does not count the unreachable ---------------------------------------------------------------


def _access_on_a_line(closed_pairs: set[tuple[int, int]]) -> int:
    """Residents within 15 min of care on 0 -(road)- 1 =(bridge)= 2 -(road)- 3, the hospital at node 2.

    Residents: 100 at node 0, 50 at 1, 20 at 2, 10 at 3. Links both ways, 100 m at 10 m/s (10 s each).
    """
    pairs = [(0, 1, False), (1, 2, True), (2, 3, False)]
    src = [a for a, b, _ in pairs] + [b for a, b, _ in pairs]
    dst = [b for a, b, _ in pairs] + [a for a, b, _ in pairs]
    bridge = [br for *_, br in pairs] * 2
    links = pd.DataFrame(
        {"src": src, "dst": dst, "bridge": bridge, "length_m": 100.0, "speed_mps": 10.0}, index=range(len(src))
    )
    closed = np.array([(min(a, b), max(a, b)) in closed_pairs for a, b in zip(src, dst, strict=True)])
    city = SimpleNamespace(
        drive=Network(nodes=pd.DataFrame({"x": np.zeros(4)}), links=links),
        facilities=pd.DataFrame({"kind": ["hospital"], "drive_node": [2]}),
        homes=pd.DataFrame({"drive_node": [0, 1, 2, 3], "population": [100, 50, 20, 10]}),
    )
    state = SimpleNamespace(comp_up=np.array([True]), link_speed_factor=np.ones(len(src)), link_closed=lambda: closed)
    return access_to_care(city, state, 900.0).residents_within


def test_access_does_not_count_residents_cut_off_by_closures() -> None:
    assert _access_on_a_line(set()) == 180
    # The roads at both ends of the bridge flooded: nodes 0 and 3 have every link closed, nodes 1 and 2 every
    # ground link (the bridge's deck stays open between two flooded abutments): nobody is served, not even the
    # 20 residents snapped to the hospital's own node.
    assert _access_on_a_line({(0, 1), (2, 3)}) == 0
    # Only the road 0-1 closed: nodes 0 and 1 are cut off; the hospital still serves nodes 2 and 3 (20 + 10).
    assert _access_on_a_line({(0, 1)}) == 30
    # Only the road 2-3 closed: the hospital's node is cut off and serves nobody.
    assert _access_on_a_line({(2, 3)}) == 0


def test_cut_off_nodes_rule() -> None:
    # Three nodes, links 0-1 (road) and 1-2 (bridge), one way each: node 2 has only the bridge.
    src, dst, bridge = np.array([0, 1]), np.array([1, 2]), np.array([False, True])
    np.testing.assert_array_equal(cut_off_nodes(3, src, dst, np.array([False, False]), bridge), [False] * 3)
    np.testing.assert_array_equal(cut_off_nodes(3, src, dst, np.array([True, False]), bridge), [True, True, False])
    np.testing.assert_array_equal(cut_off_nodes(3, src, dst, np.array([False, True]), bridge), [False, False, True])


# --- item 12: the water budget of rain runs; JRC curves for Africa and Oceania (tests/test_damage.py) ----------


def test_water_budget_of_a_bowl_closes_and_is_read_from_the_time_series() -> None:
    # A closed paraboloid bowl of 21 x 21 cells of 10 m, CN 100 (all rain runs off), drains of 36 mm/h: 40 mm of
    # rain then a dry hour. The rain term is exactly 40 mm over the grid, 0.040 x 21 x 21 x 100 m2, and the budget
    # P = L + D + O + S closes to round-off.
    terrain = terrain_of(bowl(21))
    hydrology = hydrology_of(terrain, burn_depth_m=0.0, channel_min_area_km2=50)
    ponding = Ponding(Depressions.of_grid(terrain, hydrology), np.full(terrain.elevation_m.size, 100.0), 36.0)
    rows = []
    for t_min, (before, after) in enumerate([(0.0, 20.0), (20.0, 40.0)] + [(40.0, 40.0)] * 6):
        ponding.step(before, after, 600.0)
        budget = {**ponding.budget.as_dict(), "stored": ponding.stored_m3}
        rows.append({"t_s": 600.0 * (t_min + 1), **{f"water_{k}_m3": v for k, v in budget.items()}})
    figures = water_budget(pd.DataFrame(rows))
    assert figures is not None
    assert figures["rain_m3"] == pytest.approx(0.040 * 21 * 21 * 100.0, rel=1e-12)
    assert figures["drained_m3"] > 0 and figures["stored_m3"] >= 0
    assert abs(figures["relative_error"]) < 1e-6
    assert water_budget(pd.DataFrame({"t_s": [0.0]})) is None  # no rain, no budget


def test_metrics_hold_the_hand_computed_water_budget_of_a_tilted_plane() -> None:
    # A 10 x 10 plane of 10 m cells tilted 5 % south (no depression: every drop leaves the map), CN 80, drains of
    # 20 mm/h, 100 mm of rain in one hour. By hand (TR-55): S = 25400/80 - 254 = 63.5 mm, Q = (100 - 0.2 S)^2 /
    # (100 + 0.8 S) = 87.3^2 / 150.8 = 50.539 mm; on 100 cells of 100 m2 (1 mm = 10 m3 over the plane):
    # rain 1000 m3, losses (100 - Q) = 494.61 m3, drained 20 mm = 200 m3, outflow (Q - 20) = 305.39 m3, stored 0.
    row, _ = np.mgrid[0:10, 0:10]
    terrain = terrain_of(100.0 - 0.5 * row)
    hydrology = hydrology_of(terrain, burn_depth_m=0.0, channel_min_area_km2=50)
    ponding = Ponding(Depressions.of_grid(terrain, hydrology), np.full(100, 80.0), 20.0)
    ponding.step(0.0, 100.0, 3600.0)
    budget = {**ponding.budget.as_dict(), "stored": ponding.stored_m3}
    series = pd.DataFrame(
        {"t_s": [0.0, 3600.0], "Q_power": [1.0, 1.0], **{f"water_{k}_m3": [0.0, v] for k, v in budget.items()}}
    )
    metrics = run_metrics(series, population=100)
    runoff_mm = 87.3**2 / 150.8
    expected = {
        "rain_m3": 1000.0,
        "losses_m3": (100.0 - runoff_mm) * 10.0,
        "drained_m3": 200.0,
        "outflow_m3": (runoff_mm - 20.0) * 10.0,
        "stored_m3": 0.0,
    }
    for name, value in expected.items():
        assert metrics["water_budget"][name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert metrics["water_budget"]["closure_error_m3"] == pytest.approx(0.0, abs=1e-9)
    assert service_names(metrics) == ["power"]  # the budget is not a service
    # A run without rain has no budget entry.
    assert "water_budget" not in run_metrics(series[["t_s", "Q_power"]], population=100)
