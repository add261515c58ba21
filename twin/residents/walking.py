"""Walking on the walk network through water: speeds, hazard classes, routes around unsafe links.

* **Speed.** 1.33 m/s for adults, scaled by group as TUNAMI-EVAC1 does (Suga et al. 1995; Imamura 2012): 0.8 for
  children, 0.7 for the elderly, 0.5 for mobility-impaired people; slowed in water by ``max(0.2, 1 - d / 1.2)``
  (assumed: linear from full speed when dry to a fifth at 1.2 m, where ARR's H4 class stops everyone).
* **Safety** (Australian Rainfall and Runoff 2019, Book 6 Chapter 7, combined hazard curves, Smith et al.
  2014): H1 d <= 0.3 m and dv <= 0.3; H2 d <= 0.5, dv <= 0.6; H3 d <= 1.2, dv <= 0.6; H4 d <= 2.0, dv <= 1.0;
  H5 d <= 4.0, dv <= 4.0; H6 beyond; v <= 2 m/s in H1-H4 and <= 4 in H5. H3 and above are unsafe for children
  and the elderly (here also mobility-impaired people), H4 and above for everyone. The flood models give depth
  only; the velocity is Manning's on the water-surface slope (:mod:`twin.residents.velocity`), and a link takes
  the worst class of the grid cells it crosses.
* **Routes.** Each step, shortest-path trees (scipy Dijkstra, symmetric graph: people walk both ways) to every
  shelter and to the nearest place to stay (``safe``) are built over the links safe for each of the two groups,
  so walkers reroute around unsafe links; a walker whose link turns unsafe under them stops there, and one with no safe
  route waits where they are: both are *trapped* (when they need rescue: :mod:`twin.residents.trigger`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import shapely

from twin.city.build import City
from twin.hazards.gridindex import line_cell_pairs

WALK_SPEED_MPS = 1.33
GROUP_FACTOR = {"child": 0.8, "adult": 1.0, "elderly": 0.7, "impaired": 0.5}
H3_DEPTH_M, H4_DEPTH_M = 0.5, 1.2
ADULTS, VULNERABLE = 0, 1
MAX_MOVES = 10_000


def hazard_class(depth_m: np.ndarray, velocity_mps: np.ndarray | float = 0.0) -> np.ndarray:
    """ARR 2019 hazard class (1-6) of water of depth d and velocity v (0 where dry)."""
    d = np.asarray(depth_m, dtype=np.float64)
    v = np.broadcast_to(np.asarray(velocity_mps, dtype=np.float64), d.shape)
    dv = d * v
    bounds = ((0.3, 0.3, 2.0), (0.5, 0.6, 2.0), (1.2, 0.6, 2.0), (2.0, 1.0, 2.0), (4.0, 4.0, 4.0))
    result = np.full(d.shape, 6, dtype=np.int8)
    for k in range(len(bounds) - 1, -1, -1):  # five bounds, from the widest down
        d_max, dv_max, v_max = bounds[k]
        result[(d <= d_max) & (dv <= dv_max) & (v <= v_max)] = k + 1
    result[d <= 0] = 0
    return result


def unsafe_for(depth_m: np.ndarray, velocity_mps: np.ndarray | float = 0.0) -> np.ndarray:
    """(2, links) unsafe masks: row 0 for adults (H4+), row 1 for the vulnerable (H3+)."""
    return unsafe_of_class(hazard_class(depth_m, velocity_mps))


def unsafe_of_class(cls: np.ndarray) -> np.ndarray:
    """(2, links) unsafe masks from ARR hazard classes: adults from H4, the vulnerable from H3."""
    return np.stack([cls >= 4, cls >= 3])


def depth_factor(depth_m: np.ndarray) -> np.ndarray:
    """Walking speed factor in water of depth d: max(0.2, 1 - d / 1.2) (assumed, see the module docstring)."""
    return np.clip(1.0 - np.asarray(depth_m) / H4_DEPTH_M, 0.2, 1.0)


@dataclass(frozen=True)
class WalkGraph:
    """The walk network as a symmetric edge list (one edge per node pair, the shortest), with grid cells."""

    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    length_m: np.ndarray
    key: np.ndarray  # src * n + dst, sorted: the edge of a node pair by binary search
    cell_edge: np.ndarray  # (edge, cell) pairs of the cells each edge passes through, by edge
    cell: np.ndarray

    @classmethod
    def of(cls, city: City) -> WalkGraph:
        """The walk graph of a City."""
        links = city.walk.links
        n = city.walk.n_nodes
        s, d = links["src"].to_numpy(np.int64), links["dst"].to_numpy(np.int64)
        length = links["length_m"].to_numpy(float)
        src, dst = np.concatenate([s, d]), np.concatenate([d, s])
        both = np.concatenate([length, length])
        link = np.concatenate([np.arange(len(s)), np.arange(len(s))])
        keep = src != dst
        src, dst, both, link = src[keep], dst[keep], both[keep], link[keep]
        order = np.lexsort((both, src * n + dst))
        key = (src * n + dst)[order]
        first = np.concatenate([[True], key[1:] != key[:-1]]) if len(key) else np.zeros(0, bool)
        chosen = order[first]
        owner, cells = line_cell_pairs(
            shapely.from_wkb(links["geometry"].to_numpy()), city.terrain.transform, city.terrain.elevation_m.shape
        )
        pairs_edge, pairs_cell = _edge_cells(link[chosen], np.arange(len(chosen)), owner, cells)
        return cls(n, src[chosen], dst[chosen], both[chosen], key[first], pairs_edge, pairs_cell)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.src)

    def edge_of(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Edge id of each (u, v) node pair (they must be adjacent)."""
        return np.searchsorted(self.key, u.astype(np.int64) * self.n_nodes + v)

    def edge_depth(self, water_depth_m: np.ndarray) -> np.ndarray:
        """Deepest water along each edge (m); 0 for edges off the grid."""
        return self.edge_max(np.fmax(water_depth_m.reshape(-1).astype(np.float64), 0.0))

    def edge_max(self, per_cell: np.ndarray) -> np.ndarray:
        """The largest of a per-cell quantity (flat grid, NaN ignored) along each edge; 0 for edges off the grid."""
        result = np.zeros(self.n_edges)
        if len(self.cell_edge):  # pairs are grouped by edge: one reduceat over the groups' starts
            values = np.fmax(per_cell[self.cell].astype(np.float64), 0.0)
            starts = np.flatnonzero(np.r_[True, self.cell_edge[1:] != self.cell_edge[:-1]])
            result[self.cell_edge[starts]] = np.maximum.reduceat(values, starts)
        return result

    def matrix(self, blocked: np.ndarray) -> sp.csr_matrix:
        """Sparse graph of the edges not ``blocked`` (weights: length, at least 1 mm so none vanish)."""
        ok = ~blocked
        weight = np.maximum(self.length_m[ok], 1e-3)
        return sp.csr_matrix((weight, (self.src[ok], self.dst[ok])), shape=(self.n_nodes, self.n_nodes))


def _edge_cells(
    link_of_edge: np.ndarray, edges: np.ndarray, owner: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(edge, cell) pairs from (link, cell) pairs, for each edge of a link."""
    order = np.argsort(owner, kind="stable")
    owner, cells = owner[order], cells[order]
    start = np.searchsorted(owner, link_of_edge, side="left")
    stop = np.searchsorted(owner, link_of_edge, side="right")
    counts = stop - start
    pair_edge = np.repeat(edges, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return pair_edge, cells[np.repeat(start, counts) + offsets]


@dataclass
class Routes:
    """Next hop towards each target, per group: ``hop[group, target, node]`` (-1: no safe route).

    Targets 0..S-1 are the shelters' nodes; target S is the nearest node of ``safe`` (a place to stay,
    :func:`twin.residents.shelters.elsewhere_nodes`).
    """

    hop: np.ndarray
    shelter_node: np.ndarray
    safe: np.ndarray
    nearest_safe: np.ndarray  # per node: the safe node an adult reaches first (-1: none)

    @classmethod
    def build(cls, graph: WalkGraph, unsafe: np.ndarray, shelter_node: np.ndarray, safe: np.ndarray) -> Routes:
        """Trees over the edges safe for each group (``unsafe``: (2, edges))."""
        n, s = graph.n_nodes, len(shelter_node)
        hop = np.full((2, s + 1, n), -1, dtype=np.int32)
        nearest = np.full(n, -1, dtype=np.int64)
        for group in (ADULTS, VULNERABLE):  # two groups of people, not a loop over people
            matrix = graph.matrix(unsafe[group])
            if s:
                dist, pred = csgraph.dijkstra(matrix, directed=True, indices=shelter_node, return_predecessors=True)
                hop[group, :s] = np.where(np.isfinite(dist) & (pred >= 0), pred, -1)
            sources = np.flatnonzero(safe)
            if len(sources):
                dist, pred, source = csgraph.dijkstra(
                    matrix, directed=True, indices=sources, min_only=True, return_predecessors=True
                )
                hop[group, s] = np.where(np.isfinite(dist) & (pred >= 0), pred, -1)
                if group == ADULTS:
                    nearest = np.where(np.isfinite(dist), source, -1)
        return cls(hop, shelter_node, safe, nearest)

    def reached(self, node: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether each walker stands at its target (its shelter's node, or any safe node)."""
        s = len(self.shelter_node)
        result = (target == s) & self.safe[node]
        if s:
            to_shelter = target < s
            result |= to_shelter & (node == self.shelter_node[np.where(to_shelter, target, 0)])
        return result


@dataclass
class Walkers:
    """The walkers' positions: node (last node passed), next node (-1: standing at ``node``), metres left."""

    node: np.ndarray
    nxt: np.ndarray
    left_m: np.ndarray


def advance(
    walkers: Walkers,
    who: np.ndarray,
    target: np.ndarray,
    group: np.ndarray,
    speed_mps: np.ndarray,
    dt_s: float | np.ndarray,
    graph: WalkGraph,
    routes: Routes,
    edge_depth: np.ndarray,
    unsafe: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Move the walkers ``who`` (person indices) for ``dt_s`` seconds (one for all, or one per walker: who left
    within the step walks the rest of it); return (arrived, trapped) masks over ``who``.

    Loops over hops (a walker passes several short links in a step), each hop vectorised over all walkers.
    """
    node, nxt, left = walkers.node[who].astype(np.int64), walkers.nxt[who].astype(np.int64), walkers.left_m[who]
    budget = np.broadcast_to(np.asarray(dt_s, dtype=np.float64), (len(who),)).copy()
    arrived = np.zeros(len(who), dtype=bool)
    trapped = np.zeros(len(who), dtype=bool)
    on_link = nxt >= 0
    if on_link.any():  # a link that turned unsafe under a walker stops them where they are
        edge = graph.edge_of(node[on_link], nxt[on_link])
        trapped[np.flatnonzero(on_link)[unsafe[group[on_link], edge]]] = True
    for _ in range(MAX_MOVES):
        at_node = (budget > 1e-9) & ~arrived & ~trapped & (nxt < 0)
        arrived = arrived | (at_node & routes.reached(node, target))
        choose = at_node & ~arrived
        hop = routes.hop[group[choose], target[choose], node[choose]]
        stuck = np.flatnonzero(choose)[hop < 0]
        trapped[stuck] = True
        go = np.flatnonzero(choose)[hop >= 0]
        nxt[go] = hop[hop >= 0]
        left[go] = graph.length_m[graph.edge_of(node[go], nxt[go])]
        moving = np.flatnonzero((budget > 1e-9) & ~arrived & ~trapped & (nxt >= 0))
        if not len(moving):
            break
        edge = graph.edge_of(node[moving], nxt[moving])
        v = speed_mps[moving] * depth_factor(edge_depth[edge])
        need = left[moving] / v
        done = need <= budget[moving]
        used = np.where(done, need, budget[moving])
        left[moving] = np.where(done, 0.0, left[moving] - v * budget[moving])
        budget[moving] -= used
        passed = moving[done]
        node[passed], nxt[passed] = nxt[passed], -1
    walkers.node[who], walkers.nxt[who], walkers.left_m[who] = node, nxt, left
    arrived |= (nxt < 0) & routes.reached(node, target) & ~trapped
    return arrived, trapped
