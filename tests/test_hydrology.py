"""Terrain hydrology against known answers: Priority-Flood, D8, accumulation, HAND."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.hydro_grids import CELL_M, bowl, hydrology_of, terrain_of, v_valley, valley_river, waterways_of
from twin.hydrology.grid import (
    accumulate,
    border_cells,
    d8_receivers,
    first_reached,
    minimax_from_sources,
    path_depths,
)
from twin.hydrology.reference import heap_priority_flood


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)), elements=st.integers(0, 9).map(float)))
def test_minimax_fill_equals_priority_flood(z: np.ndarray) -> None:
    valid = np.ones(z.shape, dtype=bool)
    filled, _ = minimax_from_sources(z, border_cells(valid), valid)
    np.testing.assert_array_equal(filled, heap_priority_flood(z))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 10), st.integers(2, 10)), elements=st.integers(0, 5).map(float)))
def test_d8_on_filled_surface_drains_every_cell_off_the_map(z: np.ndarray) -> None:
    valid = np.ones(z.shape, dtype=bool)
    filled, parent = minimax_from_sources(z, border_cells(valid), valid)
    receiver = d8_receivers(filled, valid, parent, CELL_M)
    end = first_reached(receiver, np.zeros(z.size, dtype=bool))
    assert (receiver[end] == -1).all()  # every path ends where water leaves the map: no cycles, no pits
    steps = receiver >= 0
    assert (filled.ravel()[receiver[steps]] <= filled.ravel()[steps]).all()  # never uphill on the fill
    # accumulation conserves cells: what leaves the map is every cell once
    total = accumulate(receiver, np.ones(z.size))
    assert total[end].sum() == z.size or np.isclose(total[receiver == -1].sum(), z.size)


def test_path_depths_on_a_chain() -> None:
    receiver = np.array([1, 2, 3, -1, 3])
    np.testing.assert_array_equal(path_depths(receiver), [3, 2, 1, 0, 1])


def test_closed_bowl_fills_to_its_rim() -> None:
    z = bowl(21)
    hydrology = hydrology_of(terrain_of(z), burn_depth_m=0.0)
    rim = 50.0 + 0.01 * 10**2  # the lowest edge cell, mid-side
    interior = z < rim
    np.testing.assert_allclose(hydrology.filled_m[interior], rim, rtol=0, atol=1e-4)
    assert (hydrology.filled_m >= z.astype(np.float32)).all()


def test_v_valley_accumulation_and_hand() -> None:
    rows, cols = 40, 31
    z = v_valley(rows, cols)
    terrain = terrain_of(z)
    hydrology = hydrology_of(terrain, waterways_of([valley_river(rows, cols)], ["Test River"]), channel_min_area_km2=50)
    centre = cols // 2
    # The river column is the drainage, and everything drains into it: at the outlet, all cells but the
    # grid-edge columns and the top row, which drain off the map where they are.
    assert hydrology.drainage[:, centre].all()
    assert hydrology.drainage.sum() == rows
    assert hydrology.accumulation[-1, centre] > 0.9 * rows * (cols - 2)
    # HAND = cross slope x distance from the river, exactly, because D8 goes straight across (cross >> long).
    expected = 0.1 * CELL_M * np.abs(np.arange(cols) - centre)
    np.testing.assert_allclose(
        hydrology.hand_m[5:-1, 1:-1], np.broadcast_to(expected[1:-1], (rows - 6, cols - 2)), atol=1e-4
    )
    assert len(hydrology.channel_cells) == rows


def test_map_without_rivers_drains_to_the_sea() -> None:
    z = v_valley(20, 15)
    z[-3:, :] = -1.0  # the sea along the south edge
    hydrology = hydrology_of(terrain_of(z), channel_min_area_km2=50)
    sea = z <= 0
    assert hydrology.drainage[sea].all()
    assert np.isfinite(hydrology.hand_m[~sea]).all()
    np.testing.assert_allclose(hydrology.hand_m[sea], 0.0)


def test_the_sea_is_open_water_that_a_river_flood_leaves_dry() -> None:
    """Sea cells are land cover ``water``: the flood plain of a drainage-network flood (a map without named
    rivers, like Monaco) holds no sea cell, where before the sea counted as flooded land at the stage's depth."""
    from twin.hazards.flood.river import FloodPlain, channel_mask
    from twin.hydrology.landcover import LANDCOVER_CLASSES

    z = v_valley(20, 15)
    z[-3:, :] = -1.0  # the sea along the south edge
    terrain = terrain_of(z)
    hydrology = hydrology_of(terrain, channel_min_area_km2=0.005)
    sea = z <= 0
    water = LANDCOVER_CLASSES.index("water")
    assert (hydrology.landcover[sea] == water).all()
    assert (hydrology.landcover[~sea] == 0).all()  # land keeps its own class
    channel = channel_mask(terrain, hydrology, None, 0.005)
    assert channel.reshape(z.shape)[sea].any()  # the drainage network runs into the sea
    plain = FloodPlain.of_channel(terrain, hydrology, channel, max_stage_m=1.5)
    wet, depth = plain.depth(1.5)
    assert len(wet) and not sea.ravel()[wet].any()
    # the valley floor above the sea floods: HAND 0 on the channel, so 1.5 m of water there
    assert np.isclose(depth.max(), 1.5)
