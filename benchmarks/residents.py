"""Residents benchmark: the vectorised phase against one Mesa agent per person, and at city scale.

1. Andorra (55,000 people): the residents step during an evacuation (river flood, a forecast-area warning),
   timed step by step inside the engine; mean and median ms per step and ns per person-step.
2. Porto Alegre at 1.4 million people (its homes scaled up to the city's population): steps while a whole-city
   warning spreads, ms per step, and the bytes per person the phase keeps.
3. The same rules (channel reception by quantile, logistic decision, Rayleigh delay, walking by next hops over
   the same route trees, exposure and services gone without) written as one Mesa agent per person, on a subset
   of Andorra's people taken as they are at the start of the river's peak: time per person-step over the same
   steps, and the ratio to the vectorised step's. The agents read the route trees, water and services the
   vectorised phase computed (network-wide work both designs share), and leave out word of mouth and cars.

Run: ``python benchmarks/residents.py`` (about two minutes); ``--whole`` also runs the 24 h
``andorra-flood-1982`` scenario through ``twin run`` and reports its wall time and peak memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import yaml

from twin.city.build import City, load_city
from twin.residents.people import HOME, WALKING
from twin.residents.phase import ResidentsPhase
from twin.residents.walking import Routes, depth_factor
from twin.residents.warnings import CURVES, logistic_share
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel
from twin.sim.phase import StepContext
from twin.sim.state import SimState
from twin.traffic.engine import TrafficPhase

ROOT = Path(__file__).resolve().parents[1]
SUBSET = 2_000


def _scenario(folder: Path, city_folder: str, **changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "bench",
        "map": str(ROOT / "maps" / city_folder),
        "timezone": "UTC",
        "start": "2025-10-12T03:00",
        "duration": "6h",
        "step": "5min",
        "seed": 1,
        **changes,
    }
    path = folder / f"bench-{city_folder}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


FLOOD = {
    "type": "river_flood",
    "rivers": ["valira"],
    "hydrograph": {
        "peak_stage_m": 4.5,
        "time_to_peak": "2h",
        "peak_duration": "3h",
        "duration": "8h",
        "shape": "trapezoidal",
    },
    "channel_depth_m": 3.0,
}
WARNING = {"at": "30min", "area": {"forecast": {"stage_m": 1.5, "depth_above_m": 0.1}}}
PLATEAU_S = (3 * 3600.0, 5 * 3600.0)
"""While the river stands at its peak: no new water, so what a step costs is the people's own work."""


def andorra_model(folder: Path) -> tuple[CityModel, ResidentsPhase, list[float]]:
    """Andorra's flood with a warning, its residents phase, and the phase's step times (filled as it runs)."""
    spec = _scenario(folder, "andorra", hazards=[FLOOD], warnings=[WARNING], metrics={"access_every": "30min"})
    model = CityModel(load_city(ROOT / "maps" / "andorra"), spec)
    phase = model.phases["residents"][0]
    assert isinstance(phase, ResidentsPhase)
    times: list[float] = []
    step = phase.step

    def timed(ctx: StepContext, dt_s: float) -> None:
        start = time.perf_counter()
        step(ctx, dt_s)
        times.append(time.perf_counter() - start)

    phase.step = timed  # type: ignore[method-assign]
    return model, phase, times


def porto_alegre_steps(folder: Path, people: int = 1_400_000, steps: int = 12) -> tuple[list[float], float]:
    """Steps of a whole-city warning on Porto Alegre scaled to ``people``; (s per step, bytes per person)."""
    city = load_city(ROOT / "maps" / "porto-alegre")
    homes = city.homes.copy()
    total = homes["population"].sum()
    homes["population"] = np.floor(homes["population"] * people / total).astype(np.int64)
    homes.loc[homes.index[: people - int(homes["population"].sum())], "population"] += 1
    big: City = dataclasses.replace(city, homes=homes)
    spec = _scenario(folder, "porto-alegre", warnings=[{"at": "0s"}])
    phase = ResidentsPhase(big, spec, np.random.default_rng(1))
    traffic = TrafficPhase(big, None, np.random.default_rng(2))  # takes the cars; its own time is not counted
    state = SimState.normal(big)
    times = []
    for k in range(steps):
        ctx = StepContext(
            k * 300.0, k, big, state, np.random.default_rng(0), lambda *a: None, lambda e: e, traffic.services()
        )
        start = time.perf_counter()
        phase.step(ctx, 300.0)
        times.append(time.perf_counter() - start)
        traffic.step(ctx, 300.0)
    arrays = phase.arrays()
    static = [phase.u_channel, phase.wom_threshold, phase.speed_mps, phase.safety, phase.home_area]
    pop = [getattr(phase.population, f.name) for f in dataclasses.fields(phase.population)]
    kept = sum(a.nbytes for a in [*arrays.values(), *static, *pop])
    return times, kept / phase.population.size


class Person(mesa.Agent):
    """One resident with the phase's rules, stepped one at a time (the classic agent-based way)."""

    def __init__(self, model: mesa.Model, bench: MesaBench, i: int) -> None:
        super().__init__(model)
        self.bench, self.i = bench, i
        p, k = bench.people, int(bench.subset[i])
        self.warned, self.decided = bool(np.isfinite(p.warned_s[k])), bool(np.isfinite(p.decided_s[k]))
        self.depart_s = float(p.depart_s[k]) if self.decided else float("inf")
        self.walking, self.arrived = bool(p.status[k] == WALKING), bool(np.isfinite(p.arrived_s[k]))
        self.node, self.nxt, self.left_m = int(p.node[k]), int(p.nxt[k]), float(p.left_m[k])
        self.at_home = bool(p.status[k] == HOME and bench.home_building[i] >= 0)
        self.exposure_s, self.without_s = 0.0, [0.0, 0.0, 0.0, 0.0]

    def step(self) -> None:
        """Receive, decide, leave and walk for one step."""
        b, t = self.bench, self.bench.t
        if not self.warned and b.in_area[self.node]:
            for c, share in enumerate(b.shares):
                if b.reach[c][self.node] and b.u[c, self.i] < share:
                    self.warned = True
                    break
        if self.warned and not self.decided:
            z = b.d.intercept + b.d.order + b.d.risk_area * b.in_area[b.home[self.i]]
            if b.u_decide[self.i] < 1.0 / (1.0 + np.exp(-z)):
                self.decided, self.depart_s = True, t + b.delay[self.i]
        if self.decided and not self.walking and self.depart_s <= t:
            self.walking = True
        if self.walking and not self.arrived:
            self.at_home = False
            self._walk(b, b.dt)
        self._needs(b)

    def _needs(self, b: MesaBench) -> None:
        if self.arrived:
            return
        depth = b.home_floor[self.i] if self.at_home else b.node_depth[self.node]
        if depth > 0.5:
            self.exposure_s += b.dt
        for k, served in enumerate(b.served):
            if not served[self.node]:
                self.without_s[k] += b.dt

    def _walk(self, b: MesaBench, budget: float) -> None:
        while budget > 0:
            if self.nxt < 0:
                if b.routes.safe[self.node]:
                    self.arrived = True
                    return
                hop = int(b.routes.hop[b.group[self.i], -1, self.node])
                if hop < 0:
                    return
                self.nxt = hop
                self.left_m = float(b.length[b.graph.edge_of(np.array([self.node]), np.array([hop]))[0]])
            edge = int(b.graph.edge_of(np.array([self.node]), np.array([self.nxt]))[0])
            v = b.speed[self.i] * float(depth_factor(b.edge_depth[edge]))
            if self.left_m / v <= budget:
                budget -= self.left_m / v
                self.node, self.nxt, self.left_m = self.nxt, -1, 0.0
            else:
                self.left_m -= v * budget
                budget = 0.0


class MesaBench:
    """The inputs the Mesa agents read, taken from a vectorised phase (same routes, draws and areas)."""

    def __init__(self, phase: ResidentsPhase, model: CityModel, routes: Routes, subset: np.ndarray) -> None:
        self.graph, self.routes, self.length = phase.graph, routes, phase.graph.length_m
        self.people, self.subset = phase.people, subset
        self.home = phase.population.home_node[subset]
        self.u = phase.u_channel[:, subset]
        self.u_decide = phase.u_decide[phase.population.household[subset]]
        self.delay = phase.delay_s[phase.population.household[subset]]
        self.group, self.speed = phase.safety[subset], phase.speed_mps[subset]
        self.in_area = phase.areas.mask[0]
        served = phase.reader.served(model.state, model.clock_s)
        reach = phase.reachable(served)
        self.reach = [reach[name] for name in ("cell_broadcast", "siren", "tv_radio")]
        self.d = phase.options.decision
        self.edge_depth = phase.view.edge_depth
        self.node_depth, self.home_floor = phase.view.node_depth, phase.view.home_floor[subset]
        self.home_building = phase.population.home_building[subset]
        self.served = [served[name] for name in ("power", "water", "telecom", "health")]
        self.t, self.dt, self.shares = 0.0, 300.0, [0.0, 0.0, 0.0]

    def run(self, start_s: float, steps: int) -> float:
        """Seconds per person-step over ``steps`` steps of the Mesa model from ``start_s``."""
        model = mesa.Model(rng=1)
        for i in range(len(self.subset)):
            Person(model, self, i)
        start = time.perf_counter()
        for k in range(steps):
            self.t = start_s + (k + 1) * self.dt
            elapsed = self.t - 1800.0
            self.shares = [float(logistic_share(elapsed, c.reach_night, c.half_s)) for c in CURVES.values()]
            model.agents.do("step")
        return (time.perf_counter() - start) / (steps * len(self.subset))


def main(argv: list[str]) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="benchmarks/residents.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--whole", action="store_true", help="also run the 24 h andorra-flood-1982 through twin run (wall, memory)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="twin-bench-residents-") as tmp:
        return run(Path(tmp), args.whole)


def run(folder: Path, whole_run: bool) -> int:
    """Run the benchmarks with scenario files and run folders in ``folder``."""
    model, phase, times = andorra_model(folder)
    model.run(until_s=PLATEAU_S[0])
    n = phase.population.size
    routes = phase._routes
    assert routes is not None
    subset = np.random.default_rng(0).choice(n, SUBSET, replace=False)
    mesa_bench = MesaBench(phase, model, routes, subset)  # the people as they are at the start of the plateau
    busy = len(times)
    model.run(until_s=PLATEAU_S[1])
    plateau = times[busy:]
    steps = len(plateau)
    walking = int((phase.people.status == WALKING).sum())
    print(f"Andorra, {n} people, steps of 5 min, river flood with a warning at 30 min:")
    print(
        f"  rising water (0-3 h, routes rebuilt as links flood): median {1e3 * statistics.median(times[:busy]):.1f} ms"
    )
    per_vector = statistics.median(plateau) / n
    print(f"  river at its peak (3-5 h, {walking} walking at 5 h): median {1e3 * statistics.median(plateau):.1f} ms")
    print(f"  {1e9 * per_vector:.0f} ns per person-step")
    per_mesa = mesa_bench.run(PLATEAU_S[0], steps)
    print(
        f"Mesa, one agent per person, {SUBSET} of them, the same {steps} steps: {1e9 * per_mesa:.0f} ns per person-step"
    )
    print(f"  speed ratio per person-step (Mesa / vectorised): {per_mesa / per_vector:.0f}x")
    big, per_person = porto_alegre_steps(folder)
    print(f"Porto Alegre scaled to 1,400,000 people, whole-city warning, {len(big)} steps:")
    print(f"  residents step: median {1e3 * statistics.median(big):.0f} ms, max {1e3 * max(big):.0f} ms")
    print(f"  {per_person:.0f} bytes per person in the phase's arrays")
    if whole_run:
        whole(folder)
    return 0


def whole(folder: Path) -> None:
    """The 24 h andorra-flood-1982 through ``twin run``: wall time and peak memory of the child process."""
    command = [sys.executable, "-m", "twin.cli", "run", str(ROOT / "scenarios" / "andorra-flood-1982.yaml")]
    command += ["--until", "24h", "--out", str(folder / "whole"), "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"andorra-flood-1982, 24 h with warnings and residents: {wall:.1f} s wall, {peak_mb:.0f} MB peak")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
