"""The traffic model's network: links as arrays, with their fundamental-diagram parameters and live states.

Per link (directed, integer id = row): ``src``, ``dst`` (node ids), length, free speed, lanes, outflow
capacity, storage and backward-wave speed, plus three writable arrays the engine sets before each step:
``closed``, ``speed_factor`` and ``capacity_factor`` (DESIGN.md, "Contracts between the parts").

Fundamental diagram: triangular (Newell 1993, "A simplified theory of kinematic waves"; Daganzo 1994/1995,
the cell transmission model), per lane, with free speed ``v``, capacity ``q`` (veh/s) and jam density
``k_j`` (veh/m). The critical density is ``k_c = q / v`` and the backward (congestion) wave speed is

    w = q / (k_j - q / v),

so that a full link (``k_j L`` vehicles per lane) discharging at capacity is refilled exactly when its
queue runs out: ``k_j L / q = L / v + L / w``. ``w`` is capped at ``v`` (a wave never outruns the cars);
where ``k_j <= q / v`` (a capacity too high for the jam density) ``w = v``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.city.roads import Network

#: Default jam density per lane (veh/m): one car per 7.5 m of lane, the map default (``roads.jam_spacing_m``).
DEFAULT_JAM_DENSITY_VEH_M = 1.0 / 7.5


def triangular_wave_speed(
    capacity_lane_veh_s: np.ndarray, free_speed_mps: np.ndarray, jam_density_veh_m: np.ndarray
) -> np.ndarray:
    """Backward-wave speed of the triangular fundamental diagram (Newell 1993): ``w = q / (k_j - q / v)``.

    Capped at the free speed; ``w = v`` where ``k_j <= q / v``.
    """
    gap = jam_density_veh_m - capacity_lane_veh_s / free_speed_mps
    safe = np.where(gap > 0, gap, 1.0)
    w = np.where(gap > 0, capacity_lane_veh_s / safe, free_speed_mps)
    return np.asarray(np.minimum(w, free_speed_mps), dtype=np.float64)


@dataclass
class TrafficNetwork:
    """Directed links as arrays for the traffic model (link id = index).

    Attributes
    ----------
    n_nodes
        Number of nodes; ``src`` and ``dst`` index into ``range(n_nodes)``.
    src, dst
        End nodes of each link (int32).
    length_m, free_speed_mps, lanes
        Geometry and free speed; ``lanes`` in the link's direction (>= 1).
    capacity_veh_s
        Outflow capacity of the whole link (veh/s), e.g. HCM / MATSim per-lane values x lanes.
    storage_veh
        Vehicles the link holds at jam density: ``k_j x length x lanes`` (the simulator rounds it up and
        raises it to at least ``lanes x max(1, capacity per lane x sub-step)``, see :meth:`storage_for`).
    wave_speed_mps
        Backward-wave speed ``w`` (see the module docstring); space freed at the downstream end reaches
        the upstream end ``length / w`` later (Yperman 2007).
    closed, speed_factor, capacity_factor
        Live link states, written by the engine (or a user) between steps: a closed link takes no new
        vehicle; speeds are ``free speed x speed_factor`` (a factor <= 0 closes the link); the outflow
        capacity is ``capacity x capacity_factor`` (signals without power, DESIGN.md "Lifelines").
    """

    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    length_m: np.ndarray
    free_speed_mps: np.ndarray
    lanes: np.ndarray
    capacity_veh_s: np.ndarray
    storage_veh: np.ndarray
    wave_speed_mps: np.ndarray
    closed: np.ndarray
    speed_factor: np.ndarray
    capacity_factor: np.ndarray

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.src.size)

    def free_flow_time_s(self) -> np.ndarray:
        """Free-flow travel time of each link (s): length / free speed."""
        return np.asarray(self.length_m / self.free_speed_mps)

    def backward_wave_s(self) -> np.ndarray:
        """Backward-wave travel time of each link (s): ``length / w`` (Yperman 2007's lag of the receiving flow)."""
        return np.asarray(self.length_m / self.wave_speed_mps)

    def closed_now(self) -> np.ndarray:
        """Links closed to new vehicles now: the ``closed`` flag, or a speed factor of 0 or less."""
        return np.asarray(self.closed | (self.speed_factor <= 0))

    def storage_for(self, substep_s: float) -> np.ndarray:
        """Whole vehicles a link can hold in a simulation with sub-steps of ``substep_s`` seconds.

        ``max(ceil(storage_veh), lanes x ceil(max(1, capacity per lane x substep_s)))``: rounding up keeps
        ``k_j L / q >= L / v + L / w`` (a full link sustains its capacity), and the floor lets a link shorter
        than one car, or than one sub-step's discharge, pass its capacity instead of faking gridlock.
        """
        per_lane = np.maximum(1.0, self.capacity_veh_s / self.lanes * substep_s)
        floor = self.lanes * np.ceil(per_lane - 1e-9)
        return np.asarray(np.maximum(np.ceil(self.storage_veh - 1e-9), floor), dtype=np.float64)

    @classmethod
    def from_arrays(
        cls,
        n_nodes: int,
        src: np.ndarray,
        dst: np.ndarray,
        length_m: np.ndarray,
        free_speed_mps: np.ndarray,
        capacity_veh_s: np.ndarray,
        *,
        lanes: np.ndarray | None = None,
        jam_density_veh_m: float | np.ndarray = DEFAULT_JAM_DENSITY_VEH_M,
        storage_veh: np.ndarray | None = None,
        wave_speed_mps: np.ndarray | None = None,
    ) -> TrafficNetwork:
        """Build and validate a network from per-link arrays (every problem reported at once).

        ``jam_density_veh_m`` is per lane (veh/m); ``storage_veh`` defaults to ``k_j x length x lanes`` and
        ``wave_speed_mps`` to the triangular diagram's ``w`` (module docstring).
        """
        n = len(src)
        arr = {
            "src": np.asarray(src),
            "dst": np.asarray(dst),
            "length_m": np.asarray(length_m, dtype=np.float64),
            "free_speed_mps": np.asarray(free_speed_mps, dtype=np.float64),
            "capacity_veh_s": np.asarray(capacity_veh_s, dtype=np.float64),
            "lanes": np.ones(n) if lanes is None else np.asarray(lanes, dtype=np.float64),
            "jam": np.broadcast_to(np.asarray(jam_density_veh_m, dtype=np.float64), (n,)),
        }
        _validate(n_nodes, arr)
        length, speed, lane = arr["length_m"], arr["free_speed_mps"], arr["lanes"]
        capacity = arr["capacity_veh_s"]
        if storage_veh is None:
            storage_veh = arr["jam"] * length * lane
        if wave_speed_mps is None:
            wave_speed_mps = triangular_wave_speed(capacity / lane, speed, arr["jam"])
        return cls(
            n_nodes=int(n_nodes),
            src=arr["src"].astype(np.int32),
            dst=arr["dst"].astype(np.int32),
            length_m=length.copy(),
            free_speed_mps=speed.copy(),
            lanes=lane.copy(),
            capacity_veh_s=capacity.copy(),
            storage_veh=np.asarray(storage_veh, dtype=np.float64).copy(),
            wave_speed_mps=np.asarray(wave_speed_mps, dtype=np.float64).copy(),
            closed=np.zeros(n, dtype=bool),
            speed_factor=np.ones(n),
            capacity_factor=np.ones(n),
        )

    @classmethod
    def from_frames(
        cls,
        nodes: pd.DataFrame | int,
        links: pd.DataFrame,
        *,
        jam_density_veh_m: float = DEFAULT_JAM_DENSITY_VEH_M,
    ) -> TrafficNetwork:
        """Build from node and link tables (a node's id is its row position).

        Link columns: ``src``, ``dst``, ``length_m``, free speed as ``free_speed_mps`` or ``speed_mps``,
        capacity as ``capacity_veh_s`` or ``capacity_veh_h``; optional ``lanes`` (default 1),
        ``jam_density_veh_m`` (per lane, default ``jam_density_veh_m``), ``storage_veh``, ``wave_speed_mps``.
        """
        n_nodes = nodes if isinstance(nodes, int) else len(nodes)
        problems = [
            f"links table has no {' or '.join(names)} column"
            for names in (
                ("src",),
                ("dst",),
                ("length_m",),
                ("free_speed_mps", "speed_mps"),
                ("capacity_veh_s", "capacity_veh_h"),
            )
            if not any(name in links.columns for name in names)
        ]
        if problems:
            raise TwinError("the traffic network's link table is incomplete", problems)
        speed = links["free_speed_mps"] if "free_speed_mps" in links else links["speed_mps"]
        capacity = links["capacity_veh_s"] if "capacity_veh_s" in links else links["capacity_veh_h"] / 3600.0
        optional = {
            name: links[name].to_numpy(np.float64) if name in links else None
            for name in ("lanes", "storage_veh", "wave_speed_mps")
        }
        jam = links["jam_density_veh_m"].to_numpy(np.float64) if "jam_density_veh_m" in links else jam_density_veh_m
        return cls.from_arrays(
            n_nodes,
            links["src"].to_numpy(),
            links["dst"].to_numpy(),
            links["length_m"].to_numpy(np.float64),
            speed.to_numpy(np.float64),
            capacity.to_numpy(np.float64),
            lanes=optional["lanes"],
            jam_density_veh_m=jam,
            storage_veh=optional["storage_veh"],
            wave_speed_mps=optional["wave_speed_mps"],
        )

    @classmethod
    def from_network(cls, network: Network, *, jam_density_veh_m: float = DEFAULT_JAM_DENSITY_VEH_M) -> TrafficNetwork:
        """Build from a City's drivable :class:`~twin.city.roads.Network` (its ``storage_veh`` is kept)."""
        links = network.links[["src", "dst", "length_m", "speed_mps", "lanes", "capacity_veh_h", "storage_veh"]]
        return cls.from_frames(network.n_nodes, links, jam_density_veh_m=jam_density_veh_m)


def _bad_rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:5])
    return f"{rows.size} link(s), rows {shown}{', ...' if rows.size > 5 else ''}"


def _validate(n_nodes: int, arr: dict[str, np.ndarray]) -> None:
    """Every problem of the link arrays at once, as a TwinError (a ValueError)."""
    problems = []
    if n_nodes < 1:
        problems.append(f"the network needs at least one node (got {n_nodes})")
    for name in ("src", "dst"):
        ids = arr[name]
        integral = np.issubdtype(ids.dtype, np.integer) or bool(np.all(np.isfinite(ids) & (ids == np.round(ids))))
        if not integral:
            problems.append(f"{name} must hold integer node ids")
        elif np.any(bad := (ids < 0) | (ids >= n_nodes)):
            problems.append(f"{name} is not a node id in 0..{n_nodes - 1}: {_bad_rows(bad)}")
    rules = {
        "length_m": "a length > 0 (m)",
        "free_speed_mps": "a free speed > 0 (m/s)",
        "capacity_veh_s": "a capacity > 0 (veh/s)",
        "jam": "a jam density > 0 (veh/m per lane)",
    }
    for name, rule in rules.items():
        values = arr[name]
        if np.any(bad := ~(np.isfinite(values) & (values > 0))):
            problems.append(f"each link needs {rule}: {_bad_rows(bad)}")
    if np.any(bad := ~(np.isfinite(arr["lanes"]) & (arr["lanes"] >= 1))):
        problems.append(f"each link needs lanes >= 1: {_bad_rows(bad)}")
    if problems:
        raise TwinError("the traffic network is invalid", problems)
