"""City build benchmark: cold build and warm (cached) load of the shipped maps, against osmnx on the same file;
and, with ``--init``, time and peak memory of ``twin map init`` + ``twin map build`` from each shipped extract.

The peer figure is what a user of osmnx alone pays for the road graph only: ``osmnx.graph_from_xml`` on
the whole extract (it parses every way, buildings and power lines included, then simplifies). twin's figures are
its road graph alone (the streamed read of the extract and :func:`twin.city.roads.build_networks`, the same
osmnx graph as tests/test_roadgraph.py checks) and its cold build of the whole City (roads, terrain, hydrology,
buildings, people, facilities and lifelines); the warm load reads the cache. Each figure comes from a fresh
process, so that its peak resident memory (``ru_maxrss``) is its own; the ratios are osmnx's time over twin's,
measured in the same run. Run: ``python benchmarks/city_build.py [maps/andorra maps/porto-alegre ...]``.

``python benchmarks/city_build.py --init [maps/...]`` starts a map folder from each map's extract and DEM with
``map init`` (the shipped total population), builds it cold, and reports each stage's time and the peak resident
memory of a fresh process doing both (``ru_maxrss``: libosmium's, GDAL's and numpy's memory included), so that a
larger extract can be planned for.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from twin.city.build import load_city
from twin.city.config import load_city_config
from twin.errors import MapError

ROOT = Path(__file__).resolve().parents[1]


def _timed[T](function: Callable[..., T], *args: object, **kwargs: object) -> tuple[float, T]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peer(folder: Path) -> dict[str, float]:
    """osmnx's road graph of the whole extract: seconds and peak memory (MB) of this process."""
    import osmnx as ox

    osm = load_city_config(folder).osm_path(folder)
    seconds, _ = _timed(ox.graph_from_xml, osm)
    return {"s": seconds, "peak_mb": _peak_mb()}


def roads(folder: Path) -> dict[str, float]:
    """twin's road graph alone: the streamed read of the extract and the drivable and walkable networks."""
    from pyproj import Transformer

    from twin.city.compile import build_wanted
    from twin.city.osm import read_osm
    from twin.city.roads import build_networks

    config = load_city_config(folder)
    start = time.perf_counter()
    osm = read_osm(config.osm_path(folder), build_wanted)
    build_networks(osm, Transformer.from_crs("EPSG:4326", config.crs, always_xy=True), config.roads)
    return {"s": time.perf_counter() - start, "peak_mb": _peak_mb()}


def cold(folder: Path, warm_repeats: int = 5) -> dict[str, float]:
    """twin's cold build of the whole City, then its best warm load from the cache."""
    with tempfile.TemporaryDirectory() as cache:
        seconds, city = _timed(load_city, folder, cache_dir=Path(cache))
        peak = _peak_mb()
        warm = min(_timed(load_city, folder, cache_dir=Path(cache))[0] for _ in range(warm_repeats))
    return {"s": seconds, "peak_mb": peak, "warm_s": warm, "drivable_nodes": city.drive.n_nodes}


_MEASURES: dict[str, Callable[[Path], dict[str, float]]] = {"peer": peer, "roads": roads, "cold": cold}


def _fresh(measure: str, folder: Path) -> dict[str, float]:
    """One measure in a fresh process (its own peak memory)."""
    out = subprocess.run(
        [sys.executable, __file__, f"--{measure}", str(folder)], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bench(folder: Path) -> dict[str, dict[str, float]]:
    """osmnx's graph, twin's road graph and twin's cold build of one map, each in a fresh process."""
    return {measure: _fresh(measure, folder) for measure in ("peer", "roads", "cold")}


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
        "peak_mb": _peak_mb(),
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


def map_folder(text: str) -> Path:
    """A map folder argument: a folder holding ``city.yaml``."""
    folder = Path(text)
    if not (folder / "city.yaml").is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a map folder (no city.yaml in it); give one like maps/andorra")
    return folder


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line (``--one`` and the measures are the child processes' own, hidden from ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="benchmarks/city_build.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Each figure comes from a fresh process; the ratios are osmnx's time over twin's, in one run.",
    )
    parser.add_argument(
        "maps", nargs="*", type=map_folder, help="map folders (default: the four shipped maps, monaco to porto-alegre)"
    )
    parser.add_argument("--init", action="store_true", help="time map init + a cold build from each map's extract")
    parser.add_argument("--one", type=map_folder, help=argparse.SUPPRESS)
    for measure in _MEASURES:
        parser.add_argument(f"--{measure}", type=map_folder, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Print a Markdown table of the figures, one row per map."""
    args = parse(argv)
    if args.one is not None:
        print(json.dumps(init_and_build(args.one)))
        return 0
    for measure, function in _MEASURES.items():
        if getattr(args, measure) is not None:
            print(json.dumps(function(getattr(args, measure))))
            return 0
    names = ("monaco", "andorra", "portland", "porto-alegre")
    folders = args.maps or [ROOT / "maps" / n for n in names]
    try:
        for folder in folders:
            load_city_config(folder)  # every problem of a city.yaml here, before a child process meets it
    except MapError as exc:
        print(f"benchmarks/city_build.py: error: {exc}", file=sys.stderr)
        return 1
    if args.init:
        return main_init(folders)
    print(
        "| map | drivable nodes | osmnx graph_from_xml (roads only) | twin road graph | ratio | "
        "twin cold build (whole City) | ratio | twin warm load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for folder in folders:
        f = bench(folder)
        peer_s, roads_s, cold_s = f["peer"]["s"], f["roads"]["s"], f["cold"]["s"]
        print(
            f"| {folder.name} | {f['cold']['drivable_nodes']:,.0f} | {peer_s:.1f} s, {f['peer']['peak_mb']:,.0f} MB | "
            f"{roads_s:.1f} s, {f['roads']['peak_mb']:,.0f} MB | {peer_s / roads_s:.1f}x | "
            f"{cold_s:.1f} s, {f['cold']['peak_mb']:,.0f} MB | {peer_s / cold_s:.1f}x | {f['cold']['warm_s']:.2f} s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
