"""twin and UXsim per vehicle on the small validation cases, against the link transmission model's answer.

For each case of :mod:`twin.traffic.cases` (free flow, a capacity drop, a merge, a diverge with spillback, a 2 x 2
grid with four crossing flows), the same network and the same vehicles (departing at whole seconds) run in:

* the reference: :func:`twin.traffic.cases.reference_times`, the link transmission model solved vehicle by
  vehicle on every case but the grid (for the merge, its sorted arrivals are the closed form 100 + 1.25 j s,
  whichever approach goes first);
* twin with sub-steps of 1, 5 and 10 s (seed 0; the merge and the grid also seeds 1-2);
* UXsim 1.15.1 per vehicle (``deltan = 1``, so 1 s steps; Python mode, which exposes every vehicle), seeds 0-2.
  UXsim gets the same diagram (``u`` 20 m/s, ``k_j`` 0.2 veh/m, 1 s reaction time: ``w`` 5 m/s, ``q`` 0.8 veh/s)
  and a link's lower capacity as its ``capacity_in``.

It prints one row per case and model (mean travel time; the largest and mean gap of a vehicle's arrival to the
reference's, matched vehicle by vehicle on fixed paths, by rank for the merge) and draws the cumulative inflow and
outflow curves of each case's telling link to ``docs/validation-cases.png``. Without UXsim (the ``bench`` extra)
its rows are left out.

Run: ``python benchmarks/traffic_cases.py [--out table.csv] [--figure docs/validation-cases.png]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.sim.traffic import TrafficOptions, TrafficSim
from twin.traffic.cases import CASES, SmallCase, reference_times

ROOT = Path(__file__).resolve().parents[1]
SUBSTEPS = (1.0, 5.0, 10.0)
SEEDS = (0, 1, 2)
LINK_SHOWN = {"free_flow": 0, "bottleneck": 0, "merge": 2, "diverge": 2, "grid2x2": 0}
"""The link whose curves tell each case's story (the queue's link, or the merged one)."""


class Run:
    """One model's answer on a case: per-vehicle arrival times and per-link cumulative curves (1 s samples)."""

    def __init__(self, arrivals: np.ndarray, times: np.ndarray, n_in: np.ndarray, n_out: np.ndarray) -> None:
        self.arrivals, self.times, self.n_in, self.n_out = arrivals, times, n_in, n_out


def run_twin(case: SmallCase, substep_s: float, seed: int) -> Run:
    """twin on the case, sampling every link's cumulative counts every ``substep_s`` (or 10 s, if smaller)."""
    sim = TrafficSim(case.network(), case.demand, TrafficOptions(substep_s=substep_s), seed=seed)
    every = max(substep_s, 1.0)
    times, n_in, n_out = [0.0], [sim.state.cum_in.copy()], [sim.state.cum_out.copy()]
    while sim.clock_s < case.until_s:
        sim.step(every)
        times.append(sim.clock_s)
        n_in.append(sim.state.cum_in.copy())
        n_out.append(sim.state.cum_out.copy())
    trips = sim.result().trips
    return Run(trips["arrival_s"].to_numpy(float), np.array(times), np.array(n_in), np.array(n_out))


def run_uxsim(case: SmallCase, seed: int) -> Run:
    """UXsim per vehicle (``deltan = 1``, 1 s steps) on the case, in Python mode."""
    import uxsim

    world = uxsim.World(
        name="", deltan=1, tmax=case.until_s, random_seed=seed, print_mode=0, save_mode=0, show_mode=0, cpp=False
    )
    for i, row in case.nodes.iterrows():
        world.addNode(str(i), float(row["x"]), float(row["y"]))
    full = CASES["free_flow"]().links["capacity_veh_s"].iloc[0]
    for i, row in case.links.iterrows():
        extra: dict[str, Any] = {}
        if row["capacity_veh_s"] < full:  # a capacity drop at the link's entry (a lane drop)
            extra["capacity_in"] = float(row["capacity_veh_s"])
        world.addLink(
            str(i),
            str(int(row["src"])),
            str(int(row["dst"])),
            length=float(row["length_m"]),
            free_flow_speed=float(row["free_speed_mps"]),
            jam_density=float(row["jam_density_veh_m"]),
            number_of_lanes=int(row["lanes"]),
            **extra,
        )
    vehicles = [
        world.addVehicle(str(int(r["origin"])), str(int(r["destination"])), int(r["departure_s"]))
        for r in case.demand.to_dict("records")
    ]
    world.exec_simulation()
    arrivals = np.array(
        [v.departure_time_in_second + v.travel_time if v.travel_time >= 0 else np.nan for v in vehicles]
    )
    steps = len(world.LINKS[0].cum_arrival)
    n_in = np.stack([np.asarray(link.cum_arrival[:steps], float) for link in world.LINKS], axis=1)
    n_out = np.stack([np.asarray(link.cum_departure[:steps], float) for link in world.LINKS], axis=1)
    return Run(arrivals, np.arange(steps) * world.DELTAT, n_in, n_out)


def reference(case: SmallCase) -> Run | None:
    """The LTM's answer (fixed paths; for the merge, vehicles taken in departure order); None for the grid."""
    if case.paths is None:
        return None
    arrivals, entries, exits = reference_times(case)
    times = np.arange(0.0, case.until_s + 1.0)
    n_in = np.stack([np.searchsorted(e, times, side="right") for e in entries], axis=1).astype(float)
    n_out = np.stack([np.searchsorted(x, times, side="right") for x in exits], axis=1).astype(float)
    return Run(arrivals, times, n_in, n_out)


def gaps(case: SmallCase, run: Run, ref: Run | None) -> tuple[float, float]:
    """Largest and mean absolute gap of arrival times to the reference (by vehicle; by rank for the merge)."""
    if ref is None:
        return float("nan"), float("nan")
    # which approach goes first is the merge's choice: compare its sorted arrivals
    by_rank = case.name == "merge"
    diff = np.sort(run.arrivals) - np.sort(ref.arrivals) if by_rank else run.arrivals - ref.arrivals
    return float(np.nanmax(np.abs(diff))), float(np.nanmean(np.abs(diff)))


def row(case: SmallCase, model: str, run: Run, ref: Run | None) -> dict[str, Any]:
    travel = run.arrivals - case.demand["departure_s"].to_numpy(float)
    worst, mean_gap = gaps(case, run, ref)
    return {
        "case": case.name,
        "model": model,
        "arrived": int(np.isfinite(run.arrivals).sum()),
        "vehicles": len(case.demand),
        "mean_travel_time_s": float(np.nanmean(travel)),
        "max_gap_s": worst,
        "mean_gap_s": mean_gap,
    }


def compare(with_uxsim: bool) -> tuple[pd.DataFrame, dict[str, dict[str, Run]]]:
    """Every case in every model; the rows and the runs drawn."""
    rows, drawn = [], {}
    for name, make in CASES.items():
        case = make()
        ref = reference(case)
        shown: dict[str, Run] = {}
        if ref is not None:
            rows.append(row(case, "LTM reference", ref, ref))
            shown["LTM reference"] = ref
        seeds = SEEDS if case.paths is None or name == "merge" else SEEDS[:1]
        for substep in SUBSTEPS:
            for seed in seeds:
                run = run_twin(case, substep, seed)
                rows.append(row(case, f"twin {substep:g} s, seed {seed}", run, ref))
                if seed == 0 and substep == 1.0:
                    shown["twin (1 s)"] = run
        if with_uxsim:
            for seed in SEEDS:
                run = run_uxsim(case, seed)
                rows.append(row(case, f"UXsim deltan=1, seed {seed}", run, ref))
                if seed == 0:
                    shown["UXsim deltan=1"] = run
        drawn[name] = shown
        print(pd.DataFrame([r for r in rows if r["case"] == name]).to_string(index=False), flush=True)
    return pd.DataFrame(rows), drawn


def draw(drawn: dict[str, dict[str, Run]], figure: Path) -> None:
    """Cumulative inflow (solid) and outflow (dashed) of each case's telling link, one panel per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(drawn), figsize=(4.2 * len(drawn), 3.8))
    colours = {"LTM reference": "black", "twin (1 s)": "tab:blue", "UXsim deltan=1": "tab:orange"}
    for ax, (name, runs) in zip(axes, drawn.items(), strict=True):
        link = LINK_SHOWN[name]
        for model, run in runs.items():
            ax.plot(run.times, run.n_in[:, link], color=colours[model], lw=1.2, label=f"{model} in")
            ax.plot(run.times, run.n_out[:, link], color=colours[model], lw=1.2, ls="--", label=f"{model} out")
        ax.set_title(f"{name}: link {link}", fontsize=10)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cumulative vehicles N(t)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=100)
    print(f"wrote {figure}")


def main(argv: list[str]) -> int:
    """Run every case in twin (and UXsim if installed), print the table, draw the curves."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="", help="write every run's row to this CSV")
    parser.add_argument("--figure", default=str(ROOT / "docs" / "validation-cases.png"), help="PNG of the curves")
    args = parser.parse_args(argv)
    with_uxsim = importlib.util.find_spec("uxsim") is not None
    if not with_uxsim:
        print("UXsim is not installed (pip install -e '.[bench]'): twin and the reference only")
    table, drawn = compare(with_uxsim)
    if args.out:
        table.to_csv(args.out, index=False)
    draw(drawn, Path(args.figure))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
