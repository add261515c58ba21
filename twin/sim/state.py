"""SimState: every array that changes during one run (DESIGN.md, "Contracts between the parts").

The City never changes during a run; everything that does lives here, as flat numpy arrays indexed by the
City's integer ids. Each array has one writing phase; the others read it. A checkpoint saves these arrays
as they are, so a restored run continues bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from twin.city.build import City


@dataclass
class SimState:
    """The changing state of one run.

    Attributes
    ----------
    link_closed_event
        Per drivable link: closed by a ``close_link`` event (scenario, drill inject or intervention).
    link_closed_flood, link_closed_debris
        Per drivable link: closed by water (>= 0.3 m) or by landslide debris (hazards).
    link_debris_m3
        Per drivable link: landslide debris lying on it (hazards add, road crews clear).
    link_flood_depth_m
        Per drivable link: the deepest water along it now (hazards); ``link_flood_peak_m`` keeps the deepest
        so far.
    link_flood_closed_s, link_flood_reopened_s
        Per drivable link: when water first closed it, and when it last reopened (NaN: never / not yet).
    link_speed_factor
        Per drivable link: v(w) / v_free from the depth-disruption curve; 1 when dry (hazards).
    link_capacity_factor
        Per drivable link: < 1 where signals lost power (lifelines).
    building_depth_m, building_damage
        Per building: water depth now and damage ratio in [0, 1] (hazards); damage never falls during a
        run, and ``building_peak_depth_m`` keeps the deepest water so far.
    comp_damaged, comp_cause, comp_up
        Per facility or lifeline component (row of ``City.facilities``): physically damaged (hazards,
        outage events; cleared only by repair), the cause of the damage (``""`` when undamaged) and working
        now (lifelines).
    water_depth_m, water_peak_m
        Per cell of the terrain grid: current and peak water depth (hazards).
    """

    link_closed_event: np.ndarray
    link_closed_flood: np.ndarray
    link_closed_debris: np.ndarray
    link_debris_m3: np.ndarray
    link_flood_depth_m: np.ndarray
    link_flood_peak_m: np.ndarray
    link_flood_closed_s: np.ndarray
    link_flood_reopened_s: np.ndarray
    link_speed_factor: np.ndarray
    link_capacity_factor: np.ndarray
    building_depth_m: np.ndarray
    building_damage: np.ndarray
    building_peak_depth_m: np.ndarray
    comp_damaged: np.ndarray
    comp_cause: np.ndarray
    comp_up: np.ndarray
    water_depth_m: np.ndarray
    water_peak_m: np.ndarray

    @classmethod
    def normal(cls, city: City) -> SimState:
        """The normal state of a city: everything open, dry, undamaged and working."""
        n_links, n_buildings, n_comps = city.drive.n_links, len(city.buildings), len(city.facilities)
        grid = city.terrain.elevation_m.shape
        return cls(
            link_closed_event=np.zeros(n_links, dtype=bool),
            link_closed_flood=np.zeros(n_links, dtype=bool),
            link_closed_debris=np.zeros(n_links, dtype=bool),
            link_debris_m3=np.zeros(n_links),
            link_flood_depth_m=np.zeros(n_links),
            link_flood_peak_m=np.zeros(n_links),
            link_flood_closed_s=np.full(n_links, np.nan),
            link_flood_reopened_s=np.full(n_links, np.nan),
            link_speed_factor=np.ones(n_links),
            link_capacity_factor=np.ones(n_links),
            building_depth_m=np.zeros(n_buildings),
            building_damage=np.zeros(n_buildings),
            building_peak_depth_m=np.zeros(n_buildings),
            comp_damaged=np.zeros(n_comps, dtype=bool),
            comp_cause=np.full(n_comps, "", dtype="<U64"),
            comp_up=np.ones(n_comps, dtype=bool),
            water_depth_m=np.zeros(grid, dtype=np.float32),
            water_peak_m=np.zeros(grid, dtype=np.float32),
        )

    def link_closed(self) -> np.ndarray:
        """Closed for any cause (what traffic and routing read)."""
        return self.link_closed_event | self.link_closed_flood | self.link_closed_debris

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (for checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SimState:
        """Rebuild a state from :meth:`arrays` (copies, so the source can be closed)."""
        return cls(**{f.name: np.array(arrays[f.name]) for f in fields(cls)})
