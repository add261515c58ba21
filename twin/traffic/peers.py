"""Inputs shared with peer traffic models (UXsim, SUMO) for side-by-side benchmarks.

* :func:`grid_11x11`: UXsim's large demo (its README's "large scale scenario"): 11 x 11 nodes 1 km apart, a
  1000 m link each way between neighbours (free speed 20 m/s, jam density 0.2 veh/m, one lane), demand from every
  west-edge node to every east-edge node and back, and from every south-edge node to every north-edge node and
  back, 0.035 veh/s per pair for t in [0, 3600) s. UXsim's capacity follows from its triangular fundamental
  diagram with a 1 s reaction time: w = 1 / (tau k_j) = 5 m/s, q = u k_j w / (u + w) = 0.8 veh/s.
* :func:`chicago_sketch`: the TNTP Chicago Sketch network as UXsim's demo stores it (nodes, links, demand CSVs);
  its path is an argument and the data is never copied into the project (research-only licence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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


def uxsim_capacity(free_speed_mps: float, jam_density_veh_m: float) -> float:
    """UXsim's per-lane capacity: ``q = u k_j w / (u + w)`` with ``w = 1 / (tau k_j)``, tau = 1 s (veh/s)."""
    w = 1.0 / (REACTION_TIME_S * jam_density_veh_m)
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
    links = pd.DataFrame({"src": src, "dst": dst, "length_m": GRID_SPACING_M, "free_speed_mps": GRID_SPEED_MPS,
                          "lanes": 1, "capacity_veh_s": uxsim_capacity(GRID_SPEED_MPS, GRID_JAM_VEH_M),
                          "jam_density_veh_m": GRID_JAM_VEH_M})
    west, east, south, north = ids[:, 0], ids[:, -1], ids[0, :], ids[-1, :]
    od = [(o, d) for a, b in ((west, east), (south, north)) for o in a for d in b]
    od += [(d, o) for o, d in od]
    demand = pd.DataFrame({"orig": [o for o, _ in od], "dest": [d for _, d in od], "t_start": 0.0,
                           "t_end": GRID_DEMAND_END_S, "volume": GRID_RATE_VEH_S * GRID_DEMAND_END_S})
    return PeerInput(nodes, links, demand)


def chicago_sketch(folder: Path) -> PeerInput:
    """Chicago Sketch from UXsim's demo CSVs in ``folder`` (nodes.csv, links.csv, demand.csv)."""
    nodes = pd.read_csv(folder / "nodes.csv")
    links = pd.read_csv(folder / "links.csv")
    demand = pd.read_csv(folder / "demand.csv")
    index = pd.Series(np.arange(len(nodes)), index=nodes["name"])
    lanes = links["number_of_lanes"].fillna(1).astype(int)
    table = pd.DataFrame({
        "src": index[links["start_node"]].to_numpy(), "dst": index[links["end_node"]].to_numpy(),
        "length_m": links["length"].astype(float), "free_speed_mps": links["free_speed_mps"] if
        "free_speed_mps" in links else links["free_flow_speed"].astype(float),
        "lanes": lanes, "capacity_veh_s": links["capacity_out"].astype(float) / lanes,
        "jam_density_veh_m": GRID_JAM_VEH_M,
    })
    od = pd.DataFrame({"orig": index[demand["orig"]].to_numpy(), "dest": index[demand["dest"]].to_numpy(),
                       "t_start": demand["t_start"].astype(float), "t_end": demand["t_end"].astype(float),
                       "volume": demand["volume"].astype(float)})
    return PeerInput(nodes[["x", "y"]].astype(float), table, od)


def expand_demand(demand: pd.DataFrame, platoon: int = 1) -> pd.DataFrame:
    """Vehicles (platoons of ``platoon``) departing evenly over each OD row's window, as twin's OD table.

    Row i with volume V over [t0, t1) gives floor(V / platoon) platoons at ``t0 + (k + 1/2) (t1 - t0) / n``: the
    fractional remainder is dropped, as UXsim drops it, and the count is reported from the input anyway.
    """
    count = np.floor(demand["volume"].to_numpy(float) / platoon).astype(np.int64)
    row = np.repeat(np.arange(len(demand)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    t0, t1 = demand["t_start"].to_numpy(float)[row], demand["t_end"].to_numpy(float)[row]
    return pd.DataFrame({"origin": demand["orig"].to_numpy()[row], "destination": demand["dest"].to_numpy()[row],
                         "departure_s": t0 + (k + 0.5) * (t1 - t0) / count[row], "platoon": platoon})
