"""Where does the sub-step still move a congested grid? The sub-step against the random draws it reshuffles.

twin draws everything random (route refreshes' perception errors, drivers' choices and re-choice gaps, merge
tie-breaks) from one seeded generator, in the order the sub-steps ask for them. A run at 1 s sub-steps asks in
another order and number than one at 5 s, so from the first draw that differs the two runs are two samples of
the same model, as two seeds are. To tell that apart from what the sub-step itself does, this script runs a
grid three ways:

* ``shared``: the code as it stands (one generator);
* ``refresh``: the refreshes' perception errors from a generator of their own, seeded from the run's seed (the
  refreshes fall at the same times whatever the sub-step when ``reroute_every_s`` is a multiple of it, so every
  sub-step gets the same errors);
* ``vehicle``: that, and every other draw a function of the seed, the vehicle and how many times it has chosen
  (a counter-based hash, SplitMix64; Steele et al. 2014), so no draw depends on the sub-step.

The two last are experiments for this question only, not options of the model. With ``--first-difference``
it steps two sub-steps side by side (10 s at a time) and prints the first vehicles whose link, entry time or
status differ, and where.

Run::

    python benchmarks/traffic_substep_draws.py --case grid2x2 --platoon 5 --seeds 0 1 2 3 4 5 --draws refresh
    python benchmarks/traffic_substep_draws.py --case grid11 --seeds 0 --draws vehicle --rechoice never
    python benchmarks/traffic_substep_draws.py --case grid11 --draws vehicle --rechoice never --first-difference

Mean travel times are simulated: the machine's load does not change them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import pandas as pd

from twin.sim.traffic import TrafficNetwork, TrafficOptions, TrafficSim
from twin.traffic.cases import CASES, in_platoons
from twin.traffic.peers import grid_11x11, uxsim_departures

UXSIM_DUO: dict[str, Any] = {"reroute_every_s": 600.0, "route_memory": 0.5, "route_noise": 0.01}  # UXsim's defaults
UNTIL_S = {"grid2x2": 3600.0, "grid11": 7200.0}
REFRESH_STREAM = 12345
"""Second word of the refreshes' generator's seed, ``[seed, REFRESH_STREAM]`` (any constant: it only makes the
refreshes' stream another one than the run's)."""


def splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea and Flood 2014): a well-mixed 64-bit hash of each value."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return np.asarray(x ^ (x >> np.uint64(31)))


def hashed_uniform(seed: int, ids: np.ndarray, count: np.ndarray, salt: int) -> np.ndarray:
    """U(0, 1) values that depend only on the seed, the vehicle, its choice count and ``salt``."""
    with np.errstate(over="ignore"):
        x = splitmix(np.uint64(seed * 1_000_003 + salt) + ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        x = splitmix(x + count.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03))
    return np.asarray(((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53)


class GivenDraws:
    """Stands in for the generator in one call: hands out draws made beforehand."""

    def __init__(self, uniform: np.ndarray, other: np.ndarray | None = None) -> None:
        self.uniform, self.other = uniform, other

    def random(self, n: int) -> np.ndarray:
        assert n == self.uniform.size
        return self.uniform

    def exponential(self, scale: float, n: int) -> np.ndarray:
        assert self.other is not None and n == self.other.size
        return np.asarray(-scale * np.log(self.other))


class RefreshStream(TrafficSim):
    """twin with the route refreshes' perception errors drawn from a generator of their own."""

    def __init__(self, network: TrafficNetwork, demand: pd.DataFrame, options: TrafficOptions, seed: int) -> None:
        self.seed = seed
        self.refresh_rng = np.random.default_rng([seed, REFRESH_STREAM])
        super().__init__(network, demand, options, seed)

    def _refresh_routes(self, t: float) -> bool:
        shared, self.rng = self.rng, self.refresh_rng
        try:
            return super()._refresh_routes(t)
        finally:
            self.rng = shared


class VehicleDraws(RefreshStream):
    """:class:`RefreshStream`, and the drivers' choices, re-choice gaps and merge tie-breaks hashed per vehicle."""

    def __init__(self, network: TrafficNetwork, demand: pd.DataFrame, options: TrafficOptions, seed: int) -> None:
        super().__init__(network, demand, options, seed)
        self.choices = np.zeros(self.state.n_vehicles, dtype=np.int64)

    def _next_links(
        self, ids: np.ndarray, node: np.ndarray, came_from: np.ndarray | None, since: np.ndarray, t: float
    ) -> np.ndarray:
        st = self.state
        kept = st.next_link[ids]
        due = ids[(kept < 0) | (st.rechoice_s[ids] <= t) | self._closed[np.maximum(kept, 0)]]  # as the parent's
        count = self.choices[due]
        self.choices[due] += 1
        shared = self.rng
        self.rng = GivenDraws(  # type: ignore[assignment]
            hashed_uniform(self.seed, due, count, 1), hashed_uniform(self.seed, due, count, 2)
        )
        try:
            return super()._next_links(ids, node, came_from, since, t)
        finally:
            self.rng = shared

    def _admission(
        self, ids: np.ndarray, source: np.ndarray, target: np.ndarray, x: np.ndarray, arrive: np.ndarray, t: float
    ) -> np.ndarray:
        entering = ids[~arrive]
        shared = self.rng
        self.rng = GivenDraws(hashed_uniform(self.seed, entering, np.zeros(entering.size, np.int64), 3))  # type: ignore[assignment]
        try:
            return super()._admission(ids, source, target, x, arrive, t)
        finally:
            self.rng = shared


SIMS: dict[str, type[TrafficSim]] = {"shared": TrafficSim, "refresh": RefreshStream, "vehicle": VehicleDraws}


def setup(case: str, platoon: int) -> tuple[TrafficNetwork, pd.DataFrame, dict[str, Any]]:
    """The network, the trips and the route-choice settings of ``case``."""
    if case == "grid11":
        grid = grid_11x11()
        return (
            TrafficNetwork.from_frames(len(grid.nodes), grid.links),
            uxsim_departures(grid.demand, platoon),
            UXSIM_DUO,
        )
    small = in_platoons(CASES[case](), platoon)
    return small.network(), small.demand, {}


def make(args: argparse.Namespace, draws: str, substep_s: float, seed: int) -> TrafficSim:
    network, demand, settings = setup(args.case, args.platoon)
    options = TrafficOptions(
        platoon_size=args.platoon, substep_s=substep_s, record_links=False, rechoice_every_s=args.rechoice, **settings
    )
    return SIMS[draws](network, demand, options, seed)


def mean_travel_time(sim: TrafficSim) -> float:
    """Mean travel time of the arrived vehicles (NaN if any has not arrived)."""
    trips = sim.trips()
    done = (trips["status"] == "arrived").to_numpy()
    if not done.all():
        return float("nan")
    return float(np.average(trips["travel_time_s"].to_numpy(float), weights=trips["platoon"].to_numpy(float)))


def sweep(args: argparse.Namespace) -> pd.DataFrame:
    """Every seed, way of drawing and sub-step: the mean travel time."""
    rows = []
    for seed in args.seeds:
        for draws in args.draws:
            means = []
            for substep in args.substeps:
                sim = make(args, draws, substep, seed)
                sim.run(UNTIL_S[args.case])
                means.append(mean_travel_time(sim))
                rows.append({"seed": seed, "draws": draws, "substep_s": substep, "mean_travel_time_s": means[-1]})
            shown = " / ".join(f"{m:8.1f}" for m in means)
            print(f"seed {seed} draws {draws:8s} sub-steps {args.substeps}: {shown} s", flush=True)
    return pd.DataFrame(rows)


def first_difference(args: argparse.Namespace) -> None:
    """Step the first two sub-steps side by side; print the first vehicles whose state differs."""
    sims = [make(args, args.draws[0], dt, args.seeds[0]) for dt in args.substeps[:2]]
    while sims[0].clock_s < UNTIL_S[args.case]:
        for sim in sims:
            sim.step(10.0)
        a, b = sims[0].state, sims[1].state
        entered = np.abs(np.nan_to_num(a.entered_s, nan=-1.0) - np.nan_to_num(b.entered_s, nan=-1.0)) > 1e-9
        differ = np.flatnonzero((a.link != b.link) | entered | (a.status != b.status))
        if differ.size:
            print(f"first difference by t = {sims[0].clock_s:.0f} s ({differ.size} vehicles):")
            for v in differ[:8]:
                sides = [
                    f"{dt:g} s: link {s.link[v]}, entered {s.entered_s[v]:.2f} s"
                    for dt, s in zip(args.substeps, (a, b), strict=False)
                ]
                print(f"  vehicle {v} (from node {a.start_node[v]}, ready {a.ready_s[v]:.0f} s): " + "; ".join(sides))
            return
    print("no difference")


def rechoice(text: str) -> float | None:
    """``--rechoice``: ``never`` or a mean interval in seconds, above 0."""
    if text == "never":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"give a number of seconds above 0 or never (got {text!r})")
    return value


def main(argv: list[str]) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(UNTIL_S), default="grid2x2", help="the grid (default grid2x2)")
    parser.add_argument("--platoon", type=int, default=5, help="vehicles per platoon (default 5)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default 0)")
    parser.add_argument("--substeps", type=float, nargs="+", default=[1.0, 5.0, 10.0], help="sub-steps (s)")
    parser.add_argument("--draws", nargs="+", choices=list(SIMS), default=["shared"], help="how draws are made")
    parser.add_argument("--rechoice", type=rechoice, default=60.0, help="rechoice_every_s, or never (default 60)")
    parser.add_argument("--first-difference", action="store_true", help="where the first two sub-steps part")
    parser.add_argument("--out", default="", help="write the table to this CSV")
    args = parser.parse_args(argv)
    if args.first_difference:
        first_difference(args)
        return 0
    table = sweep(args)
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
