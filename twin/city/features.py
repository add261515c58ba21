"""OSM elements as geometries in the metric CRS: closed ways as polygons, open ways as lines,
area relations (multipolygons, boundaries) assembled from their member ways, tagged nodes as points."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from twin.city.osm import OsmData, OsmWay, Tags

#: Relations assembled into areas from their outer and inner member ways (OSM wiki "Relation:multipolygon",
#: "Relation:boundary").
AREA_RELATIONS = ("multipolygon", "boundary")


@dataclass(frozen=True)
class Feature:
    """One OSM element with its tags and its geometry in the metric CRS."""

    osm_type: str  # "node", "way" or "relation"
    osm_id: int
    tags: Tags
    geometry: BaseGeometry


class Projector:
    """Turns OSM node references into metric coordinates, with one vectorised transform for the kept nodes."""

    def __init__(self, osm: OsmData, to_metric: Transformer) -> None:
        self._osm = osm
        x, y = to_metric.transform(osm.lon, osm.lat)
        self._x, self._y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def has(self, refs: np.ndarray) -> bool:
        """Whether every node of ``refs`` is in the extract (ways cut by the border lose nodes)."""
        return bool((self._osm.index(refs) >= 0).all())

    def point(self, ref: int) -> tuple[float, float]:
        """Metric coordinates of one node."""
        i = int(self._osm.index(np.array([ref]))[0])
        return float(self._x[i]), float(self._y[i])

    def coords(self, refs: np.ndarray) -> np.ndarray | None:
        """(n, 2) metric coordinates of ``refs``, None when a node is missing."""
        at = self._osm.index(refs)
        if (at < 0).any():
            return None
        return np.column_stack([self._x[at], self._y[at]])

    def way(self, way: OsmWay) -> BaseGeometry | None:
        """A closed way with an area tag as a polygon, otherwise a line; None when nodes are missing."""
        coords = self.coords(way.refs) if len(way.refs) >= 2 else None
        if coords is None:
            return None
        if len(coords) >= 4 and way.refs[0] == way.refs[-1] and _is_area(way.tags):
            polygon = shapely.Polygon(coords)
            return polygon if polygon.is_valid else shapely.make_valid(polygon)
        return shapely.LineString(coords)


def _is_area(tags: Tags) -> bool:
    linear = tags.get("highway") or tags.get("waterway") or tags.get("power") in ("line", "minor_line", "cable")
    return tags.get("area") == "yes" or not linear


def iter_features(osm: OsmData, projector: Projector, wanted: Callable[[Tags], bool]) -> Iterator[Feature]:
    """Every node, way and area relation (multipolygon, boundary) whose tags satisfy ``wanted``, with its geometry."""
    for node_id, tags in osm.node_tags.items():
        if wanted(tags):
            yield Feature("node", node_id, tags, shapely.Point(projector.point(node_id)))
    for way in osm.ways:
        if wanted(way.tags):
            geometry = projector.way(way)
            if geometry is not None:
                yield Feature("way", way.id, way.tags, geometry)
    ways_by_id = {w.id: w for w in osm.ways}
    for relation in osm.relations:
        if relation.tags.get("type") in AREA_RELATIONS and wanted(relation.tags):
            polygon = _multipolygon(relation.members, ways_by_id, projector)
            if polygon is not None:
                yield Feature("relation", relation.id, relation.tags, polygon)


def _multipolygon(
    members: list[tuple[str, int, str]], ways_by_id: dict[int, OsmWay], projector: Projector
) -> BaseGeometry | None:
    """Assemble a multipolygon relation: polygonize the outer rings, subtract the inner ones."""

    def rings(role: str) -> BaseGeometry:
        lines = []
        for kind, ref, member_role in members:
            way = ways_by_id.get(ref)
            coords = projector.coords(way.refs) if way is not None and len(way.refs) >= 2 else None
            if kind == "way" and member_role == role and coords is not None:
                lines.append(shapely.LineString(coords))
        return shapely.polygonize(lines) if lines else shapely.GeometryCollection()

    outer = shapely.union_all(list(shapely.get_parts(rings("outer"))))
    if outer.is_empty:
        return None  # members cut away by the extract's border
    inner_parts = list(shapely.get_parts(rings("inner")))
    if inner_parts:
        outer = outer.difference(shapely.union_all(inner_parts))
    return outer


def representative_xy(geometry: BaseGeometry) -> tuple[float, float]:
    """A point on or in the geometry (polygon centroid when it lies inside, else a point on it)."""
    centroid = geometry.centroid
    point = (
        centroid if geometry.contains(centroid) or geometry.geom_type == "Point" else geometry.representative_point()
    )
    return float(point.x), float(point.y)
