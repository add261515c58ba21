"""Water on the city: which roads, buildings, homes and lifeline components each grid cell of water touches.

:class:`FloodExposure` is built once per run from the City. It precomputes, as flat index arrays into the
terrain grid (``row * cols + col``), the cells each drivable link passes through and the cell of every
building, home and facility; :meth:`FloodExposure.apply` then turns the current water grid
(``SimState.water_depth_m``) into the link, building and component arrays of the SimState (DESIGN.md,
"Contracts between the parts") with a handful of array operations and no Python loop, a fraction of a
millisecond per call on the Andorra map.

Models: speeds on flooded links from Pregnolato et al. (2017), building damage from the JRC global
depth-damage curves (Huizinga et al. 2017), both in :mod:`twin.hazards.damage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from twin.city.build import City
from twin.hazards.damage import (
    BUILDING_CLASSES,
    CLOSURE_DEPTH_M,
    REGIONS,
    building_class,
    damage_ratio,
    flood_speed_factor,
    region_assumption,
    region_of,
)
from twin.hazards.gridindex import line_cell_pairs, point_cells, residents_in_water
from twin.hazards.roadwater import RoadSamples
from twin.sim.state import SimState

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

TUNNEL_WATER_M: Final = 0.05
"""Water depth (m) at either portal of a tunnel or underpass that closes it.

Tunnels and underpasses are the low points of the road network and lie below the ground surface the
DEM describes: water reaching their entrances drains in and collects far deeper than the surface depth,
so they are closed as soon as there is water at a portal, long before the 0.3 m that closes an ordinary
road. Only the portals count: a bored tunnel is not flooded by a pond on the mountain above it.
"""

FLOOD_VULNERABLE_KINDS: Final = frozenset(
    [
        # power: generation and the stations and transformers whose switchgear sits at ground level
        "plant",
        "substation",
        "transformer",
        # water: treatment works, pumps, towers, tanks and covered reservoirs (pumps, valves, controls)
        "water_works",
        "pumping_station",
        "water_tower",
        "storage_tank",
        "reservoir_covered",
        "wastewater_plant",
        # telecom: masts and towers (equipment cabinets and power supply at their foot)
        "mast",
        "communications_tower",
    ]
)
"""Facility kinds (``City.facilities['kind']``) that water at their location damages.

Rule: the point assets of the lifeline groups ``power``, ``water`` and ``telecom``, whose equipment
stands at ground level. Not included: linear assets (``line``, ``minor_line``, ``cable``), whose
conductors are overhead or sealed, and line supports (power ``tower``, ``pole``, ``portal``), which
stand in water unharmed; nor traffic signals or facilities (hospitals, shelters, ...), whose flooding
is the building's, not a lifeline component's.
"""
CRITICAL_FACILITY_KINDS: Final = frozenset(["hospital", "clinic", "fire_station", "police", "shelter"])
"""Facility kinds that water puts out of service: the critical services on a building's ground floor.

Rule (Hazus-MH Flood Model, Technical Manual, FEMA 2009, ch. 7 "Essential facilities": a hospital, fire or
police station or shelter loses its function once water stands above its first floor): such a facility is
out (``comp_damaged``, cause ``flood``) when the water at its cell is deeper than city.yaml's
``facility_flood_depth_m``, 0.3 m by default. The default is an *assumption*: a ground floor at a typical
30 cm sill above the street, where emergency departments, fire engines and shelters' halls are. Schools
and sports halls are not critical services of a run (they are shelters only when city.yaml says so).
"""
FLOOD_VULNERABLE_GROUPS: Final = frozenset(["power", "water", "telecom"])
NOT_FLOOD_VULNERABLE_KINDS: Final = frozenset(["line", "minor_line", "cable", "tower", "pole", "portal"])
"""Lifeline kinds deliberately left out of :data:`FLOOD_VULNERABLE_KINDS` (see there)."""


@dataclass(frozen=True)
class FloodChanges:
    """What one :meth:`FloodExposure.apply` call changed.

    Attributes
    ----------
    closed
        Drivable links that water closed in this call.
    reopened
        Drivable links that were closed by water and are open again.
    damaged_components
        Rows of ``City.facilities`` that water damaged in this call.
    """

    closed: IntArray
    reopened: IntArray
    damaged_components: IntArray

    @property
    def network_changed(self) -> bool:
        """Whether a link closed or reopened (routes must be recomputed); speed changes alone do not count."""
        return bool(self.closed.size or self.reopened.size)


def flood_vulnerable(facilities: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Per facility row: a lifeline component water damages (:data:`FLOOD_VULNERABLE_KINDS` of its groups)."""
    return (
        facilities["group"].isin(list(FLOOD_VULNERABLE_GROUPS)).to_numpy()
        & facilities["kind"].isin(list(FLOOD_VULNERABLE_KINDS)).to_numpy()
    )


def flood_damageable(facilities: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Per facility row: one a flood can put out of service (a vulnerable lifeline component or a critical
    facility, :data:`CRITICAL_FACILITY_KINDS`), so one a ``floodproof`` intervention can protect."""
    return flood_vulnerable(facilities) | facilities["kind"].isin(list(CRITICAL_FACILITY_KINDS)).to_numpy()


def _in_grid(cells: IntArray) -> tuple[IntArray, IntArray]:
    """(rows of the items inside the grid, their cells)."""
    inside = np.flatnonzero(cells >= 0)
    return inside, cells[inside]


class FloodExposure:
    """Precomputed links, buildings, homes and components per grid cell; applies a water grid to the state.

    Parameters
    ----------
    city
        The City of the run; only ``drive``, ``buildings``, ``homes``, ``facilities``, ``terrain`` and
        ``bounds_lonlat`` are read.
    region
        The JRC depth-damage curve region; default :func:`twin.hazards.damage.region_of` the map centre.

    Attributes
    ----------
    pair_link, pair_cell
        The unique (link, cell) pairs: the cells each drivable link passes through, sorted by link. Each
        link's geometry is densified to vertices at most half a cell apart (``shapely.segmentize``)
        and every vertex's cell is kept; points outside the grid are dropped.
    road_samples
        Points along every link with the road's elevation, which the water depth over a road is read at
        (:class:`twin.hazards.roadwater.RoadSamples`).
    building_cell, home_cell, component_cell
        The cell of each building (centroid), home and facility (its ``x``, ``y``); -1 outside the grid.
    vulnerable
        Per facility: a lifeline component that water damages (:data:`FLOOD_VULNERABLE_KINDS`).
    building_classes
        Per building: its JRC class (:func:`twin.hazards.damage.building_class`).
    region, region_note
        The curve region and the sentence that states it, for the run's assumptions.
    """

    def __init__(self, city: City, region: str | None = None) -> None:
        terrain = city.terrain
        self.shape: tuple[int, int] = (int(terrain.elevation_m.shape[0]), int(terrain.elevation_m.shape[1]))
        links = city.drive.links
        self.n_links = len(links)

        geometry = shapely.from_wkb(links["geometry"].to_numpy())
        self.pair_link, self.pair_cell = line_cell_pairs(geometry, terrain.transform, self.shape)
        self.road_samples = RoadSamples.of_links(geometry, terrain)

        self._bridge = links["bridge"].to_numpy(dtype=bool)
        self._tunnel_only = links["tunnel"].to_numpy(dtype=bool) & ~self._bridge
        self._tunnel_ids = np.flatnonzero(self._tunnel_only)
        tunnels = geometry[self._tunnel_ids]
        self._portal_cells = [
            point_cells(terrain.transform, self.shape, shapely.get_x(end), shapely.get_y(end))
            for end in (shapely.get_point(tunnels, 0), shapely.get_point(tunnels, -1))
        ]
        self._bridge_ids = np.flatnonzero(self._bridge)
        self._prepare_bridges(city)
        self._free_speed = links["speed_mps"].to_numpy(dtype=np.float64)
        self.road_raise_m: FloatArray = np.zeros(self.n_links)
        """Per link: how much a ``raise_road`` intervention lifted its surface (m); water on it is that shallower."""

        buildings = city.buildings
        self.building_cell: IntArray = point_cells(
            terrain.transform, self.shape, buildings["x"].to_numpy(float), buildings["y"].to_numpy(float)
        )
        self._building_in, self._building_in_cell = _in_grid(self.building_cell)
        self.building_classes = building_class(buildings["use"].to_numpy(str), buildings["residential"].to_numpy(bool))
        self._class_members = [(name, np.flatnonzero(self.building_classes == name)) for name in BUILDING_CLASSES]

        homes = city.homes
        self.home_cell: IntArray = point_cells(
            terrain.transform, self.shape, homes["x"].to_numpy(float), homes["y"].to_numpy(float)
        )
        self._home_in, self._home_in_cell = _in_grid(self.home_cell)
        self._home_population = homes["population"].to_numpy(np.int64)[self._home_in]

        facilities = city.facilities
        self.component_cell: IntArray = point_cells(
            terrain.transform, self.shape, facilities["x"].to_numpy(float), facilities["y"].to_numpy(float)
        )
        self.vulnerable = flood_vulnerable(facilities)
        self.first_floor_m = float(city.config.first_floor_height_m)
        self.critical = facilities["kind"].isin(list(CRITICAL_FACILITY_KINDS)).to_numpy()
        self.facility_threshold_m = float(city.config.facility_flood_depth_m)
        self._vulnerable_ids = np.flatnonzero((self.vulnerable | self.critical) & (self.component_cell >= 0))
        self._vulnerable_cell = self.component_cell[self._vulnerable_ids]
        self._vulnerable_critical = self.critical[self._vulnerable_ids]
        self.withstand_m: FloatArray = np.zeros(len(facilities))
        """Per component: the water depth a ``floodproof`` intervention lets it withstand (m)."""

        if region is not None and region not in REGIONS:
            raise ValueError(f"no JRC depth-damage curves for region {region!r}; use one of {', '.join(REGIONS)}")
        lon = (city.bounds_lonlat[0] + city.bounds_lonlat[2]) / 2.0
        lat = (city.bounds_lonlat[1] + city.bounds_lonlat[3]) / 2.0
        self.region: str = region if region is not None else region_of(lon, lat)
        self.region_note: str = (
            region_assumption(lon, lat) if region is None else f"building damage: JRC curves, {region} (set by the run)"
        )

    def _prepare_bridges(self, city: City) -> None:
        """Ground under each bridge's cells and the elevation of its abutments (its end nodes, on the ground)."""
        ground = city.terrain.elevation_m.reshape(-1).astype(np.float64)
        on_bridge = self._bridge[self.pair_link]
        self._bridge_pair_link = self.pair_link[on_bridge]
        self._bridge_pair_cell = self.pair_cell[on_bridge]
        self._bridge_pair_ground = np.nan_to_num(ground[self._bridge_pair_cell], nan=np.inf)
        self._bridge_links, self._bridge_starts = np.unique(self._bridge_pair_link, return_index=True)
        lowest = np.full(self.n_links, np.inf)
        if self._bridge_links.size:
            lowest[self._bridge_links] = np.minimum.reduceat(self._bridge_pair_ground, self._bridge_starts)
        self._bridge_lowest_ground = lowest
        links, elevation = city.drive.links, city.drive.nodes["elevation_m"].to_numpy(np.float64)
        self._abutment_m = np.minimum(elevation[links["src"].to_numpy()], elevation[links["dst"].to_numpy()])

    def bridge_deck_m(self, deck_height_m: float) -> FloatArray:
        """Deck elevation of every link (meaningful on bridges): ``max(abutments, lowest ground under it + h)``.

        A bridge's deck is at least as high as its lower abutment (its end nodes stand on the banks), and at
        least ``deck_height_m`` above the lowest ground it spans: a deep valley's bridge sits far above the
        river, a culvert-like crossing of a flat plain ``deck_height_m`` above it.
        """
        return np.maximum(self._abutment_m, self._bridge_lowest_ground + deck_height_m)

    def _water_over_decks(self, flat: npt.NDArray[np.floating], deck_height_m: float) -> FloatArray:
        """Per bridge link: the highest water surface under it above its deck (m, 0 when below)."""
        over = np.zeros(len(self._bridge_links))
        if over.size:
            depth = np.fmax(flat[self._bridge_pair_cell].astype(np.float64), 0.0)
            surface = np.where(depth > 0, self._bridge_pair_ground + depth, -np.inf)
            deck = self.bridge_deck_m(deck_height_m)[self._bridge_pair_link]
            over = np.maximum(np.maximum.reduceat(surface - deck, self._bridge_starts), 0.0)
        return over

    def _depth_grid(self, state: SimState) -> npt.NDArray[np.floating]:
        depth = state.water_depth_m
        if depth.shape != self.shape:
            raise ValueError(f"water_depth_m has shape {depth.shape}, the city's terrain grid is {self.shape}")
        return depth.reshape(-1)

    def link_depth_m(self, state: SimState) -> FloatArray:
        """Deepest water (m) over each drivable link's own road surface now (:mod:`twin.hazards.roadwater`).

        0 for links off the grid; NaN counts as dry.
        """
        return self.road_samples.depth_m(self._depth_grid(state), self.n_links)

    def apply(self, state: SimState, t_s: float, *, deck_height_m: float, component_threshold_m: float) -> FloodChanges:
        """Write the effects of ``state.water_depth_m`` on links, buildings and components into ``state``.

        Links
            ``link_flood_depth_m`` = the deepest water over the road's own surface at points along it
            (:mod:`twin.hazards.roadwater`: cell water surface minus road elevation), except bridges, which count only
            the water surface (ground + depth) above their deck (:meth:`bridge_deck_m`), less the height a
            ``raise_road`` lifted the link (:attr:`road_raise_m`, never below 0). ``link_closed_flood``
            when that depth
            is >= :data:`~twin.hazards.damage.CLOSURE_DEPTH_M` (0.3 m, Pregnolato et al. 2017), or, for
            tunnels and underpasses (not bridges), as soon as a portal has more than
            :data:`TUNNEL_WATER_M` at a portal (their depth is the portals' depth).
            ``link_speed_factor`` = min(v(w), v_free) / v_free (0 when closed);
            ``link_flood_peak_m`` keeps the running maximum; ``link_flood_closed_s`` is set to ``t_s``
            the first time a link closes; ``link_flood_reopened_s`` to ``t_s`` when a closed link
            reopens, and back to NaN when it closes again.
        Buildings
            ``building_depth_m`` = depth at the building's cell; ``building_peak_depth_m`` the running
            maximum; ``building_damage`` = max(previous, JRC damage ratio of the depth) where the water is
            above the ground floor (city.yaml ``first_floor_height_m``; Hazus counts flood damage from the
            first floor), else no damage: a few millimetres in the street do not damage a building. Damage
            never falls.
        Components
            ``comp_damaged`` |= depth > max(``component_threshold_m``, :attr:`withstand_m`) for
            :data:`FLOOD_VULNERABLE_KINDS`, and depth > max(city.yaml's ``facility_flood_depth_m``,
            :attr:`withstand_m`) for :data:`CRITICAL_FACILITY_KINDS` (``withstand_m``: the depth a
            ``floodproof`` intervention gives);
            newly damaged components get ``comp_cause = "flood"`` (an existing cause is kept).

        Parameters
        ----------
        state
            The run's state; ``water_depth_m`` is read, the arrays above are written in place.
        t_s
            Simulated time of this call (s since the start).
        deck_height_m
            Least height of bridge decks above the lowest ground they span (city.yaml ``bridge_deck_height_m``).
        component_threshold_m
            Water depth (m) above which a vulnerable lifeline component is damaged.

        Returns
        -------
        FloodChanges
            The links closed and reopened and the components damaged by this call.
        """
        flat = self._depth_grid(state)
        raw = self.link_depth_m(state)
        portals = [np.where(cells >= 0, np.fmax(flat[np.maximum(cells, 0)], 0.0), 0.0) for cells in self._portal_cells]
        raw[self._tunnel_ids] = np.maximum(*portals)
        effective = raw.copy()
        effective[self._bridge_ids] = 0.0
        effective[self._bridge_links] = self._water_over_decks(flat, deck_height_m)
        # A raised road surface stands that much higher above the same water (raise_road interventions).
        effective = np.maximum(effective - self.road_raise_m, 0.0)
        raw = np.maximum(raw - self.road_raise_m, 0.0)
        closed = (effective >= CLOSURE_DEPTH_M) | (self._tunnel_only & (raw > TUNNEL_WATER_M))

        was_closed = state.link_closed_flood
        newly_closed = closed & ~was_closed
        reopened = was_closed & ~closed
        first = newly_closed & np.isnan(state.link_flood_closed_s)
        state.link_flood_closed_s[first] = t_s
        state.link_flood_reopened_s[newly_closed] = np.nan
        state.link_flood_reopened_s[reopened] = t_s
        state.link_closed_flood[:] = closed
        state.link_flood_depth_m[:] = effective
        np.maximum(state.link_flood_peak_m, effective, out=state.link_flood_peak_m)
        speed = flood_speed_factor(effective, self._free_speed)
        speed[closed] = 0.0
        state.link_speed_factor[:] = speed

        building_depth = np.zeros(len(self.building_cell))
        building_depth[self._building_in] = np.fmax(flat[self._building_in_cell], 0.0)
        state.building_depth_m[:] = building_depth
        np.maximum(state.building_peak_depth_m, building_depth, out=state.building_peak_depth_m)
        inside = building_depth > self.first_floor_m  # water below the ground floor is not in the building
        for name, members in self._class_members:
            if members.size:
                ratio = np.where(inside[members], damage_ratio(building_depth[members], name, self.region), 0.0)
                state.building_damage[members] = np.maximum(state.building_damage[members], ratio)

        threshold = np.where(self._vulnerable_critical, self.facility_threshold_m, component_threshold_m)
        threshold = np.maximum(threshold, self.withstand_m[self._vulnerable_ids])  # floodproofing
        wet = np.fmax(flat[self._vulnerable_cell], 0.0) > threshold
        hit = self._vulnerable_ids[wet]
        hit = hit[~state.comp_damaged[hit]]
        state.comp_damaged[hit] = True
        state.comp_cause[hit[state.comp_cause[hit] == ""]] = "flood"

        return FloodChanges(
            closed=np.flatnonzero(newly_closed),
            reopened=np.flatnonzero(reopened),
            damaged_components=hit.astype(np.int64),
        )

    def people_in_water(self, state: SimState, depth_m: float) -> int:
        """Residents whose home has more than ``depth_m`` of water above its ground floor now.

        The engine counts people exposed (> 0.5 m) and needing rescue (> 1.5 m), DESIGN.md "Buildings
        in water". Homes are located by their ``x``, ``y`` (a building's centroid, or a walkable node on
        roads-only maps, where ``building`` is -1); homes off the grid are dry.

        Parameters
        ----------
        state
            The run's state (``water_depth_m`` is read).
        depth_m
            Depth threshold (m), strict.

        Returns
        -------
        int
            Number of residents.
        """
        grid = self._depth_grid(state)
        return residents_in_water(grid, self._home_in_cell, self._home_population, depth_m + self.first_floor_m)

    def assumptions(self) -> list[str]:
        """The assumptions this exposure model makes, for the run's ``assumptions.json``."""
        return [
            self.region_note,
            f"flood-vulnerable lifeline components: {', '.join(sorted(FLOOD_VULNERABLE_KINDS))} "
            "(lines, cables, towers and poles are not damaged by water)",
            f"buildings are damaged (JRC ratio) and their residents exposed only by water above their ground "
            f"floor, {self.first_floor_m:g} m above the street (first_floor_height_m, assumed)",
            f"critical facilities ({', '.join(sorted(CRITICAL_FACILITY_KINDS))}) are out of service with more "
            f"than {self.facility_threshold_m:g} m of water at their cell (facility_flood_depth_m; an assumed "
            "ground-floor sill, Hazus essential-facility rule)",
            f"tunnels and underpasses close at {TUNNEL_WATER_M} m of water, other roads at {CLOSURE_DEPTH_M} m; "
            "bridges close only when the water surface reaches their deck: at least as high as their lower "
            "abutment and at least bridge_deck_height_m above the lowest ground they span",
        ]
