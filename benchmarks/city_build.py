"""City build benchmark: cold build and warm (cached) load of shipped maps, against osmnx on the same file;
and, with ``--init``, time and peak memory of ``twin map init`` + ``twin map build`` from each shipped extract.

The peer figure is what a user of osmnx alone pays for the road graph only: ``osmnx.graph_from_xml`` on
the whole extract (it parses every way, buildings and power lines included, then simplifies). twin's cold
build does the road graph *and* terrain, buildings, people, facilities and lifelines; its warm load reads
the cache. Run: ``python benchmarks/city_build.py [maps/andorra maps/porto-alegre ...]``.

``python benchmarks/city_build.py --init [maps/...]`` starts a map folder from each map's extract and DEM with
``map init`` (the shipped total population), builds it cold, and reports each stage's time and the peak resident
memory of a fresh process doing both (``ru_maxrss``: libosmium's, GDAL's and numpy's memory included), so that a
larger extract can be planned for.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import osmnx as ox

from twin.city.build import load_city
from twin.city.config import load_city_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAPS = [ROOT / "maps" / "andorra", ROOT / "maps" / "porto-alegre"]


def _timed[T](function: Callable[..., T], *args: object, **kwargs: object) -> tuple[float, T]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def bench(folder: Path, warm_repeats: int = 5) -> dict[str, float]:
    """Seconds for osmnx's graph alone, twin's cold build and twin's best warm load."""
    config = load_city_config(folder)
    osmnx_s, _ = _timed(ox.graph_from_xml, config.osm_path(folder))
    with tempfile.TemporaryDirectory() as cache:
        cold_s, city = _timed(load_city, folder, cache_dir=Path(cache))
        warm_s = min(_timed(load_city, folder, cache_dir=Path(cache))[0] for _ in range(warm_repeats))
    return {
        "osmnx_graph_s": osmnx_s,
        "twin_cold_s": cold_s,
        "twin_warm_s": warm_s,
        "drivable_nodes": city.drive.n_nodes,
        "population": city.population,
    }


def init_and_build(folder: Path) -> dict[str, float]:
    """``map init`` from a shipped map's extract and DEM, then a cold build; seconds and peak RSS (MB)."""
    from twin.city.mapinit import init_map

    config = load_city_config(folder)
    people = sum(a.population for a in config.population.areas)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / folder.name
        init_s, _ = _timed(init_map, target, config.osm_path(folder), config.dem_path(folder), population=people)
        build_s, city = _timed(load_city, target, cache_dir=Path(tmp) / "cache")
    return {
        "osm_mb": config.osm_path(folder).stat().st_size / 1e6,
        "init_s": init_s,
        "build_s": build_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drivable_nodes": city.drive.n_nodes,
        "buildings": len(city.buildings),
    }


def main_init(folders: list[Path]) -> int:
    """One fresh process per map (so that peak memory is that map's), then a Markdown table."""
    print("| map | extract (bz2) | drivable nodes | buildings | map init | map build (cold) | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for folder in folders:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(folder)], check=True, capture_output=True, text=True
        ).stdout
        f = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {folder.name} | {f['osm_mb']:.1f} MB | {f['drivable_nodes']:,} | {f['buildings']:,} | "
            f"{f['init_s']:.1f} s | {f['build_s']:.1f} s | {f['peak_mb']:,.0f} MB |"
        )
    return 0


def main(argv: list[str]) -> int:
    """Print a Markdown table of the figures, one row per map."""
    if argv[:1] == ["--one"]:
        print(json.dumps(init_and_build(Path(argv[1]))))
        return 0
    if argv[:1] == ["--init"]:
        names = ("monaco", "andorra", "portland", "porto-alegre")
        return main_init([Path(a) for a in argv[1:]] or [ROOT / "maps" / n for n in names])
    folders = [Path(a) for a in argv] or DEFAULT_MAPS
    print("| map | osmnx graph_from_xml (roads only) | twin cold build (whole City) | ratio | twin warm load |")
    print("|---|---|---|---|---|")
    for folder in folders:
        f = bench(folder)
        print(
            f"| {folder.name} | {f['osmnx_graph_s']:.1f} s | {f['twin_cold_s']:.1f} s | "
            f"{f['osmnx_graph_s'] / f['twin_cold_s']:.1f}x | {f['twin_warm_s']:.2f} s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
