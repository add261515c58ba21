"""Hazard benchmarks: terrain hydrology build, one flood step, a 48-hour flood scenario, one landslide step and a
landslide susceptibility map (City loaded).

The hydrology build is compared with the textbook Priority-Flood (Barnes et al. 2014, algorithm 1: a
Python heap over every cell, 8 neighbours) on the same grid, which fills to exactly the same surface.

Run: ``python benchmarks/hazards.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from timing import best_of

from twin.city.build import City, load_city
from twin.hazards.flood.model import FloodHazard
from twin.hazards.landslide.model import Landslides
from twin.hazards.landslide.spec import LandslideSpec
from twin.hazards.landslide.susceptibility import DEFAULT_DRAWS, DEFAULT_SOIL, susceptibility, susceptibility_rng
from twin.hydrology.conditioning import build_hydrology
from twin.hydrology.grid import border_cells, minimax_from_sources
from twin.hydrology.reference import heap_priority_flood
from twin.scenario import load_scenario
from twin.sim.model import CityModel

ROOT = Path(__file__).resolve().parents[1]


def hydrology_figures(city: City) -> None:
    """Fill: twin's spanning-tree Priority-Flood vs the heap; whole hydrology build."""
    z = city.terrain.elevation_m.astype(np.float64)
    valid = np.isfinite(z)
    ours = best_of(lambda: minimax_from_sources(z, border_cells(valid), valid))
    start = time.perf_counter()
    reference = heap_priority_flood(z)
    heap_s = time.perf_counter() - start
    same = np.array_equal(
        np.nan_to_num(minimax_from_sources(z, border_cells(valid), valid)[0], nan=-1), np.nan_to_num(reference, nan=-1)
    )
    hydrology = city.hydrology
    build = best_of(
        lambda: build_hydrology(
            city.terrain, city.waterways, city.config.hydrology, hydrology.landcover, hydrology.impervious
        )
    )
    print(
        f"{city.name}: grid {z.shape[0]}x{z.shape[1]} ({int(valid.sum())} cells), fill {ours:.3f} s vs heap "
        f"Priority-Flood {heap_s:.3f} s (x{heap_s / ours:.1f}, identical: {same}); whole hydrology {build:.3f} s"
    )


def flood_figures(scenario: Path) -> None:
    """One flood step (water + impacts) and the whole scenario."""
    spec = load_scenario(scenario)
    city = load_city(spec.map)
    setup = best_of(lambda: CityModel(city, spec), 1)
    model = CityModel(city, spec)
    hazard = next(c for c in model.phases["hazards"] if isinstance(c, FloodHazard))
    model.clock_s = float(spec.duration_s) / 4  # on the rising limb: the water changes every step
    steps = []
    for _ in range(50):
        start = time.perf_counter()
        hazard._last[:] = -1  # force the impacts to be recomputed, as in a step where the water moves
        hazard.step(model, float(spec.step_s))
        steps.append(time.perf_counter() - start)
        model.clock_s += float(spec.step_s)
    run = best_of(lambda: CityModel(city, spec).run(), 2)
    n_steps = int(float(spec.duration_s) / float(spec.step_s))
    print(
        f"{spec.name}: setup {setup:.3f} s; flood step (water + impacts) median {np.median(steps) * 1000:.2f} ms; "
        f"whole run {n_steps} steps of {float(spec.step_s):.0f} s in {run:.2f} s (record and access included)"
    )


def landslide_figures(scenario: Path) -> None:
    """One landslide step (FS of every candidate cell), the step where slides start, and a susceptibility map."""
    spec = load_scenario(scenario)
    city = load_city(spec.map)
    entry = LandslideSpec.model_validate(
        {
            "type": "landslide",
            "soil": {name: list(bounds) for name, bounds in DEFAULT_SOIL.model_dump().items()},
            "recharge_mm_day": 80,
            "threshold": "none",
        }
    )
    rng = np.random.default_rng(1)
    setup = best_of(lambda: Landslides(city, entry, None, rng), 1)
    component = Landslides(city, entry, None, rng)
    fs = best_of(lambda: component.factor_of_safety(3600.0), 20)
    firsts, slides = [], 0
    for _ in range(3):  # a fresh run each time: the first step fails every unstable cell at once
        model = CityModel(city, spec)
        fresh = Landslides(city, entry, None, np.random.default_rng(1))
        model.add_component(fresh, "hazards")
        start = time.perf_counter()
        fresh.step(model, float(spec.step_s))
        firsts.append(time.perf_counter() - start)
        slides = len(fresh.slide_t)
    draws = DEFAULT_DRAWS
    probability = susceptibility(city, DEFAULT_SOIL, 0.08, draws, susceptibility_rng(1), entry.min_slope_deg)
    seconds = best_of(
        lambda: susceptibility(city, DEFAULT_SOIL, 0.08, draws, susceptibility_rng(1), entry.min_slope_deg), 3
    )
    samples = len(component.cells) + component.rock_cells
    land = np.isfinite(probability)
    print(
        f"{city.name}: landslide setup (slopes, soil draw, cell indexes) {setup:.3f} s; landslide step (FS over "
        f"{len(component.cells)} candidate cells) {fs * 1000:.2f} ms; first step at 80 mm/day ({slides} slides: "
        f"grouping, runout, impacts, log) {min(firsts):.2f} s; susceptibility over {draws} draws "
        f"({samples * draws / 1e6:.1f} M FS evaluations) {seconds:.2f} s, P >= 0.5 on "
        f"{float((probability[land] >= 0.5).mean()):.1%} of the grid"
    )


def main(argv: list[str]) -> int:
    """Print every figure."""
    argparse.ArgumentParser(prog="benchmarks/hazards.py", description=__doc__.split("\n\n")[0]).parse_args(argv)
    for name in ("andorra", "portland"):
        hydrology_figures(load_city(ROOT / "maps" / name))
    for scenario in ("andorra-flood-1982.yaml", "andorra-cloudburst.yaml"):
        flood_figures(ROOT / "scenarios" / scenario)
    landslide_figures(ROOT / "scenarios" / "andorra-baseline.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
