"""Synthetic grids with known hydrology, shared by the hydrology and flood tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from twin.city.config import HydrologySpec
from twin.city.terrain import Terrain
from twin.hydrology.conditioning import Hydrology, build_hydrology

CELL_M = 10.0


def terrain_of(z: np.ndarray, cell_m: float = CELL_M) -> Terrain:
    """A north-up Terrain for an elevation array (origin at 0, 0 top-left corner)."""
    return Terrain(
        elevation_m=z.astype(np.float32),
        transform=Affine(cell_m, 0, 0, 0, -cell_m, z.shape[0] * cell_m),
        crs="EPSG:32631",
        source_resolution_m=cell_m,
    )


def waterways_of(lines: list[shapely.LineString], names: list[str]) -> pd.DataFrame:
    """A waterways table like the City's."""
    return pd.DataFrame(
        {
            "osm_id": np.arange(1, len(lines) + 1),
            "kind": ["river"] * len(lines),
            "name": names,
            "names": names,
            "tunnel": [False] * len(lines),
            "geometry": [shapely.to_wkb(line) for line in lines],
        }
    )


def hydrology_of(terrain: Terrain, waterways: pd.DataFrame | None = None, **spec: float) -> Hydrology:
    """Build the hydrology of a synthetic terrain (no land cover, nothing sealed)."""
    table = waterways if waterways is not None else waterways_of([], [])
    shape = terrain.elevation_m.shape
    return build_hydrology(
        terrain,
        table,
        HydrologySpec(**spec),
        np.zeros(shape, np.uint8),
        np.zeros(shape, np.float32),
    )


def v_valley(rows: int = 40, cols: int = 31, cross_slope: float = 0.1, long_slope: float = 0.01) -> np.ndarray:
    """A straight V valley draining south: z = 100 + cross |x - x0| + long (rows - 1 - row) (metres)."""
    row, col = np.mgrid[0:rows, 0:cols]
    centre = cols // 2
    return 100.0 + cross_slope * CELL_M * np.abs(col - centre) + long_slope * CELL_M * (rows - 1 - row)


def valley_river(rows: int, cols: int) -> shapely.LineString:
    """The valley's river: down the centre column, cell centres."""
    x = (cols // 2 + 0.5) * CELL_M
    return shapely.LineString([(x, rows * CELL_M - 0.5 * CELL_M), (x, 0.5 * CELL_M)])


def bowl(size: int = 21, curvature: float = 0.01) -> np.ndarray:
    """A paraboloid bowl, z = curvature x r^2 (r in cells from the centre); its rim is the grid edge."""
    row, col = np.mgrid[0:size, 0:size]
    centre = size // 2
    return curvature * ((row - centre) ** 2 + (col - centre) ** 2) + 50.0
