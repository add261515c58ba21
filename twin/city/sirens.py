"""Outdoor warning sirens: where they stand, who hears them, and what they need to sound.

* **Where.** The City's OSM ``emergency=siren`` elements (facilities of kind ``siren``, OSM wiki Tag:emergency=siren)
  where the map has any. A map with none gets synthesised sirens, labelled assumed (``twin map check`` lists them):
  one on a grid of :data:`SIREN_SPACING_M` over the homes, at the walkable node nearest each grid point within half
  a spacing of a home.
* **Who hears.** Every walkable node within :data:`SIREN_RANGE_M` of a siren: the 70 dB(C) contour of a typical
  electronic outdoor siren, the level FEMA's Outdoor Warning Systems Guide (CPG 1-17, 1980) designs coverage to.
  The range is assumed the same for every siren (OSM seldom says a siren's sound power); indoors and at night
  fewer hear it, which is the siren channel's reach (:mod:`twin.residents.warnings`), not its range.
* **What it needs.** Power at the siren: the power zone of its walkable node (the substation serving it), as the
  warnings' other channels need the lifelines serving them. Sirens with battery back-up are not told apart (OSM
  has no tag for it), so a siren whose zone is cut off sounds for nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from twin.city.build import City

SIREN_SPACING_M = 1000.0
"""Spacing of synthesised sirens (m; assumed: a 700 m range on a 1 km grid leaves no gap between four sirens)."""
SIREN_RANGE_M = 700.0
"""Range within which a siren is heard (m; FEMA CPG 1-17's 70 dB(C) design contour of a typical siren)."""


@dataclass(frozen=True)
class Sirens:
    """The sirens of a City and the walkable nodes that hear each.

    Attributes
    ----------
    xy
        (sirens, 2) positions in the City's metric CRS.
    node
        Walkable node of each siren: its power is that node's power zone.
    pair_node, pair_siren
        (node, siren) pairs: node ``pair_node[k]`` hears siren ``pair_siren[k]``.
    assumed
        True when the sirens are synthesised (the map has no ``emergency=siren``).
    """

    xy: np.ndarray
    node: np.ndarray
    pair_node: np.ndarray
    pair_siren: np.ndarray
    assumed: bool

    @property
    def count(self) -> int:
        """Number of sirens."""
        return len(self.node)


def sirens_of(city: City) -> Sirens:
    """The City's OSM sirens, or synthesised ones when it has none (see the module docstring)."""
    nodes = city.walk.nodes
    node_xy = nodes[["x", "y"]].to_numpy(float)
    mapped = city.facilities[(city.facilities["kind"] == "siren").to_numpy()]
    if len(mapped):
        xy = mapped[["x", "y"]].to_numpy(float)
        node = mapped["walk_node"].to_numpy(np.int64)
        assumed = False
    else:
        node = _synthesised_nodes(city, node_xy)
        xy, assumed = node_xy[node], True
    pair_node, pair_siren = _within_range(node_xy, xy)
    return Sirens(xy, node, pair_node, pair_siren, assumed)


def _synthesised_nodes(city: City, node_xy: np.ndarray) -> np.ndarray:
    """Walkable nodes nearest the points of a :data:`SIREN_SPACING_M` grid lying within half a spacing of a home."""
    homes = city.homes
    if not len(homes) or not len(node_xy):
        return np.zeros(0, dtype=np.int64)
    hx, hy = homes["x"].to_numpy(float), homes["y"].to_numpy(float)
    gx = np.arange(hx.min(), hx.max() + SIREN_SPACING_M, SIREN_SPACING_M)
    gy = np.arange(hy.min(), hy.max() + SIREN_SPACING_M, SIREN_SPACING_M)
    grid = np.column_stack([a.ravel() for a in np.meshgrid(gx, gy)])
    near_home = cKDTree(np.column_stack([hx, hy])).query(grid)[0] <= SIREN_SPACING_M / 2
    return np.unique(cKDTree(node_xy).query(grid[near_home])[1]).astype(np.int64)


def _within_range(node_xy: np.ndarray, siren_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, siren) pairs of the walkable nodes within :data:`SIREN_RANGE_M` of each siren."""
    if not len(siren_xy) or not len(node_xy):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    hear = cKDTree(node_xy).query_ball_point(siren_xy, SIREN_RANGE_M)
    counts = np.array([len(h) for h in hear], dtype=np.int64)
    pair_siren = np.repeat(np.arange(len(siren_xy), dtype=np.int64), counts)
    pair_node = np.concatenate([np.asarray(h, np.int64) for h in hear])
    return pair_node, pair_siren


def hearing(sirens: Sirens, power_at_node: np.ndarray) -> np.ndarray:
    """Per walkable node: whether a siren with power at its node (``power_at_node``, per walkable node) is heard
    there."""
    hears = np.zeros(len(power_at_node), dtype=bool)
    sounding = power_at_node[sirens.node]
    hears[sirens.pair_node[sounding[sirens.pair_siren]]] = True
    return hears
