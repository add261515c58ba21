"""Lifelines benchmarks: one lifelines step (City loaded, model built) and the lifeline network build.

A step is timed twice: with the damage changing at every step (a substation, or on a map without substations a
pump, alternately damaged and repaired), which recomputes the power grid's connected components, and with the
damage unchanged (the cached grid). The network build is :func:`twin.lifelines.networks.build_lifelines` on the
cached City's inputs (facilities with the synthesised components, homes, drivable network, city.yaml), and the
synthesis of the missing components (:func:`twin.lifelines.networks.synthesised_rows`) on the OSM rows.

Run: ``python benchmarks/lifelines.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from pyproj import Transformer
from timing import best_of

from twin.city.build import City, load_city
from twin.lifelines.model import Lifelines
from twin.lifelines.networks import build_lifelines, synthesised_rows
from twin.lifelines.outputs import write_lifelines_gpkg
from twin.lifelines.zones import zone_polygons
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

ROOT = Path(__file__).resolve().parents[1]
STEPS = 50


def bounds_xy(city: City) -> tuple[float, float, float, float]:
    """The OSM extract's bounds in the city's CRS (as the build computes them)."""
    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    west, south, east, north = city.bounds_lonlat
    x, y = to_metric.transform(np.array([west, east, west, east]), np.array([south, south, north, north]))
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def step_times(model: CityModel, component: Lifelines, target: int, toggle: bool) -> list[float]:
    """Wall times of STEPS lifelines steps of 60 s; ``toggle`` flips the target's damage before each one."""
    times = []
    for i in range(STEPS):
        if toggle:
            model.state.comp_damaged[target] = i % 2 == 0
        start = time.perf_counter()
        component.step(model.context(60.0), 60.0)
        times.append(time.perf_counter() - start)
        model.clock_s += 60.0
    return times


def lifeline_figures(spec: Scenario, target_kinds: tuple[str, ...]) -> None:
    """Median step times, network build and synthesis, and the run folder's lifelines.gpkg."""
    city = load_city(spec.map)
    model = CityModel(city, spec)
    component = next(c for c in model.phases["lifelines"] if isinstance(c, Lifelines))
    kinds = city.facilities["kind"].to_numpy(str)
    target = int(np.flatnonzero(np.isin(kinds, target_kinds))[0])
    changing = step_times(model, component, target, toggle=True)
    steady = step_times(model, component, target, toggle=False)
    net = city.lifelines
    box = bounds_xy(city)
    build = best_of(lambda: build_lifelines(city.facilities, city.homes, city.drive, city.config.lifelines, box))
    osm = city.facilities[~city.facilities["osm_type"].eq("synthetic")].reset_index(drop=True)
    synth = best_of(lambda: synthesised_rows(osm, city.homes, city.drive, city.config.lifelines))
    with tempfile.TemporaryDirectory() as folder:
        gpkg = best_of(lambda: write_lifelines_gpkg(Path(folder) / "lifelines.gpkg", city, model.state.comp_up))
    zones = best_of(lambda: zone_polygons(city))
    print(
        f"{city.name}: {city.drive.n_nodes} drivable nodes, {len(city.facilities)} facility rows, "
        f"{len(net.power_sources)} power zones, {len(net.water_pump)} water zones, {len(net.site_rows)} cell sites, "
        f"{len(net.signal_rows)} signals"
    )
    print(
        f"  lifelines step (60 s), damage of {kinds[target]} row {target} changing every step (grid recomputed): "
        f"median {np.median(changing) * 1000:.2f} ms (max {np.max(changing) * 1000:.2f} ms); damage unchanged: "
        f"median {np.median(steady) * 1000:.2f} ms"
    )
    print(
        f"  network build (build_lifelines) {build * 1000:.0f} ms; synthesis of missing components "
        f"{synth * 1000:.0f} ms; zone polygons {zones * 1000:.0f} ms; lifelines.gpkg {gpkg * 1000:.0f} ms"
    )


def porto_alegre_scenario(folder: Path) -> Scenario:
    """A 1 h scenario on Porto Alegre that fails a pump (the map has no substations)."""
    data = {
        "name": "porto-alegre-pump-failure",
        "map": str(ROOT / "maps" / "porto-alegre"),
        "timezone": "America/Sao_Paulo",
        "start": "2025-10-14T06:00",
        "duration": "1h",
        "step": "60s",
        "seed": 1,
        "events": [{"kind": "fail_component", "at": "10min", "target": {"kinds": ["pumping_station"]}}],
    }
    path = folder / "porto-alegre-pump-failure.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_scenario(path)


def main(argv: list[str]) -> int:
    """Print every figure."""
    argparse.ArgumentParser(prog="benchmarks/lifelines.py", description=__doc__.split("\n\n")[0]).parse_args(argv)
    lifeline_figures(load_scenario(ROOT / "scenarios" / "andorra-substation-outage.yaml"), ("substation",))
    with tempfile.TemporaryDirectory() as folder:
        lifeline_figures(porto_alegre_scenario(Path(folder)), ("pumping_station",))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
