"""City build benchmark: cold build and warm (cached) load of shipped maps, against osmnx on the same file.

The peer figure is what a user of osmnx alone pays for the road graph only: ``osmnx.graph_from_xml`` on
the whole extract (it parses every way, buildings and power lines included, then simplifies). twin's cold
build does the road graph *and* terrain, buildings, people, facilities and lifelines; its warm load reads
the cache. Run: ``python benchmarks/city_build.py [maps/andorra maps/porto-alegre ...]``.
"""

from __future__ import annotations

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


def main(argv: list[str]) -> int:
    """Print a Markdown table of the figures, one row per map."""
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
