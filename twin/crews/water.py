"""Flood rescue teams: fire crews that drive to the water's edge, then go on through flooded roads by boat or wading.

Cars stop where the water closes a road (0.3 m, Pregnolato et al. 2017, :mod:`twin.hazards.exposure`), and that is
where the people needing rescue are. Fire and rescue services answer with flood rescue teams: boat teams and
wading teams, typed and deployed as in DEFRA's *Flood Rescue Concept of Operations* (2019) in the UK and by NFPA
1006 / 1670 and FEMA's resource typing of swift-water/flood rescue teams in the US. Here the first
``crews.flood_rescue.teams_per_station`` crews of each fire station (1 by default, **assumed**) are such teams.

**Their network.** Two layers over the drivable links, one Dijkstra (scipy) over both:

* layer 0, *driving*: the open links at the times the other fire crews have (:class:`~twin.crews.travel.Roads`:
  free time over the emergency class factor, plus the queue delay in a run with traffic);
* layer 1, *in the water*: the links closed by water only (not by an event or debris; no bridge under water, no
  tunnel), each taking the faster of the two ways the water allows it, ``inf`` where it allows neither:

  - **wading** where ``d <= wade_max_depth`` (0.5 m) and ``d v <= wade_max_dv`` (0.5 m2/s), at the walking speed
    of the residents' model for adults in that depth, ``1.33 max(0.2, 1 - d / 1.2)`` m/s
    (:func:`twin.residents.walking.depth_factor`). 0.5 m is the depth bound of class H2 in Australian Rainfall
    and Runoff 2019 (Book 6 Ch. 7, Smith et al. 2014), the last class before water is unsafe for children and the
    elderly. At 0.5 m and 0.5 m2/s (1 m/s) the hazard rating of DEFRA/EA R&D report FD2321 (HR Wallingford
    2006, "Flood risks to people"), ``d (v + 0.5)`` before its debris factor, is 0.75, where its "danger for some"
    class begins; and 0.5 m2/s is below the depth x velocity at which Abt et al. (1989, Water Resources Bulletin
    25(4)) saw adults toppled in flume tests (from about 0.7 m2/s, as reviewed by Cox, Shand and Blacka 2010 for
    ARR). **Assumed** as a team's limit: no source tests trained teams in dry suits with wading poles;
  - **by boat** where ``d >= boat_min_depth`` (0.5 m, **assumed**: an outboard's leg hangs below the hull, and
    urban boat crews probe ahead with poles marked at that depth; Firehouse magazine, "Technical rescue: using
    boats to rescue survivors of urban flooding") and
    ``v <= boat_max_velocity`` (2 m/s, **assumed**: faster water on a street is beyond a flood boat team; NFPA
    1006 calls water over 1 knot, 0.51 m/s, swift water, which typed swift-water boat teams do work), at
    ``boat_speed_kmh`` (5 km/h, **assumed**: a boat in a flooded street goes at walking pace to keep its wash off
    the houses and find what is under the surface);

* between the layers at any node, ``launch`` each way (10 min, **assumed**): kit on and the boat launched at the
  water's edge, or the boat recovered.

``d`` is the link's depth over its road (``SimState.link_flood_depth_m``, :mod:`twin.hazards.roadwater`) and
``v`` the fastest water along it: Manning's velocity on the water-surface slope of each grid cell the link
crosses (:mod:`twin.residents.velocity`, as the residents' hazard classes use). A team reaches a place in either
layer; once ashore it drives on (its vehicle is taken to meet it, not modelled). A team never drives in the traffic
model on a journey that uses the water: its whole journey takes the path time (the road part at the times above).
Without water on any closed link the teams are fire crews like the others, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import shapely

from twin.city.build import City
from twin.city.roads import csr_adjacency
from twin.crews.travel import EMERGENCY_SPEED_FACTOR, Roads
from twin.hazards.roadwater import RoadSamples
from twin.residents.velocity import velocity_grid
from twin.residents.walking import WALK_SPEED_MPS, depth_factor
from twin.scenario.crews import FloodRescueSpec
from twin.sim.state import SimState


@dataclass(frozen=True)
class WaterLimits:
    """Where and how fast a flood rescue team moves in water (the module docstring gives the sources).

    Attributes
    ----------
    launch_s
        Time to go from the road into the water, or back (s).
    boat_mps, boat_min_depth_m, boat_max_velocity_mps
        Boat speed, least depth and fastest water it travels in.
    wade_max_depth_m, wade_max_dv_m2s
        Deepest water and largest depth x velocity a team wades.
    """

    launch_s: float = 600.0
    boat_mps: float = 5.0 / 3.6
    boat_min_depth_m: float = 0.5
    boat_max_velocity_mps: float = 2.0
    wade_max_depth_m: float = 0.5
    wade_max_dv_m2s: float = 0.5

    @classmethod
    def of(cls, spec: FloodRescueSpec) -> WaterLimits:
        """From the scenario's ``crews.flood_rescue`` section."""
        return cls(
            launch_s=spec.launch_s,
            boat_mps=spec.boat_speed_kmh / 3.6,
            boat_min_depth_m=spec.boat_min_depth_m,
            boat_max_velocity_mps=spec.boat_max_velocity_mps,
            wade_max_depth_m=spec.wade_max_depth_m,
            wade_max_dv_m2s=spec.wade_max_dv_m2s,
        )


def water_link_times_s(
    length_m: np.ndarray, depth_m: np.ndarray, velocity_mps: np.ndarray, limits: WaterLimits
) -> np.ndarray:
    """Time (s) of a team through each flooded link: the faster of wading and boat where allowed, else ``inf``.

    ``t = min(L / (1.33 max(0.2, 1 - d / 1.2)) if d <= d_wade and d v <= (dv)_wade,
    L / v_boat if d >= d_boat and v <= v_boat_max)`` (see the module docstring for the limits' sources).

    Parameters
    ----------
    length_m, depth_m, velocity_mps
        Per link: length, depth of water over the road and the fastest water velocity along it.
    limits
        The teams' limits and speeds.
    """
    length = np.asarray(length_m, dtype=np.float64)
    d = np.asarray(depth_m, dtype=np.float64)
    v = np.asarray(velocity_mps, dtype=np.float64)
    wade_ok = (d <= limits.wade_max_depth_m) & (d * v <= limits.wade_max_dv_m2s)
    wade = np.where(wade_ok, length / (WALK_SPEED_MPS * depth_factor(d)), np.inf)
    boat_ok = (d >= limits.boat_min_depth_m) & (v <= limits.boat_max_velocity_mps)
    boat = np.where(boat_ok, length / limits.boat_mps, np.inf)
    return np.asarray(np.minimum(wade, boat))


def link_velocity_mps(samples: RoadSamples, velocity_flat: np.ndarray, n_links: int) -> np.ndarray:
    """The fastest water velocity (m/s) over the grid cells along each link (0 off the grid or dry)."""
    out = np.zeros(n_links)
    if samples.cell.size:
        out[samples.links] = np.maximum.reduceat(np.nan_to_num(velocity_flat[samples.cell], nan=0.0), samples.starts)
    return out


def two_layer_graph(
    n_nodes: int,
    src: np.ndarray,
    dst: np.ndarray,
    road_s: np.ndarray,
    water_s: np.ndarray,
    launch_s: float,
) -> sp.csr_matrix:
    """The teams' graph on ``2 n`` nodes: node ``u`` driving, ``u + n`` in the water.

    Parameters
    ----------
    n_nodes, src, dst
        The drivable links.
    road_s, water_s
        Per link: time driving (``inf``: closed to driving) and in the water (``inf``: not a water link, or beyond
        the limits).
    launch_s
        Time between the layers at any node, each way.
    """
    drive = np.isfinite(road_s)
    wet = np.isfinite(water_s)
    nodes = np.arange(n_nodes, dtype=np.int64)
    rows = np.concatenate([src[drive], src[wet] + n_nodes, nodes, nodes + n_nodes])
    cols = np.concatenate([dst[drive], dst[wet] + n_nodes, nodes + n_nodes, nodes])
    # A zero launch would be a zero weight, which csgraph reads as no edge: the smallest positive time stands in.
    launch = max(float(launch_s), np.finfo(np.float64).tiny)
    weights = np.concatenate([road_s[drive], water_s[wet], np.full(2 * n_nodes, launch)])
    return csr_adjacency(2 * n_nodes, rows, cols, weights)


class WaterRoutes:
    """Shortest times of flood rescue teams at one decision time (the module docstring)."""

    def __init__(self, graph: sp.csr_matrix, n_nodes: int) -> None:
        self.graph, self.n_nodes = graph, n_nodes

    def pair_times(self, origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
        """``(len(origins), len(destinations))``: the shortest time from each origin (on the road) to each
        destination, reached on the road or in the water; ``inf``: no way."""
        origins = np.asarray(origins, dtype=np.int64)
        destinations = np.asarray(destinations, dtype=np.int64)
        if len(origins) == 0 or len(destinations) == 0:
            return np.zeros((len(origins), len(destinations)))
        nodes, row = np.unique(origins, return_inverse=True)
        table = np.asarray(csgraph.dijkstra(self.graph, directed=True, indices=nodes))
        best = np.minimum(table[:, destinations], table[:, destinations + self.n_nodes])
        return np.asarray(best[row])


WATER_FASTER_S = 1e-6
"""A journey through water is taken only when it beats the road by more than this (s): a road path's time summed
in the two-layer graph may differ from the road graph's in the last bit, which must not send a crew by water."""


class WaterTeams:
    """The flood rescue teams' routes over the current network and water (see the module docstring).

    Parameters
    ----------
    city
        The City (its drivable links and terrain).
    limits
        The teams' limits and speeds.
    """

    def __init__(self, city: City, limits: WaterLimits) -> None:
        self.city, self.limits = city, limits
        links = city.drive.links
        self.n_nodes = city.drive.n_nodes
        self.src = links["src"].to_numpy().astype(np.int64)
        self.dst = links["dst"].to_numpy().astype(np.int64)
        self.length_m = links["length_m"].to_numpy().astype(np.float64)
        self.structure = links["bridge"].to_numpy(dtype=bool) | links["tunnel"].to_numpy(dtype=bool)
        self._samples: RoadSamples | None = None
        self._water = np.zeros(0, dtype=np.float32)
        self._velocity = np.zeros(len(links))
        self._routes: tuple[Roads, WaterRoutes | None] | None = None

    def link_velocity(self, water_depth_m: np.ndarray) -> np.ndarray:
        """Per link: the fastest water along it now (recomputed only when the water changed)."""
        if not np.array_equal(water_depth_m, self._water):
            terrain = self.city.terrain
            if self._samples is None:
                geometry = shapely.from_wkb(self.city.drive.links["geometry"].to_numpy())
                self._samples = RoadSamples.of_links(geometry, terrain)
            grid = velocity_grid(terrain.elevation_m, water_depth_m, float(terrain.resolution_m))
            self._velocity = link_velocity_mps(self._samples, grid.reshape(-1), len(self.length_m))
            self._water = water_depth_m.copy()
        return self._velocity

    def water_times_s(self, state: SimState) -> np.ndarray:
        """Per link: a team's time through it in the water now (``inf``: not closed by water alone, a bridge or
        tunnel, or beyond the limits)."""
        wet = state.link_closed_flood & ~state.link_closed_event & ~state.link_closed_debris & ~self.structure
        if not wet.any():
            return np.full(len(self.length_m), np.inf)
        velocity = self.link_velocity(state.water_depth_m)
        times = water_link_times_s(self.length_m, state.link_flood_depth_m, velocity, self.limits)
        return np.asarray(np.where(wet, times, np.inf))

    def routes(self, state: SimState, net: Roads) -> WaterRoutes | None:
        """The teams' routes at the decision time of ``net`` (built once per round); None: no water to go on."""
        if self._routes is not None and self._routes[0] is net:
            return self._routes[1]
        water = self.water_times_s(state)
        routes = None
        if np.isfinite(water).any():
            road = net.link_times_s(EMERGENCY_SPEED_FACTOR)
            graph = two_layer_graph(self.n_nodes, self.src, self.dst, road, water, self.limits.launch_s)
            routes = WaterRoutes(graph, self.n_nodes)
        self._routes = (net, routes)
        return routes

    def faster(
        self,
        state: SimState,
        net: Roads,
        boats: np.ndarray,
        origins: np.ndarray,
        travel: np.ndarray,
        destinations: np.ndarray,
        *,
        diagonal: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The travel times with the teams' journeys through water where faster, and where they are.

        Parameters
        ----------
        state, net
            The state and the road network now.
        boats
            Per origin: a team that may go by water.
        origins
            The crews' nodes.
        travel
            Road times ``(origins, destinations)``, or with ``diagonal`` one per origin to its own destination.
        destinations
            The destination nodes.
        diagonal
            ``travel`` and ``destinations`` are per origin.

        Returns
        -------
        tuple of numpy.ndarray
            The times (road, or water where it beats the road by more than :data:`WATER_FASTER_S`) and the mask
            of those by water, both shaped like ``travel``.
        """
        by_water = np.zeros(travel.shape, dtype=bool)
        rows = np.flatnonzero(boats)
        if not len(rows) or not len(destinations):
            return travel, by_water
        routes = self.routes(state, net)
        if routes is None:
            return travel, by_water
        if diagonal:
            water = np.diagonal(routes.pair_times(origins[rows], destinations[rows]))
        else:
            water = routes.pair_times(origins[rows], destinations)
        by_water[rows] = water < travel[rows] - WATER_FASTER_S
        return np.where(by_water, np.broadcast_to(_spread(water, rows, travel.shape), travel.shape), travel), by_water


def _spread(values: np.ndarray, rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` at ``rows`` of an array of ``shape``, ``inf`` elsewhere."""
    out = np.full(shape, np.inf)
    out[rows] = values
    return out
