"""Warning areas as masks over walkable nodes.

An area is named zones (city.yaml population areas; a node belongs to the nearest area centre, as homes do), a
polygon (lon, lat), a flood-depth forecast, or the whole city. A forecast spreads the given stage above the
drainage network by HAND (height above nearest drainage, Nobre et al. 2011; ``City.hydrology.hand_m``): the
forecast depth of a cell is ``stage - HAND``, and the area is where it exceeds ``depth_above_m``.

Sirens are :mod:`twin.city.sirens`'s (OSM ``emergency=siren``, else synthesised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from twin.city.build import City
from twin.errors import ScenarioError
from twin.residents.places import Places
from twin.scenario.residents import WarningSpec


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
