"""The README's what-if figures: the 1982 flood against the levee and generator variants, over seeds.

Runs ``scenarios/andorra-flood-1982.yaml`` (the baseline), ``...-levee.yaml``, ``...-levee-breach.yaml`` (the same
wall breached on the rising flood, the gap widening over an hour) and ``...-generator.yaml`` for
``--seeds`` seeds each with the library runner, then ``twin compare``'s :func:`compare_runs` on the folders,
and prints the README's table: per variant and service, the people-hours without service (mean over the seeds
with its 95 % Student t interval), the difference from the baseline with its 95 % Welch interval, and the
cost-benefit rows (people-hours avoided per unit of cost, FEMA's avoided-loss form).

twin has no default costs: ``--cost levee=2000000`` puts that cost (``--currency``) on the variant's first
intervention and 0 on its others, as a planner's estimate would go in the scenario; without it the
cost-benefit rows say which cost is missing. Usage::

    python benchmarks/whatif.py --seeds 3 --out runs/whatif --cost levee=2000000 --cost generator=300000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "baseline": ROOT / "scenarios" / "andorra-flood-1982.yaml",
    "levee": ROOT / "scenarios" / "andorra-flood-1982-levee.yaml",
    "breach": ROOT / "scenarios" / "andorra-flood-1982-levee-breach.yaml",
    "generator": ROOT / "scenarios" / "andorra-flood-1982-generator.yaml",
}
SERVICES = ("access", "power", "water", "telecom", "health")


def cost_overrides(variant: str, costs: dict[str, float], currency: str) -> list[str]:
    """``--set`` texts that put the variant's cost on its first intervention (and 0 on the others)."""
    if variant not in costs:
        return []
    from twin.scenario import load_scenario

    count = len(load_scenario(VARIANTS[variant]).measures)
    sets = []
    for i in range(count):
        sets += [
            f"interventions[{i}].cost={costs[variant] if i == 0 else 0}",
            f"interventions[{i}].currency={currency}",
        ]
    return sets


def run_variants(out: Path, seeds: int, costs: dict[str, float], currency: str) -> tuple[list[Path], float]:
    """Every variant's runs (seeds 1..N) into ``out/VARIANT/seed-S``; returns the folders and the wall time."""
    from twin.run import run_scenario

    folders = []
    start = time.perf_counter()
    for variant, path in VARIANTS.items():
        for seed in range(1, seeds + 1):
            folder = out / variant / f"seed-{seed}"
            began = time.perf_counter()
            run_scenario(
                path, seed=seed, out=folder, overrides=cost_overrides(variant, costs, currency), overwrite=True
            )
            print(f"{variant} seed {seed}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
            folders.append(folder)
    return folders, time.perf_counter() - start


def hours_table(frame: pd.DataFrame) -> pd.DataFrame:
    """People-hours without service per variant and service: mean [CI] and the difference [Welch CI]."""
    rows = frame[(frame["metric"] == "people_hours_without_service") & frame["service"].isin(SERVICES)]
    table: dict[str, dict[str, str]] = {}
    for row in rows.to_dict("records"):
        cell = f"{row['mean']:,.0f} [{row['ci_low']:,.0f}, {row['ci_high']:,.0f}]"
        if pd.notna(row["delta"]) and row["delta"] != 0:
            cell += f" ({row['delta']:+,.0f} [{row['delta_ci_low']:+,.0f}, {row['delta_ci_high']:+,.0f}])"
        table.setdefault(str(row["variant"]), {})[str(row["service"])] = cell
    return pd.DataFrame(table).T


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    parser.add_argument("--out", type=Path, default=Path("runs/whatif"), help="folder of the runs and comparison")
    parser.add_argument("--cost", action="append", default=[], help="VARIANT=AMOUNT, the planner's cost estimate")
    parser.add_argument("--currency", default="EUR", help="unit of the costs (default EUR)")
    args = parser.parse_args(argv)
    costs = {}
    for text in args.cost:
        variant, _, amount = text.partition("=")
        if variant not in VARIANTS or variant == "baseline" or not amount.replace(".", "", 1).isdigit():
            parser.error(
                f"--cost {text!r}: write VARIANT=AMOUNT with VARIANT one of levee, breach, generator, e.g. "
                "levee=2000000"
            )
        costs[variant] = float(amount)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: give 1 or more")
    from twin.report.compare_page import COSTS_CSV, compare_runs

    folders, wall = run_variants(args.out, args.seeds, costs, args.currency)
    frame = compare_runs(folders, args.out / "compare")
    print(f"{len(folders)} runs in {wall:.0f} s; comparison in {args.out / 'compare'}")
    print(hours_table(frame).to_string())
    benefit = pd.read_csv(args.out / "compare" / COSTS_CSV)
    benefit = benefit[benefit["service"].isin(SERVICES)]
    columns = ["variant", "service", "cost", "avoided_people_hours", "avoided_ci_low", "avoided_ci_high"]
    print(benefit[[*columns, "per_unit_cost", "note"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
