"""``twin run SCENARIO --seeds N``: N runs of one scenario (seed, seed+1, ...) and their comparison.

Each run is an ordinary ``twin run`` (``twin run``) into ``OUT/seed-<s>/``; the comparison of
the N runs (means and 95 % intervals across the seeds, :mod:`twin.report.compare_page`) goes to ``OUT/compare/``.
Cheap replication without a sweep file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from twin.errors import UsageError

SEED_FOLDER = "seed-{seed}"
COMPARE_FOLDER = "compare"


def seed_folders(out: Path, first_seed: int, count: int) -> list[tuple[int, Path]]:
    """The seeds of the runs and the folder of each: ``(s, OUT/seed-<s>)`` for s = first_seed ... + count - 1."""
    return [(first_seed + i, Path(out) / SEED_FOLDER.format(seed=first_seed + i)) for i in range(count)]


def run_seeds(args: argparse.Namespace, run_once: Callable[[argparse.Namespace], int]) -> int:
    """The ``twin run --seeds N`` command: the runs, then their comparison.

    ``run_once`` is ``twin run`` for one seed (the command line's own, so every run is an ordinary run).

    Raises
    ------
    UsageError
        If N is smaller than 1.
    ScenarioError
        If the scenario (or an override) is invalid.
    """
    from twin.report.compare_page import COMPARE_HTML, compare_runs
    from twin.run import default_folder
    from twin.scenario import load_scenario

    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: give the number of runs, 1 or more (e.g. --seeds 10)")
    spec = load_scenario(
        args.scenario, args.overrides, allow_long=args.allow_long, allow_outside_paths=args.allow_outside_paths
    )
    out = Path(args.out or default_folder(spec))
    first = spec.seed if args.seed is None else args.seed
    folders = []
    for seed, folder in seed_folders(out, first, args.seeds):
        print(f"seed {seed} -> {folder}", file=sys.stderr)
        run_once(argparse.Namespace(**{**vars(args), "seed": seed, "out": folder, "seeds": None}))
        folders.append(folder)
    compare_runs(folders, out / COMPARE_FOLDER)
    print(f"comparison of {len(folders)} seeds: {out / COMPARE_FOLDER / COMPARE_HTML}")
    return 0
