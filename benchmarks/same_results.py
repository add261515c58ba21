"""Do two versions of twin give the same results, bit for bit, on every shipped scenario?

A behaviour-identical restructuring (or any change that claims to be one) is checked with it::

    python benchmarks/same_results.py record runs/same-before      # on the old commit
    python benchmarks/same_results.py record runs/same-after       # on the new one
    python benchmarks/same_results.py compare runs/same-before runs/same-after

``record`` runs ``twin run`` on every ``scenarios/*.yaml`` with seed 1 into one folder per scenario (each in its
own process, as a user would); ``compare`` checks that the tables (``timeseries``, ``events``, ``zones``, ``trips``)
are equal value for value with the same columns and dtypes, and that ``metrics.json`` is equal. It exits 1 and lists
every difference otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("timeseries", "events", "zones", "trips")
SEED = 1


def record(out: Path, scenarios: list[Path]) -> int:
    """Run every scenario into ``out/<scenario stem>``; return how many runs failed."""
    failed = 0
    for scenario in scenarios:
        folder = out / scenario.stem
        start = time.perf_counter()
        command = [sys.executable, "-m", "twin.cli", "run", str(scenario), "--seed", str(SEED)]
        command += ["--out", str(folder), "--quiet"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
        print(f"{scenario.stem:<32} {status:<12} {time.perf_counter() - start:6.1f} s", flush=True)
        if done.returncode != 0:
            failed += 1
            print(done.stderr[-2000:], file=sys.stderr)
    return failed


def differences(before: Path, after: Path) -> list[str]:
    """Every difference between two recorded folders, as lines."""
    found: list[str] = []
    names = sorted({p.name for p in before.iterdir() if p.is_dir()} | {p.name for p in after.iterdir() if p.is_dir()})
    for name in names:
        a, b = before / name, after / name
        if not (a.is_dir() and b.is_dir()):
            found.append(f"{name}: recorded on one side only")
            continue
        for table in TABLES:
            found.extend(
                f"{name}: {line}" for line in _table_differences(a / f"{table}.parquet", b / f"{table}.parquet")
            )
        metrics_a, metrics_b = (json.loads((x / "metrics.json").read_text()) for x in (a, b))
        if metrics_a != metrics_b:
            keys = sorted(k for k in set(metrics_a) | set(metrics_b) if metrics_a.get(k) != metrics_b.get(k))
            found.append(f"{name}: metrics.json differs at {', '.join(keys)}")
    return found


def _table_differences(a: Path, b: Path) -> list[str]:
    if not a.exists() and not b.exists():
        return []
    if a.exists() != b.exists():
        return [f"{a.name} written on one side only"]
    left, right = pd.read_parquet(a), pd.read_parquet(b)
    if list(left.columns) != list(right.columns):
        return [f"{a.name}: columns differ: {sorted(set(left.columns) ^ set(right.columns))}"]
    if list(left.dtypes) != list(right.dtypes):
        return [f"{a.name}: dtypes differ"]
    if left.shape != right.shape:
        return [f"{a.name}: shape {left.shape} vs {right.shape}"]
    changed = [c for c in left.columns if not left[c].equals(right[c])]
    return [f"{a.name}: values differ in {', '.join(map(str, changed))}"] if changed else []


def main() -> int:
    """Command line: ``record OUT [SCENARIO ...]`` or ``compare BEFORE AFTER``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run every shipped scenario into OUT")
    rec.add_argument("out", type=Path)
    rec.add_argument("scenarios", nargs="*", type=Path, help="default: scenarios/*.yaml")
    cmp_ = sub.add_parser("compare", help="compare two recorded folders")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "compare":
        for folder in (args.before, args.after):
            if not folder.is_dir():
                cmp_.error(f"{folder}: no such folder; give two folders written by 'record'")
    else:
        for scenario in args.scenarios:
            if not scenario.is_file():
                rec.error(f"{scenario}: no such scenario file")
    if args.command == "record":
        scenarios = args.scenarios or sorted((ROOT / "scenarios").glob("*.yaml"))
        return 1 if record(args.out.resolve(), [s.resolve() for s in scenarios]) else 0
    found = differences(args.before, args.after)
    for line in found:
        print(line)
    print("identical" if not found else f"{len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
