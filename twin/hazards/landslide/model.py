"""Shallow landslides: infinite-slope stability with rain-driven wetness, debris runout down D8, and impacts.

Factor of safety per cell, SINMAP form (Pack, Tarboton & Goodwin 1998; as in landlab's LandslideProbability,
Strauch et al. 2018, Earth Surface Dynamics 6:49-75)::

    FS = (C* + cos(theta) (1 - w r) tan(phi)) / sin(theta)
    C* = C / (h rho_s g)        (dimensionless cohesion; C in Pa, h = D cos(theta) the soil thickness normal
                                 to the slope, D the vertical soil depth ``depth_m`` in m)
    r  = rho_w / rho_s
    w  = min(R a / (T sin(theta)), 1)   (relative wetness, TOPMODEL steady state)

with theta the slope of the working grid, a the specific catchment area (upslope area per unit contour width,
``accumulation x cell`` on D8), T the soil transmissivity (m2/day) and R the recharge (m/day): the rain of the last
``recharge_window`` divided by its length (a quasi-steady state that follows the storm), or a constant.
Soil parameters are drawn uniformly in their ranges once per run per cell from the run's Generator, never per
step, so results do not depend on dt. A cell fails when FS < 1, the slope is at least ``min_slope_deg``, and the
storm has exceeded the intensity-duration trigger ``I >= a D^-b`` (I mean intensity in mm/h over the D hours of
rain so far; Caine 1980, Geografiska Annaler A 62:23-27: a = 14.82, b = 0.39). Failed cells that touch in the same
step are one slide; its debris (area x soil depth) runs down the D8 path, at most ``runout_m``, while the line from
its source stays steeper than the slide's angle of reach (H/L = 0.97 V^-0.105, Corominas 1996) and the ground
steeper than 10 degrees (where debris deposits; Hungr et al. 1984), and covers every cell on the way, spread
evenly; an explicit (scripted) slide runs its ``runout_m``, as the drill says. Links whose cells are covered close
(``link_closed_debris``) and carry their share of the volume (``link_debris_m3``, for road crews to clear);
buildings covered are taken as destroyed (damage 1: no debris-intensity vulnerability curve is used yet); lifeline
components covered, and lines crossing the debris, are damaged with cause ``landslide``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage as ndi
import shapely
from pyproj import Transformer

from twin.city.build import City
from twin.errors import ScenarioError
from twin.hazards.flood.series import cumulative_rain_mm
from twin.hazards.flood.spec import RainSpec
from twin.hazards.gridindex import line_cell_pairs, point_cells
from twin.hazards.landslide.spec import LandslideSpec, ThresholdSpec
from twin.hazards.landslide.stability import (
    DEPOSITION_SLOPE_DEG,
    CellIndex,
    Soil,
    candidate_cells,
    factor_of_safety,
    reach_ratio,
    relative_wetness,
    runout_pairs,
    trigger_exceeded,
)
from twin.registry import REGISTRY
from twin.scenario import Scenario
from twin.sim.impacts import Impacts
from twin.sim.phase import LogFunction, Phase, StepContext

CAUSE = "landslide"
LINEAR_KINDS = ("line", "minor_line", "cable")


class Landslides(Phase):
    """The landslide hazard of a run (hazards phase).

    Slides are kept as arrays: per slide its time, volume and number of failed cells, and the (slide, cell)
    pairs of the debris footprints, so that any number of slides per step costs a few array operations.
    """

    name = "landslide"
    order = "hazards"

    def __init__(self, city: City, spec: LandslideSpec, rain: RainSpec | None, rng: np.random.Generator) -> None:
        self.city, self.spec, self.rain = city, spec, rain
        terrain = city.terrain
        self.shape = terrain.elevation_m.shape
        self.cell_m = terrain.resolution_m
        self._elevation = terrain.elevation_m.ravel().astype(np.float64)  # debris stops at its angle of reach
        cells, theta = candidate_cells(city, spec.min_slope_deg)
        soil = Soil.draw(spec.soil, len(cells), rng).on_slope(theta[cells]) if spec.soil is not None else None
        self.rock_cells = 0
        if soil is not None:
            # Cells unstable even when dry would have failed long ago: they are bare rock, not soil that rain moves.
            dry = factor_of_safety(
                soil.cohesion_star, soil.tan_phi, soil.density_ratio, np.zeros(len(cells)), theta[cells]
            )
            stable = dry >= 1.0
            self.rock_cells = int((~stable).sum())
            cells, soil = cells[stable], soil.subset(stable)
        self.cells, self.soil = cells, soil
        self.theta = theta[cells]
        self.area_m = city.hydrology.accumulation.ravel()[cells].astype(np.float64) * self.cell_m
        self.failed = np.zeros(len(cells), dtype=bool)
        self.triggered = spec.recharge_mm_day is not None or spec.threshold == "none"
        self.explicit_done = np.zeros(len(spec.slides), dtype=bool)
        self.slide_t = np.zeros(0)
        self.slide_volume = np.zeros(0)
        self.slide_sources = np.zeros(0, dtype=np.int64)
        self.footprint_slide = np.zeros(0, dtype=np.int64)
        self.footprint_cell = np.zeros(0, dtype=np.int64)
        self._index(city)
        self._explicit_cells = [self._cells_around(s.at_lonlat, s.width_m) for s in spec.slides]

    def _index(self, city: City) -> None:
        terrain, shape = city.terrain, self.shape
        n_cells = shape[0] * shape[1]
        pair_link, pair_cell = line_cell_pairs(
            shapely.from_wkb(city.drive.links["geometry"].to_numpy()), terrain.transform, shape
        )
        self.links_by_cell = CellIndex(pair_link, pair_cell, n_cells)
        buildings = city.buildings
        building_cell = point_cells(
            terrain.transform, shape, buildings["x"].to_numpy(float), buildings["y"].to_numpy(float)
        )
        inside = building_cell >= 0
        self.buildings_by_cell = CellIndex(np.flatnonzero(inside), building_cell[inside], n_cells)
        facilities = city.facilities
        lifeline = (facilities["group"] != "facility").to_numpy()
        linear = facilities["kind"].isin(LINEAR_KINDS).to_numpy()
        point_ids = np.flatnonzero(lifeline & ~linear)
        point_cell = point_cells(
            terrain.transform,
            shape,
            facilities["x"].to_numpy(float)[point_ids],
            facilities["y"].to_numpy(float)[point_ids],
        )
        line_ids = np.flatnonzero(lifeline & linear)
        owner, line_cell = line_cell_pairs(
            shapely.from_wkb(facilities["geometry"].to_numpy()[line_ids]), terrain.transform, shape
        )
        keep = point_cell >= 0
        self.components_by_cell = CellIndex(
            np.concatenate([point_ids[keep], line_ids[owner]]), np.concatenate([point_cell[keep], line_cell]), n_cells
        )

    def _cells_around(self, lonlat: list[float], width_m: float) -> np.ndarray:
        to_metric = Transformer.from_crs("EPSG:4326", self.city.crs, always_xy=True)
        x, y = to_metric.transform(lonlat[0], lonlat[1])
        half = width_m / 2
        offsets = np.arange(-half + self.cell_m / 2, half, self.cell_m) if width_m > self.cell_m else np.zeros(1)
        gx, gy = np.meshgrid(x + offsets, y + offsets)
        cells = point_cells(self.city.terrain.transform, self.shape, gx.ravel(), gy.ravel())
        cells = np.unique(cells[cells >= 0])
        return cells[np.isfinite(self.city.terrain.elevation_m.ravel()[cells])]

    @classmethod
    def from_specs(cls, city: City, specs: list[Any], rng: np.random.Generator) -> list[Landslides]:
        """One component per landslide entry; every misfit with the map or the scenario reported at once."""
        entries = [s for s in specs if isinstance(s, LandslideSpec)]
        rains = [s for s in specs if isinstance(s, RainSpec)]
        problems = [
            f"{extra.source}: only one landslide entry per scenario is supported; merge them (explicit "
            "slides go in one list)"
            for extra in entries[1:]
        ]
        for spec in entries:
            if spec.recharge == "rain" and not rains:
                problems.append(
                    f"{spec.source}: recharge: rain, but the scenario has no rain entry; add one "
                    "(type: rain) or give recharge_mm_day"
                )
            for i, slide in enumerate(spec.slides):
                if cls._outside(city, slide.at_lonlat):
                    problems.append(
                        f"{spec.source}: slides[{i}].at_lonlat {list(slide.at_lonlat)} is outside the "
                        f"elevation grid of {city.name} (bounds {list(city.bounds_lonlat)})"
                    )
        if problems:
            raise ScenarioError("the scenario's landslide hazards do not fit the map", problems)
        return [cls(city, spec, rains[0] if rains and spec.recharge == "rain" else None, rng) for spec in entries]

    @staticmethod
    def _outside(city: City, lonlat: list[float]) -> bool:
        x, y = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True).transform(lonlat[0], lonlat[1])
        cell = point_cells(city.terrain.transform, city.terrain.elevation_m.shape, [x], [y])[0]
        return bool(cell < 0 or not np.isfinite(city.terrain.elevation_m.ravel()[cell]))

    # --- the model -------------------------------------------------------------------------------------

    def recharge_m_day(self, t_s: float) -> float:
        """Recharge R (m/day) at time t: the window's rain / the window, or the constant rate."""
        if self.spec.recharge_mm_day is not None:
            return self.spec.recharge_mm_day / 1000.0
        if self.rain is None:
            return 0.0
        window = float(self.spec.recharge_window_s)
        before, now = cumulative_rain_mm(self.rain, np.array([max(t_s - window, 0.0), t_s]))
        return float(now - before) / 1000.0 / (window / 86400.0)

    def _update_trigger(self, t_s: float) -> None:
        if self.triggered or self.rain is None or not isinstance(self.spec.threshold, ThresholdSpec):
            return
        rain_mm = float(cumulative_rain_mm(self.rain, np.array([t_s]))[0])
        hours = (t_s - float(self.rain.start_s)) / 3600.0
        self.triggered = trigger_exceeded(rain_mm, hours, self.spec.threshold)

    def factor_of_safety(self, t_s: float) -> np.ndarray:
        """FS of every candidate cell at time t (NaN-free; inf on cells without soil)."""
        if self.soil is None:
            return np.full(len(self.cells), np.inf)
        soil = self.soil
        wetness = relative_wetness(self.recharge_m_day(t_s), self.area_m, soil.transmissivity_m2_day, self.theta)
        return factor_of_safety(soil.cohesion_star, soil.tan_phi, soil.density_ratio, wetness, self.theta)

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Fail the cells whose FS fell below 1 (once triggered) and the explicit slides now due; apply impacts."""
        t_s = ctx.clock_s + dt_s
        self._update_trigger(t_s)
        if self.triggered and self.soil is not None:
            new = ~self.failed & (self.factor_of_safety(t_s) < 1.0)
            if new.any():
                self.failed |= new
                self._add_slides(ctx, t_s, self.cells[new], self.soil.depth_m[new], self.spec.runout_m)
        for i, slide in enumerate(self.spec.slides):
            if not self.explicit_done[i] and float(slide.at_s) <= t_s + 1e-9:
                self.explicit_done[i] = True
                cells = self._explicit_cells[i]
                runout = self.spec.runout_m if slide.runout_m is None else slide.runout_m
                # A drill's slide runs the distance it scripts: the controller decides where its debris goes.
                self._add_slides(ctx, t_s, cells, np.full(len(cells), slide.depth_m), runout, one_slide=True)

    def _add_slides(
        self,
        ctx: StepContext,
        t_s: float,
        sources: np.ndarray,
        depth_m: np.ndarray,
        runout_m: float,
        one_slide: bool = False,
    ) -> None:
        """Group touching source cells into slides, run their debris out and apply what it covers."""
        if one_slide:
            labels = np.zeros(len(sources), dtype=np.int64)
        else:
            grid = np.zeros(self.shape, dtype=np.int32)
            grid.ravel()[sources] = 1
            labelled, _ = ndi.label(grid, structure=np.ones((3, 3)))
            _, labels = np.unique(labelled.ravel()[sources], return_inverse=True)
        first = len(self.slide_t)
        count = int(labels.max()) + 1
        labels = labels + first
        volume = np.bincount(labels - first, weights=depth_m * self.cell_m**2, minlength=count)
        receiver = self.city.hydrology.receiver
        if one_slide:  # explicit (scripted) slides run their runout_m
            slide, cell = runout_pairs(sources, labels, receiver, runout_m, self.cell_m, self.shape[1])
        else:
            reach = reach_ratio(volume)[labels - first]
            slide, cell = runout_pairs(
                sources, labels, receiver, runout_m, self.cell_m, self.shape[1], self._elevation, reach
            )
        self.slide_t = np.concatenate([self.slide_t, np.full(count, t_s)])
        self.slide_volume = np.concatenate([self.slide_volume, volume])
        self.slide_sources = np.concatenate([self.slide_sources, np.bincount(labels - first, minlength=count)])
        self.footprint_slide = np.concatenate([self.footprint_slide, slide])
        self.footprint_cell = np.concatenate([self.footprint_cell, cell])
        self._apply(ctx, t_s, slide, cell, first)

    def _apply(self, ctx: StepContext, t_s: float, slide: np.ndarray, cell: np.ndarray, first: int) -> None:
        """Debris on links (closed, volume spread evenly over each slide's footprint), buildings; the components
        it covers and the links it closed go to the engine as impacts."""
        state = ctx.state
        cells_per_slide = np.bincount(slide, minlength=len(self.slide_t))
        per_cell_m3 = self.slide_volume[slide] / cells_per_slide[slide]
        pair_slide, link = self.links_by_cell.pairs(slide, cell)
        link_volume = self.links_by_cell.pairs(per_cell_m3, cell)[0]
        np.add.at(state.link_debris_m3, link, link_volume)
        links = np.unique(link)
        closed = links[~state.link_closed_debris[links]]
        state.link_closed_debris[links] = True
        _, building = self.buildings_by_cell.pairs(slide, cell)
        state.building_damage[building] = 1.0
        _, comp = self.components_by_cell.pairs(slide, cell)
        fresh = np.unique(comp[~state.comp_damaged[comp]])
        self._log_slides(ctx.log, t_s, first, pair_slide, link)
        ctx.report(
            Impacts(
                t_s=t_s,
                cause=CAUSE,
                closed_links=closed,
                link_measure=("debris_m3", state.link_debris_m3, 1),
                damaged_components=fresh,
            )
        )

    def _log_slides(self, log: LogFunction, t_s: float, first: int, link_slide: np.ndarray, link: np.ndarray) -> None:
        """One ``landslide`` row per new slide (the engine logs the links it closed and components it damaged)."""
        total = len(self.slide_t)
        footprint = np.bincount(self.footprint_slide, minlength=total)
        distinct = np.unique(link_slide.astype(np.int64) * (len(self.city.drive.links) + 1) + link)
        links_hit = np.bincount(distinct // (len(self.city.drive.links) + 1), minlength=total)
        for number in range(first, total):
            log(
                t_s,
                "landslide",
                f"slide {number + 1}",
                CAUSE,
                {
                    "cells": int(self.slide_sources[number]),
                    "footprint_cells": int(footprint[number]),
                    "volume_m3": round(float(self.slide_volume[number]), 1),
                    "links": int(links_hit[number]),
                },
            )

    # --- engine hooks ------------------------------------------------------------------------------------

    def series(self) -> dict[str, float]:
        """Columns this hazard adds to the time series: the number of slides so far."""
        return {"slides": float(len(self.slide_t))}

    _ARRAYS = ("failed", "slide_t", "slide_volume", "slide_sources", "footprint_slide", "footprint_cell")

    def arrays(self) -> dict[str, np.ndarray]:
        """State to checkpoint: failed cells, the trigger, explicit slides done, and every slide."""
        return {
            **{name: getattr(self, name) for name in self._ARRAYS},
            "flags": np.concatenate([[self.triggered], self.explicit_done]).astype(bool),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        for name in self._ARRAYS:
            setattr(self, name, np.array(arrays[name]))
        flags = np.array(arrays["flags"], dtype=bool)
        self.triggered, self.explicit_done = bool(flags[0]), flags[1:].copy()

    def assumptions(self) -> list[str]:
        """What the landslide model assumed."""
        notes = [
            f"landslides: infinite-slope FS (SINMAP form) on the {self.cell_m:.0f} m grid, {len(self.cells)} cells "
            f"steeper than {self.spec.min_slope_deg:g} degrees; soil parameters drawn once per cell per run; debris "
            f"runs down the D8 path until the line from its source is flatter than its angle of reach (H/L = "
            f"0.97 V^-0.105, Corominas 1996) or the ground flatter than {DEPOSITION_SLOPE_DEG:g} degrees (deposition, "
            f"Hungr et al. 1984), at most {self.spec.runout_m:g} m; covered buildings count as "
            "destroyed (damage 1)",
        ]
        if self.spec.recharge == "rain":
            notes.append(
                f"landslide recharge = the rain of the last {self.spec.recharge_window_s / 3600:g} h, all "
                "of it (no runoff or evaporation deducted)"
            )
        return notes

    def outputs(self, folder: Path) -> list[Path]:
        """The debris layer, and with soil the susceptibility raster and map (:mod:`twin.hazards.landslide.outputs`)."""
        from twin.hazards.landslide.outputs import write_landslide_outputs  # geopandas, matplotlib: only to write

        run = self.attached()
        names = write_landslide_outputs(folder, self.city, self, run.state, run.title, seed=run.seed)
        return [folder / name for name in names]


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """One landslide phase per ``landslide`` entry (soil per cell drawn now, from ``rng``)."""
    return list(Landslides.from_specs(city, list(spec.hazards), rng))


REGISTRY.add_phase("landslide", build)
