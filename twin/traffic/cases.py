"""Small validation cases of the traffic model, each with its answer from the link transmission model.

Every case uses UXsim's default fundamental diagram per lane (free speed ``u = 20`` m/s, jam density
``k_j = 0.2`` veh/m, reaction time 1 s, so a backward wave ``w = 5`` m/s and a capacity ``q = 0.8`` veh/s;
:func:`twin.traffic.peers.uxsim_capacity`), 1000 m links unless said otherwise, and vehicles departing at whole
seconds so that UXsim per vehicle (``deltan = 1``, 1 s steps) departs them at the same instants:

* ``free_flow``: one link, 0.5 veh/s for 600 s; every vehicle takes ``L / u = 50`` s.
* ``bottleneck``: link 0 (500 m) then link 1 whose capacity drops to 0.4 veh/s (a lane drop; UXsim's
  ``capacity_in``), 0.5 veh/s for 1200 s: the queue grows on link 0 at 0.1 veh/s and spills back to the origin
  once link 0 holds its 100 vehicles (at 500 s).
* ``merge``: approaches 0 and 1 into link 2, 0.5 veh/s each (departures at even and odd seconds) for 600 s:
  1 veh/s for a link that takes 0.8 veh/s, so both approaches queue.
* ``diverge``: link 0 splits into link 1 (to node 2) and link 2 (to node 3), which feeds link 3 whose capacity
  drops to 0.1 veh/s; 0.5 veh/s for 1500 s, every other vehicle for each branch. Link 2's queue fills it (200
  vehicles) and spills back over the diverge, where the vehicles for the free branch wait behind those for the
  full one (first in, first out: Daganzo 1995's FIFO diverge).
* ``grid2x2``: a 2 x 2 grid of one-lane streets both ways with four crossing flows along its diagonals (each
  with two routes of equal length), 1 veh/s each for 600 s: every link is asked for 1 veh/s (half a flow
  starting there, half a flow passing through), more than its 0.8.

:func:`reference_arrivals` gives the link transmission model's answer (Yperman 2007; Newell 1993's kinematic
wave on triangular links, which the LTM solves exactly per link) vehicle by vehicle for the cases where every
vehicle's path is fixed and first in, first out on its first link orders them (free flow, bottleneck,
diverge): a plain sequential recursion over vehicles in departure order, independent of the simulator.
:func:`in_platoons` gives a case's flows in platoons (the same rate, a platoon of ``p`` every ``p`` vehicles),
which the recursion takes as units of ``p`` vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.traffic.network import TrafficNetwork
from twin.traffic.peers import GRID_JAM_VEH_M, GRID_SPEED_MPS, uxsim_capacity

SPEED_MPS = GRID_SPEED_MPS
JAM_VEH_M = GRID_JAM_VEH_M
CAPACITY_VEH_S = float(uxsim_capacity(SPEED_MPS, JAM_VEH_M))  # 0.8 veh/s
WAVE_MPS = 1.0 / JAM_VEH_M  # w = 1 / (tau k_j) with tau = 1 s: 5 m/s


@dataclass(frozen=True)
class SmallCase:
    """A small network and its vehicles.

    Attributes
    ----------
    name, title
        Short name and one-line description.
    nodes
        ``x``, ``y`` (m) per node (row = node id).
    links
        ``src``, ``dst``, ``length_m``, ``free_speed_mps``, ``lanes``, ``capacity_veh_s`` (what the link takes in
        and lets out) and ``jam_density_veh_m``; UXsim gets the fundamental diagram from ``free_speed_mps`` and
        ``jam_density_veh_m`` and the capacity where it is below the diagram's as its ``capacity_in``.
    demand
        ``origin``, ``destination``, ``departure_s`` (whole seconds), one row per vehicle, by departure.
    paths
        Each vehicle's links when the network leaves it no choice (None for the grid).
    until_s
        When every vehicle has arrived in both models.
    """

    name: str
    title: str
    nodes: pd.DataFrame
    links: pd.DataFrame
    demand: pd.DataFrame
    paths: list[list[int]] | None
    until_s: float

    def network(self) -> TrafficNetwork:
        """The case as twin's network."""
        return TrafficNetwork.from_frames(len(self.nodes), self.links)


def _links(rows: list[tuple[int, int, float]], capacity: dict[int, float] | None = None) -> pd.DataFrame:
    """Links ``(src, dst, length)`` with the default diagram; ``capacity`` lowers some links' capacities."""
    table = pd.DataFrame(rows, columns=["src", "dst", "length_m"])
    table["free_speed_mps"] = SPEED_MPS
    table["lanes"] = 1
    table["capacity_veh_s"] = CAPACITY_VEH_S
    for link, value in (capacity or {}).items():
        table.loc[link, "capacity_veh_s"] = value
    table["jam_density_veh_m"] = JAM_VEH_M
    return table


def _nodes(xy: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(xy, columns=["x", "y"], dtype=float)


def _vehicles(origin: np.ndarray, destination: np.ndarray, departure: np.ndarray) -> pd.DataFrame:
    order = np.argsort(departure, kind="stable")
    return pd.DataFrame(
        {"origin": origin[order], "destination": destination[order], "departure_s": departure[order].astype(float)}
    )


def free_flow() -> SmallCase:
    """One 1000 m link, a vehicle every 2 s for 600 s."""
    dep = np.arange(0, 600, 2)
    return SmallCase(
        "free_flow",
        "one link at free flow (0.5 veh/s, capacity 0.8)",
        _nodes([(0, 0), (1000, 0)]),
        _links([(0, 1, 1000.0)]),
        _vehicles(np.zeros(dep.size, int), np.ones(dep.size, int), dep),
        [[0]] * dep.size,
        800.0,
    )


def bottleneck() -> SmallCase:
    """Link 0 (500 m, 0.8 veh/s) then link 1 (1000 m, 0.4 veh/s), a vehicle every 2 s for 1200 s."""
    dep = np.arange(0, 1200, 2)
    return SmallCase(
        "bottleneck",
        "a capacity drop from 0.8 to 0.4 veh/s, 0.5 veh/s arriving: the queue spills back to the origin",
        _nodes([(0, 0), (500, 0), (1500, 0)]),
        _links([(0, 1, 500.0), (1, 2, 1000.0)], {1: 0.4}),
        _vehicles(np.zeros(dep.size, int), np.full(dep.size, 2), dep),
        [[0, 1]] * dep.size,
        1800.0,
    )


def merge() -> SmallCase:
    """Approaches 0 -> 2 and 1 -> 2 into 2 -> 3; 0.5 veh/s from each (even and odd seconds) for 600 s."""
    a, b = np.arange(0, 600, 2), np.arange(1, 600, 2)
    origin = np.concatenate((np.zeros(a.size, int), np.ones(b.size, int)))
    return SmallCase(
        "merge",
        "two approaches of 0.5 veh/s merging into a link of 0.8 veh/s",
        _nodes([(0, 500), (0, -500), (866, 0), (1866, 0)]),
        _links([(0, 2, 1000.0), (1, 2, 1000.0), (2, 3, 1000.0)]),
        _vehicles(origin, np.full(origin.size, 3), np.concatenate((a, b))),
        [[0, 2], [1, 2]] * a.size,
        1200.0,
    )


def diverge() -> SmallCase:
    """Link 0 (0 -> 1) splits into 1 -> 2 (link 1) and 1 -> 3 (link 2, then 3 -> 4 at 0.1 veh/s, link 3)."""
    dep = np.arange(0, 1500, 2)
    dest = np.where(np.arange(dep.size) % 2 == 0, 2, 4)
    paths = [[0, 1] if d == 2 else [0, 2, 3] for d in dest]
    return SmallCase(
        "diverge",
        "a diverge whose one branch spills back (0.5 veh/s, half to a branch that lets 0.1 veh/s out)",
        _nodes([(0, 0), (1000, 0), (1866, 500), (1866, -500), (2866, -500)]),
        _links([(0, 1, 1000.0), (1, 2, 1000.0), (1, 3, 1000.0), (3, 4, 1000.0)], {3: 0.1}),
        _vehicles(np.zeros(dep.size, int), dest, dep),
        paths,
        4000.0,
    )


def grid2x2() -> SmallCase:
    """Nodes 0 (0, 0), 1 (1000, 0), 2 (0, 1000), 3 (1000, 1000), streets both ways; 1 veh/s on each of the flows
    0 -> 3, 3 -> 0, 1 -> 2 and 2 -> 1 for 600 s."""
    streets = [(0, 1), (2, 3), (0, 2), (1, 3)]
    rows = [(a, b, 1000.0) for a, b in streets] + [(b, a, 1000.0) for a, b in streets]
    dep = np.arange(0, 600)
    ods = [(0, 3), (3, 0), (1, 2), (2, 1)]
    origin = np.concatenate([np.full(dep.size, o) for o, _ in ods])
    destination = np.concatenate([np.full(dep.size, d) for _, d in ods])
    return SmallCase(
        "grid2x2",
        "a 2 x 2 grid with four crossing flows of 1 veh/s (two routes each; every link loaded over capacity)",
        _nodes([(0, 0), (1000, 0), (0, 1000), (1000, 1000)]),
        _links(rows),
        _vehicles(origin, destination, np.tile(dep, len(ods))),
        None,
        3600.0,
    )


def in_platoons(case: SmallCase, size: int) -> SmallCase:
    """``case`` with each origin-destination flow in platoons of ``size``: the flow's 1st, ``size + 1``-th...
    vehicle stands for itself and the ``size - 1`` after it (a ``platoon`` column), so the rate is kept."""
    demand = case.demand
    rank = demand.groupby(["origin", "destination"]).cumcount().to_numpy()
    keep = rank % size == 0
    platoons = demand[keep].reset_index(drop=True).assign(platoon=size)
    paths = None if case.paths is None else [p for p, k in zip(case.paths, keep, strict=True) if k]
    return SmallCase(
        case.name, f"{case.title}, in platoons of {size}", case.nodes, case.links, platoons, paths, case.until_s
    )


CASES = {"free_flow": free_flow, "bottleneck": bottleneck, "merge": merge, "diverge": diverge, "grid2x2": grid2x2}
"""Every case by name."""


def reference_times(case: SmallCase) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Arrival time of each vehicle of ``case`` in the link transmission model (Yperman 2007), vehicle by vehicle,
    and each link's entry and exit times (its cumulative inflow and outflow curves ``N(x, t)`` at both ends).

    For vehicles on fixed paths taken in departure order (first in, first out on every link, which holds
    when one origin feeds everything), each link ``l`` (length ``L``, free speed ``v``, capacity ``c``, backward
    wave ``w``, storage ``S = k_j L``) is, in continuous time:

    * entered no sooner than ``p / c`` after the vehicle before (its inflow capacity; ``p`` the vehicles the one
      before stands for, 1 but in platoons) and only while ``N_in < S + N_out(t - L / w)``: a vehicle with ``W``
      vehicles in before it waits, when ``W >= S``, for the first exit after which more than ``W - S`` have
      left, plus ``L / w`` (the receiving flow; a platoon enters while any room is left);
    * left no sooner than ``L / v`` after entering and ``p / c`` after the vehicle before (its outflow capacity,
      Vickrey 1969's point queue at the downstream end, Newell 1993's sending flow); a vehicle leaves a link when
      it enters the next one.

    The recursion ``y = max(x, f_in, room)``, ``x = max(y_prev + L / v, last_exit + p_prev / c)`` is evaluated
    per vehicle in departure order. Raises ``ValueError`` for a case without fixed paths.
    """
    if case.paths is None:
        raise ValueError(f"the {case.name} case leaves route choice to the drivers: it has no fixed-path reference")
    links = case.links
    length = links["length_m"].to_numpy(float)
    speed = links["free_speed_mps"].to_numpy(float)
    capacity = links["capacity_veh_s"].to_numpy(float)
    jam = links["jam_density_veh_m"].to_numpy(float) * links["lanes"].to_numpy(float)
    wave = np.minimum(capacity / (jam - capacity / speed), speed)
    storage = np.ceil(jam * length - 1e-9).astype(int)
    demand = case.demand
    size = demand["platoon"].to_numpy(float) if "platoon" in demand else np.ones(len(demand))
    free_in = np.full(len(links), -np.inf)  # when each link's entry server is free again
    free_out = np.full(len(links), -np.inf)  # and its exit server
    exits: list[list[float]] = [[] for _ in range(len(links))]
    gone: list[list[float]] = [[0.0] for _ in range(len(links))]  # vehicles out after each exit (from 0)
    entries: list[list[float]] = [[] for _ in range(len(links))]
    entered = np.zeros(len(links))
    arrivals = np.empty(len(demand))
    for k, (ready, path) in enumerate(zip(demand["departure_s"].to_numpy(float), case.paths, strict=True)):
        at_end, previous, p = ready, -1, size[k]
        for link in path:
            y = max(at_end, free_in[link])
            if previous >= 0:  # the previous link's outflow capacity
                y = max(y, free_out[previous])
            short = entered[link] - storage[link]  # vehicles that must have left first, less one
            if short >= 0:  # the receiving flow: room freed L / w after the exit that makes it
                y = max(
                    y,
                    exits[link][int(np.searchsorted(gone[link], short, side="right")) - 1] + length[link] / wave[link],
                )
            if previous >= 0:
                free_out[previous] = y + p / capacity[previous]
                exits[previous].append(y)
                gone[previous].append(gone[previous][-1] + p)
            free_in[link] = y + p / capacity[link]
            entries[link].extend([y] * int(p))
            entered[link] += p
            at_end, previous = y + length[link] / speed[link], link
        x = max(at_end, free_out[previous])
        free_out[previous] = x + p / capacity[previous]
        exits[previous].append(x)
        gone[previous].append(gone[previous][-1] + p)
        arrivals[k] = x
    outs = [np.repeat(np.array(e), np.diff(g).astype(int)) for e, g in zip(exits, gone, strict=True)]
    return arrivals, [np.sort(e) for e in map(np.array, entries)], [np.sort(e) for e in outs]


def reference_arrivals(case: SmallCase) -> np.ndarray:
    """Arrival time of each vehicle of ``case`` in the link transmission model (:func:`reference_times`)."""
    return reference_times(case)[0]
