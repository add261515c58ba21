"""Traffic benchmark: twin's link transmission model on Andorra's drivable network (City loaded).

15,000 cars from homes (weighted by residents) to the eight designated shelters, departing over one hour, simulated
for one hour in 60 s engine steps of 5 s sub-steps; and the same per platoon of 5. The comparison against UXsim and
SUMO on shared inputs is ``benchmarks/traffic_vs_peers.py`` (issue 8).

Run: ``python benchmarks/traffic.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from twin.city.build import load_city
from twin.sim.traffic import TrafficNetwork, TrafficOptions, TrafficSim

ROOT = Path(__file__).resolve().parents[1]
CARS = 15_000


def demand(seed: int = 7) -> tuple[TrafficNetwork, pd.DataFrame]:
    """Andorra's network and the evacuation demand."""
    city = load_city(ROOT / "maps" / "andorra")
    rng = np.random.default_rng(seed)
    homes = city.homes
    weight = homes["population"].to_numpy(float) / homes["population"].sum()
    origin = homes["drive_node"].to_numpy()[rng.choice(len(homes), CARS, p=weight)]
    shelters = city.facilities.loc[city.facilities["kind"] == "shelter", "drive_node"].to_numpy()
    table = pd.DataFrame(
        {
            "origin": origin,
            "destination": shelters[rng.integers(0, len(shelters), CARS)],
            "departure_s": np.sort(rng.uniform(0, 3600, CARS)),
        }
    )
    return TrafficNetwork.from_network(city.drive), table[table["origin"] != table["destination"]]


def main(argv: list[str]) -> int:
    """Print the figures."""
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
