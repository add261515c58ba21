"""Traffic benchmark: twin's link transmission model on Andorra's drivable network, and routing at city scale.

``python benchmarks/traffic.py`` (City loaded): 15,000 cars from homes (weighted by residents) to the eight
designated shelters, departing over one hour, simulated for one hour in 60 s engine steps of 5 s sub-steps; and the
same per platoon of 5. The comparison against UXsim and SUMO on shared inputs is ``benchmarks/traffic_vs_peers.py``.

``python benchmarks/traffic.py city-scale [--trips 10000 100000 300000] [--before CHECKOUT --before-trips 2000]``:
Porto Alegre (15,169 nodes, 32,974 links), an evacuation of N trips per vehicle from nodes to destinations drawn
among all nodes, departing over one hour, simulated for ``--hours`` (60 s steps, 5 s sub-steps). Each case runs in its
own process (``_case``) and reports its wall time (simulation only, the map loaded before) and peak memory (maximum
RSS, the map included; the process's RSS after loading is given apart). ``--exact`` adds the same cases with every
destination routed exactly (``route_exact_destinations`` above N); ``--before`` runs the given checkout of an older
twin on ``--before-trips`` trips, next to this one on the same trips, for ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from twin.city.build import City, load_city
from twin.sim.traffic import RouteChoice, TrafficNetwork, TrafficOptions, TrafficSim

ROOT = Path(__file__).resolve().parents[1]
CARS = 15_000


def evacuation_trips(city: City, rng: np.random.Generator, cars: int = CARS) -> pd.DataFrame:
    """``cars`` cars from homes (drawn by residents) to shelters drawn at random, departing over one hour."""
    homes = city.homes
    weight = homes["population"].to_numpy(float) / homes["population"].sum()
    origin = homes["drive_node"].to_numpy()[rng.choice(len(homes), cars, p=weight)]
    shelters = city.facilities.loc[city.facilities["kind"] == "shelter", "drive_node"].to_numpy()
    table = pd.DataFrame(
        {
            "origin": origin,
            "destination": shelters[rng.integers(0, len(shelters), cars)],
            "departure_s": np.sort(rng.uniform(0, 3600, cars)),
        }
    )
    return table[table["origin"] != table["destination"]]


def demand(seed: int = 7) -> tuple[TrafficNetwork, pd.DataFrame]:
    """Andorra's network and the evacuation demand."""
    city = load_city(ROOT / "maps" / "andorra")
    return TrafficNetwork.from_network(city.drive), evacuation_trips(city, np.random.default_rng(seed))


def andorra() -> int:
    """Print the Andorra figures."""
    network, trips = demand()
    for platoon in (1, 5):
        table = trips.iloc[::platoon] if platoon > 1 else trips
        sim = TrafficSim(network, table, TrafficOptions(platoon_size=platoon, record_links=False), seed=1)
        start = time.perf_counter()
        for _ in range(60):
            sim.step(60.0)
        wall = time.perf_counter() - start
        counts = sim.counts()
        print(
            f"andorra evacuation: {len(table)} simulated vehicles x platoon {platoon} ({counts['departed']:.0f} "
            f"departed), 1 h in 60 steps of 60 s: {wall:.2f} s; arrived {counts['arrived']:.0f}, on network "
            f"{counts['on_network']:.0f}, stranded {counts['stranded']:.0f}"
        )
    return 0


def evacuation(network: TrafficNetwork, n_trips: int, seed: int = 3) -> pd.DataFrame:
    """``n_trips`` from nodes to other nodes, both drawn among all nodes, departing over one hour."""
    rng = np.random.default_rng(seed)
    origin = rng.integers(0, network.n_nodes, n_trips)
    destination = (origin + rng.integers(1, network.n_nodes, n_trips)) % network.n_nodes
    return pd.DataFrame(
        {"origin": origin, "destination": destination, "departure_s": np.sort(rng.uniform(0, 3600, n_trips))}
    )


def rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def case(n_trips: int, hours: float, exact: bool) -> dict[str, float]:
    """One city-scale run in this process (by whatever twin is on the path)."""
    city = load_city(ROOT / "maps" / "porto-alegre")
    network = TrafficNetwork.from_network(city.drive)
    trips = evacuation(network, n_trips)
    del city
    loaded = rss_mb()
    extra = {"route_exact_destinations": n_trips + 1} if exact else {}
    options = TrafficOptions(record_links=False, **extra)
    start = time.perf_counter()
    sim = TrafficSim(network, trips, options, seed=1)
    for _ in range(round(hours * 60)):
        sim.step(60.0)
        if sim.done():
            break
    wall = time.perf_counter() - start
    counts = sim.counts()
    return {
        "trips": n_trips,
        "destinations": int(np.unique(trips["destination"]).size),
        "wall_s": wall,
        "peak_mb": rss_mb(),
        "loaded_mb": loaded,
        "refreshes": sim.route_refreshes,
        "simulated_s": sim.clock_s,
        "arrived": counts["arrived"],
        "on_network": counts["on_network"],
        "stranded": counts["stranded"],
    }


def run_case(root: Path, n_trips: int, hours: float, exact: bool) -> dict[str, float]:
    """:func:`case` in a process of its own, with the twin of ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, str(Path(__file__).resolve()), "_case", str(n_trips), str(hours)]
    command += ["--exact"] if exact else []
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the case with {n_trips} trips failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def show(label: str, r: dict[str, float]) -> None:
    print(
        f"{label:<10} {r['trips']:>8,.0f} trips to {r['destinations']:>6,.0f} destinations: {r['wall_s']:8.1f} s, "
        f"peak {r['peak_mb'] / 1024:5.2f} GB ({r['loaded_mb'] / 1024:.2f} GB after loading the map); "
        f"{r['refreshes']:.0f} refreshes, {r['simulated_s'] / 3600:.2f} h simulated, arrived {r['arrived']:,.0f}, "
        f"on network {r['on_network']:,.0f}, stranded {r['stranded']:,.0f}",
        flush=True,
    )


def city_scale(args: argparse.Namespace) -> int:
    """Print the Porto Alegre cost curve (and the ratios to an older checkout, when given)."""
    if args.before is not None:
        old = run_case(args.before, args.before_trips, args.hours, exact=False)
        new = run_case(ROOT, args.before_trips, args.hours, exact=False)
        show("before", old)
        show("after", new)
        print(f"ratio after / before: wall time {new['wall_s'] / old['wall_s']:.3f}, ", end="")
        print(
            f"peak memory above the map {(new['peak_mb'] - new['loaded_mb']) / (old['peak_mb'] - old['loaded_mb']):.3f}"
        )
    for n_trips in args.trips:
        show("zones", run_case(ROOT, n_trips, args.hours, exact=False))
        if args.exact:
            show("exact", run_case(ROOT, n_trips, args.hours, exact=True))
    return 0


def follow(routes: RouteChoice, network: TrafficNetwork, origin: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Free-flow time of each (origin, destination row) trip driven on the newest trees (inf: no way)."""
    node, came = origin.copy(), np.zeros(origin.size, dtype=np.int64)
    total = np.zeros(origin.size)
    closed = np.zeros(network.n_links, dtype=bool)
    rng = np.random.default_rng(0)
    going = np.flatnonzero(routes.destinations[row] != node)
    for step in range(network.n_nodes):
        if going.size == 0:
            break
        link = routes.choose(row[going], node[going], came[going] if step else None, closed, rng)
        total[going[link < 0]] = np.inf
        going, link = going[link >= 0], link[link >= 0]
        total[going] += network.free_flow_time_s()[link]
        node[going], came[going] = network.dst[link], link
        going = going[routes.destinations[row[going]] != node[going]]
    return total


def routing(sizes: list[int], exact_up_to: int) -> int:
    """One refresh toward D destinations on Porto Alegre, exact and through zones, and the zones' route quality."""
    network = TrafficNetwork.from_network(load_city(ROOT / "maps" / "porto-alegre").drive)
    times, closed = network.free_flow_time_s(), np.zeros(network.n_links, dtype=bool)
    rng = np.random.default_rng(4)
    for d in sizes:
        destinations = np.sort(rng.choice(network.n_nodes, min(d, network.n_nodes), replace=False)).astype(np.int32)
        for mode, limit in (("exact", d + 1), ("zones", 0)):
            if mode == "exact" and d > exact_up_to:
                continue
            start = time.perf_counter()
            routes = RouteChoice(network, destinations, memory=0.0, noise=0.0, exact_destinations=limit)
            built = time.perf_counter() - start
            start = time.perf_counter()
            routes.refresh(times, closed, rng)
            routes.newest  # noqa: B018 (search now)
            searched = time.perf_counter() - start
            table_mb = (routes.trees.nbytes + routes.balls.keys.nbytes + routes.balls.links.nbytes) / 1e6
            print(
                f"{destinations.size:>6,} destinations, {mode}: one refresh {searched:6.2f} s (zones built in "
                f"{built:.2f} s), {table_mb:8.1f} MB of tables per kept tree, {routes.balls.size:,} ball entries",
                flush=True,
            )
            if mode == "zones":
                quality(routes, network, times, closed, rng)
    return 0


def quality(
    routes: RouteChoice, network: TrafficNetwork, times: np.ndarray, closed: np.ndarray, rng: np.random.Generator
) -> None:
    """Free-flow time of zone routes against the exact shortest times: 1,000 destinations x 20 origins."""
    used = np.sort(rng.choice(routes.destinations.size, min(1_000, routes.destinations.size), replace=False))
    row = np.repeat(used, 20)
    origin = rng.integers(0, network.n_nodes, row.size)
    zoned = follow(routes, network, origin, row)
    exact_routes = RouteChoice(network, routes.destinations[used], memory=0.0, noise=0.0, exact_destinations=10**9)
    exact_routes.refresh(times, closed, rng)
    exact = follow(exact_routes, network, origin, np.repeat(np.arange(used.size), 20))
    ok = np.isfinite(exact) & (exact > 0)
    excess = zoned[ok] / exact[ok] - 1.0
    print(
        f"    zone routes vs exact, {ok.sum():,} pairs: {np.mean(excess == 0):.1%} exact, mean excess "
        f"{excess.mean():.2%}, 95th percentile {np.quantile(excess, 0.95):.2%}, max {excess.max():.1%} "
        f"(mean trip {exact[ok].mean():.0f} s)",
        flush=True,
    )


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line: no command (the Andorra figures), ``city-scale`` or ``routing``."""
    parser = argparse.ArgumentParser(
        prog="benchmarks/traffic.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Without a command: the Andorra evacuation figures (per vehicle and in platoons of 5).",
    )
    commands = parser.add_subparsers(dest="command", metavar="{city-scale,routing}")
    scale = commands.add_parser("city-scale", help="Porto Alegre, 10,000 to 300,000 trips, each in its own process")
    scale.add_argument("--trips", type=int, nargs="*", default=[10_000, 100_000, 300_000])
    scale.add_argument("--hours", type=float, default=2.0, help="simulated hours at most (default 2)")
    scale.add_argument("--exact", action="store_true", help="also route every destination exactly")
    scale.add_argument("--before", type=Path, help="a checkout of an older twin, run on --before-trips trips")
    scale.add_argument("--before-trips", type=int, default=2_000)
    commands.add_parser("routing", help="one route refresh on Porto Alegre, exact and through zones")
    args = parser.parse_args(argv)
    if args.command == "city-scale":
        if any(n < 1 for n in args.trips) or args.before_trips < 1 or args.hours <= 0:
            scale.error("--trips and --before-trips are whole numbers from 1, --hours a positive number")
        if args.before is not None and not (args.before / "twin" / "__init__.py").is_file():
            scale.error(f"--before {args.before}: not a checkout of twin (no twin/__init__.py in it)")
    return args


def main(argv: list[str]) -> int:
    """Run the benchmark asked for."""
    if argv[:1] == ["_case"]:  # a city-scale case in its own process (run_case)
        exact = "--exact" in argv
        print(json.dumps(case(int(argv[1]), float(argv[2]), exact)))
        return 0
    args = parse(argv)
    if args.command == "routing":
        return routing([1_000, 4_000, 15_169], exact_up_to=4_000)
    if args.command == "city-scale":
        return city_scale(args)
    return andorra()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
