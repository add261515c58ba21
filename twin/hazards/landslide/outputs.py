"""A landslide run's maps and layers for planners, at the top of the run folder (DESIGN.md, "Results").

==========================  =======================================================================================
``landslide_debris.gpkg``   layer ``landslide_debris``: one feature per slide, its debris footprint (the cells it
                            covered, as one (multi)polygon), time, volume and what it hit (written even when empty)
``susceptibility.tif``      P(FS < 1) at the storm's peak recharge, float32 GeoTIFF on the terrain grid, city CRS,
                            NaN outside the DEM (:mod:`twin.hazards.landslide.susceptibility`)
``susceptibility.png``      the same probability over a hillshade, with the footprints and the roads debris blocked
==========================  =======================================================================================

The susceptibility files need the entry's ``soil``: an entry of explicit slides only writes the layer alone. Every
file is written atomically (:mod:`twin.atomic`). The susceptibility's draws come from their own Generator seeded
from the run's seed (:func:`~twin.hazards.landslide.susceptibility.susceptibility_rng`), so writing the outputs never
advances the run's random stream, and ``twin hazard susceptibility`` with the scenario and the same seed gives the
same raster.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.city.build import City, load_city
from twin.errors import RunError, UsageError
from twin.geoframe import geo_frame
from twin.hazards.flood.outputs import write_grid_tif, write_layer
from twin.hazards.flood.spec import RainSpec
from twin.hazards.landslide.spec import LandslideSpec
from twin.hazards.landslide.stability import CellIndex
from twin.hazards.landslide.susceptibility import (
    DEFAULT_DRAWS,
    candidate_cells,
    peak_recharge_m_day,
    susceptibility,
    susceptibility_inputs,
    susceptibility_rng,
)
from twin.report.maps.landslide import SUSCEPTIBILITY_HIGH, draw_susceptibility
from twin.sim.state import SimState


class SlideRecord(Protocol):
    """What the outputs read of a run's landslide phase (:class:`twin.hazards.landslide.model.Landslides`)."""

    spec: LandslideSpec
    rain: RainSpec | None
    slide_t: np.ndarray
    slide_volume: np.ndarray
    slide_sources: np.ndarray
    footprint_slide: np.ndarray
    footprint_cell: np.ndarray
    links_by_cell: CellIndex
    buildings_by_cell: CellIndex
    components_by_cell: CellIndex


LANDSLIDE_DEBRIS = "landslide_debris"
LANDSLIDE_DEBRIS_GPKG = f"{LANDSLIDE_DEBRIS}.gpkg"
SUSCEPTIBILITY_TIF = "susceptibility.tif"
SUSCEPTIBILITY_PNG = "susceptibility.png"
#: Separator of the lists in the ``osm_ways`` and ``streets`` columns.
LIST_SEPARATOR = ", "

#: Columns of the ``landslide_debris`` layer (before the geometry) and their dtypes, kept when the layer is empty.
DEBRIS_COLUMNS: dict[str, str] = {
    "slide": "int64",  # 1-based, as in the events ("slide 3")
    "t_s": "float64",
    "time_h": "float64",
    "volume_m3": "float64",
    "failed_cells": "int64",  # cells that failed (the source of the debris)
    "footprint_cells": "int64",  # cells the debris covered, sources included
    "links": "int64",  # distinct drivable links (directed) under the debris
    "osm_ways": "str",
    "streets": "str",
    "buildings": "int64",
    "components": "int64",  # lifeline components (points, and lines crossing the footprint)
}


def write_landslide_outputs(
    folder: Path,
    city: City,
    component: SlideRecord,
    state: SimState,
    title: str,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> list[str]:
    """Write a landslide run's layer, raster and map at the top of its run folder.

    Parameters
    ----------
    folder
        The run folder (it must exist).
    city
        The run's city.
    component
        The run's landslide hazard (its slides and footprints).
    state
        The state at the end of the run: the map draws the links it holds closed by debris, with every link under
        a footprint (the same links unless something cleared or closed them otherwise).
    title
        The scenario's name; the map's title is "<title>: landslide susceptibility".
    draws
        Soil draws per cell of the susceptibility.
    seed
        The run's seed; the susceptibility's own Generator is seeded from it.

    Returns
    -------
    list of str
        Names of the files written, in order. Without ``soil`` in the entry only the layer is written.
    """
    folder = Path(folder)
    frame = debris_frame(city, component)
    write_layer(folder / LANDSLIDE_DEBRIS_GPKG, LANDSLIDE_DEBRIS, frame, "MultiPolygon")
    written = [LANDSLIDE_DEBRIS_GPKG]
    soil = component.spec.soil
    if soil is None:
        return written
    recharge = peak_recharge_m_day(component.spec, component.rain)
    probability = susceptibility(city, soil, recharge, draws, susceptibility_rng(seed), component.spec.min_slope_deg)
    write_susceptibility_tif(folder / SUSCEPTIBILITY_TIF, city, probability)
    hit = debris_links(component)
    blocked = np.union1d(hit, np.flatnonzero(state.link_closed_debris))
    draw_susceptibility(
        city,
        probability,
        folder / SUSCEPTIBILITY_PNG,
        f"{title}: landslide susceptibility",
        draws=draws,
        recharge_mm_day=round(recharge * 1000.0, 1),
        footprints=list(frame.geometry),
        blocked_links=blocked,
        slides=len(frame),
    )
    return [*written, SUSCEPTIBILITY_TIF, SUSCEPTIBILITY_PNG]


def susceptibility_command(args: argparse.Namespace) -> int:
    """The ``twin hazard susceptibility`` command: ``susceptibility.tif`` and ``.png`` for a map, without a run.

    Soil and minimum slope from ``--scenario``'s landslide entry (or the assumed default soil), recharge from
    ``--recharge-mm-day`` (or the entry's peak recharge); prints a one-line summary on standard output.

    Raises
    ------
    TwinError
        A bad map folder (MapError), a scenario without a landslide entry with soil (ScenarioError), no recharge
        or a bad count (UsageError), an output folder that cannot be written (RunError).
    """
    started = time.perf_counter()
    if args.draws < 1:
        raise UsageError(f"--draws must be at least 1, got {args.draws}")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    scenario = None
    if args.scenario is not None:
        from twin.scenario import load_scenario

        scenario = load_scenario(args.scenario)
    inputs = susceptibility_inputs(scenario, args.recharge_mm_day, str(args.scenario) if scenario else None)
    seed = args.seed if args.seed is not None else (scenario.seed if scenario is not None else 1)
    city = load_city(args.map, cache_dir=args.cache, progress=lambda m: print(f"  {m} ...", file=sys.stderr))
    if inputs.assumed_soil:
        print(
            f"  soil: {inputs.soil_source}, not calibrated for {city.name}; give --scenario with a landslide "
            "entry for a study",
            file=sys.stderr,
        )
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
    computed = time.perf_counter()
    probability = susceptibility(
        city, inputs.soil, inputs.recharge_m_day, args.draws, susceptibility_rng(seed), inputs.min_slope_deg
    )
    computed = time.perf_counter() - computed
    title = f"{scenario.name if scenario is not None else city.name}: landslide susceptibility"
    try:
        write_susceptibility_tif(out / SUSCEPTIBILITY_TIF, city, probability)
        draw_susceptibility(
            city,
            probability,
            out / SUSCEPTIBILITY_PNG,
            title,
            draws=args.draws,
            recharge_mm_day=round(inputs.recharge_m_day * 1000.0, 1),
        )
    except OSError as exc:
        raise RunError(f"{out}: cannot write the susceptibility files ({exc.strerror or exc})") from exc
    land = np.isfinite(probability)
    share = float((probability[land] >= SUSCEPTIBILITY_HIGH).mean()) if land.any() else 0.0
    candidates = len(candidate_cells(city, inputs.min_slope_deg)[0])
    print(
        f"{city.name}: {int(land.sum()):,} cells ({candidates:,} candidates: slope >= {inputs.min_slope_deg:g} deg, "
        "not bare rock or water), "
        f"{share:.1%} with P(fail) >= {SUSCEPTIBILITY_HIGH:g}; {args.draws} draws at "
        f"{inputs.recharge_m_day * 1000:.1f} mm/day ({inputs.recharge_source}), soil from {inputs.soil_source}, "
        f"seed {seed}; {computed:.2f} s ({time.perf_counter() - started:.1f} s in all); wrote "
        f"{out / SUSCEPTIBILITY_TIF} and {SUSCEPTIBILITY_PNG}"
    )
    return 0


def write_susceptibility_tif(path: Path, city: City, probability: np.ndarray) -> None:
    """P(FS < 1) on the terrain grid as a GeoTIFF (see :func:`twin.hazards.flood.outputs.write_grid_tif`)."""
    write_grid_tif(path, city, probability, "probability of failure P(FS < 1)", "1", "probability")


def debris_links(component: SlideRecord) -> np.ndarray:
    """The drivable links under any slide's debris (sorted, distinct)."""
    _, link = component.links_by_cell.pairs(component.footprint_slide, component.footprint_cell)
    return np.unique(link)


def debris_frame(city: City, component: SlideRecord) -> gpd.GeoDataFrame:
    """One row per slide: time, volume, cells, what its debris covered, and its footprint as a (multi)polygon.

    Parameters
    ----------
    city
        The run's city.
    component
        The run's landslide hazard.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`DEBRIS_COLUMNS` and the geometry (city CRS), slides in order.
    """
    count = len(component.slide_t)
    slide, cell = component.footprint_slide.astype(np.int64), component.footprint_cell.astype(np.int64)
    links = city.drive.links
    link_slide, link = _distinct(*component.links_by_cell.pairs(slide, cell))
    building_slide, _ = _distinct(*component.buildings_by_cell.pairs(slide, cell))
    comp_slide, _ = _distinct(*component.components_by_cell.pairs(slide, cell))
    t_s = component.slide_t.astype(np.float64)
    table = pd.DataFrame(
        {
            "slide": np.arange(1, count + 1, dtype=np.int64),
            "t_s": t_s,
            "time_h": t_s / 3600.0,
            "volume_m3": component.slide_volume.astype(np.float64),
            "failed_cells": component.slide_sources.astype(np.int64),
            "footprint_cells": np.bincount(slide, minlength=count),
            "links": np.bincount(link_slide, minlength=count),
            "osm_ways": _joined(link_slide, links["osm_way"].to_numpy(np.int64)[link], count),
            "streets": _joined(link_slide, links["name"].to_numpy(str)[link], count),
            "buildings": np.bincount(building_slide, minlength=count),
            "components": np.bincount(comp_slide, minlength=count),
        }
    )
    geometry = footprint_polygons(city, slide, cell, count)
    return geo_frame(table, geometry, city.crs, columns=DEBRIS_COLUMNS)


def footprint_polygons(city: City, slide: np.ndarray, cell: np.ndarray, count: int) -> np.ndarray:
    """The union of each slide's footprint cells (squares on the terrain grid), one geometry per slide.

    Each cell is a box on the terrain transform; a slide's boxes are merged by a coverage union (the cells of a
    slide are distinct and share exact edges, so no full overlay is needed), collinear vertices removed.
    Slides are merged in buckets of similar size (up to a power of two cells, padded with None, which the union
    ignores), one vectorised call per bucket.

    Parameters
    ----------
    city
        The city (terrain grid and transform).
    slide, cell
        (slide, flat cell) pairs of the footprints, each pair once.
    count
        Number of slides.

    Returns
    -------
    numpy.ndarray
        ``count`` shapely geometries (Polygon or MultiPolygon; an empty polygon for a slide without cells).
    """
    out = np.array([shapely.Polygon() for _ in range(count)], dtype=object)
    if not len(cell):
        return out
    transform, cols = city.terrain.transform, city.terrain.elevation_m.shape[1]
    row, col = np.divmod(cell, cols)
    x0, x1 = transform.c + transform.a * col, transform.c + transform.a * (col + 1)
    y0, y1 = transform.f + transform.e * row, transform.f + transform.e * (row + 1)
    boxes = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1))
    order = np.argsort(slide, kind="stable")
    slide, boxes = slide[order], boxes[order]
    sizes = np.bincount(slide, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(len(slide)) - starts[slide]
    bucket = np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    for level in np.unique(bucket[sizes > 0]):
        members = np.flatnonzero((bucket == level) & (sizes > 0))
        slot = np.full(count, -1, dtype=np.int64)
        slot[members] = np.arange(len(members))
        padded = np.full((len(members), 2 ** int(level)), None, dtype=object)
        mine = slot[slide] >= 0
        padded[slot[slide[mine]], rank[mine]] = boxes[mine]
        out[members] = shapely.simplify(shapely.coverage_union_all(padded, axis=1), 0.0)
    return out


def _distinct(owner: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (owner, item) pairs, sorted by owner then item."""
    if not len(owner):
        return owner.astype(np.int64), item.astype(np.int64)
    pairs = np.unique(np.stack([owner.astype(np.int64), item.astype(np.int64)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _joined(owner: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Per owner, its distinct non-empty values, sorted (numbers as numbers) and joined with :data:`LIST_SEPARATOR`.

    Owners without values get "".
    """
    out = np.full(count, "", dtype=object)
    if not len(owner):
        return out
    table = pd.DataFrame({"owner": owner, "value": values})
    table = table[table["value"] != ""].drop_duplicates()
    joined = table.groupby("owner")["value"].agg(lambda v: LIST_SEPARATOR.join(str(x) for x in sorted(v)))
    out[joined.index.to_numpy(np.int64)] = joined.to_numpy(object)
    return out
