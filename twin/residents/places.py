"""What each place has, read from the state: power, water, signal, care within reach, and water depth.

People are located by walkable node (homes, work places, shelters and walkers all sit on one), plus a building
row for those indoors. Per walkable node this module precomputes, once per run, its nearest drivable node, its
power and water zones (those of that drivable node, as :mod:`twin.lifelines.networks` assigns homes), the cell
sites in range (``telecom.radius_m``), its population area (nearest area centre, as homes) and its grid cell.

Each step the services are read from ``comp_up``: a power zone is served while its substation works, a water
zone while its tank works (the lifelines phase clears a tank's ``comp_up`` when it runs dry), a node has signal
while any site in range works, and care is within reach while a working hospital is within the scenario's
``access_tau`` by road (:func:`twin.sim.access.access_to_care`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import Transformer
from scipy.spatial import cKDTree

from twin.city.build import City
from twin.city.people import nearest_nodes
from twin.hazards.gridindex import point_cells
from twin.sim.access import access_to_care
from twin.sim.state import SimState

SERVICES = ("power", "water", "telecom", "health")


@dataclass(frozen=True)
class Places:
    """Per walkable node: drivable node, zones, cell, area; and the (node, site) coverage pairs."""

    drive_node: np.ndarray
    power_zone: np.ndarray
    water_zone: np.ndarray
    cell: np.ndarray
    area: np.ndarray
    cover_node: np.ndarray
    cover_site: np.ndarray
    building_cell: np.ndarray

    @classmethod
    def of(cls, city: City) -> Places:
        """The places of a City."""
        nodes = city.walk.nodes
        x, y = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
        drive_node, _ = nearest_nodes(city.drive, x, y)
        net = city.lifelines
        power = net.node_power_zone[drive_node] if len(net.power_sources) else np.full(len(x), -1)
        shape = city.terrain.elevation_m.shape
        cover_node, cover_site = _coverage(city, x, y)
        b = city.buildings
        return cls(
            drive_node=drive_node.astype(np.int32),
            power_zone=power.astype(np.int32),
            water_zone=net.node_water_zone[drive_node].astype(np.int32),
            cell=point_cells(city.terrain.transform, shape, x, y),
            area=_areas(city, x, y),
            cover_node=cover_node,
            cover_site=cover_site,
            building_cell=point_cells(city.terrain.transform, shape, b["x"].to_numpy(float), b["y"].to_numpy(float)),
        )


def _coverage(city: City, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sites = city.lifelines.site_rows
    if not len(sites):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    xy = city.facilities[["x", "y"]].to_numpy(float)[sites]
    pairs = cKDTree(np.column_stack([x, y])).query_ball_tree(cKDTree(xy), city.config.lifelines.telecom.radius_m)
    counts = np.array([len(p) for p in pairs], dtype=np.int64)
    sites_of = [np.asarray(p, np.int64) for p in pairs]
    return np.repeat(np.arange(len(x)), counts), np.concatenate(sites_of) if sites_of else np.zeros(0, np.int64)


def _areas(city: City, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Population area (city.yaml ``population.areas``) of each point: the nearest area centre."""
    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    lonlat = np.array([a.centre for a in city.config.population.areas], dtype=float)
    cx, cy = to_metric.transform(lonlat[:, 0], lonlat[:, 1])
    return cKDTree(np.column_stack([cx, cy])).query(np.column_stack([x, y]))[1].astype(np.int32)


class ServiceReader:
    """Per walkable node, which services it has now (recomputing access to care only when it can change)."""

    def __init__(self, city: City, places: Places, tau_s: float, every_s: float) -> None:
        self.city, self.places, self.tau_s, self.every_s = city, places, tau_s, every_s
        self._key = b""
        self._at_s = -np.inf
        self._care = np.ones(len(places.drive_node), dtype=bool)
        self.has_hospital = bool((city.facilities["kind"] == "hospital").any())

    def served(self, state: SimState, t_s: float = 0.0) -> dict[str, np.ndarray]:
        """Per walkable node, True where the service is there now (``power``, ``water``, ``telecom``, ``health``)."""
        net, places, up = self.city.lifelines, self.places, state.comp_up
        power = np.ones(len(places.drive_node), dtype=bool)
        if len(net.power_sources):
            has = places.power_zone >= 0
            power[has] = up[net.power_sources][places.power_zone[has]]
        tank = net.water_tank
        zone_water = np.where(tank >= 0, up[np.maximum(tank, 0)], True)
        water = zone_water[places.water_zone]
        signal = np.zeros(len(power), dtype=bool)
        if len(places.cover_node):
            working = up[net.site_rows][places.cover_site]
            signal[places.cover_node[working]] = True
        return {"power": power, "water": water, "telecom": signal, "health": self._health(state, t_s)}

    def _health(self, state: SimState, t_s: float) -> np.ndarray:
        """Care within reach: recomputed when links close or open or a hospital stops or restarts, and every
        ``access_every`` for the speed factors in between (as the recorder measures ``Q_access``)."""
        hospitals = (self.city.facilities["kind"] == "hospital").to_numpy()
        key = state.link_closed().tobytes() + state.comp_up[hospitals].tobytes()
        if key != self._key or t_s - self._at_s >= self.every_s - 1e-9:
            self._key, self._at_s = key, t_s
            times = access_to_care(self.city, state, self.tau_s).time_to_care_s
            self._care = times[self.places.drive_node] <= self.tau_s
        return self._care

    def arrays(self) -> dict[str, np.ndarray]:
        """The cached access to care, when and on which network it was measured (for checkpoints)."""
        return {
            "care": self._care,
            "care_at_s": np.array([self._at_s]),
            "care_key": np.frombuffer(self._key, dtype=np.uint8),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self._care = np.array(arrays["care"], dtype=bool)
        self._at_s = float(arrays["care_at_s"][0])
        self._key = np.asarray(arrays["care_key"], dtype=np.uint8).tobytes()


def depth_at_nodes(state: SimState, places: Places) -> np.ndarray:
    """Water depth (m) at each walkable node's grid cell; 0 outside the grid or where NaN."""
    flat = state.water_depth_m.reshape(-1)
    depth = np.where(places.cell >= 0, flat[np.maximum(places.cell, 0)], 0.0)
    return np.fmax(depth, 0.0)
