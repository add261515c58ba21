"""Do two versions of twin give the same results, bit for bit, on every shipped scenario?

A behaviour-identical restructuring (or any change that claims to be one) is checked with it::

    python benchmarks/same_results.py record runs/same-before      # on the old commit
    python benchmarks/same_results.py record runs/same-after       # on the new one
    python benchmarks/same_results.py compare runs/same-before runs/same-after

``record`` runs ``twin run`` on every ``scenarios/*.yaml`` with seed 1 into one folder per scenario (each in its
own process, as a user would); ``compare`` checks that the tables (``timeseries``, ``events``, ``zones``, ``trips``)
are equal value for value with the same columns and dtypes, and that ``metrics.json`` is equal. It exits 1 and lists
every difference otherwise.

``compare --outputs`` also compares what the run's writers made, by content rather than by bytes (a faster encoder
writes other bytes for the same picture): every other Parquet table and JSON file of the folder; every PNG pixel
for pixel (as RGBA); every GeoPackage layer by layer (columns, values and geometries, read back); every GeoTIFF's
array, CRS, transform and nodata; and ``report.html`` with its embedded PNGs compared as pixels and the engine time
of its software line left out (it is a measurement, never the same twice).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("timeseries", "events", "zones", "trips")
SEED = 1
#: Files whose content is expected to differ between two runs (times, hashes of the other files).
UNCOMPARED = frozenset({"provenance.json", "manifest.json"})
#: A PNG embedded in the report, and the report's engine time (``twin 0.1.0 / 0.6 s``).
EMBEDDED_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
ENGINE_TIME = re.compile(r"(twin [^<\s]+ / )[0-9.]+ s")


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


def differences(before: Path, after: Path, outputs: bool = False) -> list[str]:
    """Every difference between two recorded folders, as lines (``outputs``: the writers' files too)."""
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
        if outputs:
            found.extend(f"{name}: {line}" for line in output_differences(a, b))
    return found


def output_differences(a: Path, b: Path) -> list[str]:
    """Differences in content between the files of two run folders, beyond the tables and metrics."""
    names = {p.name for p in a.iterdir()} | {p.name for p in b.iterdir()}
    skipped = UNCOMPARED | {f"{t}.parquet" for t in TABLES} | {"metrics.json"}
    found: list[str] = []
    for file in sorted(names - skipped):
        left, right = a / file, b / file
        if left.exists() != right.exists():
            found.append(f"{file} written on one side only")
            continue
        suffix = left.suffix
        if suffix == ".parquet":
            found.extend(_table_differences(left, right))
        elif suffix == ".json" and json.loads(left.read_text()) != json.loads(right.read_text()):
            found.append(f"{file} differs")
        elif suffix == ".png" and not _same_pixels(left.read_bytes(), right.read_bytes()):
            found.append(f"{file}: the pictures differ")
        elif suffix == ".gpkg":
            found.extend(f"{file}: {line}" for line in _geopackage_differences(left, right))
        elif suffix == ".tif":
            found.extend(f"{file}: {line}" for line in _raster_differences(left, right))
        elif suffix == ".html":
            found.extend(f"{file}: {line}" for line in _report_differences(left, right))
    return found


def _same_pixels(a: bytes, b: bytes) -> bool:
    """Whether two PNGs hold the same picture (size and every pixel as RGBA)."""
    from PIL import Image

    left, right = (np.asarray(Image.open(io.BytesIO(x)).convert("RGBA")) for x in (a, b))
    return left.shape == right.shape and bool((left == right).all())


def _geopackage_differences(a: Path, b: Path) -> list[str]:
    import pyogrio

    layers = [list(pyogrio.list_layers(x)[:, 0]) for x in (a, b)]
    if layers[0] != layers[1]:
        return [f"layers {layers[0]} against {layers[1]}"]
    found = []
    for layer in layers[0]:
        left, right = (pyogrio.read_dataframe(x, layer=layer) for x in (a, b))
        if list(left.columns) != list(right.columns) or list(left.dtypes) != list(right.dtypes):
            found.append(f"layer {layer}: columns or dtypes differ")
        elif not left.drop(columns="geometry", errors="ignore").equals(right.drop(columns="geometry", errors="ignore")):
            found.append(f"layer {layer}: values differ")
        elif "geometry" in left and not (left.geometry.to_wkb() == right.geometry.to_wkb()).all():
            found.append(f"layer {layer}: geometries differ")
        elif "geometry" in left and left.crs != right.crs:
            found.append(f"layer {layer}: CRS differs")
    return found


def _raster_differences(a: Path, b: Path) -> list[str]:
    import rasterio

    with rasterio.open(a) as left, rasterio.open(b) as right:
        frame = [(x.crs, x.transform, x.dtypes, x.descriptions, x.tags(1)) for x in (left, right)]
        if frame[0] != frame[1] or not np.array_equal([left.nodata], [right.nodata], equal_nan=True):
            return ["CRS, transform, dtypes, band description, tags or nodata differ"]
        return [] if np.array_equal(left.read(), right.read(), equal_nan=True) else ["values differ"]


def _report_differences(a: Path, b: Path) -> list[str]:
    texts = [x.read_text(encoding="utf-8") for x in (a, b)]
    pictures = [EMBEDDED_PNG.findall(text) for text in texts]
    found = []
    if len(pictures[0]) != len(pictures[1]):
        found.append(f"{len(pictures[0])} pictures against {len(pictures[1])}")
    else:
        found += [
            f"picture {n + 1} differs"
            for n, (x, y) in enumerate(zip(*pictures, strict=True))
            if not _same_pixels(base64.b64decode(x), base64.b64decode(y))
        ]
    bare = [ENGINE_TIME.sub(r"\1", EMBEDDED_PNG.sub("data:image/png;base64,", text)) for text in texts]
    if bare[0] != bare[1]:
        found.append("text differs (beyond the pictures and the engine time)")
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
    cmp_.add_argument("--outputs", action="store_true", help="compare the writers' files too (pictures, layers, ...)")
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
    found = differences(args.before, args.after, outputs=args.outputs)
    for line in found:
        print(line)
    print("identical" if not found else f"{len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
