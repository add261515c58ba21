"""The City's hydrology: what every flood model reads, built once with the City and cached with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from twin.city.config import HydrologySpec
from twin.city.terrain import Terrain
from twin.hydrology.grid import (
    accumulate,
    border_cells,
    d8_receivers,
    first_reached,
    min_downstream,
    minimax_from_sources,
    upstream_levels,
)
from twin.hydrology.landcover import LANDCOVER_CLASSES

BURNED_KINDS = ("river", "stream")
"""Waterway kinds burned into the DEM; canals, ditches and drains often run across slopes (hydropower and
irrigation channels), and burning them would send hillside water along them."""


@dataclass(frozen=True)
class Hydrology:
    """Hydrology of the working grid (same shape and transform as ``City.terrain``).

    Flat arrays are indexed by the flat cell index ``row * cols + col`` (C order).

    Attributes
    ----------
    filled_m
        float32 grid: the depression-filled surface of the (unburned) DEM (Priority-Flood level, Barnes et
        al. 2014); NaN outside. ``filled_m - terrain.elevation_m`` is the depth of each depression (0 outside).
    receiver
        int64 flat array: the D8 receiver of each cell, or -1 where water leaves the map (grid edge, NaN
        neighbour or sea) and for NaN cells.
    accumulation
        float32 grid: cells draining through each cell, itself included (multiply by the cell area for m2).
    drainage
        bool grid: channel cells (burned OSM waterways plus cells above the accumulation threshold).
    hand_m
        float32 grid: height above the nearest drainage cell along the D8 path (HAND); NaN where the path
        leaves the map without meeting a drainage cell, and outside the DEM.
    channel_cells
        Table with one row per (waterway, cell) pair burned into the grid: ``waterway`` (row of
        ``City.waterways``) and ``cell`` (flat index).
    landcover
        uint8 grid of land-cover classes (see :mod:`twin.hydrology.landcover`); sea cells are ``water``.
    impervious
        float32 grid: share of each cell under buildings and carriageways.
    """

    filled_m: np.ndarray
    receiver: np.ndarray
    accumulation: np.ndarray
    drainage: np.ndarray
    hand_m: np.ndarray
    channel_cells: pd.DataFrame
    landcover: np.ndarray
    impervious: np.ndarray


def burn_cells(waterways: pd.DataFrame, shape: tuple[int, int], transform: Affine) -> pd.DataFrame:
    """Cells under each river and stream (not tunnels or culverts): the channel the map says is there.

    Lines are sampled every half cell (shapely.segmentize), so every cell a line crosses is hit.

    Returns
    -------
    DataFrame
        ``waterway`` (row of the waterways table) and ``cell`` (flat index), one row per distinct pair.
    """
    chosen = waterways.index[waterways["kind"].isin(BURNED_KINDS) & ~waterways["tunnel"].astype(bool)]
    if len(chosen) == 0:
        return pd.DataFrame({"waterway": np.zeros(0, np.int64), "cell": np.zeros(0, np.int64)})
    lines = shapely.from_wkb(waterways.loc[chosen, "geometry"].to_numpy())
    points, which = shapely.get_coordinates(shapely.segmentize(lines, abs(transform.a) / 2), return_index=True)
    col, row = ~transform @ (points[:, 0], points[:, 1])
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    inside = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    pairs = pd.DataFrame({"waterway": np.asarray(chosen)[which[inside]], "cell": row[inside] * shape[1] + col[inside]})
    return pairs.drop_duplicates().sort_values(["waterway", "cell"], ignore_index=True)


def build_hydrology(
    terrain: Terrain,
    waterways: pd.DataFrame,
    spec: HydrologySpec,
    landcover: np.ndarray,
    impervious: np.ndarray,
) -> Hydrology:
    """Condition the working grid and derive D8 directions, accumulation, drainage and HAND.

    1. Burn: cells under OSM rivers and streams are lowered by ``burn_depth_m`` so that the D8 paths follow
       the mapped channel rather than the coarse DEM's idea of it (stream burning, Saunders 1999).
    2. Fill: the burned surface is filled to its Priority-Flood level (Barnes et al. 2014) with outlets at
       the DEM's edge, next to voids and on the sea (cells at or below ``sea_level_m``); computed as minimax
       paths on a spanning tree (:func:`twin.hydrology.grid.minimax_from_sources`).
    3. D8 on the filled surface (flats drain along the fill's tree towards their spill point).
    4. Accumulation; drainage = burned channel cells, sea cells, and cells draining at least
       ``channel_min_area_km2``. Sea cells take the land cover ``water`` (open water, never flooded land).
    5. Channel reference elevation: the running minimum of the *unburned* elevation down the drainage
       network (a bed that never rises downstream).
    6. HAND (Rennó et al. 2008; Nobre et al. 2011): ``HAND(c) = z(c) - z_ref(d(c))`` where d(c) is the first
       drainage cell on c's D8 path, clipped at 0; NaN when the path leaves the map first.

    The depression-filled surface kept for ponding (``filled_m``) is the fill of the unburned DEM, whose
    depressions are the real ones (the burned trench is a routing device, not storage).
    """
    z = terrain.elevation_m.astype(np.float64)
    valid = np.isfinite(z)
    shape, cell_m = z.shape, terrain.resolution_m
    channel = burn_cells(waterways, shape, terrain.transform)
    burned_mask = np.zeros(z.size, dtype=bool)
    burned_mask[channel["cell"].to_numpy()] = True
    burned_mask &= valid.ravel()
    burned = z.ravel().copy()
    burned[burned_mask] -= spec.burn_depth_m
    sea = valid & (z <= spec.sea_level_m) if spec.sea_level_m is not None else np.zeros_like(valid)
    # The sea is open water, not land: a river flood or a storm does not "flood" it, rain on it runs off, and
    # it has no soil to slide (a coastline is a line in OSM, so no OSM area marks it as water).
    landcover = np.where(sea, np.uint8(LANDCOVER_CLASSES.index("water")), landcover).astype(landcover.dtype)
    outlets = border_cells(valid) | sea
    filled_burned, tree_parent = minimax_from_sources(burned.reshape(shape), outlets, valid)
    receiver = d8_receivers(filled_burned, valid, tree_parent, cell_m)
    levels = upstream_levels(receiver)
    accumulation = accumulate(receiver, valid.ravel().astype(np.float64), levels)
    drainage = burned_mask | sea.ravel() | (accumulation * cell_m**2 >= spec.channel_min_area_km2 * 1e6)
    drainage &= valid.ravel()
    reference = min_downstream(receiver, z.ravel(), drainage)
    hand = height_above(z.ravel(), receiver, drainage, reference)
    filled, _ = minimax_from_sources(z, outlets, valid)
    return Hydrology(
        filled_m=filled.astype(np.float32),
        receiver=receiver,
        accumulation=accumulation.reshape(shape).astype(np.float32),
        drainage=drainage.reshape(shape),
        hand_m=hand.reshape(shape).astype(np.float32),
        channel_cells=channel,
        landcover=landcover,
        impervious=impervious,
    )


def height_above(z: np.ndarray, receiver: np.ndarray, channel: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """HAND of every cell relative to the channel cells ``channel`` (flat arrays).

    ``HAND(c) = max(0, z(c) - reference(d(c)))`` with d(c) the first channel cell on c's D8 path; NaN where the
    path leaves the map without meeting the channel.
    """
    target = first_reached(receiver, channel)
    reached = channel[target] & np.isfinite(z)
    return np.where(reached, np.maximum(z - reference[target], 0.0), np.nan)
