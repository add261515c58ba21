"""The flood hazard of a run: river floods and rain ponding combined on the grid, then their impacts.

Each step (hazards phase), at the step's end time t:

* every ``river_flood`` entry spreads its stage s(t) over its flood plain (:mod:`twin.hazards.flood.river`);
  where two rivers overlap the deeper water counts;
* the ``rain`` entry advances the ponds by the step's rain (:mod:`twin.hazards.flood.ponding`); pond depth is
  added to river depth (DESIGN.md "Contracts": ``water_depth_m`` = river + ponding);
* the water grid goes into ``water_depth_m`` and ``water_peak_m``, and :class:`FloodExposure` turns it into
  link closures and speeds, building depth and damage, and damaged lifeline components;
* every link water closes or reopens and every component it damages is written to the event log.

When the water grid has not changed since the last step (before the rain, after the flood), the impacts
are not recomputed: they would be the same.

A ``set_hazard_parameter`` event changes a river entry from then on (:meth:`FloodHazard.set_parameter`): its
stage offset or its hydrograph's peak. The flood plain, computed up to the scenario's highest stage, is
extended when the new series goes higher; checkpoints save the entries' current parameters and a restore
extends the plains again, to the same cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from twin.city.build import City
from twin.city.rivers import match_rivers, river_names
from twin.errors import ScenarioError
from twin.hazards.exposure import FloodChanges, FloodExposure, flood_damageable
from twin.hazards.flood.behind_levee import LeveeBasins
from twin.hazards.flood.ponding import Depressions, Ponding, composite_curve_number, table_sealed_share
from twin.hazards.flood.river import FloodPlain, channel_mask, connection_stages
from twin.hazards.flood.series import cumulative_rain_mm, max_stage_m, stage_m
from twin.hazards.flood.spec import RainSpec, RiverFloodSpec, curve_numbers_for
from twin.hazards.restoration import Recovery, damage_state
from twin.hydrology.landcover import LANDCOVER_CLASSES
from twin.interventions.flood import (
    Levee,
    as_at,
    barrier_hand,
    breach_times,
    floodproof_depths,
    levee_of,
    raised_links,
)
from twin.interventions.spec import FloodproofSpec, LeveeSpec, RaiseRoadSpec
from twin.registry import REGISTRY
from twin.scenario import Scenario
from twin.sim.impacts import Impacts, repair_components
from twin.sim.phase import Phase, StepContext
from twin.sim.targets import describe_component

CAUSE = "flood"


class FloodHazard(Phase):
    """River floods and rain ponding on one City, stepped by the engine's hazards phase.

    Build it with :meth:`from_specs`, which checks the entries against the map and reports every problem.
    """

    name = "flood"
    order = "hazards"

    def __init__(
        self,
        city: City,
        rivers: list[tuple[RiverFloodSpec, list[tuple[float, FloodPlain]]]],
        rain: tuple[RainSpec, Ponding] | None,
        entries: list[int] | None = None,
        levees: list[Levee] | None = None,
        basins: list[LeveeBasins | None] | None = None,
    ) -> None:
        self.city = city
        self.rivers = rivers
        self.rain = rain
        self.entries = list(range(len(rivers))) if entries is None else entries
        """Index in the scenario's hazards of each river, for ``set_hazard_parameter`` events."""
        self.levees = levees or []
        self.basins: list[LeveeBasins | None] = basins if basins is not None else [None] * len(rivers)
        """Per river, the land its levees protect as level pools (None without levees or protected land)."""
        self.exposure = FloodExposure(city)
        specs: list[RiverFloodSpec | RainSpec] = [spec for spec, _ in rivers] + ([rain[0]] if rain else [])
        self.component_threshold_m = min(spec.component_damage_depth_m for spec in specs)
        self._depth = np.zeros(city.terrain.elevation_m.size, dtype=np.float32)
        self._last = np.zeros_like(self._depth)
        # Wet, not destroyed components work again after the water leaves plus a restoration time.
        self.recovery = Recovery(
            city.facilities["kind"].to_numpy(str),
            np.where(self.exposure.critical, self.exposure.facility_threshold_m, self.component_threshold_m),
        )

    @classmethod
    def from_specs(cls, city: City, specs: list[Any], measures: Sequence[Any] = ()) -> FloodHazard | None:
        """The flood hazard of a scenario's hazard entries and flood interventions, or None without flood entries.

        Parameters
        ----------
        city
            The run's City.
        specs
            The scenario's hazard entries (``river_flood`` and ``rain`` are this phase's).
        measures
            The scenario's typed interventions (``levee``, ``raise_road`` and ``floodproof`` are this phase's).

        Raises
        ------
        ScenarioError
            Every entry that does not fit the map (river names it does not have; a second rain entry; a levee
            off the grid; an intervention target that matches nothing; flood interventions without a flood).
        """
        problems: list[str] = []
        channels = []
        entries = [i for i, s in enumerate(specs) if isinstance(s, RiverFloodSpec)]
        for spec in (specs[i] for i in entries):
            rows, missing = match_rivers(city.waterways, spec.rivers) if spec.rivers else (None, [])
            if missing:
                names = river_names(city.waterways)
                known = "; the map has: " + ", ".join(names) if names else "; the map has no named rivers"
                problems.append(
                    f"{spec.source}: rivers: no waterway of {city.name} is named like "
                    f"{', '.join(repr(m) for m in missing)}{known}. Or use channel_min_area_km2 to flood the "
                    "drainage network"
                )
                continue
            mask = channel_mask(city.terrain, city.hydrology, rows, spec.channel_min_area_km2)
            if not mask.any():
                problems.append(
                    f"{spec.source}: the chosen river has no channel cells on the elevation grid of {city.name} "
                    "(it lies outside the DEM, or every matched waterway is a tunnel)"
                )
                continue
            channels.append((spec, mask))
        rains = [s for s in specs if isinstance(s, RainSpec)]
        for extra in rains[1:]:
            problems.append(f"{extra.source}: only one rain entry per scenario is supported; merge the storms")
        levees = _levees(city, channels, measures, problems)
        if problems:
            raise ScenarioError("the scenario's flood hazards do not fit the map", problems)
        rivers = [(spec, _plains(city, spec, mask, levees)) for spec, mask in channels]
        top = [max_stage_m(spec) - spec.channel_depth_m for spec, _ in channels]
        basins = [_basins(city, mask, levees, t) for (_, mask), t in zip(channels, top, strict=True)]
        rain = (rains[0], _ponding(city, rains[0])) if rains else None
        if not rivers and rain is None:
            return None
        hazard = cls(city, rivers, rain, entries, levees, basins)
        hazard._apply_measures(measures)
        return hazard

    def set_parameter(self, entry: int, name: str, value: float) -> bool:
        """Set a run-time parameter of the river that is hazard entry ``entry``; False when no river is.

        The flood plain is extended at once if the new series rises above what it covers, so the steps that
        follow flood the same cells as a run whose scenario had the new value from the start.

        Raises
        ------
        ValueError
            The parameter is unknown or its value does not fit (see :meth:`RiverFloodSpec.with_parameter`).
        """
        if entry not in self.entries:
            return False
        index = self.entries.index(entry)
        spec, plains = self.rivers[index]
        self.rivers[index] = (spec.with_parameter(name, value), plains)
        self._cover(index, max_stage_m(self.rivers[index][0]))
        return True

    def _cover(self, index: int, stage_m: float) -> None:
        """Extend river ``index``'s plains (before and after each levee breach) and the basins behind its
        levees, if needed, to cover ``stage_m`` (above the bed) and the whole series of its spec."""
        spec, plains = self.rivers[index]
        highest = max(stage_m, max_stage_m(spec)) - spec.channel_depth_m
        if highest <= plains[0][1].max_stage_m:
            return
        terrain, hydrology = self.city.terrain, self.city.hydrology
        self.rivers[index] = (spec, [(from_s, plain.extended(terrain, hydrology, highest)) for from_s, plain in plains])
        old = self.basins[index]
        if old is not None:
            new = _basins(self.city, plains[0][1].channel, self.levees, highest)
            self.basins[index] = None if new is None else new.carried_over(old)

    def _apply_measures(self, measures: Sequence[Any]) -> None:
        """Raised roads and floodproofed components into the exposure (targets were checked by :func:`build`)."""
        self.exposure.road_raise_m, _ = raised_links(self.city, [m for m in measures if isinstance(m, RaiseRoadSpec)])
        proof = [m for m in measures if isinstance(m, FloodproofSpec)]
        self.exposure.withstand_m, _ = floodproof_depths(self.city, proof, self.exposure.vulnerable)

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Advance the water to the end of the step, apply it to the state and report its impacts."""
        t_s = ctx.clock_s + dt_s
        depth = self._depth
        depth[:] = 0.0
        self._log_breaches(ctx, t_s, dt_s)
        for index in range(len(self.rivers)):
            river = self.rivers[index][0]
            stage = float(stage_m(river, t_s))
            if stage - river.channel_depth_m > _plain_at(self.rivers[index][1], t_s).max_stage_m:
                self._cover(index, stage)
            cells, values = _plain_at(self.rivers[index][1], t_s).depth(stage - river.channel_depth_m)
            basins = self.basins[index]
            if basins is not None:
                cells, values = self._behind_levees(basins, river, cells, values, t_s, dt_s)
            np.maximum.at(depth, cells, values.astype(np.float32))
        if self.rain is not None:
            rain, ponding = self.rain
            before, after = cumulative_rain_mm(rain, np.array([t_s - dt_s, t_s]))
            ponding.step(float(before), float(after), dt_s)
            cells, values = ponding.depth_grid_values()
            depth[cells] += values.astype(np.float32)
        self._recover(ctx, t_s, depth)
        if np.array_equal(depth, self._last) and ctx.step_count > 0:
            return
        self._last[:] = depth
        state = ctx.state
        state.water_depth_m[:] = depth.reshape(state.water_depth_m.shape)
        np.maximum(state.water_peak_m, state.water_depth_m, out=state.water_peak_m)
        changes = self.exposure.apply(
            state,
            t_s,
            deck_height_m=self.city.config.bridge_deck_height_m,
            component_threshold_m=self.component_threshold_m,
        )
        ctx.report(self._impacts(state, t_s, changes))

    @staticmethod
    def _behind_levees(
        basins: LeveeBasins, river: RiverFloodSpec, cells: np.ndarray, values: np.ndarray, t_s: float, dt_s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The river's water with the land behind its levees filled by weir flow over the step (not at once)."""
        basins.advance(lambda t: float(stage_m(river, t)) - river.channel_depth_m, t_s - dt_s, t_s)
        stage = float(stage_m(river, t_s)) - river.channel_depth_m
        keep = (basins.label[cells] < 0) | (basins.flank_m[cells] < stage)
        inside, level = basins.depth()
        return np.concatenate([cells[keep], inside]), np.concatenate([values[keep], level])

    def _log_breaches(self, ctx: StepContext, t_s: float, dt_s: float) -> None:
        """Log each levee whose breach time falls in this step (the water passes its gap from now on)."""
        for levee in self.levees:
            if levee.breach_s is not None and t_s - dt_s < levee.breach_s <= t_s:
                details = {
                    "crest_m": levee.crest_m,
                    "width_m": levee.gap_width_m,
                    "initial_width_m": levee.breach_initial_width_m,
                    "formation_s": levee.breach_formation_s,
                    "gap_cells": int(levee.gap.size),
                }
                ctx.log(t_s, "levee_breach", levee.label, "intervention", details)

    def _impacts(self, state: Any, t_s: float, changes: FloodChanges) -> Impacts:
        """The links water closed and reopened (with their depth) and the components it damaged (with the depth at
        their cell)."""
        component_depth = state.water_depth_m.ravel()[self.exposure.component_cell]
        return Impacts(
            t_s=t_s,
            cause=CAUSE,
            closed_links=changes.closed,
            reopened_links=changes.reopened,
            link_measure=("depth_m", state.link_flood_depth_m, 3),
            damaged_components=changes.damaged_components,
            component_measure=("depth_m", component_depth, 3),
        )

    def _recover(self, ctx: StepContext, t_s: float, depth: np.ndarray) -> None:
        """Bring back the flood-damaged components whose restoration time since the water receded has passed."""
        state = ctx.state
        rows = np.flatnonzero(state.comp_damaged & (state.comp_cause == CAUSE) & (self.exposure.component_cell >= 0))
        if not rows.size:
            return
        water = np.fmax(depth[self.exposure.component_cell[rows]].astype(np.float64), 0.0)
        back, delay_h = self.recovery.step(t_s, rows, water)
        for row, hours in zip(back.tolist(), delay_h.tolist(), strict=True):
            peak = float(self.recovery.peak_m[row])
            details = {
                "component": row,
                "peak_depth_m": round(peak, 3),
                "dry_since_s": float(self.recovery.dry_since_s[row]),
                "rule": f"Hazus restoration, {damage_state(peak)}: {hours:g} h after the water left",
            }
            ctx.log(t_s, "repair_component", describe_component(self.city, row), "flood receded", details)
        repair_components(state, back)
        self.recovery.reset(back)

    def arrays(self) -> dict[str, np.ndarray]:
        """State to checkpoint: the ponds, the flooded components' recovery clocks, and each river's run-time
        parameters (its stage is a function of time and of them)."""
        arrays: dict[str, np.ndarray] = {
            "last_depth": self._last,
            "wet_peak": self.recovery.peak_m,
            "dry_since": self.recovery.dry_since_s,
            **self._river_parameters(),
            **{f"levee_basins__{i}": b.volume_m3 for i, b in enumerate(self.basins) if b is not None},
        }
        if self.rain is not None:
            arrays.update(self.rain[1].arrays())
        return arrays

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`; the flood plains are extended again, deterministically, where needed."""
        self._last = np.array(arrays["last_depth"], dtype=np.float32)
        self.recovery.peak_m = np.array(arrays["wet_peak"], dtype=np.float64)
        self.recovery.dry_since_s = np.array(arrays["dry_since"], dtype=np.float64)
        current = self._river_parameters()
        for key, now in current.items():
            saved = arrays.get(key, now)  # a checkpoint written before run-time parameters existed: unchanged
            for entry, old, new in zip(self.entries, now.tolist(), saved.tolist(), strict=True):
                if np.isfinite(new) and new != old:
                    self.set_parameter(entry, key.removeprefix("river__"), new)
        for index, basins in enumerate(self.basins):
            if basins is not None and f"levee_basins__{index}" in arrays:
                basins.set_volumes(np.asarray(arrays[f"levee_basins__{index}"], dtype=np.float64))
        if self.rain is not None:
            self.rain[1].load_arrays(arrays)

    def _river_parameters(self) -> dict[str, np.ndarray]:
        """``river__<parameter>``: each river's current value (NaN where it has none: a gauge's peak)."""
        values: dict[str, list[float]] = {name: [] for name in RiverFloodSpec.runtime_parameters}
        for spec, _plain in self.rivers:
            values["stage_offset_m"].append(spec.stage_offset_m)
            peak = spec.hydrograph.peak_stage_m if spec.hydrograph is not None else np.nan
            values["hydrograph.peak_stage_m"].append(peak)
        return {f"river__{name}": np.array(column, dtype=np.float64) for name, column in values.items()}

    def assumptions(self) -> list[str]:
        """What the flood model assumed, for ``assumptions.json``."""
        notes = list(self.exposure.assumptions())
        notes.append(
            "components wetted but not destroyed (peak depth <= 2 m) work again after the water recedes plus the "
            "mean Hazus restoration time of their kind and damage state (<= 1 m moderate, <= 2 m extensive; "
            "assumed mapping); deeper ones are destroyed and wait for a repair"
        )
        for spec, plains in self.rivers:
            plain = plains[0][1]
            what = (
                f"rivers matching {spec.rivers}"
                if spec.rivers
                else (f"the drainage network (cells draining >= {spec.channel_min_area_km2} km2)")
            )
            notes.append(
                f"river stage measured from the channel bed, {spec.channel_depth_m:g} m below the DEM's river "
                "cells (channel_depth_m); water leaves the channel above that"
            )
            notes.append(
                f"river flood on {what}: HAND bathtub with hydro-connectivity (4-connected) on the "
                f"{self.city.terrain.resolution_m:.0f} m grid, {len(plain.cells)} cells floodable up to "
                f"{max_stage_m(spec):.2f} m stage; no flow dynamics, so arrival follows the stage at once"
            )
        for levee in self.levees:
            notes.append(_levee_note(levee))
        basins = [b for b in self.basins if b is not None]
        if basins:
            count = sum(len(b.curves) for b in basins)
            cells = sum(int((b.label >= 0).sum()) for b in basins)
            notes.append(
                f"land behind levees: {count} basins ({cells} cells) filled as level pools by weir flow over the "
                "crest and through breaches (Q = C L H^1.5, Villemonte's submergence factor), up to the river's "
                "level at most; water below every crest and breach stays behind (no pumps or outfalls)"
            )
        raised = int((self.exposure.road_raise_m > 0).sum())
        if raised:
            notes.append(f"raise_road: {raised} links carry that much less water (closure and speeds follow)")
        proofed = int((self.exposure.withstand_m > 0).sum())
        if proofed:
            notes.append(f"floodproof: {proofed} components withstand water up to their design depth")
        if self.rain is not None:
            rain, ponding = self.rain
            notes.append(
                f"rain ponding: SCS curve numbers (TR-55, soil group {rain.soil_group}) composited with the sealed "
                "share of each cell beyond what the class's table value assumes (residential 65%), drains take "
                f"{rain.drainage_mm_h:g} mm/h, runoff routed by D8 into "
                f"{ponding.depressions.count} depressions (level pools, fill and spill); spatially uniform rain"
            )
        return notes

    def series(self) -> dict[str, float]:
        """The rain water budget so far as time-series columns (:data:`twin.metrics.water.BUDGET_COLUMNS`), m3."""
        budget = self.water_budget()
        if budget is None:
            return {}
        return {f"water_{name}_m3": value for name, value in budget.items()}

    def outputs(self, folder: Path) -> list[Path]:
        """The flood's rasters and layers (:mod:`twin.hazards.flood.outputs`); the water budget is in the time
        series (:meth:`series`) and in ``metrics.json`` (:func:`twin.metrics.run_metrics`)."""
        from twin.hazards.flood.outputs import write_flood_outputs  # geopandas and matplotlib only when writing

        run = self.attached()
        return [folder / name for name in write_flood_outputs(folder, self.city, run.state, run.title)]

    def water_budget(self) -> dict[str, float] | None:
        """The ponding water budget so far (m3), or None without rain.

        ``rain`` = ``losses`` (infiltration and abstraction, SCS-CN) + ``drained`` (by the drains) + ``outflow``
        (left the map) + ``stored`` (in the ponds): tests/test_flood.py checks that it closes.
        """
        if self.rain is None:
            return None
        ponding = self.rain[1]
        return {**ponding.budget.as_dict(), "stored": ponding.stored_m3}


def _levees(
    city: City, channels: list[tuple[RiverFloodSpec, np.ndarray]], measures: Sequence[Any], problems: list[str]
) -> list[Levee]:
    """The levees of the scenario on the grid; problems (off the grid, no river to hold back) go to ``problems``."""
    specs = [m for m in measures if isinstance(m, LeveeSpec)]
    if specs and not channels:
        problems.extend(
            f"{spec.source}: a levee holds back a river, and the scenario has no river_flood hazard; add one or "
            "remove the levee"
            for spec in specs
        )
        return []
    channel = np.zeros(city.terrain.elevation_m.size, dtype=bool)
    for _, mask in channels:
        channel |= mask
    levees = []
    for spec in specs:
        levee, problem = levee_of(city, spec, channel)
        if problem:
            problems.append(problem)
        elif levee is not None:
            levees.append(levee)
    return levees


def _plains(city: City, spec: RiverFloodSpec, mask: np.ndarray, levees: list[Levee]) -> list[tuple[float, FloodPlain]]:
    """The river's flood plain from the start, and again from each levee breach on: ``[(from_s, plain), ...]``.

    From a breach on, the breached levee stands without its gap (:meth:`Levee.at`).
    """
    top = max_stage_m(spec) - spec.channel_depth_m
    plains = []
    for from_s in [0.0, *breach_times(levees)]:
        up = [levee for levee in as_at(levees, from_s) if levee.cells.size]
        barrier = (lambda hand, up=up: barrier_hand(hand, up)) if up else None
        plains.append((from_s, FloodPlain.of_channel(city.terrain, city.hydrology, mask, top, barrier)))
    return plains


def _levee_note(levee: Levee) -> str:
    """What the run assumed about one levee, for ``assumptions.json``."""
    breach = ""
    if levee.breach_s is not None:
        growth = (
            "open at once"
            if levee.breach_formation_s <= 0
            else f"growing linearly from {levee.breach_initial_width_m:g} m over {levee.breach_formation_s / 3600:g} h"
        )
        breach = (
            f", breached at {levee.breach_s / 3600:g} h: a {levee.gap_width_m:g} m gap ({levee.gap.size} cell"
            f"{'' if levee.gap.size == 1 else 's'} of the grid), "
            f"{growth}"
        )
    return (
        f"{levee.label}: {levee.cells.size} cells of the grid raised {levee.crest_m:g} m in the river's "
        f"connectivity; water crosses it as weir flow, C = {levee.weir_coefficient:.4g} m^0.5/s{breach}"
    )


def _basins(city: City, channel: np.ndarray, levees: list[Levee], top_m: float) -> LeveeBasins | None:
    """The land the levees protect from one river (bool flat ``channel``) up to ``top_m``, as level pools."""
    if not levees:
        return None
    terrain, hydrology = city.terrain, city.hydrology
    hand, bare = connection_stages(terrain, hydrology, channel)
    walls = [replace(levee, crest_m=np.inf) for levee in levees]
    _, walled = connection_stages(terrain, hydrology, channel, lambda h: barrier_hand(h, walls))
    shape = (int(terrain.elevation_m.shape[0]), int(terrain.elevation_m.shape[1]))
    return LeveeBasins.of_river(hand, bare, walled, levees, shape, float(terrain.resolution_m), top_m)


def _plain_at(plains: list[tuple[float, FloodPlain]], t_s: float) -> FloodPlain:
    """The plain in force at ``t_s``: the last one whose start is at or before it."""
    current = plains[0][1]
    for from_s, plain in plains:
        if from_s <= t_s:
            current = plain
    return current


def _ponding(city: City, spec: RainSpec) -> Ponding:
    hydrology = city.hydrology
    class_cn = curve_numbers_for(spec)
    cn = composite_curve_number(
        class_cn,
        hydrology.landcover.ravel(),
        hydrology.impervious.ravel().astype(float),
        table_sealed_share(LANDCOVER_CLASSES),
    )
    cn = np.where(np.isfinite(city.terrain.elevation_m.ravel()), cn, np.nan)
    return Ponding(Depressions.of_grid(city.terrain, hydrology), cn, spec.drainage_mm_h)


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The flood phase of a scenario (none without ``river_flood`` or ``rain`` entries)."""
    measures = spec.measures
    problems = _target_problems(city, measures)
    try:
        hazard = FloodHazard.from_specs(city, list(spec.hazards), measures)
    except ScenarioError as exc:
        raise ScenarioError("the scenario's flood hazards do not fit the map", [*exc.problems, *problems]) from None
    flood_measures = [m for m in measures if isinstance(m, RaiseRoadSpec | FloodproofSpec)]
    if hazard is None:
        problems.extend(
            f"{m.source}: a {m.type} acts on water, and the scenario has no river_flood or rain hazard; add one or "
            "remove it"
            for m in flood_measures
        )
    if problems:
        raise ScenarioError("the scenario's flood interventions do not fit the map", problems)
    return [] if hazard is None else [hazard]


def _target_problems(city: City, measures: Sequence[Any]) -> list[str]:
    """Raised roads and floodproofed components whose targets match nothing (or nothing water harms)."""
    _, problems = raised_links(city, [m for m in measures if isinstance(m, RaiseRoadSpec)])
    proof = [m for m in measures if isinstance(m, FloodproofSpec)]
    _, more = floodproof_depths(city, proof, flood_damageable(city.facilities))
    return problems + more


REGISTRY.add_phase("flood", build)
