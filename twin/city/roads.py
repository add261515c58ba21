"""Road networks: OSM highway ways -> simplified graph -> drivable and walkable networks as arrays.

The recipe (documented because every later figure depends on it):

1. Keep only ``highway`` ways (osmnx makes edges of every way it is given).
2. Build the full highway graph with osmnx (one-way streets respected) and simplify it, keeping a node
   wherever the highway class, the bridge or the tunnel flag changes, so a bridge stays one link.
3. Drivable network: edges whose ways pass osmnx's ``drive_service`` filter (the drive set plus
   service roads, no parking aisles, private or emergency-only access), then the largest strongly
   connected component, so every drivable node can reach every other.
4. Walkable network: the full simplified graph, largest weakly connected component (people walk both
   ways on one-way streets).

Per link: length (m, along the projected geometry), free speed (``maxspeed`` else a per-class default),
lanes per direction, outflow capacity (veh/h), storage (vehicles), class, name, OSM way id, bridge and
tunnel flags. Nodes and links are integer ids into arrays; adjacency is CSR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer

from twin.city.config import RoadSpec
from twin.city.osm import OsmData, Tags
from twin.city.roadgraph import RoadGraph, build_road_graph, largest_component
from twin.errors import MapError
from twin.units import KMH_TO_MPS, MPH_TO_MPS

# osmnx's "drive_service" network type, applied to the ways' own tags (osmnx.graph._get_osm_filter).
_EXCLUDED_HIGHWAY = frozenset(
    [
        "abandoned",
        "bridleway",
        "bus_guideway",
        "construction",
        "corridor",
        "cycleway",
        "elevator",
        "escalator",
        "footway",
        "no",
        "path",
        "pedestrian",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "steps",
        "track",
    ]
)
_EXCLUDED_SERVICE = frozenset({"emergency_access", "parking", "parking_aisle", "private"})

# Free speeds (km/h) where OSM has no maxspeed: the usual urban limits of European cities (50 km/h on
# through roads, 30 in residential streets; OSM wiki "Default speed limits"), 80 on trunk roads, and
# walking pace on paths. A map overrides them in city.yaml (roads.speed_kmh).
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 100,
    "motorway_link": 60,
    "trunk": 80,
    "trunk_link": 50,
    "primary": 50,
    "primary_link": 40,
    "secondary": 50,
    "secondary_link": 40,
    "tertiary": 40,
    "tertiary_link": 30,
    "unclassified": 40,
    "residential": 30,
    "living_street": 10,
    "service": 20,
    "road": 30,
    "busway": 40,
}
WALKING_SPEED_KMH = 5.0

# Outflow capacity per lane (veh/h): MATSim's OsmNetworkReader highway defaults (Rieser et al., MATSim
# book ch. 4); service roads take the living-street value.
DEFAULT_CAPACITY_VEH_H_LANE: dict[str, float] = {
    "motorway": 2000,
    "motorway_link": 1500,
    "trunk": 2000,
    "trunk_link": 1500,
    "primary": 1500,
    "primary_link": 1500,
    "secondary": 1000,
    "secondary_link": 1000,
    "tertiary": 600,
    "tertiary_link": 600,
    "unclassified": 600,
    "residential": 600,
    "living_street": 300,
    "service": 300,
    "road": 600,
    "busway": 1000,
}
OTHER_CAPACITY_VEH_H_LANE = 300.0
DEFAULT_LANES: dict[str, int] = {"motorway": 2, "trunk": 2}


@dataclass(frozen=True)
class Network:
    """A road network as arrays: nodes and directed links, with integer ids.

    Attributes
    ----------
    nodes
        One row per node: ``osm_id``, ``lon``, ``lat``, ``x``, ``y`` (metric CRS), ``elevation_m``.
    links
        One row per directed link: ``src``, ``dst`` (node ids), ``osm_way``, ``highway``, ``name``,
        ``length_m``, ``speed_mps`` (``speed_tagged``: from OSM maxspeed), ``lanes``, ``capacity_veh_h``,
        ``storage_veh``, ``bridge``, ``tunnel``,
        ``oneway``, ``geometry`` (WKB, metric CRS).
    """

    nodes: pd.DataFrame
    links: pd.DataFrame

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return len(self.links)

    def adjacency(self, weight: np.ndarray, *, closed: np.ndarray | None = None) -> sp.csr_matrix:
        """CSR adjacency weighted per link, for ``scipy.sparse.csgraph`` (see :func:`csr_adjacency`)."""
        src = self.links["src"].to_numpy()
        dst = self.links["dst"].to_numpy()
        return csr_adjacency(self.n_nodes, src, dst, weight, closed=closed)

    def free_flow_time_s(self) -> np.ndarray:
        """Free-flow travel time of each link (s): length / free speed."""
        return (self.links["length_m"] / self.links["speed_mps"]).to_numpy()


def csr_adjacency(
    n_nodes: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *, closed: np.ndarray | None = None
) -> sp.csr_matrix:
    """Directed CSR adjacency with the smallest weight of parallel links, closed links left out.

    ``scipy.sparse`` sums duplicate entries, which would add the times of parallel links (two ways
    between the same junctions): keep the minimum instead. Weights must be > 0 (csgraph reads an
    explicit 0 as no edge).
    """
    keep = np.ones(len(src), dtype=bool) if closed is None else ~closed
    s, d, w = src[keep], dst[keep], weight[keep]
    order = np.lexsort((w, d, s))
    s, d, w = s[order], d[order], w[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    return sp.csr_matrix((w[first], (s[first], d[first])), shape=(n_nodes, n_nodes))


def is_drivable(tags: Tags) -> bool:
    """Whether a way passes osmnx's ``drive_service`` filter."""
    return (
        tags.get("highway", "no") not in _EXCLUDED_HIGHWAY
        and tags.get("area") != "yes"
        and tags.get("access") != "private"
        and tags.get("motor_vehicle") != "no"
        and tags.get("motorcar") != "no"
        and tags.get("service") not in _EXCLUDED_SERVICE
    )


def parse_maxspeed_mps(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` ("50", "30 mph", "50;70", "ES:urban") into m/s; None when not numeric."""
    if not value:
        return None
    speeds = []
    for part in re.split(r"[;|]", value):
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$", part)
        if match:
            factor = MPH_TO_MPS if match[2] == "mph" else KMH_TO_MPS
            speeds.append(float(match[1]) * factor)
    return min(speeds) if speeds else None


def _flag(tags: Tags, key: str) -> bool:
    return tags.get(key, "no") not in ("no", "false", "0")


def _lanes(tags: Tags, highway: str, oneway: bool) -> int:
    """Lanes in the link's direction: the ``lanes`` tag counts both directions on two-way roads."""
    try:
        total = int(float(tags["lanes"].split(";")[0]))
    except (KeyError, ValueError):
        return DEFAULT_LANES.get(highway, 1)
    return max(1, total if oneway else total // 2)


def _link_rows(graph: RoadGraph, edges: np.ndarray) -> pd.DataFrame:
    """One row per edge of ``graph`` (indices ``edges``), its attributes from the tags of its way.

    Each way's attributes are worked out once and handed to its edges by index.
    """
    tags = [w.tags for w in graph.ways]
    highway = [t.get("highway", "road") for t in tags]
    per_way: dict[str, list[Any]] = {
        "highway": highway,
        "name": [t.get("name", "") for t in tags],
        "speed_tag_mps": [parse_maxspeed_mps(t.get("maxspeed")) for t in tags],
        "bridge": [_flag(t, "bridge") for t in tags],
        "tunnel": [_flag(t, "tunnel") or t.get("covered") == "yes" for t in tags],
        "drivable": [is_drivable(t) for t in tags],
    }
    lanes = np.array(
        [[_lanes(t, h, False), _lanes(t, h, True)] for t, h in zip(tags, highway, strict=True)], dtype=np.int64
    ).reshape(-1, 2)
    way = graph.way_index[edges]
    oneway = graph.oneway[edges]
    column = {k: np.array(v, dtype=object)[way].tolist() for k, v in per_way.items()}
    links = pd.DataFrame(
        {
            "u": graph.node_osm[graph.src[edges]].tolist(),
            "v": graph.node_osm[graph.dst[edges]].tolist(),
            "osm_way": graph.way[edges].tolist(),
            "highway": column["highway"],
            "name": column["name"],
            "speed_tag_mps": column["speed_tag_mps"],
            "lanes": lanes[way, oneway.astype(np.int64)].tolist(),
            "bridge": column["bridge"],
            "tunnel": column["tunnel"],
            "oneway": oneway.tolist(),
            "drivable": column["drivable"],
        },
        columns=_ROW_COLUMNS,
    )
    links["geometry_ll"] = _geometries(graph, edges)
    return links


_ROW_COLUMNS = [
    "u",
    "v",
    "osm_way",
    "highway",
    "name",
    "speed_tag_mps",
    "lanes",
    "bridge",
    "tunnel",
    "oneway",
    "drivable",
]


def _geometries(graph: RoadGraph, edges: np.ndarray) -> np.ndarray:
    """Each edge's line through its path's nodes (lon/lat), built at once with shapely."""
    starts, ends = graph.path_ptr[edges], graph.path_ptr[edges + 1]
    counts = ends - starts
    which = np.repeat(np.arange(len(edges)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    points = np.repeat(starts, counts) + offsets
    coords = np.column_stack([graph.path_lon[points], graph.path_lat[points]])
    return np.asarray(shapely.linestrings(coords, indices=which), dtype=object)


def _speed_mps(links: pd.DataFrame, roads: RoadSpec) -> np.ndarray:
    defaults = {**DEFAULT_SPEED_KMH, **roads.speed_kmh}
    by_class = links["highway"].map(defaults).fillna(WALKING_SPEED_KMH).to_numpy(float) * KMH_TO_MPS
    tagged = links["speed_tag_mps"].to_numpy(float)
    return np.where(np.isfinite(tagged) & (tagged > 0), tagged, by_class)


def _network(
    graph: RoadGraph, nodes: np.ndarray, edges: np.ndarray, to_metric: Transformer, roads: RoadSpec
) -> Network:
    """The nodes (indices, in OSM id order) and edges of ``graph`` as a :class:`Network`."""
    node_ids = graph.node_osm[nodes]
    index = {osm_id: i for i, osm_id in enumerate(node_ids.tolist())}
    lon, lat = graph.lon[nodes], graph.lat[nodes]
    x, y = to_metric.transform(lon, lat)
    frame = pd.DataFrame({"osm_id": node_ids, "lon": lon, "lat": lat, "x": x, "y": y})
    links = _link_rows(graph, edges)
    links = links.sort_values(["u", "v", "osm_way"], kind="stable").reset_index(drop=True)
    geometry = shapely.transform(
        np.asarray(links.pop("geometry_ll")), lambda c: np.column_stack(to_metric.transform(c[:, 0], c[:, 1]))
    )
    capacity = {**DEFAULT_CAPACITY_VEH_H_LANE, **roads.capacity_veh_h_lane}
    length = np.maximum(shapely.length(geometry), 0.1)  # a way can repeat a point: keep csgraph's weights > 0
    links.insert(0, "src", links.pop("u").map(index).astype(np.int32))
    links.insert(1, "dst", links.pop("v").map(index).astype(np.int32))
    links["length_m"] = length
    links["speed_mps"] = _speed_mps(links, roads)
    per_lane = links["highway"].map(capacity).fillna(OTHER_CAPACITY_VEH_H_LANE).to_numpy(float)
    links["capacity_veh_h"] = per_lane * links["lanes"]
    links["storage_veh"] = np.maximum(1.0, length * links["lanes"] / roads.jam_spacing_m)
    links["geometry"] = shapely.to_wkb(geometry)
    links["speed_tagged"] = links.pop("speed_tag_mps").notna()
    return Network(nodes=frame, links=links)


def build_networks(osm: OsmData, to_metric: Transformer, roads: RoadSpec) -> tuple[Network, Network, RoadGraph]:
    """Drivable and walkable networks from the OSM data, and the full simplified graph.

    Returns
    -------
    drive, walk, full
        The drivable network (largest strongly connected component of the drivable links), the
        walkable network (largest weakly connected component of the full graph), and the full graph.
    """
    full = build_road_graph(osm)
    if full is None:
        raise MapError("the OSM file has no highway ways: no road network can be built")
    if full.n_nodes == 0 or full.n_edges == 0:
        raise MapError("the OSM file's highway ways make no road network (only isolated rings or stubs)")
    n, src, dst = full.n_nodes, full.src, full.dst
    walk_nodes = largest_component(n, src, dst, np.ones(n, dtype=bool), strong=False)
    walk_edges = np.flatnonzero(walk_nodes[src] & walk_nodes[dst])
    drivable = np.array([is_drivable(w.tags) for w in full.ways], dtype=bool)[full.way_index]
    if not drivable.any():
        raise MapError("the OSM file has no drivable roads (osmnx's drive_service classes)")
    touched = np.zeros(n, dtype=bool)
    touched[src[drivable]] = touched[dst[drivable]] = True
    drive_nodes = largest_component(n, src[drivable], dst[drivable], touched, strong=True)
    drive_edges = np.flatnonzero(drivable & drive_nodes[src] & drive_nodes[dst])
    drive = _network(full, np.flatnonzero(drive_nodes), drive_edges, to_metric, roads)
    walk = _network(full, np.flatnonzero(walk_nodes), walk_edges, to_metric, roads)
    return drive, walk, full
