"""SUMO's mesoscopic mode on a benchmark input (:class:`twin.traffic.peers.PeerInput`), returning its figures.

SUMO's mesoscopic model (MESO, ``sumo --mesosim``) is the queue model of Eissfeldt ("Vehicle-based modelling of
traffic", 2004): each edge is cut into segments of about 98 m, each segment is a FIFO queue, and a vehicle leaves a
segment at the later of its free-flow exit time and the queue's block time, which advances by a time headway that
depends on whether the segment and the next one are free or jammed (``--meso-tauff``, ``--meso-taufj``,
``--meso-taujf``, ``--meso-taujj``) plus the vehicle's length with gap over the edge speed. See the SUMO
documentation, "Mesoscopic simulation" (https://sumo.dlr.de/docs/Simulation/Meso.html).

The network is built with netconvert from plain XML (one edge per link, edge id = link row number, junction id =
node number, edge length forced to ``length_m``), the demand is one ``<flow>`` per OD row between junctions
(``--junction-taz``), and every vehicle has a rerouting device, so routes follow the current travel times.

Run: ``python benchmarks/peer_sumo.py`` (the 11 x 11 grid once, seed 0; prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.traffic.peers import PeerInput, grid_11x11

GRID_TMAX_S = 7200.0
PARALLEL_OFFSET_M = 10.0  # sideways bend given to each extra link between the same two nodes (netconvert would join)
REROUTING = (
    "--device.rerouting.probability",
    "1",
    "--device.rerouting.period",
    "300",
    "--device.rerouting.adaptation-interval",
    "10",
)


def sumo_binary(name: str) -> str:
    """Path of a SUMO binary (``sumo``, ``netconvert``) from the ``eclipse-sumo`` wheel.

    Parameters
    ----------
    name : str
        Binary name.

    Returns
    -------
    str
        Its path under ``SUMO_HOME/bin``.
    """
    import sumo

    return os.path.join(sumo.SUMO_HOME, "bin", name)


def sumo_environment() -> dict[str, str]:
    """This process's environment with ``SUMO_HOME`` set (SUMO validates its XML against the schemas there).

    Returns
    -------
    dict[str, str]
        Environment for SUMO's subprocesses.
    """
    import sumo

    return {**os.environ, "SUMO_HOME": sumo.SUMO_HOME}


def write_nodes(case: PeerInput, path: Path) -> None:
    """Write ``case``'s nodes to the plain-XML node file ``path``: one priority junction per node, id = node number."""
    root = ET.Element("nodes")
    for i, x, y in zip(case.nodes.index, case.nodes["x"], case.nodes["y"], strict=True):
        ET.SubElement(root, "node", id=str(int(i)), x=repr(float(x)), y=repr(float(y)), type="priority")
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def _bend(case: PeerInput, src: int, dst: int, rank: int) -> str:
    """Shape of the ``rank``-th extra link between ``src`` and ``dst``: a midpoint pushed sideways."""
    (x0, y0), (x1, y1) = case.nodes.loc[src, ["x", "y"]], case.nodes.loc[dst, ["x", "y"]]
    dx, dy = x1 - x0, y1 - y0
    norm = max(float(np.hypot(dx, dy)), 1e-9)
    off = PARALLEL_OFFSET_M * rank
    mx, my = (x0 + x1) / 2 - dy / norm * off, (y0 + y1) / 2 + dx / norm * off
    return f"{x0},{y0} {mx},{my} {x1},{y1}"


def write_edges(case: PeerInput, path: Path) -> None:
    """Write ``case``'s links to the plain-XML edge file ``path``: one edge per link (id = row number), length
    forced to ``length_m``.

    netconvert joins edges that connect the same two nodes along the same geometry, so every extra parallel link
    gets a bent shape; its length is still the forced ``length_m``.
    """
    root = ET.Element("edges")
    seen: dict[tuple[int, int], int] = {}
    for i, row in enumerate(case.links.to_dict("records")):
        src, dst = int(row["src"]), int(row["dst"])
        rank = seen.get((src, dst), 0)
        seen[(src, dst)] = rank + 1
        edge = ET.SubElement(
            root,
            "edge",
            id=str(i),
            attrib={"from": str(src), "to": str(dst)},
            length=repr(float(row["length_m"])),
            speed=repr(float(row["free_speed_mps"])),
            numLanes=str(int(row["lanes"])),
            priority="1",
        )
        if rank:
            edge.set("shape", _bend(case, src, dst, rank))
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def build_network(case: PeerInput, workdir: Path) -> Path:
    """Build the SUMO network with netconvert (no turnarounds, no junction-internal lanes).

    Internal lanes would add the junction's size (about 14 m here) to every route and travel time, so a trip would
    no longer be the sum of ``length_m``; meso without ``--meso-junction-control`` ignores junction logic anyway.

    Parameters
    ----------
    case : PeerInput
        The benchmark input.
    workdir : Path
        Folder for the plain-XML inputs and the network.

    Returns
    -------
    Path
        The ``.net.xml`` file.
    """
    nodes, edges, net = workdir / "nodes.nod.xml", workdir / "edges.edg.xml", workdir / "net.net.xml"
    write_nodes(case, nodes)
    write_edges(case, edges)
    command = [
        sumo_binary("netconvert"),
        "--node-files",
        str(nodes),
        "--edge-files",
        str(edges),
        "--output-file",
        str(net),
        "--no-turnarounds",
        "--no-internal-links",
        "--no-warnings",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True, env=sumo_environment())
    return net


def vtype_attributes(case: PeerInput) -> dict[str, str]:
    """The single vehicle type: jam spacing (length + minGap) = 1 / jam density, tau 1 s, no speed deviation.

    Parameters
    ----------
    case : PeerInput
        The benchmark input (its median link jam density is used: SUMO has one spacing per vehicle type).

    Returns
    -------
    dict[str, str]
        ``vType`` attributes; for 0.2 veh/m, length 2.5 m and minGap 2.5 m.
    """
    half = 0.5 / float(case.links["jam_density_veh_m"].median())
    return {"id": "car", "length": repr(half), "minGap": repr(half), "tau": "1.0", "speedDev": "0"}


def write_routes(case: PeerInput, path: Path) -> int:
    """Write ``case``'s demand to ``path``: one ``<flow>`` per OD row (id = row number), ``round(volume)``
    vehicles over its window; returns the vehicles inserted (rows rounding to 0 are left out)."""
    root = ET.Element("routes")
    ET.SubElement(root, "vType", vtype_attributes(case))
    total = 0
    order = np.argsort(case.demand["t_start"].to_numpy(float), kind="stable")  # SUMO wants sorted departures
    for i in order:
        row = case.demand.iloc[i]
        number = round(float(row["volume"]))
        if number <= 0:
            continue
        total += number
        ET.SubElement(
            root,
            "flow",
            id=str(int(i)),
            type="car",
            fromJunction=str(int(row["orig"])),
            toJunction=str(int(row["dest"])),
            begin=repr(float(row["t_start"])),
            end=repr(float(row["t_end"])),
            number=str(number),
        )
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return total


def run_meso(net: Path, routes: Path, workdir: Path, tmax_s: float, seed: int) -> float:
    """Run ``sumo --mesosim`` with dynamic rerouting; write tripinfo and statistics to ``workdir``.

    Parameters
    ----------
    net, routes : Path
        The network and the demand.
    workdir : Path
        Folder for ``tripinfo.xml`` and ``statistics.xml``.
    tmax_s : float
        Simulated horizon (s).
    seed : int
        SUMO's random seed.

    Returns
    -------
    float
        Wall time of the SUMO run (s).
    """
    command = [
        sumo_binary("sumo"),
        "--net-file",
        str(net),
        "--route-files",
        str(routes),
        "--mesosim",
        "true",
        "--seed",
        str(seed),
        "--begin",
        "0",
        "--end",
        repr(float(tmax_s)),
        "--junction-taz",
        "--no-step-log",
        "--no-warnings",
        "--duration-log.disable",
        *REROUTING,
        "--tripinfo-output",
        str(workdir / "tripinfo.xml"),
        "--statistic-output",
        str(workdir / "statistics.xml"),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, env=sumo_environment())
    return time.perf_counter() - start


def read_trips(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Completed trips from a tripinfo file.

    Parameters
    ----------
    path : Path
        ``tripinfo.xml``.

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        OD row of each completed trip (from the flow id) and its travel time from the scheduled departure
        (duration + departDelay, s).
    """
    rows, times = [], []
    context = ET.iterparse(path, events=("start", "end"))
    _, root = next(context)
    for event, elem in context:
        if event == "end" and elem.tag == "tripinfo":
            if float(elem.get("arrival", "-1")) >= 0:
                rows.append(int(elem.get("id", "").rsplit(".", 1)[0]))
                times.append(float(elem.get("duration", "nan")) + float(elem.get("departDelay", "0")))
            root.clear()
    return np.asarray(rows, dtype=np.int64), np.asarray(times, dtype=float)


def read_teleports(path: Path) -> int:
    """Total teleports from a ``--statistic-output`` file.

    Parameters
    ----------
    path : Path
        ``statistics.xml``.

    Returns
    -------
    int
        The ``total`` of its ``teleports`` element (0 when absent).
    """
    element = ET.parse(path).getroot().find("teleports")
    return int(element.get("total", "0")) if element is not None else 0


def free_flow_times(case: PeerInput) -> np.ndarray:
    """Free-flow shortest-path time of each OD row (s), Dijkstra on ``length_m / free_speed_mps``.

    Parameters
    ----------
    case : PeerInput
        The benchmark input.

    Returns
    -------
    np.ndarray
        One time per demand row (inf when unreachable).
    """
    n = len(case.nodes)
    fastest = (
        (case.links["length_m"] / case.links["free_speed_mps"]).groupby([case.links["src"], case.links["dst"]]).min()
    )  # parallel links: the faster one
    src, dst = (fastest.index.get_level_values(k).to_numpy() for k in (0, 1))
    graph = sp.csr_matrix((fastest.to_numpy(float), (src, dst)), shape=(n, n))
    origins, inverse = np.unique(case.demand["orig"].to_numpy(), return_inverse=True)
    times = csgraph.dijkstra(graph, indices=origins)
    return times[inverse, case.demand["dest"].to_numpy()]


def run_sumo(case: PeerInput, tmax_s: float, seed: int, workdir: Path | None = None) -> dict[str, float]:
    """SUMO's mesoscopic model on ``case``; figures comparable with twin's and UXsim's.

    Parameters
    ----------
    case : PeerInput
        The benchmark input.
    tmax_s : float
        Simulated horizon (s).
    seed : int
        SUMO's random seed.
    workdir : Path or None
        Folder for SUMO's inputs and outputs; a temporary folder (removed afterwards) when None.

    Returns
    -------
    dict[str, float]
        ``wall_s`` (the SUMO run only, not netconvert), ``completed`` (vehicles that arrived), ``vehicles`` (the
        sum of the ``round(volume)`` numbers inserted as flows), ``mean_travel_time_s`` (duration + departDelay,
        i.e. from the scheduled departure, over completed vehicles), ``mean_delay_s`` (that minus the OD pair's
        free-flow shortest-path time) and ``teleports`` (SUMO's default teleporting is kept, after 300 s stuck).
    """
    if workdir is None:
        with tempfile.TemporaryDirectory() as folder:
            return run_sumo(case, tmax_s, seed, Path(folder))
    net = build_network(case, workdir)
    vehicles = write_routes(case, workdir / "demand.rou.xml")
    wall = run_meso(net, workdir / "demand.rou.xml", workdir, tmax_s, seed)
    rows, travel = read_trips(workdir / "tripinfo.xml")
    delay = travel - free_flow_times(case)[rows]
    done = len(travel) > 0
    return {
        "wall_s": wall,
        "completed": float(len(travel)),
        "vehicles": float(vehicles),
        "mean_travel_time_s": float(travel.mean()) if done else float("nan"),
        "mean_delay_s": float(delay.mean()) if done else float("nan"),
        "teleports": float(read_teleports(workdir / "statistics.xml")),
    }


def main() -> None:
    """Run the 11 x 11 grid once (seed 0, 7200 s) and print the figures as JSON."""
    argparse.ArgumentParser(prog="benchmarks/peer_sumo.py", description=__doc__.split("\n\n")[0]).parse_args()
    print(json.dumps(run_sumo(grid_11x11(), GRID_TMAX_S, seed=0)))


if __name__ == "__main__":
    main()
