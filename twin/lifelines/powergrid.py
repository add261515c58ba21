"""The power grid as a graph, from the OSM power lines of the facilities table.

Every vertex of a line (kinds :data:`LINE_KINDS`) is a node and consecutive vertices are joined by an edge as long
as the span; vertices of different lines closer than :data:`SNAP_M` are one node. A substation or plant mapped as
an area joins every line vertex within :data:`HUB_M` of its outline (it becomes a hub node at its centroid) when two
or more line nodes are that close; a point inside such an area shares its node; other power components take the
node of the nearest line vertex within :data:`ATTACH_M`. The lifelines' feeding rule (which substations a supply
reaches) and the outages' criticality (betweenness on this graph, :mod:`twin.hazards.outage.criticality`) both
read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

LINE_KINDS: tuple[str, ...] = ("line", "minor_line", "cable")
"""Facility kinds whose LineString geometries make the power grid."""
SNAP_M = 1.0
"""Vertices of different power lines closer than this (m) are one node (a line mapped to end at another
line's vertex; further apart they are taken as separate circuits, e.g. parallel lines a few metres apart)."""
HUB_M = 10.0
"""A substation or plant mapped as an area joins every line vertex within this distance (m) of its outline
(lines end at the fence or at a portal just outside it)."""
ATTACH_M = 75.0
"""A point power component (and an area with no line at its outline) takes the node of the nearest line
vertex within this distance (m). OSM transformers usually stand inside a substation with no line drawn to
them: in the Andorra extract they lie 20-61 m from the nearest line end; towers and poles lie on their line."""


@dataclass(frozen=True)
class PowerGrid:
    """The power grid as a graph, and where each power component sits on it.

    Attributes
    ----------
    graph
        Undirected; nodes are ints with their coordinates ``xy`` (metric), edges carry ``length_m``.
    node_of
        Facility row -> graph node, for point and area components that sit on the grid.
    edges_of
        Facility row -> its graph edges ``(u, v)`` with ``u < v``, for lines.
    hubs
        Facility rows of areas that became hub nodes.
    """

    graph: nx.Graph
    node_of: dict[int, int] = field(default_factory=dict)
    edges_of: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    hubs: list[int] = field(default_factory=list)


def _line_vertices(facilities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of every line vertex, its facility row, and the index of its line part."""
    rows = np.flatnonzero(facilities["kind"].isin(LINE_KINDS).to_numpy())
    geometries = shapely.from_wkb(facilities["geometry"].to_numpy()[rows])
    parts, part_index = shapely.get_parts(geometries, return_index=True)
    coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
    return coords, rows[part_index[vertex_part]], vertex_part


def _snap(coords: np.ndarray) -> np.ndarray:
    """Node id of each vertex: vertices within :data:`SNAP_M` (transitively) share one."""
    n = len(coords)
    pairs = cKDTree(coords).query_pairs(SNAP_M, output_type="ndarray") if n else np.zeros((0, 2), dtype=np.int64)
    adjacency = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return np.asarray(connected_components(adjacency, directed=False)[1], dtype=np.int64)


def _add_span(graph: nx.Graph, a: int, b: int, length_m: float) -> tuple[int, int]:
    """Join ``a`` and ``b`` (the shorter of parallel spans counts); return the edge as ``(low, high)``."""
    u, v = min(a, b), max(a, b)
    if not graph.has_edge(u, v) or graph[u][v]["length_m"] > length_m:
        graph.add_edge(u, v, length_m=length_m)
    return u, v


def power_grid(facilities: pd.DataFrame) -> PowerGrid:
    """The power grid graph of a facilities table (see the module docstring for the rules)."""
    coords, owner, part = _line_vertices(facilities)
    node = _snap(coords)
    grid = PowerGrid(nx.Graph())
    first = np.unique(node, return_index=True)[1]
    grid.graph.add_nodes_from((int(node[i]), {"xy": (float(coords[i, 0]), float(coords[i, 1]))}) for i in first)
    same_part = part[:-1] == part[1:]
    spans = np.hypot(*(coords[1:] - coords[:-1]).T)
    for i in np.flatnonzero(same_part & (node[:-1] != node[1:])).tolist():
        span = _add_span(grid.graph, int(node[i]), int(node[i + 1]), float(spans[i]))
        grid.edges_of.setdefault(int(owner[i]), []).append(span)
    _attach(facilities, coords, node, grid)
    return grid


def _attach(facilities: pd.DataFrame, coords: np.ndarray, node: np.ndarray, grid: PowerGrid) -> None:
    """Put the non-line power components on the grid: hubs, then areas, then points (see the module docstring)."""
    power = (facilities["group"] == "power").to_numpy() & ~facilities["kind"].isin(LINE_KINDS).to_numpy()
    rows = np.flatnonzero(power)
    if not len(coords) or not len(rows):
        return
    geometries = np.asarray(shapely.from_wkb(facilities["geometry"].to_numpy()[rows]))
    vertices: np.ndarray = np.asarray(shapely.points(coords))
    kinds = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
    areas = np.isin(shapely.get_type_id(geometries), kinds)
    _hubs(rows[areas], geometries[areas], vertices, node, grid)
    _nearest(rows[areas], geometries[areas], vertices, node, grid)
    _inside(rows[~areas], geometries[~areas], rows[areas], geometries[areas], grid)
    _nearest(rows[~areas], geometries[~areas], vertices, node, grid)


def _hubs(rows: np.ndarray, areas: np.ndarray, vertices: np.ndarray, node: np.ndarray, grid: PowerGrid) -> None:
    """An area whose outline is within :data:`HUB_M` of two or more line nodes becomes a node joining them."""
    next_node = int(node.max()) + 1
    for row, area in zip(rows.tolist(), areas, strict=True):
        near = np.flatnonzero(shapely.dwithin(area, vertices, HUB_M))
        if len(np.unique(node[near])) < 2:
            continue  # at most one line touches it: it sits on that line, like a point
        # The hub is the area's centre: spans of zero length would break the counting of shortest paths.
        distance = np.maximum(shapely.distance(shapely.centroid(area), vertices[near]), SNAP_M)
        for vertex_node, d in zip(node[near].tolist(), distance.tolist(), strict=True):
            _add_span(grid.graph, next_node, vertex_node, float(d))
        grid.node_of[row] = next_node
        grid.hubs.append(row)
        next_node += 1


def _inside(rows: np.ndarray, points: np.ndarray, area_rows: np.ndarray, areas: np.ndarray, grid: PowerGrid) -> None:
    """A point inside a power area on the grid (a transformer in a substation) is part of it: same node."""
    placed = np.array([row in grid.node_of for row in area_rows.tolist()], dtype=bool)
    if not len(rows) or not placed.any():
        return
    point_index, area_index = shapely.STRtree(areas[placed]).query(points, predicate="within")
    for which, area in zip(point_index.tolist(), area_index.tolist(), strict=True):
        grid.node_of.setdefault(int(rows[which]), grid.node_of[int(area_rows[placed][area])])


def _nearest(rows: np.ndarray, geometries: np.ndarray, vertices: np.ndarray, node: np.ndarray, grid: PowerGrid) -> None:
    """Components not placed yet take the node of the nearest line vertex within :data:`ATTACH_M`."""
    rest = np.array([row not in grid.node_of for row in rows.tolist()], dtype=bool)
    if not rest.any():
        return
    pairs = shapely.STRtree(vertices).query_nearest(geometries[rest], max_distance=ATTACH_M, all_matches=False)
    for which, vertex in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
        grid.node_of[int(rows[rest][which])] = int(node[vertex])
