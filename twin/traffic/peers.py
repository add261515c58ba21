"""Inputs shared with peer traffic models (UXsim, SUMO) for side-by-side benchmarks.

* :func:`grid_11x11`: UXsim's large demo (its README's "large scale scenario"): 11 x 11 nodes 1 km apart, a
  1000 m link each way between neighbours (free speed 20 m/s, jam density 0.2 veh/m, one lane), demand from every
  west-edge node to every east-edge node and back, and from every south-edge node to every north-edge node and
  back, 0.035 veh/s per pair for t in [0, 3600) s. UXsim's capacity follows from its triangular fundamental
  diagram with a 1 s reaction time: w = 1 / (tau k_j) = 5 m/s, q = u k_j w / (u + w) = 0.8 veh/s.
* :func:`chicago_sketch`: the TNTP Chicago Sketch network as UXsim's demo stores it (nodes, links, demand CSVs);
  its path is an argument and the data is never copied into the project (research-only licence). UXsim's demo
  gives each link its TNTP capacities and the default jam density of 0.2 veh/m for the whole link; UXsim then
  discharges at most its fundamental diagram's capacity, so twin gets ``min(TNTP capacity, that capacity)`` and
  the same storage (0.2 veh/m per link), and UXsim gets the TNTP capacities as its demo does.
* :func:`evacuation`: a city's evacuation: cars from homes (drawn by residents) to the nearest shelter still
  reachable, departing evenly over an hour, with the links along the rivers closed (removed from the tables, so
  that every model routes around them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import shapely

from twin.traffic.network import TrafficNetwork

if TYPE_CHECKING:
    from twin.city.build import City

GRID_SIZE = 11
GRID_SPACING_M = 1000.0
GRID_SPEED_MPS = 20.0
GRID_JAM_VEH_M = 0.2
GRID_RATE_VEH_S = 0.035
GRID_DEMAND_END_S = 3600.0
REACTION_TIME_S = 1.0


@dataclass(frozen=True)
class PeerInput:
    """A network (nodes with x, y; links with src, dst, length_m, free_speed_mps, lanes, capacity_veh_s,
    jam_density_veh_m) and a demand (orig, dest, t_start, t_end, volume: vehicles spread evenly over the window)."""

    nodes: pd.DataFrame
    links: pd.DataFrame
    demand: pd.DataFrame

    @property
    def trips(self) -> float:
        """Vehicles in the demand, counted from the input (before any model's rounding)."""
        return float(self.demand["volume"].sum())


def uxsim_capacity(
    free_speed_mps: float | np.ndarray, jam_density_veh_m: float | np.ndarray, lanes: float | np.ndarray = 1
) -> float | np.ndarray:
    """UXsim's link capacity: ``q = u k_j w / (u + w)`` with ``w = lanes / (tau k_j)``, tau = 1 s (veh/s).

    ``k_j`` is the link's jam density (UXsim's ``jam_density``, for all its lanes together).
    """
    w = lanes / (REACTION_TIME_S * jam_density_veh_m)
    return free_speed_mps * jam_density_veh_m * w / (free_speed_mps + w)


def grid_11x11() -> PeerInput:
    """UXsim's 11 x 11 grid demo (121 nodes, 440 links, about 60,500 vehicles)."""
    n = GRID_SIZE
    ids = np.arange(n * n).reshape(n, n)  # ids[row (y), col (x)]
    x, y = np.meshgrid(np.arange(n) * GRID_SPACING_M, np.arange(n) * GRID_SPACING_M)
    nodes = pd.DataFrame({"x": x.ravel(), "y": y.ravel()})
    pairs = [(ids[r, c], ids[r, c + 1]) for r in range(n) for c in range(n - 1)]
    pairs += [(ids[r, c], ids[r + 1, c]) for r in range(n - 1) for c in range(n)]
    src = np.array([a for a, b in pairs] + [b for a, b in pairs])
    dst = np.array([b for a, b in pairs] + [a for a, b in pairs])
    links = pd.DataFrame(
        {
            "src": src,
            "dst": dst,
            "length_m": GRID_SPACING_M,
            "free_speed_mps": GRID_SPEED_MPS,
            "lanes": 1,
            "capacity_veh_s": uxsim_capacity(GRID_SPEED_MPS, GRID_JAM_VEH_M),
            "jam_density_veh_m": GRID_JAM_VEH_M,
        }
    )
    west, east, south, north = ids[:, 0], ids[:, -1], ids[0, :], ids[-1, :]
    od = [(o, d) for a, b in ((west, east), (south, north)) for o in a for d in b]
    od += [(d, o) for o, d in od]
    demand = pd.DataFrame(
        {
            "orig": [o for o, _ in od],
            "dest": [d for _, d in od],
            "t_start": 0.0,
            "t_end": GRID_DEMAND_END_S,
            "volume": GRID_RATE_VEH_S * GRID_DEMAND_END_S,
        }
    )
    return PeerInput(nodes, links, demand)


def chicago_sketch(folder: Path) -> PeerInput:
    """Chicago Sketch from UXsim's demo CSVs in ``folder`` (nodes.csv, links.csv, demand.csv).

    Links carry ``uxsim_capacity_out`` and ``uxsim_capacity_in`` (the TNTP values UXsim's demo passes),
    ``capacity_veh_s`` (what UXsim can discharge: the smaller of the TNTP capacity and its fundamental diagram's)
    and ``jam_density_veh_m`` per lane (0.2 veh/m for the link, UXsim's default, split over its lanes).
    """
    nodes = pd.read_csv(folder / "nodes.csv")
    links = pd.read_csv(folder / "links.csv")
    demand = pd.read_csv(folder / "demand.csv")
    index = pd.Series(np.arange(len(nodes)), index=nodes["name"])
    lanes = links["number_of_lanes"].fillna(1).astype(int).to_numpy()
    speed = (links["free_speed_mps"] if "free_speed_mps" in links else links["free_flow_speed"]).to_numpy(float)
    capacity_out = links["capacity_out"].astype(float).to_numpy()
    table = pd.DataFrame(
        {
            "src": index[links["start_node"]].to_numpy(),
            "dst": index[links["end_node"]].to_numpy(),
            "length_m": links["length"].astype(float).to_numpy(),
            "free_speed_mps": speed,
            "lanes": lanes,
            "capacity_veh_s": np.minimum(capacity_out, uxsim_capacity(speed, GRID_JAM_VEH_M, lanes)),
            "jam_density_veh_m": GRID_JAM_VEH_M / lanes,
            "uxsim_capacity_out": capacity_out,
            "uxsim_capacity_in": links["capacity_in"].astype(float).to_numpy(),
        }
    )
    od = pd.DataFrame(
        {
            "orig": index[demand["orig"]].to_numpy(),
            "dest": index[demand["dest"]].to_numpy(),
            "t_start": demand["t_start"].astype(float),
            "t_end": demand["t_end"].astype(float),
            "volume": demand["volume"].astype(float),
        }
    )
    return PeerInput(nodes[["x", "y"]].astype(float), table, od)


def evacuation(
    city: City, cars: int = 15_000, seed: int = 0, riverside_m: float = 30.0, duration_s: float = 3600.0
) -> PeerInput:
    """``cars`` cars from homes (drawn by residents) to the nearest reachable shelter, departing evenly over
    ``duration_s``; drivable links whose middle lies within ``riverside_m`` of a river (OSM ``waterway=river``)
    are closed and left out. Homes are drawn among those that can still reach a shelter (cut-off homes shelter
    in place).

    Each link keeps twin's capacity (by road class) and storage; UXsim gets the capacity as its
    ``capacity_out`` and ``capacity_in`` and the storage as its jam density (``storage / length``).
    """
    network = TrafficNetwork.from_network(city.drive)
    nodes = city.drive.nodes
    x, y = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
    middle = shapely.points((x[network.src] + x[network.dst]) / 2, (y[network.src] + y[network.dst]) / 2)
    rivers = city.waterways.loc[city.waterways["kind"] == "river", "geometry"]
    river = shapely.union_all(shapely.from_wkb(rivers.to_numpy()))
    keep = ~shapely.dwithin(middle, river, riverside_m)
    links = pd.DataFrame(
        {
            "src": network.src,
            "dst": network.dst,
            "length_m": network.length_m,
            "free_speed_mps": network.free_speed_mps,
            "lanes": network.lanes,
            "capacity_veh_s": network.capacity_veh_s,
            "storage_veh": network.storage_veh,
            "jam_density_veh_m": network.storage_veh / network.length_m / network.lanes,
            "uxsim_capacity_out": network.capacity_veh_s,
            "uxsim_capacity_in": network.capacity_veh_s,
        }
    )[keep].reset_index(drop=True)
    shelters = city.facilities.loc[city.facilities["kind"] == "shelter", "drive_node"].to_numpy()
    times = sp.csr_matrix(
        (links["length_m"] / links["free_speed_mps"], (links["dst"], links["src"])), shape=(len(nodes), len(nodes))
    )  # reversed: from the shelters
    _, _, nearest = csgraph.dijkstra(times, indices=shelters, min_only=True, return_predecessors=True)
    node = city.homes["drive_node"].to_numpy()
    reach = (nearest[node] >= 0) & (nearest[node] != node)
    weight = city.homes["population"].to_numpy(float) * reach
    home = node[np.random.default_rng(seed).choice(node.size, cars, p=weight / weight.sum())]
    pairs = pd.DataFrame({"orig": home, "dest": nearest[home]}).value_counts().rename("volume").reset_index()
    pairs["t_start"], pairs["t_end"] = 0.0, duration_s
    demand = pairs[["orig", "dest", "t_start", "t_end", "volume"]].astype({"volume": float})
    return PeerInput(nodes[["x", "y"]].reset_index(drop=True).astype(float), links, demand)


def expand_demand(demand: pd.DataFrame, platoon: int = 1) -> pd.DataFrame:
    """Vehicles (platoons of ``platoon``) departing evenly over each OD row's window, as twin's OD table.

    Row i with volume V over [t0, t1) gives floor(V / platoon) platoons at ``t0 + (k + 1/2) (t1 - t0) / n``: the
    fractional remainder is dropped, as UXsim drops it, and the count is reported from the input anyway.
    """
    count = np.floor(demand["volume"].to_numpy(float) / platoon).astype(np.int64)
    row = np.repeat(np.arange(len(demand)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t0, t1 = demand["t_start"].to_numpy(float)[row], demand["t_end"].to_numpy(float)[row]
    return pd.DataFrame(
        {
            "origin": demand["orig"].to_numpy()[row],
            "destination": demand["dest"].to_numpy()[row],
            "departure_s": t0 + (k + 0.5) * (t1 - t0) / count[row],
            "platoon": platoon,
        }
    )


def uxsim_departures(demand: pd.DataFrame, deltan: int, reaction_time_s: float = REACTION_TIME_S) -> pd.DataFrame:
    """Vehicles (platoons of ``deltan``) released as UXsim's ``World.adddemand`` releases them, as twin's OD table.

    UXsim (Seo 2025, ``adddemand``) steps each row's window in its time step ``dt = tau x deltan`` from
    ``int(t0 / dt)`` to ``int(t1 / dt) - 1``, adding ``f += (V / (t1 - t0)) dt`` at each step ``s`` and releasing
    one platoon departing at ``s dt`` each time ``f >= deltan`` (then ``f -= deltan``). A platoon is therefore
    released once ``deltan`` vehicles have built up, late in the window for small rows, and the remainder is
    dropped. The same floating-point operations are done in the same order per row (vectorised over rows), so
    the departures match UXsim's vehicle for vehicle.
    """
    dt = reaction_time_s * deltan
    volume = demand["volume"].to_numpy(float)
    t0, t1 = demand["t_start"].to_numpy(float), demand["t_end"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_step = np.where(t1 > t0, volume / (t1 - t0), 0.0) * dt
    first = (t0 / dt).astype(np.int64)  # Python's int(): toward zero, as UXsim
    last = (t1 / dt).astype(np.int64)
    f = np.zeros(len(demand))
    rows: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for s in range(int(first.min(initial=0)), int(last.max(initial=0))):
        live = np.flatnonzero((first <= s) & (s < last))
        f[live] += per_step[live]
        due = live[f[live] >= deltan]
        while due.size:  # UXsim's ``while f >= deltan``: more than one platoon per step when the flow is high
            rows.append(due)
            steps.append(np.full(due.size, s))
            f[due] -= deltan
            due = due[f[due] >= deltan]
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    step = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    order = np.lexsort((step, row))  # UXsim adds the rows' vehicles row by row, in time
    row, step = row[order], step[order]
    return pd.DataFrame(
        {
            "origin": demand["orig"].to_numpy()[row],
            "destination": demand["dest"].to_numpy()[row],
            "departure_s": step * dt,
            "platoon": deltan,
        }
    )
