"""OSM elements as geometries in the metric CRS: closed ways as polygons, open ways as lines,
multipolygon relations assembled from their member ways, tagged nodes as points."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from twin.city.osm import OsmData, OsmWay, Tags


@dataclass(frozen=True)
class Feature:
    """One OSM element with its tags and its geometry in the metric CRS."""

    osm_type: str  # "node", "way" or "relation"
    osm_id: int
    tags: Tags
    geometry: BaseGeometry


class Projector:
    """Turns OSM node references into metric coordinates, with one vectorised transform for all nodes."""

    def __init__(self, osm: OsmData, to_metric: Transformer) -> None:
        ids = np.fromiter(osm.coords.keys(), dtype=np.int64, count=len(osm.coords))
        lonlat = np.array(list(osm.coords.values()), dtype=float).reshape(-1, 2)
        x, y = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
        self._xy = dict(
            zip(ids.tolist(), zip(np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True), strict=True)
        )

    def has(self, refs: list[int]) -> bool:
        """Whether every node of ``refs`` is in the extract (ways cut by the border lose nodes)."""
        return all(r in self._xy for r in refs)

    def point(self, ref: int) -> tuple[float, float]:
        """Metric coordinates of one node."""
        return self._xy[ref]

    def way(self, way: OsmWay) -> BaseGeometry | None:
        """A closed way with an area tag as a polygon, otherwise a line; None when nodes are missing."""
        if len(way.refs) < 2 or not self.has(way.refs):
            return None
        coords = [self._xy[r] for r in way.refs]
        if len(coords) >= 4 and way.refs[0] == way.refs[-1] and _is_area(way.tags):
            polygon = shapely.Polygon(coords)
            return polygon if polygon.is_valid else shapely.make_valid(polygon)
        return shapely.LineString(coords)


def _is_area(tags: Tags) -> bool:
    linear = tags.get("highway") or tags.get("waterway") or tags.get("power") in ("line", "minor_line", "cable")
    return tags.get("area") == "yes" or not linear


def iter_features(osm: OsmData, projector: Projector, wanted: Callable[[Tags], bool]) -> Iterator[Feature]:
    """Every node, way and multipolygon relation whose tags satisfy ``wanted``, with its geometry."""
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
        if relation.tags.get("type") == "multipolygon" and wanted(relation.tags):
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
            usable = way is not None and len(way.refs) >= 2 and projector.has(way.refs)
            if kind == "way" and member_role == role and usable:
                assert way is not None
                lines.append(shapely.LineString([projector.point(r) for r in way.refs]))
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
