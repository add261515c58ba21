"""FloodExposure on the real Andorra city with synthetic water grids."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import rasterio.transform

from twin.city.build import City
from twin.city.facilities import RULES
from twin.hazards import damage as dm
from twin.hazards.exposure import (
    FLOOD_VULNERABLE_GROUPS,
    FLOOD_VULNERABLE_KINDS,
    NOT_FLOOD_VULNERABLE_KINDS,
    TUNNEL_WATER_M,
    FloodChanges,
    FloodExposure,
)
from twin.sim.state import SimState

DECK_M = 5.0


@pytest.fixture(scope="module")
def exposure(andorra_city: City) -> FloodExposure:
    return FloodExposure(andorra_city)


def _state(city: City) -> SimState:
    return SimState.normal(city)


def _flood_links(state: SimState, exposure: FloodExposure, links: list[int], depth: float) -> None:
    """Fresh water grid: ``depth`` on every cell of the given links, dry elsewhere."""
    grid = np.zeros_like(state.water_depth_m)
    cells = exposure.pair_cell[np.isin(exposure.pair_link, links)]
    grid.reshape(-1)[cells] = depth
    state.water_depth_m = grid


def _flood_cells(state: SimState, cells: np.ndarray, depth: float) -> None:
    grid = np.zeros_like(state.water_depth_m)
    grid.reshape(-1)[cells] = depth
    state.water_depth_m = grid


def _apply(exposure: FloodExposure, state: SimState, t_s: float, threshold: float = 0.3) -> FloodChanges:
    return exposure.apply(state, t_s, deck_height_m=DECK_M, component_threshold_m=threshold)


def _cells_of(exposure: FloodExposure, link: int) -> set[int]:
    return set(exposure.pair_cell[exposure.pair_link == link].tolist())


def _pick(city: City, exposure: FloodExposure, mask: np.ndarray, avoid: set[int] | None = None) -> int:
    """The first link in ``mask`` on the grid whose cells do not touch ``avoid``."""
    for link in np.flatnonzero(mask):
        cells = _cells_of(exposure, int(link))
        if cells and not (avoid and cells & avoid):
            return int(link)
    raise AssertionError("no such link in the Andorra map")


def _flat(exposure: FloodExposure, tolerance_m: float) -> np.ndarray:
    """Links whose road surface is within ``tolerance_m`` of its cells' ground at every sampled point, so
    that a depth set on their cells is the depth over the road within that tolerance."""
    samples = exposure.road_samples
    worst = np.full(exposure.n_links, np.inf)
    worst[samples.links] = np.maximum.reduceat(np.abs(samples.road_m - samples.ground_m), samples.starts)
    return worst <= tolerance_m


def _ordinary(city: City) -> np.ndarray:
    links = city.drive.links
    return ~links["bridge"].to_numpy(bool) & ~links["tunnel"].to_numpy(bool)


# --- precomputed indices -------------------------------------------------------------------------------------------


def test_pairs_unique_sorted_and_cover_link_ends(andorra_city: City, exposure: FloodExposure) -> None:
    keys = exposure.pair_link * exposure.shape[0] * exposure.shape[1] + exposure.pair_cell
    assert np.all(np.diff(keys) > 0)  # unique, sorted by link then cell
    assert exposure.pair_cell.min() >= 0 and exposure.pair_cell.max() < exposure.shape[0] * exposure.shape[1]
    links, nodes = andorra_city.drive.links, andorra_city.drive.nodes
    node_x, node_y = nodes["x"].to_numpy(), nodes["y"].to_numpy()
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    rows, cols = exposure.shape
    for link in range(0, len(links), 97):
        cells = _cells_of(exposure, link)
        for node in (src[link], dst[link]):
            x, y = node_x[node], node_y[node]
            r, c = rasterio.transform.rowcol(andorra_city.terrain.transform, x, y)
            if 0 <= r < rows and 0 <= c < cols:
                assert r * cols + c in cells


def test_point_cells_match_rasterio(andorra_city: City, exposure: FloodExposure) -> None:
    for table, cells in (
        (andorra_city.homes, exposure.home_cell),
        (andorra_city.buildings, exposure.building_cell),
        (andorra_city.facilities, exposure.component_cell),
    ):
        r, c = rasterio.transform.rowcol(andorra_city.terrain.transform, table["x"].to_numpy(), table["y"].to_numpy())
        r, c = np.asarray(r), np.asarray(c)
        inside = (r >= 0) & (r < exposure.shape[0]) & (c >= 0) & (c < exposure.shape[1])
        np.testing.assert_array_equal(cells, np.where(inside, r * exposure.shape[1] + c, -1))


def test_vulnerable_rule_decides_every_lifeline_point_kind(andorra_city: City, exposure: FloodExposure) -> None:
    lifeline_kinds = {kind for kind, group, _ in RULES if group in FLOOD_VULNERABLE_GROUPS}
    assert lifeline_kinds == FLOOD_VULNERABLE_KINDS | NOT_FLOOD_VULNERABLE_KINDS
    assert not FLOOD_VULNERABLE_KINDS & NOT_FLOOD_VULNERABLE_KINDS
    kinds = andorra_city.facilities["kind"]
    assert set(kinds[exposure.vulnerable]) <= FLOOD_VULNERABLE_KINDS
    assert not exposure.vulnerable[kinds.isin(["tower", "pole", "line", "hospital", "traffic_signals"])].any()
    assert exposure.vulnerable[kinds == "substation"].all()


def test_dry_grid_changes_nothing(andorra_city: City, exposure: FloodExposure) -> None:
    state = _state(andorra_city)
    changes = _apply(exposure, state, 60.0)
    assert not changes.network_changed and changes.damaged_components.size == 0
    normal = _state(andorra_city)
    for name, array in state.arrays().items():
        np.testing.assert_array_equal(array, getattr(normal, name), err_msg=name)


def test_wrong_grid_shape_is_refused(andorra_city: City, exposure: FloodExposure) -> None:
    state = _state(andorra_city)
    state.water_depth_m = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        _apply(exposure, state, 0.0)


# --- links ---------------------------------------------------------------------------------------------------------


def test_bridge_open_below_deck_closed_above(andorra_city: City, exposure: FloodExposure) -> None:
    bridge = _pick(andorra_city, exposure, andorra_city.drive.links["bridge"].to_numpy(bool))
    cells = np.array(sorted(_cells_of(exposure, bridge)))
    ground = andorra_city.terrain.elevation_m.reshape(-1)[cells].astype(float)
    deck = float(exposure.bridge_deck_m(DECK_M)[bridge])
    nodes = andorra_city.drive.nodes["elevation_m"].to_numpy()
    link = andorra_city.drive.links.iloc[bridge]
    assert deck == pytest.approx(max(min(nodes[link["src"]], nodes[link["dst"]]), ground.min() + DECK_M))
    highest_ground = float(ground.max())
    state = _state(andorra_city)
    _flood_links(state, exposure, [bridge], deck - highest_ground - 0.5)  # water half a metre below the deck
    changes = _apply(exposure, state, 60.0)
    assert not state.link_closed_flood[bridge]
    assert state.link_flood_depth_m[bridge] == 0.0 and state.link_speed_factor[bridge] == 1.0
    assert bridge not in changes.closed

    _flood_links(state, exposure, [bridge], deck - highest_ground + 0.6)  # 0.6 m over the deck
    changes = _apply(exposure, state, 120.0)
    assert state.link_closed_flood[bridge] and bridge in changes.closed
    assert state.link_flood_depth_m[bridge] == pytest.approx(0.6, abs=1e-4)
    assert state.link_speed_factor[bridge] == 0.0
    assert state.link_flood_closed_s[bridge] == 120.0


def test_tunnel_closes_first_ordinary_link_slows(andorra_city: City, exposure: FloodExposure) -> None:
    links = andorra_city.drive.links
    tunnel_mask = links["tunnel"].to_numpy(bool) & ~links["bridge"].to_numpy(bool)
    tunnel = _pick(andorra_city, exposure, tunnel_mask)
    fast = _ordinary(andorra_city) & (links["speed_mps"].to_numpy() > 12.0)  # faster than the curve at 0.1 m
    road = _pick(andorra_city, exposure, fast & _flat(exposure, 0.08), avoid=_cells_of(exposure, tunnel))
    state = _state(andorra_city)
    # 0.1 m at the tunnel's portals; 0.2 m on the road's cells, 0.12-0.28 m over its surface: slowed, not closed
    _flood_links(state, exposure, [tunnel], 0.1)
    state.water_depth_m.reshape(-1)[sorted(_cells_of(exposure, road))] = 0.2
    assert TUNNEL_WATER_M < 0.1
    changes = _apply(exposure, state, 60.0)

    assert state.link_closed_flood[tunnel] and state.link_speed_factor[tunnel] == 0.0
    assert tunnel in changes.closed
    assert not state.link_closed_flood[road] and road not in changes.closed
    assert state.link_flood_depth_m[road] == pytest.approx(0.2, abs=0.08)
    expected = dm.flood_speed_factor(state.link_flood_depth_m[road], links["speed_mps"].to_numpy()[road])
    assert state.link_speed_factor[road] == pytest.approx(expected, rel=1e-6)
    assert 0.0 < state.link_speed_factor[road] < 1.0


def test_closed_and_reopened_times_across_calls(andorra_city: City, exposure: FloodExposure) -> None:
    road = _pick(andorra_city, exposure, _ordinary(andorra_city) & _flat(exposure, 0.05))
    state = _state(andorra_city)

    _flood_links(state, exposure, [road], 0.5)
    changes = _apply(exposure, state, 60.0)
    assert state.link_closed_flood[road] and road in changes.closed and changes.network_changed
    assert state.link_flood_closed_s[road] == 60.0 and np.isnan(state.link_flood_reopened_s[road])

    _flood_links(state, exposure, [road], 0.0)
    changes = _apply(exposure, state, 120.0)
    assert not state.link_closed_flood[road] and road in changes.reopened
    assert changes.network_changed
    assert state.link_flood_closed_s[road] == 60.0 and state.link_flood_reopened_s[road] == 120.0
    assert state.link_flood_depth_m[road] == 0.0 and state.link_speed_factor[road] == 1.0
    assert state.link_flood_peak_m[road] == pytest.approx(0.5, abs=0.05)

    _flood_links(state, exposure, [road], 0.4)
    changes = _apply(exposure, state, 180.0)
    assert state.link_closed_flood[road] and road in changes.closed
    assert state.link_flood_closed_s[road] == 60.0  # the first closure is kept
    assert np.isnan(state.link_flood_reopened_s[road])  # closed again: not reopened
    assert state.link_flood_peak_m[road] == pytest.approx(0.5, abs=0.05)

    changes = _apply(exposure, state, 240.0)  # same water: nothing new
    assert not changes.network_changed and changes.closed.size == 0


# --- buildings -----------------------------------------------------------------------------------------------------


def test_building_damage_never_falls(andorra_city: City, exposure: FloodExposure) -> None:
    building = int(np.flatnonzero(exposure.building_classes == "residential")[0])
    cell = exposure.building_cell[[building]]
    state = _state(andorra_city)
    for depth, damage in ((2.0, 0.60), (0.5, 0.60), (0.0, 0.60), (3.0, 0.75)):
        _flood_cells(state, cell, depth)
        _apply(exposure, state, 60.0)
        assert state.building_depth_m[building] == pytest.approx(depth)
        assert state.building_damage[building] == pytest.approx(damage)
    assert state.building_peak_depth_m[building] == pytest.approx(3.0)


def test_building_damage_uses_its_class(andorra_city: City, exposure: FloodExposure) -> None:
    state = _state(andorra_city)
    state.water_depth_m[:] = 1.0
    _apply(exposure, state, 60.0)
    expected = {"residential": 0.40, "commercial": 0.30, "industrial": 0.27}  # JRC Europe at 1 m
    for name, ratio in expected.items():
        members = exposure.building_classes == name
        assert members.any()
        np.testing.assert_allclose(state.building_damage[members], ratio)


# --- components ----------------------------------------------------------------------------------------------------


def test_substation_damaged_over_threshold(andorra_city: City, exposure: FloodExposure) -> None:
    facilities = andorra_city.facilities
    substation = int(np.flatnonzero(facilities["kind"].to_numpy() == "substation")[0])
    cell = exposure.component_cell[[substation]]

    state = _state(andorra_city)
    _flood_cells(state, cell, 0.4)
    changes = _apply(exposure, state, 60.0, threshold=0.3)
    assert state.comp_damaged[substation] and state.comp_cause[substation] == "flood"
    assert substation in changes.damaged_components
    changes = _apply(exposure, state, 120.0, threshold=0.3)
    assert substation not in changes.damaged_components

    state = _state(andorra_city)
    _flood_cells(state, cell, 0.4)
    changes = _apply(exposure, state, 60.0, threshold=0.5)
    assert not state.comp_damaged[substation] and state.comp_cause[substation] == ""
    assert changes.damaged_components.size == 0


def test_existing_damage_cause_is_kept(andorra_city: City, exposure: FloodExposure) -> None:
    substation = int(np.flatnonzero(andorra_city.facilities["kind"].to_numpy() == "substation")[0])
    state = _state(andorra_city)
    state.comp_damaged[substation], state.comp_cause[substation] = True, "outage"
    _flood_cells(state, exposure.component_cell[[substation]], 1.0)
    changes = _apply(exposure, state, 60.0)
    assert state.comp_cause[substation] == "outage"
    assert substation not in changes.damaged_components


def test_power_towers_and_lines_are_not_damaged(andorra_city: City, exposure: FloodExposure) -> None:
    state = _state(andorra_city)
    state.water_depth_m[:] = 2.0
    _apply(exposure, state, 60.0)
    kinds = andorra_city.facilities["kind"].to_numpy()
    assert not state.comp_damaged[np.isin(kinds, ["tower", "pole", "line", "cable", "minor_line"])].any()
    assert state.comp_damaged[exposure.vulnerable].all()
    assert set(state.comp_cause[state.comp_damaged]) == {"flood"}


# --- people --------------------------------------------------------------------------------------------------------


def test_people_in_water(andorra_city: City, exposure: FloodExposure) -> None:
    homes = andorra_city.homes
    chosen = exposure.home_cell[:40:4]
    state = _state(andorra_city)
    _flood_cells(state, chosen, 1.0)
    expected = int(homes["population"].to_numpy()[np.isin(exposure.home_cell, chosen)].sum())
    assert expected > 0
    assert exposure.people_in_water(state, 0.5) == expected
    assert exposure.people_in_water(state, 1.5) == 0
    assert exposure.people_in_water(state, 0.7) == 0  # strictly more than the threshold above the 0.3 m floor
    state.water_depth_m[:] = 2.0
    assert exposure.people_in_water(state, 1.5) == andorra_city.population


def test_people_in_water_without_buildings(andorra_city: City) -> None:
    # Roads-only maps place homes at walkable nodes (building -1): only x, y locate them.
    homes = andorra_city.homes.assign(building=-1)
    exposure = FloodExposure(dataclasses.replace(andorra_city, homes=homes))
    state = _state(andorra_city)
    _flood_cells(state, exposure.home_cell[:1], 0.9)  # 0.6 m above the 0.3 m ground floor
    expected = int(homes["population"].to_numpy()[exposure.home_cell == exposure.home_cell[0]].sum())
    assert exposure.people_in_water(state, 0.5) == expected > 0


def test_assumptions_state_the_region(exposure: FloodExposure) -> None:
    assert exposure.region == "europe"
    assert any("Europe" in line for line in exposure.assumptions())
