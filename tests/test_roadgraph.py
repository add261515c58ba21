"""The streamed OSM reader and the array road graph: hand-made cases, and osmnx's own graph on the shipped maps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import MAPS
from twin.city.compile import build_wanted
from twin.city.osm import OsmData, read_osm
from twin.city.roadgraph import RoadGraph, build_road_graph, endpoints, largest_component


def _xml(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict[str, str]]]) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for way_id, refs, tags in ways:
        body = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}">{body}</way>')
    path.write_text("\n".join([*lines, "</osm>"]))
    return path


def _edges(graph: RoadGraph) -> list[tuple[int, int, int, bool, int]]:
    """(u, v, way, oneway, points) per edge, by OSM node id."""
    osm = graph.node_osm
    points = np.diff(graph.path_ptr)
    return sorted(
        (int(osm[u]), int(osm[v]), int(w), bool(o), int(k))
        for u, v, w, o, k in zip(graph.src, graph.dst, graph.way, graph.oneway, points, strict=True)
    )


# A street 1-2-3-4 along a parallel, a one-way side street 3-5 and a reversed one-way 6-4 (oneway=-1).
STREET = {1: (1.520, 42.50), 2: (1.521, 42.50), 3: (1.522, 42.50), 4: (1.523, 42.50), 5: (1.522, 42.501)}
STREET |= {6: (1.523, 42.501)}


def test_two_way_street_merges_through_its_shape_points(tmp_path: Path) -> None:
    ways = [
        (10, [1, 2, 3], {"highway": "residential"}),
        (11, [3, 4], {"highway": "residential"}),
        (12, [3, 5], {"highway": "service", "oneway": "yes"}),
        (13, [6, 4], {"highway": "service", "oneway": "-1"}),
    ]
    osm = read_osm(_xml(tmp_path / "s.osm", STREET, ways), build_wanted)
    graph = build_road_graph(osm)
    assert graph is not None
    # node 2 is a shape point (two neighbours, four edges): 1-3 is one link each way, through 3 points;
    # 3 is a junction; 4 ends the street and starts the reversed one-way, which runs 4 -> 6.
    assert _edges(graph) == [
        (1, 3, 10, False, 3),
        (3, 1, 10, False, 3),
        (3, 4, 11, False, 2),
        (3, 5, 12, True, 2),
        (4, 3, 11, False, 2),
        (4, 6, 13, True, 2),
    ]
    assert graph.node_osm.tolist() == [1, 3, 4, 5, 6]


def test_a_bridge_keeps_its_ends_and_a_bare_ring_is_dropped(tmp_path: Path) -> None:
    nodes = STREET | {7: (1.530, 42.51), 8: (1.531, 42.51), 9: (1.531, 42.511)}
    ways = [
        (10, [1, 2], {"highway": "residential"}),
        (11, [2, 3], {"highway": "residential", "bridge": "yes"}),
        (12, [3, 4], {"highway": "residential"}),
        (14, [7, 8, 9, 7], {"highway": "footway"}),  # a closed footpath touching nothing: osmnx drops it
    ]
    graph = build_road_graph(read_osm(_xml(tmp_path / "b.osm", nodes, ways), build_wanted))
    assert graph is not None
    assert graph.node_osm.tolist() == [1, 2, 3, 4]  # 2 and 3 are where the bridge starts and ends
    assert sorted({(int(graph.node_osm[u]), int(graph.way[e])) for e, u in enumerate(graph.src)}) == [
        (1, 10),
        (2, 10),
        (2, 11),
        (3, 11),
        (3, 12),
        (4, 12),
    ]


def test_endpoint_rules_by_hand() -> None:
    # 0 -> 1 -> 2 one-way chain: 1 has one neighbour in, one out (two neighbours, degree 2): not an endpoint;
    # 3 <-> 4 with a self-loop on 4; 5 has three neighbours
    src = np.array([0, 1, 3, 4, 4, 5, 5, 5])
    dst = np.array([1, 2, 4, 3, 4, 0, 2, 3])
    same = np.zeros(len(src), dtype=np.int64)
    ends = endpoints(6, src, dst, [same])
    assert ends.tolist() == [False, False, True, True, True, True]
    # an attribute that changes at node 1 makes it an endpoint
    changed = np.array([0, 1, 0, 0, 0, 0, 0, 0])
    assert endpoints(6, src, dst, [changed])[1]


def test_largest_component_ties_go_to_the_lowest_node() -> None:
    src, dst = np.array([2, 3, 0, 1]), np.array([3, 2, 1, 0])
    both = largest_component(4, src, dst, np.ones(4, dtype=bool), strong=True)
    assert both.tolist() == [True, True, False, False]
    one_way = largest_component(4, np.array([0, 2, 3]), np.array([1, 3, 2]), np.ones(4, dtype=bool), strong=True)
    assert one_way.tolist() == [False, False, True, True]


def test_reader_keeps_only_the_nodes_the_build_needs(tmp_path: Path) -> None:
    nodes = STREET | {20: (1.6, 42.6), 21: (1.601, 42.6), 22: (1.4, 42.4)}
    ways = [
        (10, [1, 2, 3], {"highway": "residential"}),
        (30, [20, 21], {"barrier": "fence"}),  # not read by the build
        (31, [4, 5, 6, 4], {}),  # an untagged way: kept only as a member of the multipolygon below
    ]
    path = _xml(tmp_path / "r.osm", nodes, ways)
    text = path.read_text().replace(
        "</osm>",
        '<relation id="40"><member type="way" ref="31" role="outer"/><tag k="type" v="multipolygon"/>'
        '<tag k="landuse" v="residential"/></relation></osm>',
    )
    path.write_text(text)
    osm = read_osm(path, build_wanted)
    assert [w.id for w in osm.ways] == [10, 31] and [r.id for r in osm.relations] == [40]
    assert osm.node_ids.tolist() == [1, 2, 3, 4, 5, 6]  # not the fence's nor the lone node 22
    assert osm.bounds == (1.4, 42.4, 1.601, 42.6)  # no <bounds>: every node of the file counts
    assert osm.index(np.array([3, 20])).tolist() == [2, -1]


def _osmnx_graph(osm: OsmData, tmp_path: Path):  # type: ignore[no-untyped-def]
    """osmnx's graph of the same highway ways (what twin built before it had its own)."""
    import osmnx as ox

    at = {int(i): k for k, i in enumerate(osm.node_ids)}
    ways = [w for w in osm.ways if "highway" in w.tags and all(int(r) in at for r in w.refs)]
    root = ET.Element("osm", version="0.6")
    for node in sorted({int(r) for w in ways for r in w.refs}):
        ET.SubElement(
            root, "node", id=str(node), lat=repr(float(osm.lat[at[node]])), lon=repr(float(osm.lon[at[node]]))
        )
    for way in ways:
        element = ET.SubElement(root, "way", id=str(way.id))
        for ref in way.refs:
            ET.SubElement(element, "nd", ref=str(int(ref)))
        for k, v in way.tags.items():
            ET.SubElement(element, "tag", k=k, v=v)
    ET.ElementTree(root).write(tmp_path / "highways.osm", encoding="utf-8", xml_declaration=True)
    graph = ox.graph_from_xml(tmp_path / "highways.osm", bidirectional=False, simplify=False, retain_all=True)
    return ox.simplify_graph(graph, edge_attrs_differ=["highway", "bridge", "tunnel"])


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize(
    "osm_file",
    [
        "monaco/monaco-2021.osm.bz2",
        pytest.param("andorra/andorra_valira_2025.osm.bz2", marks=pytest.mark.slow),
        pytest.param("portland/portland-central.osm.bz2", marks=pytest.mark.slow),
        pytest.param("porto-alegre/porto-alegre.osm.bz2", marks=pytest.mark.slow),
    ],
)
def test_the_road_graph_is_osmnx_s_on_the_shipped_maps(osm_file: str, tmp_path: Path) -> None:
    osm = read_osm(MAPS / osm_file, build_wanted)
    ours = build_road_graph(osm)
    theirs = _osmnx_graph(osm, tmp_path)
    assert ours is not None
    assert ours.node_osm.tolist() == sorted(theirs.nodes)
    assert ours.lon.tolist() == [theirs.nodes[n]["x"] for n in ours.node_osm.tolist()]
    # edges in osmnx's order, then sorted by (u, v, way) as the build sorts its links: equal, ties included
    expected = []
    for u, v, data in theirs.edges(data=True):
        line = data.get("geometry")
        coords = (
            list(line.coords) if line is not None else [(theirs.nodes[n]["x"], theirs.nodes[n]["y"]) for n in (u, v)]
        )
        expected.append((u, v, int(_first(data["osmid"])), bool(_first(data["oneway"])), coords))
    osm_ids = ours.node_osm
    got = [
        (
            int(osm_ids[ours.src[e]]),
            int(osm_ids[ours.dst[e]]),
            int(ours.way[e]),
            bool(ours.oneway[e]),
            list(zip(ours.path_lon[a:b].tolist(), ours.path_lat[a:b].tolist(), strict=True)),
        )
        for e, (a, b) in enumerate(zip(ours.path_ptr[:-1], ours.path_ptr[1:], strict=True))
    ]
    assert len(got) == len(expected) > 1000
    assert sorted(got, key=lambda r: r[:3]) == sorted(expected, key=lambda r: r[:3])


def test_a_tagged_member_way_the_build_does_not_want_is_read_again(tmp_path: Path) -> None:
    nodes = STREET | {20: (1.6, 42.6), 21: (1.601, 42.6), 22: (1.601, 42.601)}
    ways = [
        (10, [1, 2, 3], {"highway": "residential"}),
        (30, [20, 21, 22, 20], {"barrier": "fence"}),  # the park's outline is also its fence
        (32, [4, 5], {"barrier": "wall"}),  # neither wanted nor a member
    ]
    path = _xml(tmp_path / "p.osm", nodes, ways)
    path.write_text(
        path.read_text().replace(
            "</osm>",
            '<relation id="41"><member type="way" ref="30" role="outer"/><tag k="type" v="multipolygon"/>'
            '<tag k="landuse" v="grass"/></relation></osm>',
        )
    )
    osm = read_osm(path, build_wanted)
    assert [w.id for w in osm.ways] == [10, 30]
    assert osm.node_ids.tolist() == [1, 2, 3, 20, 21, 22]
