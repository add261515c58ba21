"""The highway graph of an extract, built and simplified as arrays, with osmnx's rules and results.

twin used to write the highway ways to a temporary OSM XML file and hand it to ``osmnx.graph_from_xml`` and
``osmnx.simplify_graph``; both go through a networkx graph of every OSM node (a few hundred bytes of Python
objects each), which made the road graph the slowest and largest part of a build. This module builds the
same graph from the streamed ways with numpy, and gives the same nodes, edges, first OSM ids, one-way flags
and geometries (tests/test_roadgraph.py compares it with osmnx on every shipped map). The rules, from osmnx 2
(Boeing 2017, "OSMnx: New methods for acquiring, constructing, analyzing, and visualizing complex street
networks", Computers, Environment and Urban Systems 65, 126-139; simplification: Boeing 2025, "Topological
graph simplification solutions to the street intersection miscount problem", Transactions in GIS 29(3)):

* every way becomes directed edges between consecutive nodes (repeated consecutive nodes dropped); a way is
  one-way when ``oneway`` is yes/true/1/-1/reverse/T/F or it is a roundabout, reversed for -1/reverse/T,
  and otherwise also gets the reverse edges;
* a node is an *endpoint* when it loops to itself, has no incoming or no outgoing edge, does not have exactly
  two neighbours with 2 or 4 edges, or its edges differ in ``highway``, ``bridge`` or ``tunnel``;
* each path from an endpoint through non-endpoints to the next endpoint becomes one edge with the path's
  geometry; a merged edge's OSM ids and one-way flags are kept as the distinct values (osmnx stores
  ``list(set(values))``, whose first element twin uses, so the same Python set order is reproduced here);
* components made of a ring without an endpoint are dropped.

The path walk follows osmnx's loop (successors in the order edges were added) in plain Python over lists:
one step per node of the graph, once per build.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from twin.city.osm import OsmData, OsmWay, Tags

#: Values of ``oneway`` that make a way one-way, and those that reverse it (osmnx.graph._add_paths).
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
#: Edge tags whose change keeps a node (twin's simplification: a bridge stays a link of its own).
DIFFER_KEYS = ("highway", "bridge", "tunnel")


@dataclass(frozen=True)
class RoadGraph:
    """The simplified highway graph.

    Attributes
    ----------
    node_osm, lon, lat
        Node OSM ids (sorted) and WGS84 coordinates.
    src, dst
        Each directed edge's end nodes (indices into the node arrays).
    way
        The edge's OSM way id (for a merged edge, the first of its ways as osmnx orders them).
    way_index
        That way's position in ``ways``.
    oneway
        Whether the edge is one-way (osmnx's flag; for a merged edge, the first of its values).
    path_ptr, path_lon, path_lat
        The points of the edge's geometry, first to last, in WGS84 (CSR: edge ``e`` spans
        ``path_lon[path_ptr[e]:path_ptr[e + 1]]``): the nodes it passes through.
    ways
        The highway ways the graph was made of.
    """

    node_osm: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    way: np.ndarray
    way_index: np.ndarray
    oneway: np.ndarray
    path_ptr: np.ndarray
    path_lon: np.ndarray
    path_lat: np.ndarray
    ways: list[OsmWay]

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_osm)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.src)

    def tags(self, edge: int) -> Tags:
        """The tags of the edge's way."""
        return self.ways[int(self.way_index[edge])].tags


def is_one_way(tags: Tags) -> bool:
    """osmnx's one-way rule for a directed (not bidirectional) graph."""
    return tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout"


@dataclass(frozen=True)
class _Edges:
    """Directed edges in the order osmnx adds them, with the way of each."""

    src: np.ndarray
    dst: np.ndarray
    way_index: np.ndarray


def _raw_edges(ways: list[OsmWay], index: np.ndarray) -> _Edges:
    """Edges of every way, in osmnx's order: per way, its forward edges, then the reverse ones if two-way.

    ``index`` maps each way's refs (concatenated) to node positions.
    """
    lengths = np.array([len(w.refs) for w in ways], dtype=np.int64)
    owner = np.repeat(np.arange(len(ways)), lengths)
    keep = np.ones(len(index), dtype=bool)
    keep[1:] = (index[1:] != index[:-1]) | (owner[1:] != owner[:-1])  # consecutive repeats dropped
    nodes, owner = index[keep], owner[keep]
    one_way = np.array([is_one_way(w.tags) for w in ways], dtype=bool)
    flip = np.array([w.tags.get("oneway") in REVERSED_VALUES for w in ways], dtype=bool) & one_way
    position = np.arange(len(nodes))
    # reversed one-way ways run against their node order: sort their nodes backwards
    order = np.lexsort((np.where(flip[owner], -position, position), owner))
    nodes, owner = nodes[order], owner[order]
    pair = owner[1:] == owner[:-1]
    u, v, w = nodes[:-1][pair], nodes[1:][pair], owner[:-1][pair]
    rank = np.arange(len(u))
    back = ~one_way[w]
    src = np.concatenate([u, v[back]])
    dst = np.concatenate([v, u[back]])
    way = np.concatenate([w, w[back]])
    # per way: forward edges first, then the reverse edges in the same order
    order = np.lexsort((np.concatenate([rank, rank[back]]), np.repeat([0, 1], [len(u), int(back.sum())]), way))
    return _Edges(src[order], dst[order], way[order])


def _codes(ways: list[OsmWay], key: str) -> np.ndarray:
    """An integer per way for the value of ``key`` (-1 when the way has none)."""
    values: dict[str, int] = {}
    return np.array([values.setdefault(w.tags[key], len(values)) if key in w.tags else -1 for w in ways], np.int64)


def endpoints(n_nodes: int, src: np.ndarray, dst: np.ndarray, attrs: list[np.ndarray]) -> np.ndarray:
    """osmnx's five endpoint rules (``simplification._is_endpoint``) for every node at once.

    Parameters
    ----------
    attrs
        One integer code per edge for each attribute that must not change at a kept-through node.
    """
    out_deg = np.bincount(src, minlength=n_nodes)
    in_deg = np.bincount(dst, minlength=n_nodes)
    loops = np.zeros(n_nodes, dtype=bool)
    loops[src[src == dst]] = True
    pairs = np.unique(np.concatenate([src * n_nodes + dst, dst * n_nodes + src]))
    neighbours = np.bincount(pairs // n_nodes, minlength=n_nodes)
    degree = in_deg + out_deg
    end = loops | (out_deg == 0) | (in_deg == 0) | ~((neighbours == 2) & ((degree == 2) | (degree == 4)))
    for code in attrs:
        low = np.full(n_nodes, np.iinfo(np.int64).max)
        high = np.full(n_nodes, np.iinfo(np.int64).min)
        for ends in (src, dst):
            np.minimum.at(low, ends, code)
            np.maximum.at(high, ends, code)
        end |= (low != high) & (degree > 0)
    return end


class _Walker:
    """osmnx's path building (``simplification._build_path``) over successor lists."""

    def __init__(self, n_nodes: int, src: np.ndarray, dst: np.ndarray, is_end: np.ndarray) -> None:
        key = src * n_nodes + dst
        unique_keys, first = np.unique(key, return_index=True)
        # successors in the order their first edge was added (networkx's adjacency order)
        order = np.lexsort((first, unique_keys // n_nodes))
        succ_src, succ_dst = (unique_keys // n_nodes)[order], (unique_keys % n_nodes)[order]
        ptr = np.searchsorted(succ_src, np.arange(n_nodes + 1))
        flat = succ_dst.tolist()
        self.successors = [flat[a:b] for a, b in pairwise(ptr.tolist())]
        self.first_edge = dict(zip(unique_keys.tolist(), first.tolist(), strict=True))
        self.is_end = is_end.tolist()
        self.n_nodes = n_nodes

    def path(self, endpoint: int, successor: int) -> list[int]:
        """The path from ``endpoint`` through ``successor`` to the next endpoint (osmnx's quirks included)."""
        path = [endpoint, successor]
        seen = {endpoint, successor}
        for this in self.successors[successor]:
            if this in seen:
                continue
            node = this
            path.append(node)
            seen.add(node)
            while not self.is_end[node]:
                onward = [n for n in self.successors[node] if n not in seen]
                if len(onward) == 1:
                    node = onward[0]
                    path.append(node)
                    seen.add(node)
                elif not onward:
                    if endpoint in self.successors[node]:
                        return [*path, endpoint]  # the end of a self-looping path
                    return path  # a one-way street turning two-way with duplicate edges (an OSM quirk)
                else:  # pragma: no cover - a node with two ways onward is an endpoint
                    raise AssertionError(f"node {node}: two successors inside a path")
            return path
        return path

    def edges_along(self, path: list[int]) -> list[int]:
        """The first-added edge between each consecutive pair of the path."""
        n = self.n_nodes
        return [self.first_edge[u * n + v] for u, v in pairwise(path)]


def _first_distinct(values: list[Any]) -> Any:
    """What osmnx keeps for a merged edge's attribute, first element: the value, or ``list(set(values))[0]``."""
    distinct = set(values)
    return values[0] if len(distinct) == 1 else next(iter(distinct))


@dataclass
class _Merged:
    """The edges simplification adds, in the order osmnx adds them."""

    src: list[int]
    dst: list[int]
    first: list[int]  # the path's first edge: its highway, bridge and tunnel are the path's
    way: list[int]
    oneway: list[bool]
    paths: list[list[int]]
    interior: set[int]


def _simplify(
    n_nodes: int, edges: _Edges, way_ids: np.ndarray, one_way: np.ndarray, attrs: list[np.ndarray], node_osm: Any
) -> _Merged:
    """Merge every path between endpoints into one edge (osmnx ``simplify_graph``)."""
    is_end = endpoints(n_nodes, edges.src, edges.dst, [a[edges.way_index] for a in attrs])
    walker = _Walker(n_nodes, edges.src, edges.dst, is_end)
    merged = _Merged([], [], [], [], [], [], set())
    # osmnx iterates a Python set of the endpoints' OSM ids, built in node order: the same set, the same order
    position = {osm: i for i, osm in zip(np.flatnonzero(is_end).tolist(), node_osm[is_end].tolist(), strict=True)}
    edge_way = way_ids[edges.way_index].tolist()
    edge_oneway = one_way[edges.way_index].tolist()
    for osm in set(node_osm[is_end].tolist()):
        endpoint = position[osm]
        for successor in walker.successors[endpoint]:
            if walker.is_end[successor]:
                continue
            path = walker.path(endpoint, successor)
            along = walker.edges_along(path)
            merged.src.append(path[0])
            merged.dst.append(path[-1])
            merged.first.append(along[0])
            merged.way.append(_first_distinct([edge_way[e] for e in along]))
            merged.oneway.append(_first_distinct([edge_oneway[e] for e in along]))
            merged.paths.append(path)
            merged.interior.update(path[1:-1])
    return merged


def build_road_graph(osm: OsmData) -> RoadGraph | None:
    """The simplified graph of the extract's highway ways (those with all their nodes); None without any."""
    ways = [w for w in osm.ways if "highway" in w.tags and len(w.refs)]
    if ways:
        found = osm.index(np.concatenate([w.refs for w in ways]))
        complete = np.minimum.reduceat(found, np.cumsum([0] + [len(w.refs) for w in ways[:-1]])) >= 0
        ways = [w for w, ok in zip(ways, complete.tolist(), strict=True) if ok]
    if not ways:
        return None
    refs = np.concatenate([w.refs for w in ways])
    node_osm, index = np.unique(refs, return_inverse=True)
    at = osm.index(node_osm)
    lon, lat = osm.lon[at], osm.lat[at]
    edges = _raw_edges(ways, index)
    way_ids = np.array([w.id for w in ways], dtype=np.int64)
    one_way = np.array([is_one_way(w.tags) for w in ways], dtype=bool)
    attrs = [_codes(ways, key) for key in DIFFER_KEYS]
    merged = _simplify(len(node_osm), edges, way_ids, one_way, attrs, node_osm)
    return _assemble(node_osm, lon, lat, edges, merged, way_ids, one_way, attrs, ways)


def _assemble(
    node_osm: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    edges: _Edges,
    merged: _Merged,
    way_ids: np.ndarray,
    one_way: np.ndarray,
    attrs: list[np.ndarray],
    ways: list[OsmWay],
) -> RoadGraph:
    """The graph after simplification: kept edges, then merged ones (osmnx's key order), rings removed."""
    n = len(node_osm)
    removed = np.zeros(n, dtype=bool)
    removed[list(merged.interior)] = True
    keep = ~removed[edges.src] & ~removed[edges.dst]
    m_src, m_dst = np.array(merged.src, dtype=np.int64), np.array(merged.dst, dtype=np.int64)
    m_keep = ~removed[m_src] & ~removed[m_dst]
    src = np.concatenate([edges.src[keep], m_src[m_keep]])
    dst = np.concatenate([edges.dst[keep], m_dst[m_keep]])
    # the way whose highway, bridge and tunnel the edge carries (uniform along a merged path)
    carrier = np.concatenate([edges.way_index[keep], edges.way_index[np.array(merged.first, dtype=np.int64)][m_keep]])
    way_of_merged = np.searchsorted(np.sort(way_ids), np.array(merged.way, dtype=np.int64))
    by_id = np.argsort(way_ids, kind="stable")
    way_index = np.concatenate([edges.way_index[keep], by_id[way_of_merged][m_keep]])
    oneway = np.concatenate([one_way[edges.way_index[keep]], np.array(merged.oneway, dtype=bool)[m_keep]])
    straight = [[int(a), int(b)] for a, b in zip(src[: int(keep.sum())], dst[: int(keep.sum())], strict=True)]
    paths = straight + [p for p, k in zip(merged.paths, m_keep.tolist(), strict=True) if k]
    alive = ~removed & ~_rings(n, src, dst, [a[carrier] for a in attrs], removed)
    edge_alive = alive[src] & alive[dst]
    renumber = np.cumsum(alive) - 1
    lengths = np.array([len(p) for p in paths], dtype=np.int64)[edge_alive]
    flat = np.array([node for p, ok in zip(paths, edge_alive.tolist(), strict=True) if ok for node in p], np.int64)
    return RoadGraph(
        node_osm=node_osm[alive],
        lon=lon[alive],
        lat=lat[alive],
        src=renumber[src[edge_alive]],
        dst=renumber[dst[edge_alive]],
        way=way_ids[way_index[edge_alive]],
        way_index=way_index[edge_alive],
        oneway=oneway[edge_alive],
        path_ptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        path_lon=lon[flat],
        path_lat=lat[flat],
        ways=ways,
    )


def _rings(n: int, src: np.ndarray, dst: np.ndarray, attrs: list[np.ndarray], removed: np.ndarray) -> np.ndarray:
    """Nodes of the components without an endpoint (osmnx ``_remove_rings``), after simplification."""
    is_end = endpoints(n, src, dst, attrs)
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _count, labels = connected_components(graph, directed=True, connection="weak")
    has_end = np.zeros(labels.max() + 1, dtype=bool)
    has_end[labels[is_end & ~removed]] = True
    return ~has_end[labels] & ~removed


def largest_component(n: int, src: np.ndarray, dst: np.ndarray, members: np.ndarray, strong: bool) -> np.ndarray:
    """Boolean mask of the largest (weakly or strongly) connected component among ``members``.

    Ties go to the component holding the lowest node, as networkx's component order does for weak
    components (node order), so that the result does not depend on the library.
    """
    graph = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _count, labels = connected_components(graph, directed=True, connection="strong" if strong else "weak")
    labels = np.where(members, labels, -1)
    valid = labels >= 0
    sizes = np.bincount(labels[valid])
    lowest = np.full(len(sizes), n)
    np.minimum.at(lowest, labels[valid], np.flatnonzero(valid))
    best = np.lexsort((lowest, -sizes))[0]
    return labels == best
