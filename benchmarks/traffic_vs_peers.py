"""twin's traffic model against UXsim and SUMO on the same network and demand, in one run.

Each model runs in its own process (so that peak memory is its own), seed by seed, and reports: wall time, peak
memory (max RSS), trips counted from the input (so a model's rounding shows), trips completed, mean travel time
(from the scheduled departure) and mean delay (travel time minus the free-flow shortest-path time) of the
completed trips.

Cases: ``grid`` (UXsim's 11 x 11 demo, 60,984 trips), ``chicago`` (Chicago Sketch, about 1.08 M trips; give
``--path`` to UXsim's demo CSVs, never copied), ``andorra`` (15,000 cars from homes to the nearest reachable
shelter over an hour, riverside links closed; twin's own node and link tables, as UXsim's OSM importer needs the
internet).

Demand: every model departs exactly UXsim's vehicles: :func:`twin.traffic.peers.uxsim_departures` applies
``adddemand``'s release rule (flow accumulated per UXsim step, a platoon of ``deltan`` released each time that many
have built up), so twin in platoons of ``P`` departs as UXsim with ``deltan = P``, and twin per vehicle as UXsim with
``deltan = 1``.

Models per case (platoon ``P``: 5 on the grid and Andorra, 30 on Chicago, UXsim's settings):
- ``twin`` in platoons of ``P`` and per vehicle, with UXsim's route-choice settings (a new shortest-path tree every
  600 s, weight 0.5, 1 % noise) and twin's own link cost (free-flow time plus the queue); sub-steps of 5 s (twin's
  default), or UXsim's own time step (``P`` seconds) for platoons larger than 5 (Chicago: 30 s; the mean travel
  time moves by 3 % against 5 s sub-steps);
- ``twin-uxcost``: the same in platoons of ``P`` with UXsim's link cost (length over the mean speed of the
  vehicles on the link), to show how much of the difference is the route choice;
- ``uxsim-cpp`` with ``deltan = P``, and with ``deltan = 1`` on one seed (``--uxsim-per-vehicle``; its time step
  is ``deltan`` seconds, so this shows UXsim's own step dependence); ``uxsim-python`` with ``--python-mode``;
- ``sumo``: SUMO's mesoscopic model (``benchmarks/peer_sumo.py``) when ``eclipse-sumo`` is installed, on the grid
  and Andorra, one run (nothing in it is random: the seed changes nothing).

Sweeps (issue 22, docs/validation-traffic.md, "Chicago Sketch"): ``--sizes 30,10,5,1`` runs twin's platoons and
UXsim's ``deltan`` at those sizes, ``--substeps 30,5`` each twin run at those sub-steps, and ``--release 30``
departs in every run the vehicles UXsim releases with ``deltan=30`` (split into each run's platoons), so that
runs at different sizes share one demand. ``--models uxsim-yield`` adds UXsim in Python mode with the trips
starting at a node let in after the traffic on the roads (:func:`entering_traffic_yields`). Every model also
reports the mean wait at the origins and the mean route length of completed trips.

Run: ``python benchmarks/traffic_vs_peers.py [grid] [andorra] [chicago --path P] [--seeds 3]``
(``make bench`` installs the ``bench`` extra with UXsim and SUMO).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.traffic.peers import REACTION_TIME_S, PeerInput, chicago_sketch, evacuation, grid_11x11, uxsim_departures

ROOT = Path(__file__).resolve().parents[1]
TMAX_S = {"grid": 7200.0, "chicago": 10000.0, "andorra": 7200.0}
PLATOON = {"grid": 5, "chicago": 30, "andorra": 5}
UXSIM_DUO: dict[str, Any] = {"reroute_every_s": 600.0, "route_memory": 0.5, "route_noise": 0.01}  # UXsim's defaults


def load_case(name: str, path: str) -> PeerInput:
    """The named case's tables."""
    if name == "grid":
        return grid_11x11()
    if name == "chicago":
        return chicago_sketch(Path(path))
    from twin.city.build import load_city

    return evacuation(load_city(ROOT / "maps" / "andorra"))


def free_flow_times(case: PeerInput, origin: np.ndarray, destination: np.ndarray) -> np.ndarray:
    """Free-flow shortest-path time of each trip (s)."""
    links = case.links
    graph = sp.csr_matrix(
        (links["length_m"] / links["free_speed_mps"], (links["src"], links["dst"])),
        shape=(len(case.nodes), len(case.nodes)),
    )
    targets, inverse = np.unique(destination, return_inverse=True)
    times = csgraph.dijkstra(graph.T.tocsr(), indices=targets)  # from each destination on reversed links
    return np.asarray(times[inverse, origin])


def peer_departures(case: PeerInput, platoon: int, release: int | None = None) -> pd.DataFrame:
    """UXsim's vehicles for ``deltan = release`` (``adddemand``'s release rule; None: ``platoon``), each released
    platoon split into platoons of ``platoon`` departing together, as twin's OD table.

    With ``release`` fixed, runs at different platoon sizes depart the same vehicles at the same times, so what
    moves between them is the platoon and not the demand (a larger ``deltan`` drops more of each OD row's
    remainder: Chicago has 968,520 vehicles at ``deltan = 30`` and 1,079,457 in its input).
    """
    release = release or platoon
    if release % platoon:
        raise ValueError(f"a release of {release} vehicles cannot be split into platoons of {platoon}")
    demand = uxsim_departures(case.demand, release)
    split = demand.loc[demand.index.repeat(release // platoon)].reset_index(drop=True)
    return split.assign(platoon=platoon)


def run_twin(
    case: PeerInput,
    name: str,
    platoon: int,
    seed: int,
    route_cost: str,
    substep_s: float | None = None,
    release: int | None = None,
) -> dict[str, float]:
    """twin on the case, departing UXsim's vehicles (:func:`peer_departures`), at sub-steps of ``substep_s`` (None:
    UXsim's step for platoons larger than 5, twin's default otherwise)."""
    from twin.sim.traffic import TrafficNetwork, TrafficOptions, simulate

    network = TrafficNetwork.from_frames(len(case.nodes), case.links)
    demand = peer_departures(case, platoon, release)
    if substep_s is None and platoon > 5:
        substep_s = platoon * REACTION_TIME_S  # UXsim's step: deltan x its 1 s tau
    step: dict[str, Any] = {"substep_s": substep_s} if substep_s is not None else {}
    cost = cast(Any, route_cost)  # one of TrafficOptions' route costs, from the command line
    options = TrafficOptions(platoon_size=platoon, record_links=False, route_cost=cost, **step, **UXSIM_DUO)
    start = time.perf_counter()
    result = simulate(network, demand, options, seed=seed, until_s=TMAX_S[name])
    wall = time.perf_counter() - start
    trips = result.trips
    done = (trips["status"] == "arrived").to_numpy()
    weight = trips["platoon"].to_numpy(float)
    free = free_flow_times(case, trips["origin"].to_numpy(), trips["destination"].to_numpy())
    figures = _figures(wall, weight, done, trips["travel_time_s"].to_numpy(float), free)
    figures["stuck"] = float(result.network["stuck"].iloc[-1])
    series = result.network  # every record_every_s (60 s): Little's law gives the mean wait at the origins
    departed = float(series["departed"].iloc[-1])
    figures["origin_wait_s"] = float(series["queued_at_origin"].sum() * options.record_every_s / departed)
    routes = trips["route_length_m"].to_numpy(float)[done]
    figures["route_km"] = float(np.average(routes, weights=weight[done]) / 1000) if done.any() else float("nan")
    figures["substep_s"] = options.substep_s
    return figures


def run_uxsim(
    case: PeerInput, name: str, deltan: int, seed: int, cpp: bool, release: int | None = None
) -> dict[str, float]:
    """UXsim on the same tables (jam density per link, and the capacities its demo passes where the case has
    them), with its own demand for ``deltan`` or, given ``release``, the vehicles of ``deltan = release``."""
    world = _uxsim_world(case, deltan, TMAX_S[name], seed, cpp, release)
    start = time.perf_counter()
    world.exec_simulation()
    wall = time.perf_counter() - start
    trips = world.analyzer.basic_to_pandas()
    return {
        "wall_s": wall,
        "completed": float(trips["completed_trips"].iloc[0]),
        "vehicles": float(trips["total_trips"].iloc[0]),
        "mean_travel_time_s": float(trips["average_travel_time"].iloc[0]),
        "mean_delay_s": float(trips["average_delay"].iloc[0]),
        **_uxsim_waits_and_routes(world, TMAX_S[name]),
    }


def _uxsim_waits_and_routes(world: Any, tmax_s: float) -> dict[str, float]:
    """Mean time in the origin queue (until the first link, or ``tmax_s``) of the vehicles departed by then, and
    mean route length of the completed trips (km), from UXsim's vehicles (platoons, all of ``deltan``)."""
    waits, routes = [], []
    for vehicle in world.VEHICLES.values():
        departure = vehicle.departure_time * world.DELTAT
        if departure >= tmax_s:
            continue
        entered = vehicle.log_t_link[1][0] if len(vehicle.log_t_link) > 1 else tmax_s
        waits.append(min(entered, tmax_s) - departure)
        if vehicle.state == "end":
            routes.append(vehicle.distance_traveled)
    return {
        "origin_wait_s": float(np.mean(waits)) if waits else float("nan"),
        "route_km": float(np.mean(routes)) / 1000 if routes else float("nan"),
    }


def _uxsim_world(case: PeerInput, deltan: int, tmax_s: float, seed: int, cpp: bool, release: int | None = None) -> Any:
    """UXsim's World on the case's tables (nodes, links, demand), not yet run.

    The demand is ``adddemand`` per OD row, or, given a ``release`` other than ``deltan``, the vehicles UXsim
    releases with ``deltan = release`` (:func:`peer_departures`), each group of ``release / deltan`` platoons added
    as a one-step ``adddemand`` of half a platoon more than their count (the half is dropped by the release
    rule, so the count does not hang on rounding).
    """
    import uxsim

    world = uxsim.World(
        name="",
        deltan=deltan,
        tmax=tmax_s,
        random_seed=seed,
        print_mode=0,
        save_mode=0,
        show_mode=0,
        no_cyclic_routing=True,
        cpp=cpp,
    )
    for i, row in case.nodes.iterrows():
        world.addNode(str(i), float(row["x"]), float(row["y"]))
    capacities = "uxsim_capacity_out" in case.links
    for i, row in case.links.iterrows():
        extra = (
            {"capacity_out": float(row["uxsim_capacity_out"]), "capacity_in": float(row["uxsim_capacity_in"])}
            if capacities
            else {}
        )
        world.addLink(
            str(i),
            str(int(row["src"])),
            str(int(row["dst"])),
            length=float(row["length_m"]),
            free_flow_speed=float(row["free_speed_mps"]),
            number_of_lanes=int(row["lanes"]),
            jam_density=float(row["jam_density_veh_m"] * row["lanes"]),
            **extra,
        )
    if release is not None and release != deltan:
        if release % deltan:
            raise ValueError(f"a release of {release} vehicles cannot be split into platoons of {deltan}")
        step = deltan * REACTION_TIME_S
        volume = (release // deltan + 0.5) * deltan
        for o, d, t in uxsim_departures(case.demand, release)[["origin", "destination", "departure_s"]].itertuples(
            index=False
        ):
            world.adddemand(str(int(o)), str(int(d)), float(t), float(t) + step, volume=volume)
        return world
    for demand_row in case.demand.to_dict("records"):
        world.adddemand(
            str(int(demand_row["orig"])),
            str(int(demand_row["dest"])),
            float(demand_row["t_start"]),
            float(demand_row["t_end"]),
            volume=float(demand_row["volume"]),
        )
    return world


def entering_traffic_yields() -> None:
    """Make UXsim's nodes (Python mode) let the trips starting at them in *after* the vehicles on the roads.

    UXsim runs ``Node.generate`` (trips leaving the node's origin queue) for every node before ``Node.transfer``
    (vehicles moving from link to link) in each step (Seo, UXsim 1.15.1, ``World.exec_simulation``), so departing
    trips take a link's room and inflow capacity first. This swaps the two within each node's turn (transfer,
    then generate), twin's order ("entering traffic yields"); nothing else of UXsim changes. A benchmark device
    to isolate that one modelling choice (its C++ mode cannot be changed from Python), in this process only.
    """
    import uxsim

    generate, transfer = uxsim.Node.generate, uxsim.Node.transfer

    def transfer_then_generate(node: Any) -> None:
        transfer(node)
        generate(node)

    uxsim.Node.generate = lambda node: None
    uxsim.Node.transfer = transfer_then_generate


def check_departures(case: PeerInput, name: str, deltan: int) -> bool:
    """Whether twin's demand (:func:`uxsim_departures`) is UXsim's own vehicles, one for one: the same
    (origin, destination, departure time) multiset as the vehicles ``adddemand`` created (Python mode: the
    vehicles are read before the run)."""
    world = _uxsim_world(case, deltan, TMAX_S[name], 0, cpp=False)
    theirs = sorted(
        (int(v.orig.name), int(v.dest.name), float(v.departure_time * world.DELTAT)) for v in world.VEHICLES.values()
    )
    demand = uxsim_departures(case.demand, deltan)
    ours = sorted(
        zip(
            demand["origin"].astype(int).tolist(),
            demand["destination"].astype(int).tolist(),
            demand["departure_s"],
            strict=True,
        )
    )
    same = theirs == ours
    print(f"  {name} deltan {deltan}: UXsim {len(theirs)} vehicles, twin {len(ours)}, identical: {same}", flush=True)
    return same


def _figures(
    wall: float, weight: np.ndarray, done: np.ndarray, travel: np.ndarray, free: np.ndarray
) -> dict[str, float]:
    w = weight[done]
    mean = (lambda v: float(np.average(v, weights=w))) if w.sum() else (lambda v: float("nan"))
    return {
        "wall_s": wall,
        "completed": float(w.sum()),
        "vehicles": float(weight.sum()),
        "mean_travel_time_s": mean(travel[done]),
        "mean_delay_s": mean(travel[done] - free[done]),
    }


def one(args: argparse.Namespace) -> None:
    """Run one model once in this process and print its figures as JSON."""
    case = load_case(args.case, args.path)
    if args.model.startswith("twin"):
        cost = "mean_speed" if args.model == "twin-uxcost" else "queue"
        figures = run_twin(case, args.case, args.platoon, args.seed, cost, args.substep, args.release)
    elif args.model == "sumo":
        sys.path.insert(0, str(Path(__file__).parent))
        from peer_sumo import run_sumo

        figures = run_sumo(case, TMAX_S[args.case], args.seed)
    else:
        if args.model == "uxsim-yield":
            entering_traffic_yields()
        cpp = args.model == "uxsim-cpp"
        figures = run_uxsim(case, args.case, args.platoon, args.seed, cpp=cpp, release=args.release)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["trips_input"] = case.trips
    print(json.dumps(figures))


MODELS = ("twin", "twin-per-vehicle", "twin-uxcost", "uxsim-cpp")
EXTRA_MODELS = ("uxsim-yield",)
"""Seeded models run only when named in ``--models``: ``uxsim-yield`` is UXsim in Python mode with its nodes'
departures after their transfers (:func:`entering_traffic_yields`), at the sizes of ``uxsim-cpp``."""


def plan(
    case: str,
    seeds: int,
    python_mode: bool,
    uxsim_per_vehicle: bool,
    models: tuple[str, ...] = MODELS,
    sizes: tuple[int, ...] = (),
    substeps: tuple[float | None, ...] = (None,),
) -> list[tuple[str, int, int, float | None]]:
    """(model, platoon, seed, twin's sub-step) runs for a case, of the seeded ``models`` (names of :data:`MODELS`).

    ``sizes`` replaces the case's platoon size (twin's platoons, UXsim's ``deltan``) for ``twin``, ``twin-uxcost``
    and ``uxsim-cpp``; each twin run is repeated at each of ``substeps`` (None: :func:`run_twin`'s rule).
    """
    p = PLATOON[case]
    platoons = {name: sizes or (p,) for name in ("twin", "twin-uxcost", "uxsim-cpp", "uxsim-yield")}
    platoons["twin-per-vehicle"] = (1,)
    runs: list[tuple[str, int, int, float | None]] = []
    for name in (m for m in MODELS + EXTRA_MODELS if m in models):
        model = "twin" if name == "twin-per-vehicle" else name
        steps = substeps if model.startswith("twin") else (None,)
        runs += [(model, size, seed, dt) for size in platoons[name] for dt in steps for seed in range(seeds)]
    if uxsim_per_vehicle and case != "chicago":
        runs.append(("uxsim-cpp", 1, 0, None))
    if python_mode:
        runs.append(("uxsim-python", p, 0, None))
    if importlib.util.find_spec("sumo") is not None and case != "chicago" and not sizes:
        runs.append(("sumo", 1, 0, None))
    return runs


def compare(
    case: str,
    path: str,
    seeds: int,
    python_mode: bool,
    uxsim_per_vehicle: bool,
    models: tuple[str, ...] = MODELS,
    sizes: tuple[int, ...] = (),
    substeps: tuple[float | None, ...] = (None,),
    release: int | None = None,
) -> pd.DataFrame:
    """Every model, every seed, each in its own process (``release``: :func:`peer_departures`)."""
    rows = []
    for model, size, seed, substep in plan(case, seeds, python_mode, uxsim_per_vehicle, models, sizes, substeps):
        command = [sys.executable, __file__, "--one", case, "--path", path, "--model", model]
        command += ["--platoon", str(size), "--seed", str(seed)]
        command += ["--substep", str(substep)] if substep is not None else []
        command += ["--release", str(release)] if release is not None else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"  {model} platoon {size} seed {seed} failed:\n{done.stderr[-2000:]}", flush=True)
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        row = {"case": case, "model": model, "platoon": size, "seed": seed, "release": release}
        rows.append({**row, **figures})
        print(
            f"  {case} {model:12s} platoon {size:2d} seed {seed}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()),
            flush=True,
        )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Ranges over seeds per case, model and platoon size."""

    def span(digits: int) -> object:
        return lambda s: f"{s.min():.{digits}f}-{s.max():.{digits}f}" if s.min() != s.max() else f"{s.min():.{digits}f}"

    missing = [c for c in ("substep_s", "origin_wait_s", "route_km") if c not in table]
    table = table.assign(**dict.fromkeys(missing, np.nan))  # models that do not report them (SUMO)
    return table.groupby(["case", "model", "platoon", "substep_s"], dropna=False, sort=False).agg(
        runs=("seed", "size"),
        wall_s=("wall_s", span(2)),
        peak_rss_mb=("peak_rss_mb", "max"),
        trips_input=("trips_input", "first"),
        simulated=("vehicles", "first"),
        completed=("completed", span(0)),
        mean_travel_time_s=("mean_travel_time_s", span(0)),
        mean_delay_s=("mean_delay_s", span(0)),
        origin_wait_s=("origin_wait_s", span(0)),
        route_km=("route_km", span(1)),
    )


def main(argv: list[str]) -> int:
    """Parse the command line, run the comparisons, print the ranges per model."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", choices=list(TMAX_S), help="grid (default), andorra, chicago (give --path)")
    parser.add_argument("--path", default="", help="folder of the Chicago Sketch CSVs (never copied)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (default 3)")
    parser.add_argument("--python-mode", action="store_true", help="also run UXsim's Python mode once (slow)")
    parser.add_argument("--uxsim-per-vehicle", action="store_true", help="also run UXsim C++ with deltan=1 once")
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated seeded models to run (default: {','.join(MODELS)}; also uxsim-yield, UXsim in Python"
        " mode with the trips starting at a node let in after the traffic on the roads); SUMO and the --python-mode"
        " and --uxsim-per-vehicle runs are added as before",
    )
    parser.add_argument(
        "--sizes",
        default="",
        help="comma-separated platoon sizes (twin) and deltan (UXsim) for twin, twin-uxcost and uxsim-cpp, instead"
        " of the case's (grid and Andorra 5, Chicago 30): e.g. 30,10,5,1",
    )
    parser.add_argument(
        "--substeps",
        default="",
        help="comma-separated sub-steps (s) at which to run each twin model, e.g. 30,5 (default: UXsim's step"
        " for platoons larger than 5, twin's 5 s otherwise)",
    )
    parser.add_argument(
        "--release",
        type=int,
        default=None,
        help="depart in every run the vehicles UXsim releases with deltan=N (split into each run's platoons; N a"
        " multiple of every size), so that runs at different sizes share one demand (default: each run's own size)",
    )
    parser.add_argument("--out", default="", help="write every run's figures to this CSV")
    parser.add_argument(
        "--check-departures",
        action="store_true",
        help="only check that twin's departures are UXsim's vehicles, one for one (deltan P and 1); exit 1 if not",
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="twin", help=argparse.SUPPRESS)
    parser.add_argument("--platoon", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--substep", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cases = args.cases or ["grid"]
    if args.one:
        args.case = args.one
        one(args)
        return 0
    if args.seeds < 1:
        parser.error(f"--seeds is a whole number from 1, not {args.seeds}")
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    unknown = sorted(set(models) - set(MODELS + EXTRA_MODELS))
    if unknown or not models:
        known = ", ".join(MODELS + EXTRA_MODELS)
        parser.error(f"--models takes names among {known}, not {', '.join(unknown) or 'nothing'}")
    try:
        sizes = tuple(int(v) for v in args.sizes.split(",") if v.strip())
        substeps: tuple[float | None, ...] = tuple(float(v) for v in args.substeps.split(",") if v.strip())
    except ValueError:
        parser.error(
            f"--sizes takes whole numbers and --substeps numbers of seconds, comma-separated (got"
            f" {args.sizes!r} and {args.substeps!r})"
        )
    if any(v < 1 for v in sizes) or any(v is not None and not v > 0 for v in substeps):
        parser.error(
            f"--sizes are whole numbers from 1 and --substeps positive (got {args.sizes!r}, {args.substeps!r})"
        )
    substeps = substeps or (None,)
    if args.release is not None and any(args.release % v for v in sizes or [PLATOON[c] for c in args.cases]):
        parser.error(f"--release {args.release} must be a multiple of every size in --sizes ({args.sizes!r})")
    if "chicago" in args.cases and not Path(args.path, "links.csv").exists():
        parser.error(f"chicago needs --path to a folder with UXsim's Chicago Sketch CSVs (got {args.path!r})")
    if args.check_departures:
        same = [check_departures(load_case(c, args.path), c, d) for c in args.cases for d in sorted({PLATOON[c], 1})]
        return 0 if all(same) else 1
    table = pd.concat(
        [
            compare(
                c,
                args.path,
                args.seeds,
                args.python_mode,
                args.uxsim_per_vehicle,
                models,
                sizes,
                substeps,
                args.release,
            )
            for c in args.cases
        ]
    )
    if table.empty:
        print("no run succeeded", file=sys.stderr)
        return 1
    if args.out:
        table.to_csv(args.out, index=False)
    pd.set_option("display.width", 200)
    print(summary(table).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
