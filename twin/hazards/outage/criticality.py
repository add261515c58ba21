"""Criticality of facilities and lifeline components: betweenness centrality on the component's own network.

The measure is shortest-path betweenness (Freeman, L. C. 1977, "A set of measures of centrality based on
betweenness", *Sociometry* 40(1): 35-41), computed with Brandes' algorithm (Brandes, U. 2001, "A faster
algorithm for betweenness centrality", *Journal of Mathematical Sociology* 25(2): 163-177) as implemented by
networkx. For a node v,

    C_B(v) = sum over node pairs s != v != t of sigma_st(v) / sigma_st,

where sigma_st is the number of shortest paths from s to t and sigma_st(v) the number of those through v.
It is reported normalised (networkx ``normalized=True``): the share of node pairs whose shortest paths pass
through the component, in [0, 1]. A line's criticality is the largest edge betweenness of its spans (the share
of pairs whose shortest paths use its busiest span). Shortest paths are by length (m).

Networks:

* **Power** (group ``power``): the grid graph from the OSM power lines of the facilities table (kinds
  :data:`LINE_KINDS`). Every vertex of a line is a node and consecutive vertices are joined by an edge as long
  as the span; vertices of different lines closer than :data:`SNAP_M` are one node. A substation or plant
  mapped as an area joins every line vertex within :data:`HUB_M` of its outline (it becomes a hub node at its
  centroid, joined to each such vertex by a span as long as the distance, at least :data:`SNAP_M`: the lines
  that end inside a substation meet there) when two or more line nodes are that close; an area that
  only one line touches sits on that line. A point inside such an area on the grid (a transformer in a
  substation) is part of it and shares its node. Other power components (towers, poles, portals, points
  and areas away from any hub) take the node of the nearest line vertex within :data:`ATTACH_M`.
  Components on no line have criticality 0.
* **Everything else** (water, telecom, facilities, traffic signals): OSM rarely maps pipes or cables, so the
  component takes the betweenness of its nearest drivable road node (``drive_node``) on the directed road
  network, estimated from :data:`ROAD_SAMPLES` source nodes drawn with a fixed seed (exact betweenness on a
  few thousand nodes takes close to a minute); it is a proxy (a component on a busy road junction counts as
  critical), and :meth:`Criticality.notes` says so.

Normalised betweenness is a share of node pairs on either network, so components of different networks can be
ranked together, but a planner should read such a ranking as two rankings side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from twin.lifelines.powergrid import ATTACH_M, HUB_M, SNAP_M, PowerGrid, power_grid

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.city.roads import Network

ROAD_SAMPLES = 200
"""Source nodes sampled to estimate road betweenness (networkx ``k``)."""
ROAD_SEED = 0
"""Seed of that sample: criticality is a property of the map, the same in every run."""


def power_criticality(facilities: pd.DataFrame, down: np.ndarray | None = None) -> tuple[np.ndarray, PowerGrid]:
    """Normalised betweenness of every power component on the power grid (NaN for other groups).

    Parameters
    ----------
    facilities
        The City's facilities table.
    down
        Facility rows already failed: their nodes and spans leave the grid before betweenness is computed,
        so the ranking is of the grid as it stands. A component that sat on a removed node (a transformer in a
        failed substation) or whose spans are all gone is down with it and gets NaN.

    Returns
    -------
    values, grid
        One value per facility row: node betweenness for points and areas, the largest edge betweenness of
        its spans for a line, 0 for a power component on no line, NaN outside the ``power`` group and for
        components that are down.
    """
    grid = power_grid(facilities)
    values = np.full(len(facilities), np.nan)
    values[(facilities["group"] == "power").to_numpy()] = 0.0
    graph = _standing(grid, down)
    if graph.number_of_edges() == 0:
        _mark_down(values, grid, graph, down)
        return values, grid
    nodes = nx.betweenness_centrality(graph, weight="length_m", normalized=True)
    edges = nx.edge_betweenness_centrality(graph, weight="length_m", normalized=True)
    for row, graph_node in grid.node_of.items():
        values[row] = nodes.get(graph_node, np.nan)
    for row, spans in grid.edges_of.items():
        alive = [edges[span] if span in edges else edges[span[::-1]] for span in spans if graph.has_edge(*span)]
        values[row] = max(alive) if alive else np.nan
    _mark_down(values, grid, graph, down)
    return values, grid


def _standing(grid: PowerGrid, down: np.ndarray | None) -> nx.Graph:
    """The grid graph without the nodes and spans of the ``down`` components (the graph itself when none)."""
    if down is None or not len(down):
        return grid.graph
    graph = grid.graph.copy()
    graph.remove_edges_from(span for row in down.tolist() for span in grid.edges_of.get(row, []))
    graph.remove_nodes_from({grid.node_of[row] for row in down.tolist() if row in grid.node_of})
    return graph


def _mark_down(values: np.ndarray, grid: PowerGrid, graph: nx.Graph, down: np.ndarray | None) -> None:
    """NaN for the down components and for those whose node left the grid with them."""
    if down is None or not len(down):
        return
    values[down] = np.nan
    for row, graph_node in grid.node_of.items():
        if graph_node not in graph:
            values[row] = np.nan


def road_graph(drive: Network) -> nx.DiGraph:
    """The directed drivable network, one edge per node pair (the shortest of parallel links), by length."""
    links = drive.links
    graph = nx.DiGraph()
    graph.add_nodes_from(range(drive.n_nodes))
    order = np.argsort(-links["length_m"].to_numpy(), kind="stable")  # the shortest parallel link is added last
    src, dst, length = (links[c].to_numpy()[order] for c in ("src", "dst", "length_m"))
    graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), length.tolist(), strict=True), weight="length_m")
    return graph


def road_criticality(drive: Network, nodes: np.ndarray) -> np.ndarray:
    """Estimated normalised betweenness of ``nodes`` on the directed road network (see :data:`ROAD_SAMPLES`)."""
    graph = road_graph(drive)
    k = min(ROAD_SAMPLES, graph.number_of_nodes())
    centrality = nx.betweenness_centrality(graph, k=k, weight="length_m", normalized=True, seed=ROAD_SEED)
    return np.array([centrality[int(n)] for n in nodes], dtype=float)


@dataclass(frozen=True)
class Criticality:
    """Criticality of some components of a City, and what it meant.

    Attributes
    ----------
    rows
        Facility rows.
    values
        Normalised betweenness of each, on its own network (see the module docstring).
    notes
        How each network was built, for ``assumptions.json``.
    """

    rows: np.ndarray
    values: np.ndarray
    notes: list[str]


def criticality(city: City, rows: np.ndarray, down: np.ndarray | None = None) -> Criticality:
    """Betweenness of the components ``rows``: on the power grid for power, on the road network for the rest.

    ``down`` (facility rows already failed) are taken out first: NaN for them and for the power components that
    fall with them (see :func:`power_criticality`); the road network, a proxy, is not changed by them.
    """
    facilities = city.facilities
    values = np.zeros(len(rows))
    notes: list[str] = []
    power = (facilities["group"].to_numpy()[rows] == "power") if len(rows) else np.zeros(0, dtype=bool)
    if power.any():
        grid_values, grid = power_criticality(facilities, down)
        values[power] = grid_values[rows[power]]
        notes.append(_power_note(grid))
    if (~power).any():
        values[~power] = road_criticality(city.drive, facilities["drive_node"].to_numpy()[rows[~power]])
        notes.append(
            f"criticality of components outside the power group = betweenness of their nearest drivable road "
            f"node on the directed road network ({city.drive.n_nodes} nodes, shortest paths by length), "
            f"estimated from {min(ROAD_SAMPLES, city.drive.n_nodes)} sampled sources (seed {ROAD_SEED}): OSM "
            "has no water or telecom network here, so road betweenness stands in for it"
        )
    if down is not None and len(down):
        values[np.isin(rows, down)] = np.nan
    return Criticality(rows=rows, values=values, notes=notes)


def people_served(city: City, rows: np.ndarray) -> Criticality:
    """Residents each component serves, from the lifeline zones (:mod:`twin.lifelines.networks`).

    A substation serves its power zone's residents; a line or tower the residents of the zones whose only supply
    path runs through it; a pump or tank its water zone's residents; a cell site the residents within its range.
    Other components (signals, hospitals, facilities) serve no residents directly and score 0.
    """
    net = city.lifelines
    homes = city.homes
    population = homes["population"].to_numpy(np.float64)
    home_node = homes["drive_node"].to_numpy()
    values = np.zeros(len(rows))
    if len(net.power_sources):
        power_zone = net.node_power_zone[home_node]
        zone_residents = np.bincount(
            power_zone[power_zone >= 0], weights=population[power_zone >= 0], minlength=len(net.power_sources)
        )
        for i, row in enumerate(rows.tolist()):
            if row in net.power_sources:
                values[i] = zone_residents[int(np.flatnonzero(net.power_sources == row)[0])]
            else:
                values[i] = zone_residents[net.feeds_zone[net.feeds_comp == row]].sum()
    water_zone = net.node_water_zone[home_node]
    water_residents = np.bincount(water_zone, weights=population, minlength=len(net.water_tank))
    covered = np.bincount(net.cover_site, weights=population[net.cover_home], minlength=len(net.site_rows))
    for i, row in enumerate(rows.tolist()):
        for zones, table in ((net.water_pump, water_residents), (net.water_tank, water_residents)):
            values[i] += table[zones == row].sum()
        values[i] += covered[net.site_rows == row].sum()
    note = (
        "criticality = residents served: a substation's power zone, the zones a line or tower alone supplies, "
        "a pump's or tank's water zone, a cell site's coverage (signals, hospitals and facilities score 0)"
    )
    return Criticality(rows=rows, values=values, notes=[note])


def _power_note(grid: PowerGrid) -> str:
    return (
        f"criticality of power components = normalised betweenness (Freeman 1977; Brandes 2001) on the power "
        f"grid from OSM lines ({grid.graph.number_of_nodes()} nodes, {grid.graph.number_of_edges()} spans, "
        f"shortest paths by length): line vertices within {SNAP_M:g} m are one node; {len(grid.hubs)} substation "
        f"or plant area(s) join the line vertices within {HUB_M:g} m of their outline, and the points inside them "
        f"(transformers) share their node; other components take the nearest line vertex within {ATTACH_M:g} m "
        f"({len(grid.node_of) + len(grid.edges_of)} power components on the grid, the rest 0); a line counts its "
        "busiest span. A component at the end of a line (a plant feeding it) scores 0: betweenness measures what "
        "a component carries between others, not what it feeds"
    )
