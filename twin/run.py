"""``twin run``: validate a scenario, load or build its City, run the engine, write the run folder.

The run folder holds the Results (time series, event log, metrics, assumptions, the resolved scenario,
provenance), a PNG of the service-level curves, the hazards' rasters and layers, the lifelines' layers and
service-loss map (:mod:`twin.lifelines.outputs`), and a summary printed to the terminal. It is marked
``incomplete`` from the start and ``complete`` only once everything is written; Ctrl-C saves what was
recorded, marked incomplete.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from twin.atomic import write_parquet_atomic
from twin.city.build import City, load_city
from twin.errors import ScenarioError
from twin.metrics import service_metrics
from twin.report.curves import plot_service_levels
from twin.residents.metrics import residents_metrics
from twin.residents.phase import ResidentsPhase
from twin.results import Results, begin_run_folder, provenance_base
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel
from twin.units import format_duration, parse_duration_s


def default_folder(spec: Scenario) -> Path:
    """``runs/<scenario name>-<local time>`` under the current directory."""
    return Path("runs") / f"{spec.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def results_of(model: CityModel, provenance: dict[str, Any]) -> Results:
    """The Results of a model as it stands (complete or not)."""
    spec, city = model.spec, model.city
    timeseries = model.recorder.timeseries()
    metrics = service_metrics(
        timeseries,
        population=city.population,
        recovery_threshold=spec.metrics.recovery_threshold,
        control_time_s=spec.metrics.control_time_s,
    )
    for phase in model.phases():
        if isinstance(phase, ResidentsPhase):
            metrics["residents"] = residents_metrics(phase)
    return Results(
        timeseries=timeseries,
        events=model.recorder.events_table(),
        zones=model.recorder.zones_table(),
        metrics=metrics,
        assumptions={"map": list(city.assumptions), "scenario": _scenario_assumptions(model) + model.assumptions()},
        provenance=provenance,
        scenario=spec.resolved_dict(),
    )


def _scenario_assumptions(model: CityModel) -> list[str]:
    spec = model.spec
    return [
        f"Q_access: residents within {format_duration(spec.metrics.access_tau_s)} of a working hospital by road "
        f"(free-flow link times, closures and hazard speed factors applied; home = nearest drivable node), "
        f"measured every {format_duration(spec.metrics.access_every_s)} and whenever links close or open",
    ]


def _progress_bar(model: CityModel, quiet: bool) -> tqdm:
    return tqdm(
        total=round(model.duration_s / 60),
        unit="sim-min",
        desc=model.spec.name,
        disable=quiet,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} sim-min [{elapsed}<{remaining}]",
        file=sys.stderr,
    )


def _advance(bar: tqdm, model: CityModel) -> None:
    bar.update(round(model.clock_s / 60) - bar.n)


def execute(model: CityModel, folder: Path, provenance: dict[str, Any], until_s: float | None, quiet: bool) -> Results:
    """Run ``model`` with a progress bar, saving into ``folder``; incomplete results on Ctrl-C."""
    begin_run_folder(folder, provenance)
    start = time.perf_counter()
    bar = _progress_bar(model, quiet)
    try:
        model.run(until_s=until_s, progress=lambda m: _advance(bar, m))
    except KeyboardInterrupt:
        bar.close()
        provenance["wall_time_s"] = round(time.perf_counter() - start, 3)
        provenance["stopped_at_s"] = model.clock_s
        results_of(model, provenance).save(folder, status="incomplete")
        raise
    bar.close()
    provenance["wall_time_s"] = round(time.perf_counter() - start, 3)
    provenance["stopped_at_s"] = model.clock_s
    results = results_of(model, provenance)
    _write_hazard_outputs(model, folder)
    _write_lifeline_outputs(model, folder)
    for phase in model.phases():
        phase.outputs(folder)
    results.save(folder, status="complete" if model.finished else "incomplete")
    plot_service_levels(results.timeseries, results.events, folder / "service_levels.png", model.spec.name)
    return results


def _write_hazard_outputs(model: CityModel, folder: Path) -> None:
    """Rasters and layers of the hazards that ran (flood depth, closed links, damaged buildings)."""
    from twin.hazards.flood import FloodHazard
    from twin.hazards.landslide import Landslides
    from twin.hazards.landslide_outputs import write_landslide_outputs
    from twin.hazards.outputs import write_flood_outputs
    from twin.traffic.engine import TrafficPhase

    for component in model.components["traffic"]:
        if isinstance(component, TrafficPhase):
            write_parquet_atomic(folder / "trips.parquet", component.trips())
    hazards = model.components["hazards"]
    if any(isinstance(c, FloodHazard) for c in hazards):
        write_flood_outputs(folder, model.city, model.state, model.spec.name)
    for component in hazards:
        if isinstance(component, Landslides):
            write_landslide_outputs(folder, model.city, component, model.state, model.spec.name, seed=model.seed_value)


def _write_lifeline_outputs(model: CityModel, folder: Path) -> None:
    """``lifelines.gpkg`` and ``service_loss.png`` of every Lifelines component of the run."""
    from twin.lifelines.model import Lifelines
    from twin.lifelines.outputs import write_lifeline_outputs

    for component in model.components["lifelines"]:
        if isinstance(component, Lifelines):
            write_lifeline_outputs(
                folder,
                model.city,
                component,
                model.recorder.zones_table(),
                model.recorder.timeseries(),
                model.spec.name,
            )


def summary_table(results: Results) -> str:
    """The metrics per service as a small text table."""
    header = f"{'service':<10} {'min Q':>7} {'loss (h)':>9} {'index':>7} {'recovered after':>16}"
    lines = [header, "-" * len(header)]
    for service, figures in results.metrics.items():
        if not isinstance(figures, dict) or "robustness" not in figures:  # residents' figures are not a service
            continue
        recover = figures.get("time_to_recover_s")
        recovered = "never" if recover is None else format_duration(float(recover))
        lines.append(
            f"{service:<10} {figures['robustness']:>7.3f} {figures['resilience_loss_h']:>9.3f} "
            f"{figures['resilience_index']:>7.3f} {recovered:>16}"
        )
    return "\n".join(lines)


def validate_against_maps(paths: list[Path], with_map: bool = True) -> list[str]:
    """Every problem of the scenario files, then (``with_map``) of each valid one on its map.

    The map check builds the engine for the scenario, which resolves every event target and hazard entry
    (river names, ...) against the City; the City is loaded from its cache (built on first use).
    """
    problems: list[str] = []
    for path in paths:
        try:
            spec = load_scenario(path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if not with_map:
            continue
        try:
            CityModel(load_city(spec.map, progress=lambda m: print(f"  {m} ...", file=sys.stderr)), spec)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    return problems


def prepare(scenario: Path, overrides: list[str]) -> tuple[Scenario, City]:
    """Validate the scenario (overrides included) and load its City."""
    spec = load_scenario(scenario, overrides)
    city = load_city(spec.map, progress=lambda m: print(f"  {m} ...", file=sys.stderr))
    return spec, city


def run_command(args: argparse.Namespace) -> int:
    """The ``twin run`` command."""
    spec, city = prepare(args.scenario, args.overrides)
    try:
        until_s = None if args.until is None else parse_duration_s(args.until)
    except ValueError as exc:
        raise ScenarioError(f"--until: {exc}") from None
    model = CityModel(city, spec, seed=args.seed)
    folder = args.out or spec.outputs.folder or default_folder(spec)
    provenance = {
        **provenance_base(),
        "seed": model.seed_value,
        "map_hash": city.map_hash,
        "scenario_file": str(args.scenario),
        "command": " ".join(["twin", *sys.argv[1:]]) if sys.argv else "twin run",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    results = execute(model, Path(folder), provenance, until_s, args.quiet)
    print(summary_table(results))
    print(f"run folder: {folder}")
    return 0
