"""Shapely geometries as matplotlib lines and paths, and the street table drawn once per street."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from matplotlib.path import Path as MplPath
from shapely.geometry.polygon import orient

Segments = list[np.ndarray]


def segments(geometries: Iterable[Any]) -> Segments:
    """Coordinate arrays of every line in WKB or shapely geometries (polygons give their outline).

    Parameters
    ----------
    geometries
        WKB bytes or shapely geometries (LineString, MultiLineString, Polygon, ...); points are skipped.

    Returns
    -------
    list of numpy.ndarray
        One (n, 2) array per line part, ready for :class:`~matplotlib.collections.LineCollection`.
    """
    items = list(geometries)
    if not items:
        return []
    geoms = np.asarray([shapely.from_wkb(g) if isinstance(g, bytes | bytearray) else g for g in items], dtype=object)
    parts = shapely.get_parts(geoms)
    polygons = shapely.get_type_id(parts) == 3
    parts[polygons] = shapely.get_exterior_ring(parts[polygons])
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if not len(parts):
        return []
    coords, index = shapely.get_coordinates(parts, return_index=True)
    return [s for s in np.split(coords, np.flatnonzero(np.diff(index)) + 1) if len(s) > 1]


def undirected(links: pd.DataFrame) -> pd.DataFrame:
    """One row per street: the two directed links of a two-way street drawn once."""
    if links.empty:
        return links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    key = pd.DataFrame({"way": links["osm_way"].to_numpy(), "a": np.minimum(src, dst), "b": np.maximum(src, dst)})
    return links[~key.duplicated().to_numpy()]


def polygon_paths(geometries: Iterable[Any]) -> list[MplPath]:
    """Matplotlib paths of (multi)polygons, holes included (exterior anticlockwise, holes clockwise).

    Parameters
    ----------
    geometries
        Shapely geometries; their polygon parts are drawn, anything else is skipped.
    """
    items = np.asarray(list(geometries), dtype=object)
    if not len(items):
        return []
    parts = shapely.get_parts(items)
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    paths = []
    for part in parts:
        polygon = orient(part, sign=1.0)
        rings = [polygon.exterior, *polygon.interiors]
        paths.append(MplPath.make_compound_path(*[MplPath(np.asarray(r.coords), closed=True) for r in rings]))
    return paths


def zone_edges(shapes: Iterable[Any]) -> Segments:
    """The boundaries of adjacent zones, each shared edge once (so that dashes do not overlap)."""
    items = [g for g in shapes if g is not None and not shapely.is_empty(g)]
    if not items:
        return []
    merged = shapely.line_merge(shapely.union_all(shapely.boundary(np.asarray(items, dtype=object))))
    return segments([merged])
