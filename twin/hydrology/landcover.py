"""Land cover on the working grid, for rainfall runoff: a class per cell and the share of sealed surface.

Classes come from OSM ``landuse``, ``natural`` and ``leisure`` areas (the last area drawn wins, and smaller
areas are drawn after larger ones, so a park inside a residential zone stays a park). The impervious share
of a cell is the share of its area under building footprints or drivable carriageways (lanes x 3.5 m), measured
on a sub-grid of about 5 m; it turns a class's curve number into a composite one (USDA NRCS TR-55, 1986,
chapter 2: CN = (1 - f) CN_pervious + f x 98).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from twin.city.osm import Tags

LANDCOVER_CLASSES: tuple[str, ...] = ("other", "impervious", "urban", "grass", "forest", "farmland", "bare", "water")
"""Land-cover classes, in the order of their codes in the grid (``other`` = 0, no OSM area says otherwise)."""

LANE_WIDTH_M = 3.5
SUBGRID_M = 5.0

_BY_TAG: dict[tuple[str, str], str] = {
    **{
        ("landuse", v): "urban"
        for v in (
            "residential",
            "commercial",
            "industrial",
            "retail",
            "construction",
            "garages",
            "railway",
            "education",
            "institutional",
        )
    },
    **{("landuse", v): "grass" for v in ("grass", "meadow", "recreation_ground", "village_green", "cemetery")},
    **{("leisure", v): "grass" for v in ("park", "pitch", "golf_course", "garden", "playground")},
    **{("natural", v): "grass" for v in ("grassland", "heath", "scrub")},
    ("landuse", "forest"): "forest",
    ("natural", "wood"): "forest",
    **{("landuse", v): "farmland" for v in ("farmland", "orchard", "vineyard", "allotments", "farmyard")},
    **{("natural", v): "bare" for v in ("scree", "bare_rock", "shingle", "sand", "glacier")},
    ("landuse", "quarry"): "bare",
    **{("natural", v): "water" for v in ("water",)},
    **{("landuse", v): "water" for v in ("reservoir", "basin")},
    ("waterway", "riverbank"): "water",
    ("leisure", "swimming_pool"): "water",
    **{("amenity", v): "impervious" for v in ("parking",)},
}


def landcover_class(tags: Tags) -> str | None:
    """The land-cover class an OSM area's tags give, or None when they give none."""
    for key in ("landuse", "natural", "leisure", "waterway", "amenity"):
        found = _BY_TAG.get((key, tags.get(key, "")))
        if found:
            return found
    return None


def is_landcover(tags: Tags) -> bool:
    """Whether an OSM element is a land-cover area twin reads."""
    return landcover_class(tags) is not None


def landcover_grid(areas: Iterable[tuple[BaseGeometry, str]], shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """uint8 grid of class codes (index in :data:`LANDCOVER_CLASSES`) from (polygon, class) pairs.

    A cell takes the class of the area covering its centre; larger areas are drawn first so that smaller ones
    inside them win.
    """
    import rasterio.features  # rasterising is for the cold build only: a cached run never loads it

    polygons = [(g, LANDCOVER_CLASSES.index(c)) for g, c in areas if g.geom_type in ("Polygon", "MultiPolygon")]
    polygons.sort(key=lambda item: -item[0].area)
    if not polygons:
        return np.zeros(shape, dtype=np.uint8)
    return rasterio.features.rasterize(polygons, out_shape=shape, transform=transform, fill=0, dtype="uint8")


def impervious_fraction(
    footprints: np.ndarray, carriageways: np.ndarray, lanes: np.ndarray, shape: tuple[int, int], transform: Affine
) -> np.ndarray:
    """float32 grid: share of each cell under buildings or carriageways, measured on a ~5 m sub-grid.

    Parameters
    ----------
    footprints
        Building footprints (shapely polygons, metric CRS).
    carriageways
        Drivable link centre lines (shapely lines).
    lanes
        Lanes of each link; the carriageway is ``lanes x 3.5 m`` wide.
    shape, transform
        The working grid.
    """
    import rasterio.features

    factor = max(1, round(abs(transform.a) / SUBGRID_M))
    fine_shape = (shape[0] * factor, shape[1] * factor)
    fine_transform = transform @ Affine.scale(1 / factor)
    roads = shapely.buffer(carriageways, np.maximum(lanes, 1) * LANE_WIDTH_M / 2, cap_style="flat")
    sealed = [g for g in np.concatenate([footprints, roads]) if g is not None and not g.is_empty]
    if not sealed:
        return np.zeros(shape, dtype=np.float32)
    fine = rasterio.features.rasterize(
        ((g, 1) for g in sealed), out_shape=fine_shape, transform=fine_transform, fill=0, dtype="uint8"
    )
    return fine.reshape(shape[0], factor, shape[1], factor).mean(axis=(1, 3)).astype(np.float32)
