"""Warning areas as masks over walkable nodes, sirens, and when each warning is sent.

An area is named zones (city.yaml population areas; a node belongs to the nearest area centre, as homes do), a
polygon (lon, lat), a flood-depth forecast, or the whole city. A forecast spreads the given stage above the
drainage network by HAND (height above nearest drainage, Nobre et al. 2011; ``City.hydrology.hand_m``): the
forecast depth of a cell is ``stage - HAND``, and the area is where it exceeds ``depth_above_m``.

Sirens: the compiled City does not hold OSM ``emergency=siren`` nodes yet, so sirens are synthesised (assumed)
on a grid of :data:`SIREN_SPACING_M` over the homes, each heard within :data:`SIREN_RANGE_M` (a typical
electronic outdoor siren's 70 dB contour; FEMA CPG 1-17, Outdoor Warning Systems Guide, 1980) and working
while its node's power zone has power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from twin.city.build import City
from twin.errors import ScenarioError
from twin.residents.places import Places
from twin.scenario.residents import WarningSpec

SIREN_SPACING_M = 1000.0
SIREN_RANGE_M = 700.0


@dataclass(frozen=True)
class WarningAreas:
    """Per warning: its node mask, whether it covers the whole city, and the forecast depth per node (or None)."""

    mask: list[np.ndarray]
    whole: list[bool]
    forecast_m: list[np.ndarray | None]

    @classmethod
    def resolve(cls, city: City, places: Places, warnings: list[WarningSpec]) -> WarningAreas:
        """Masks of every warning; every zone name the map lacks is reported at once."""
        n = len(places.drive_node)
        names = [a.name for a in city.config.population.areas]
        masks: list[np.ndarray] = []
        whole: list[bool] = []
        forecasts: list[np.ndarray | None] = []
        problems: list[str] = []
        for i, spec in enumerate(warnings):
            area, forecast = spec.area, None
            mask = np.ones(n, dtype=bool)
            if area.zones is not None:
                unknown = [z for z in area.zones if z not in names]
                if unknown:
                    problems.append(
                        f"warnings[{i}].area.zones: {', '.join(repr(z) for z in unknown)} not an area of "
                        f"{city.name}; its areas (city.yaml population.areas): {', '.join(names)}"
                    )
                mask = np.isin(places.area, [names.index(z) for z in area.zones if z in names])
            elif area.polygon is not None:
                mask = _in_polygon(city, places, area.polygon)
            elif area.forecast is not None:
                forecast = forecast_depth(city, places, area.forecast.stage_m)
                mask = forecast > area.forecast.depth_above_m
            masks.append(mask)
            whole.append(area.zones is None and area.polygon is None and area.forecast is None)
            forecasts.append(forecast)
        if problems:
            raise ScenarioError("the scenario's warnings do not fit the map", problems)
        return cls(masks, whole, forecasts)


def forecast_depth(city: City, places: Places, stage_m: float) -> np.ndarray:
    """Forecast depth (m) at each walkable node: ``stage - HAND`` of its cell, 0 off the grid or below 0."""
    hand = city.hydrology.hand_m.reshape(-1)
    depth = np.where(places.cell >= 0, stage_m - hand[np.maximum(places.cell, 0)], 0.0)
    return np.fmax(np.nan_to_num(depth, nan=0.0), 0.0)


def _in_polygon(city: City, places: Places, polygon: list[tuple[float, float]]) -> np.ndarray:
    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    lonlat = np.asarray(polygon, dtype=float)
    x, y = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
    shape = shapely.Polygon(np.column_stack([x, y]))
    nodes = city.walk.nodes
    return shapely.contains_xy(shape, nodes["x"].to_numpy(float), nodes["y"].to_numpy(float))


def siren_pairs(city: City) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthesised sirens: their walkable nodes, and the (node, siren) pairs of nodes that hear each."""
    homes = city.homes
    nodes = city.walk.nodes
    xy = nodes[["x", "y"]].to_numpy(float)
    if not len(homes):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    hx, hy = homes["x"].to_numpy(float), homes["y"].to_numpy(float)
    gx = np.arange(hx.min(), hx.max() + SIREN_SPACING_M, SIREN_SPACING_M)
    gy = np.arange(hy.min(), hy.max() + SIREN_SPACING_M, SIREN_SPACING_M)
    grid = np.column_stack([a.ravel() for a in np.meshgrid(gx, gy)])
    near_home = cKDTree(np.column_stack([hx, hy])).query(grid)[0] <= SIREN_SPACING_M / 2
    siren_node = np.unique(cKDTree(xy).query(grid[near_home])[1])
    hear = cKDTree(xy).query_ball_point(xy[siren_node], SIREN_RANGE_M)
    counts = np.array([len(h) for h in hear], dtype=np.int64)
    pair_siren = np.repeat(np.arange(len(siren_node)), counts)
    pair_node = np.concatenate([np.asarray(h, np.int64) for h in hear]) if len(hear) else np.zeros(0, np.int64)
    return siren_node.astype(np.int64), pair_node, pair_siren
