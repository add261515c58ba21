"""The one way the package builds a GeoDataFrame for a layer: a table, its geometries and the City's CRS."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def geo_frame(
    table: pd.DataFrame | Mapping[str, object],
    geometry: np.ndarray,
    crs: str,
    *,
    wkb: bool = False,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """A GeoDataFrame of ``table`` with one geometry per row.

    Parameters
    ----------
    table
        The attribute columns (a DataFrame, or a mapping of column name to values).
    geometry
        One shapely geometry per row, or with ``wkb`` one WKB blob per row (the City's tables store WKB).
    crs
        The City's metric CRS.
    wkb
        Whether ``geometry`` holds WKB.
    columns
        Column name -> dtype, to fix the layer's schema (an empty layer keeps its column types).
    """
    frame = pd.DataFrame(table)
    if columns is not None:
        frame = frame.astype(dict(columns))
    if wkb:
        geometry = shapely.from_wkb(geometry) if len(geometry) else np.empty(0, dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
