"""The library runner: validate a scenario, load its City, run the engine, write the run folder.

:func:`run_scenario` is what ``twin run``, the sweep worker and the drill server call: it takes no command line,
prints nothing and keeps no state between calls; the caller sees progress through a plain callback.

The run folder (:mod:`twin.results`, :mod:`twin.runfolder`) holds the Results (time series, event log, metrics,
assumptions, the resolved scenario, provenance), the outputs of the run's phases (:meth:`CityModel.write_outputs`:
trips, the hazards' rasters and layers, the lifelines' layers and service-loss map), the service-level curves
(``service_levels.png``) and ``manifest.json``. It is claimed empty (or emptied with ``overwrite``) only once
the scenario has validated against its map, marked ``incomplete`` from the start, and says ``complete`` only
after every file is written and listed in the manifest. Ctrl-C while the engine runs, or while the outputs are
written, keeps the tables computed so far, marked incomplete.

``provenance.json`` says what the run cost in wall time (:data:`TIMES_KEY`): the map's loading, the engine's
build on it, its steps and the metrics; :data:`ENGINE_TIME_KEY`, the engine time, adds up the last three, the
simulation itself. The phases' code is loaded (imported) before the build is timed, so the engine time is the
same in a fresh process as in one that ran before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import ScenarioError, TwinError
from twin.metrics import run_metrics, service_names
from twin.metrics.summary import WATER_BUDGET_KEY
from twin.registry import REGISTRY
from twin.results import Results, provenance_base, to_jsonable
from twin.runfolder import (
    STATUS_COMPLETE,
    STATUS_INCOMPLETE,
    begin_run_folder,
    check_run_folder,
    seal_run_folder,
    write_provenance,
)
from twin.scenario import Scenario, load_scenario
from twin.sim.checkpoint import scenario_hash
from twin.units import format_duration, parse_duration_s

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.sim.model import CityModel

#: Stages a run reports to its progress callback, in order.
STAGES = ("map", "run", "write")
#: ``provenance.json``'s wall time (s) of the simulation: building the engine on the loaded City, every step and
#: the metrics (:data:`ENGINE_PARTS`); neither Python's imports, the scenario's validation, the map's loading nor
#: writing the run folder.
ENGINE_TIME_KEY = "engine_time_s"
#: ``provenance.json``'s wall times (s) of the parts of a run: ``map`` (loading the City, from its cache or
#: built), ``build`` (:class:`CityModel`: the phases on the City), ``steps`` and ``metrics``.
TIMES_KEY = "times_s"
#: The parts of :data:`TIMES_KEY` that the engine time adds up.
ENGINE_PARTS = ("build", "steps", "metrics")


@dataclass(frozen=True)
class RunProgress:
    """What a run reports to its ``progress`` callback.

    Attributes
    ----------
    stage
        ``"map"`` (loading or building the City; ``message`` says what), ``"run"`` (after each engine step;
        ``clock_s`` of ``duration_s``) or ``"write"`` (``message`` names the output being written).
    message
        What is happening, in a few words.
    clock_s
        Simulated time reached (s).
    duration_s
        The scenario's duration (s).
    """

    stage: str
    message: str = ""
    clock_s: float = 0.0
    duration_s: float = 0.0


ProgressCallback = Callable[[RunProgress], None]


def run_scenario(
    spec: Scenario | str | os.PathLike[str],
    *,
    seed: int | None = None,
    until: float | str | None = None,
    out: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
    provenance: dict[str, Any] | None = None,
    allow_long: bool = False,
    allow_outside_paths: bool = False,
) -> Results:
    """Run one scenario to its end (or ``until``) and return its Results, written to ``out`` when given.

    Parameters
    ----------
    spec
        A validated :class:`~twin.scenario.Scenario`, or the path of a scenario file.
    seed
        Seed of the run (default: the scenario's).
    until
        Stop at this simulated time: seconds, or a duration such as ``"2h"``; within the scenario's duration.
    out
        The run folder; None writes nothing (the Results are only returned).
    overrides
        ``PATH=VALUE`` changes to a scenario file (as ``twin run --set``); only with a path.
    progress
        Called with a :class:`RunProgress` while the map loads, after every engine step and per output.
    overwrite
        Empty ``out`` when it holds files, once the scenario has validated, instead of refusing it.
    provenance
        Further entries for ``provenance.json`` (``twin run`` adds its command line).
    allow_long, allow_outside_paths
        Lift the limits on a scenario file's run length and CSV paths (as ``twin run --allow-long`` and
        ``--allow-outside-paths``); see :func:`twin.scenario.load_scenario`. Only with a path.

    Returns
    -------
    Results
        The run's tables and documents (``provenance["status"]`` says whether it reached its end).

    Raises
    ------
    ScenarioError
        If the scenario (with the overrides) is invalid or does not fit its map, ``until`` is out of range or
        ``seed`` is not a whole number >= 0.
    RunError
        If ``out`` is refused (not empty, a file, a link) or cannot be written.
    KeyboardInterrupt
        Re-raised after saving the tables computed so far to ``out``, marked incomplete.
    """
    scenario = _scenario_of(spec, overrides, allow_long=allow_long, allow_outside_paths=allow_outside_paths)
    until_s = until_seconds(until, scenario)
    _check_seed(seed)
    folder = None if out is None else Path(out)
    if folder is not None:
        check_run_folder(folder, overwrite)  # before the map loads: a refusal should not make anyone wait
    # The City loader and the engine (SciPy, PROJ, shapely, Mesa) are imported only now: a refused scenario or
    # folder is reported without waiting for them (tests/test_imports.py)
    from twin.city.build import load_city
    from twin.sim.model import CityModel

    loading = time.perf_counter()
    city = load_city(scenario.map, progress=_map_progress(progress))
    # The phases' code loads on first use in a process (0.2 s of imports for the demo): before the build's clock
    # starts, so that the engine time counts the engine's work, the same in a fresh process as in a warm one.
    REGISTRY.phase_builders()
    building = time.perf_counter()
    model = CityModel(city, scenario, seed=seed)
    built = time.perf_counter()
    facts = {**run_provenance(model, city), **(provenance or {})}
    if not isinstance(spec, Scenario):
        facts.setdefault("scenario_file", str(spec))
    facts[TIMES_KEY] = {"map": _seconds(building - loading)}
    return run_model(
        model,
        until_s=until_s,
        out=folder,
        progress=progress,
        overwrite=overwrite,
        provenance=facts,
        build_s=built - building,
    )


def run_model(
    model: CityModel,
    *,
    until_s: float | None = None,
    out: Path | None = None,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
    provenance: dict[str, Any] | None = None,
    build_s: float | None = None,
) -> Results:
    """Run a built model (resumable) and return its Results, written to ``out`` when given.

    Parameters are those of :func:`run_scenario`; ``provenance`` defaults to :func:`run_provenance`.
    ``build_s`` is the wall time (s) the caller took to build ``model`` (:class:`CityModel`), counted in the
    provenance's engine time (:data:`ENGINE_TIME_KEY`); None when the model was built elsewhere (a resumed run).
    """
    facts = dict(provenance) if provenance is not None else run_provenance(model, model.city)
    times = dict(facts.get(TIMES_KEY) or {})
    if build_s is not None:
        times["build"] = _seconds(build_s)
    if out is not None:
        begin_run_folder(out, to_jsonable(facts), overwrite=overwrite)
    start = time.perf_counter()
    try:
        model.run(until_s=until_s, progress=_step_progress(progress))
    except KeyboardInterrupt:
        results = _results_timed(model, facts, times, start, interrupted="while running")
        if out is not None:
            results.write(out)
        raise
    results = _results_timed(model, facts, times, start)
    if out is not None:
        write_run_folder(model, results, out, progress)
    return results


def write_run_folder(model: CityModel, results: Results, folder: Path, progress: ProgressCallback | None) -> None:
    """Tables first, then the outputs and the curves, then the manifest and the status (complete if finished).

    Ctrl-C (or any failure) while the outputs are written leaves the tables in place and the folder marked
    incomplete, with what it was doing in the provenance.
    """
    # matplotlib and the report's modules load here, not at import: a run without a folder (a sweep worker's)
    # and the commands that only validate never pay for them.
    from twin.report.curves import SERVICE_LEVELS_PNG, plot_service_levels
    from twin.report.html_report import write_report

    notify = progress or _ignore
    notify(RunProgress("write", "tables", model.clock_s, model.duration_s))
    results.write(folder)
    try:
        notify(RunProgress("write", "outputs", model.clock_s, model.duration_s))
        model.write_outputs(folder)
        notify(RunProgress("write", SERVICE_LEVELS_PNG, model.clock_s, model.duration_s))
        plot_service_levels(
            results.timeseries,
            results.events,
            folder / SERVICE_LEVELS_PNG,
            model.spec.name,
            start=model.spec.start,
            end_s=model.clock_s,
        )
        notify(RunProgress("write", "report.html", model.clock_s, model.duration_s))
        # The report states the status the folder is about to be sealed with.
        status = STATUS_COMPLETE if model.finished else STATUS_INCOMPLETE
        sealed = dataclasses.replace(results, provenance={**results.provenance, "status": status})
        write_report(folder, results=sealed)
    except BaseException:
        _mark_interrupted(folder, results.provenance, "while writing the outputs")
        raise
    seal_run_folder(folder, to_jsonable(results.provenance), status)


def results_of(model: CityModel, provenance: dict[str, Any]) -> Results:
    """The Results of a model as it stands (complete or not)."""
    spec, city = model.spec, model.city
    timeseries = model.recorder.timeseries()
    metrics = run_metrics(
        timeseries,
        population=city.population,
        recovery_threshold=spec.metrics.recovery_threshold,
        control_time_s=spec.metrics.control_time_s,
    )
    return Results(
        timeseries=timeseries,
        events=model.recorder.events_table(),
        zones=model.recorder.zones_table(),
        metrics=metrics,
        assumptions={"map": list(city.assumptions), "scenario": _scenario_assumptions(model) + model.assumptions()},
        provenance=provenance,
        scenario=spec.resolved_dict(),
    )


def run_provenance(model: CityModel, city: City) -> dict[str, Any]:
    """What ``provenance.json`` records about a run before it starts (software, seed, map, scenario hash)."""
    return {
        **provenance_base(),
        "seed": model.seed_value,
        "map_hash": city.map_hash,
        "scenario_hash": scenario_hash(model.spec),
        "command": "twin.run_scenario",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def until_seconds(until: float | str | None, spec: Scenario) -> float | None:
    """``until`` in seconds, checked to lie within the scenario (None: run to the end).

    Raises
    ------
    ScenarioError
        If ``until`` is not a duration, not after the start, or after the scenario's end.
    """
    if until is None:
        return None
    if isinstance(until, bool) or not isinstance(until, int | float | str):
        raise ScenarioError(f"until (--until): expected a duration such as 2h or 90min, got {until!r}")
    try:
        until_s = parse_duration_s(until) if isinstance(until, str) else float(until)
    except ValueError as exc:
        raise ScenarioError(f"until (--until): {exc}") from None
    duration_s = float(spec.duration_s)
    if not 0 < until_s <= duration_s:
        raise ScenarioError(
            f"until (--until): {until if isinstance(until, str) else format_duration(until_s)} is outside the "
            "scenario, which runs "
            f"{format_duration(duration_s)}; give a time after the start and at most the duration, or leave it out "
            "to run to the end"
        )
    return until_s


def default_folder(spec: Scenario, now: dt.datetime | None = None) -> Path:
    """``runs/<scenario name>-<local time>`` under the current directory."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{spec.name}-{stamp}"


def summary_table(results: Results) -> str:
    """The metrics per service as a small text table."""
    services = {service: results.metrics[service] for service in service_names(results.metrics)}
    thresholds = {float(f["recovery_threshold"]) for f in services.values() if f.get("recovery_threshold")}
    share = f"{100 * thresholds.pop():g} %" if len(thresholds) == 1 else "threshold"
    title = f"recovered (>= {share})"
    header = f"{'service':<10} {'min Q':>7} {'loss (h)':>9} {'index':>7} {title:>18}"
    lines = [header, "-" * len(header)]
    for service, figures in services.items():
        recover = figures.get("time_to_recover_s")
        level = float(figures.get("recovery_threshold") or 0.0) * 100
        if recover is None:
            recovered = "never"
        elif recover == 0.0:  # Q never fell below the threshold: not "recovered after 0s", never lost
            recovered = f"held >= {level:g} %"
        else:
            recovered = format_duration(float(recover))
        lines.append(
            f"{service:<10} {figures['robustness']:>7.3f} {figures['resilience_loss_h']:>9.3f} "
            f"{figures['resilience_index']:>7.3f} {recovered:>18}"
        )
    budget = results.metrics.get(WATER_BUDGET_KEY)
    if isinstance(budget, dict):
        lines.append(
            f"rain water budget: {budget['rain_m3']:,.0f} m3 of rain = {budget['losses_m3']:,.0f} lost (infiltration) "
            f"+ {budget['drained_m3']:,.0f} drained + {budget['outflow_m3']:,.0f} flowed out + "
            f"{budget['stored_m3']:,.0f} stored; closure error {budget['closure_error_m3']:.2g} m3"
        )
    return "\n".join(lines)


def validate_against_maps(
    paths: list[Path],
    with_map: bool = True,
    progress: ProgressCallback | None = None,
    *,
    allow_long: bool = False,
    allow_outside_paths: bool = False,
) -> list[str]:
    """Every problem of the scenario files, then (``with_map``) of each valid one on its map.

    The map check builds the engine for the scenario, which resolves every event target and hazard entry
    (river names, ...) against the City; the City is loaded from its cache (built on first use). ``allow_long``
    and ``allow_outside_paths``: see :func:`twin.scenario.load_scenario`.
    """
    problems: list[str] = []
    for path in paths:
        try:
            spec = load_scenario(path, allow_long=allow_long, allow_outside_paths=allow_outside_paths)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if not with_map:
            continue
        from twin.city.build import load_city  # as in run_scenario: only once a scenario is valid
        from twin.sim.model import CityModel

        try:
            CityModel(load_city(spec.map, progress=_map_progress(progress)), spec)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    return problems


def _check_seed(seed: int | None) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ScenarioError(f"seed (--seed): must be a whole number >= 0, got {seed!r}")


def _scenario_of(
    spec: Scenario | str | os.PathLike[str], overrides: Sequence[str], *, allow_long: bool, allow_outside_paths: bool
) -> Scenario:
    if isinstance(spec, Scenario):
        if overrides:
            raise ScenarioError(
                "overrides change a scenario file: give the file's path with them, or change the Scenario itself "
                "(spec.model_copy(update=...))"
            )
        return spec
    return load_scenario(Path(spec), list(overrides), allow_long=allow_long, allow_outside_paths=allow_outside_paths)


def _scenario_assumptions(model: CityModel) -> list[str]:
    spec = model.spec
    return [
        f"Q_access: residents within {format_duration(spec.metrics.access_tau_s)} of a working hospital by road "
        f"(free-flow link times, closures and hazard speed factors applied; home = nearest drivable node), "
        f"measured every {format_duration(spec.metrics.access_every_s)} and whenever links close or open",
    ]


def _results_timed(
    model: CityModel,
    facts: dict[str, Any],
    times: dict[str, float],
    start: float,
    interrupted: str | None = None,
) -> Results:
    """The Results of a model whose steps began at ``start``, with the engine's times in their provenance.

    ``times`` holds what the caller measured before the steps (``map``, ``build``); the steps and the metrics
    (:func:`results_of`) are timed here, and :data:`ENGINE_TIME_KEY` is the engine's share: build, steps and
    metrics, what the simulation itself cost (not the map's loading, nor writing the folder).
    """
    stepped = time.perf_counter()
    facts = {**facts, "stopped_at_s": model.clock_s}
    if interrupted:
        facts["interrupted"] = interrupted
    results = results_of(model, facts)
    times = {**times, "steps": _seconds(stepped - start), "metrics": _seconds(time.perf_counter() - stepped)}
    engine = sum(times.get(part, 0.0) for part in ENGINE_PARTS)
    provenance = {**facts, ENGINE_TIME_KEY: _seconds(engine), TIMES_KEY: times}
    return dataclasses.replace(results, provenance=provenance)


def _seconds(span: float) -> float:
    """A span of wall time as the provenance records it (ms)."""
    return round(span, 3)


def _mark_interrupted(folder: Path, facts: dict[str, Any], doing: str) -> None:
    """Say in the provenance what the run was doing when it stopped (the status stays incomplete)."""
    # The folder already says incomplete; the error that stopped the run is the one to report.
    with contextlib.suppress(TwinError):
        write_provenance(folder, to_jsonable({**facts, "interrupted": doing}), STATUS_INCOMPLETE)


def _map_progress(progress: ProgressCallback | None) -> Callable[[str], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda message: report(RunProgress("map", message))


def _step_progress(progress: ProgressCallback | None) -> Callable[[CityModel], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda model: report(RunProgress("run", "", model.clock_s, model.duration_s))


def _ignore(_: RunProgress) -> None:
    """The progress callback of a caller that gave none."""
