"""The ``twin`` command: ``map`` (build, info, show), ``hazard`` (susceptibility), ``validate``, ``schema``, ``run``,
``report``, ``compare``, ``sweep``, ``drill`` (:mod:`twin.drill.cli`).

Errors a user can fix (:class:`twin.errors.TwinError`) are printed without a traceback and exit with 1;
an interrupted command exits with 130.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin import __version__
from twin.drill.cli import add_drill_command
from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.run import RunProgress

Handler = Callable[[argparse.Namespace], int]
#: Layers of ``twin map show`` (twin.report.maps.city.LAYERS, repeated so that parsing needs no matplotlib).
MAP_LAYERS = ("roads", "hand", "lifelines")
#: The parser of `twin sweep analyze` (see main()).
SWEEP_ANALYZE = "sweep-analyze"


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high] (argparse prints the message and the usage, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low:,} to {high:,}, got {text}")
        return value

    return parse


SEED = _whole(0, 2**63 - 1, "a seed")
"""Seeds are 64-bit, as numpy's generators take them."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _map_build(args: argparse.Namespace) -> int:
    from twin.city.build import load_city

    start = time.perf_counter()
    city = load_city(args.map, cache_dir=args.cache, progress=lambda m: _say(f"  {m} ..."))
    _say(
        f"{city.name}: {city.drive.n_nodes} drivable nodes, {city.population} residents "
        f"({time.perf_counter() - start:.1f} s)"
    )
    from twin.city.check import check_city, format_findings

    for line in city.warnings():  # weak points the user should check before trusting a run
        _say(line)
    _say(format_findings(city.name, check_city(city)))  # what the map lacks and what the build synthesised
    return 0


def _map_init(args: argparse.Namespace) -> int:
    from twin.city.mapinit import init_map, parse_bbox

    clip = parse_bbox(args.clip) if args.clip else None
    _say(f"reading {args.osm.name} and {args.dem.name} ...")
    result = init_map(
        args.map,
        args.osm,
        args.dem,
        population=args.population,
        population_csv=args.population_csv,
        name=args.name,
        clip=clip,
        force=args.force,
    )
    people = sum(a.population for a in result.areas)
    print(f"wrote {result.config_path} ({result.osm_file}, {result.dem_file}, {result.crs})")
    print(f"  {people} residents in {len(result.areas)} area(s), {result.shelters} shelter candidates proposed")
    print(f"  assumed (marked ASSUMED in the file): {', '.join(result.assumed)}")
    print(f"next: twin map check {args.map}   then: twin map build {args.map}")
    return 0


def _map_check(args: argparse.Namespace) -> int:
    from twin.city.build import load_city
    from twin.city.check import check_city, format_findings

    city = load_city(args.map, cache_dir=args.cache, progress=lambda m: _say(f"  {m} ..."))
    print(format_findings(city.name, check_city(city)))
    return 0


def _map_info(args: argparse.Namespace) -> int:
    from twin.city.build import load_city

    info = load_city(args.map, cache_dir=args.cache, progress=lambda m: _say(f"  {m} ...")).info()
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        elif isinstance(value, list) and key == "assumptions":
            print(f"{key:<{width}}")
            for line in value:
                print(f"  - {line}")
            continue
        print(f"{key:<{width}}  {value}")
    return 0


def _map_show(args: argparse.Namespace) -> int:
    from twin.city.build import load_city
    from twin.report.maps.city import draw_city

    city = load_city(args.map, cache_dir=args.cache, progress=lambda m: _say(f"  {m} ..."))
    out = args.out or Path(f"{Path(args.map).resolve().name}.png")
    draw_city(city, out, layer=args.layer)
    _say(f"wrote {out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from twin.run import validate_against_maps

    problems = validate_against_maps(
        args.files,
        with_map=not args.no_map,
        progress=_MapMessages(),
        allow_long=args.allow_long,
        allow_outside_paths=args.allow_outside_paths,
    )
    for problem in problems:
        print(problem)
    if not problems:
        print("ok")
    return 1 if problems else 0


def _schema(args: argparse.Namespace) -> int:
    if args.city:
        from twin.city.config import city_json_schema

        schema = city_json_schema()
    else:
        from twin.scenario import scenario_json_schema

        schema = scenario_json_schema()
    text = json.dumps(schema, indent=2)
    if args.out:
        from twin.atomic import write_text_atomic
        from twin.errors import UsageError

        try:
            write_text_atomic(args.out, text + "\n")
        except OSError as exc:
            raise UsageError(
                f"--out: cannot write {args.out}: {exc.strerror or exc}; give a file in a folder you can write to"
            ) from None
        _say(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.seeds is not None:
        from twin.seeds import run_seeds

        return run_seeds(args, _run_once)
    return _run_once(args)


def _run_once(args: argparse.Namespace) -> int:
    """One ``twin run``: the run folder, its summary table on stdout."""
    from twin.run import default_folder, run_scenario, summary_table
    from twin.scenario import load_scenario

    spec = load_scenario(
        args.scenario, args.overrides, allow_long=args.allow_long, allow_outside_paths=args.allow_outside_paths
    )
    folder = args.out or default_folder(spec)
    command = shlex.join(["twin", *args.argv])
    progress = _RunProgress(quiet=args.quiet, name=spec.name)
    try:
        results = run_scenario(
            spec,
            seed=args.seed,
            until=args.until,
            out=folder,
            progress=progress,
            overwrite=args.overwrite,
            provenance={"command": command, "scenario_file": str(args.scenario)},
        )
    finally:
        progress.close()
    print(summary_table(results))
    print(f"run folder: {folder}")
    return 0


class _MapMessages:
    """Progress of a map build, one line per step on stderr."""

    def __call__(self, report: RunProgress) -> None:
        if report.stage == "map":
            _say(f"  {report.message} ...")


class _RunProgress(_MapMessages):
    """The progress bar of ``twin run`` (tqdm, on stderr, in simulated minutes)."""

    def __init__(self, quiet: bool, name: str) -> None:
        self.quiet = quiet
        self.name = name
        self.bar: Any = None

    def __call__(self, report: RunProgress) -> None:
        if report.stage != "run":
            super().__call__(report)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=round(report.duration_s / 60),
                unit="sim-min",
                desc=self.name,
                disable=self.quiet,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} sim-min [{elapsed}<{remaining}]",
                file=sys.stderr,
            )
        self.bar.update(round(report.clock_s / 60) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report(args: argparse.Namespace) -> int:
    from twin.report.html_report import report_command

    return report_command(args)


def _compare(args: argparse.Namespace) -> int:
    from twin.report.compare_page import compare_command

    return compare_command(args)


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from twin.sweep.runner import run_sweep

    bar: Any = None

    def progress(counts: Any) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=counts.total, unit="run", disable=args.quiet, file=sys.stderr, desc="sweep")
        bar.update(counts.done - bar.n)
        bar.set_postfix(failed=counts.failed, running=counts.running, refresh=False)

    try:
        summary = run_sweep(args.experiment, out=args.out, workers=args.workers, dask=args.dask, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(
        f"{summary.total} runs: {summary.skipped} already done, {summary.ran} run now, {summary.failed} failed; "
        f"results in {summary.folder}"
    )
    return 1 if summary.failed else 0


def _sweep_analyze(args: argparse.Namespace) -> int:
    from twin.sweep.analysis_page import analyze_command

    return analyze_command(args)


def _add_sweep_command(sub: argparse._SubParsersAction) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run an experiment (parameters x seeds) on local cores or a Dask cluster; 'sweep analyze DIR' analyses it",
        epilog="twin sweep analyze DIR: sensitivity indices, main effects and scenario discovery of a sweep folder "
        "(see twin sweep analyze --help)",
    )
    sweep.add_argument("experiment", type=Path, help="experiment YAML file")
    sweep.add_argument("--out", type=Path, default=None, help="sweep folder (default: sweeps/<name>); resumed")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="local worker processes (default: the cores)")
    where.add_argument("--dask", default=None, metavar="tcp://HOST:PORT|local", help="run on a Dask scheduler")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=_sweep)
    # 'twin sweep analyze DIR' is this parser (main() routes it here): a positional experiment path and a
    # sub-command cannot share one argparse parser.
    analyze = sub.add_parser(
        SWEEP_ANALYZE,
        prog="twin sweep analyze",
        description="Sensitivity indices (Sobol, Morris or RBD-FAST, with 95 % intervals), main effects (tornado), "
        "scatter plots and scenario discovery (PRIM) of a sweep folder: Parquet tables, PNG charts and an HTML page.",
    )
    analyze.add_argument("folder", type=Path, help="the sweep folder ('twin sweep EXP.yaml --out DIR')")
    analyze.add_argument(
        "--discover",
        default=None,
        metavar="'METRIC < LEVEL'",
        help="the runs PRIM looks for, e.g. 'min(Q_access) < 0.5' (default: the experiment's discovery:)",
    )
    analyze.add_argument(
        "--min-density", type=float, default=0.8, help="density PRIM's reported box must reach (default 0.8)"
    )
    analyze.add_argument("--out", type=Path, default=None, help="where to write (default: DIR/analysis)")
    analyze.set_defaults(handler=_sweep_analyze)


def _hazard_susceptibility(args: argparse.Namespace) -> int:
    from twin.hazards.landslide.outputs import susceptibility_command

    return susceptibility_command(args)


def _add_map_commands(sub: argparse._SubParsersAction) -> None:
    maps = sub.add_parser("map", help="compile, describe and draw a map folder (OSM + DEM + city.yaml)")
    map_sub = maps.add_subparsers(dest="map_command", required=True, metavar="{init,check,build,info,show}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("map", type=Path, help="map folder holding city.yaml, e.g. maps/andorra")
    common.add_argument("--cache", type=Path, default=None, help="cache folder (default: MAP/.cache)")
    init = map_sub.add_parser(
        "init",
        help="start a map folder from an OSM extract and a DEM: copies them in and writes a commented city.yaml",
        description="Reads the extract (.osm, .osm.bz2 or .osm.pbf, streaming) and the DEM; writes MAP/ with the "
        "extract as OSM XML, the DEM cut to it, and a city.yaml that builds as it is: the UTM zone of the data, the "
        "DEM's nodata, shelter candidates with their OSM ids and floor areas, hospitals, rivers. Values it had to "
        "assume are marked ASSUMED.",
    )
    init.add_argument("map", type=Path, help="map folder to write, e.g. maps/mytown")
    init.add_argument("--osm", type=Path, required=True, help="OSM extract: .osm, .osm.bz2 or .osm.pbf")
    init.add_argument("--dem", type=Path, required=True, help="DEM GeoTIFF of the same area (SRTM, GLO-30, LiDAR)")
    residents = init.add_mutually_exclusive_group()
    residents.add_argument("--population", type=int, default=None, metavar="N", help="residents of the map")
    residents.add_argument(
        "--population-csv",
        type=Path,
        default=None,
        metavar="CSV",
        help="residents per area: columns name, population, lon, lat (default: OSM places' population tags)",
    )
    init.add_argument("--name", default=None, help="the city's name (default: the extract's main place)")
    init.add_argument(
        "--clip",
        default=None,
        metavar="BBOX",
        help="cut the extract and the DEM to min_lon,min_lat,max_lon,max_lat (e.g. 1.47,42.45,1.59,42.55)",
    )
    init.add_argument("--force", action="store_true", help="replace the folder's city.yaml if there is one")
    init.set_defaults(handler=_map_init)
    check = map_sub.add_parser(
        "check",
        parents=[common],
        help="what the map lacks and what the build synthesised, exposed components, coverage gaps",
    )
    check.set_defaults(handler=_map_check)
    build = map_sub.add_parser("build", parents=[common], help="compile the City (cached; quick when unchanged)")
    build.set_defaults(handler=_map_build)
    info = map_sub.add_parser("info", parents=[common], help="sizes, counts and assumptions of the City")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_map_info)
    show = map_sub.add_parser("show", parents=[common], help="draw the City as a PNG")
    show.add_argument("--out", type=Path, default=None, help="PNG to write (default: <map name>.png)")
    show.add_argument(
        "--layer",
        choices=MAP_LAYERS,
        default="roads",
        help="what to draw over the hillshade: roads (network, water, lifelines, facilities), hand "
        "(height above nearest drainage, for flood exposure) or lifelines (power and water zones, grid, pumps, "
        "tanks, cell sites, signals, hospitals; synthesised components hollow)",
    )
    show.set_defaults(handler=_map_show)


def _add_hazard_commands(sub: argparse._SubParsersAction) -> None:
    hazard = sub.add_parser("hazard", help="hazard maps of a map folder without a full run")
    hazard_sub = hazard.add_subparsers(dest="hazard_command", required=True, metavar="{susceptibility}")
    sus = hazard_sub.add_parser(
        "susceptibility",
        help="landslide susceptibility: P(factor of safety < 1) over soil draws, as susceptibility.tif and .png",
        description="Probability of shallow landslide failure of every cell (infinite slope, SINMAP form) over "
        "--draws soil draws at one recharge. Soil and minimum slope come from the scenario's landslide entry, "
        "or without --scenario from assumed default ranges; the recharge from --recharge-mm-day or the "
        "scenario's peak recharge.",
    )
    sus.add_argument("map", type=Path, help="map folder holding city.yaml, e.g. maps/andorra")
    sus.add_argument("--cache", type=Path, default=None, help="cache folder (default: MAP/.cache)")
    sus.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="scenario YAML whose landslide entry gives the soil, minimum slope and recharge",
    )
    sus.add_argument(
        "--recharge-mm-day",
        type=float,
        default=None,
        metavar="R",
        help="recharge (mm/day); default: the scenario's peak recharge (needed without --scenario)",
    )
    sus.add_argument("--draws", type=int, default=100, help="soil draws per cell (default: 100)")
    sus.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the draws (default: the scenario's seed, else 1); a run with this seed writes the same raster",
    )
    sus.add_argument("--out", type=Path, required=True, help="folder to write susceptibility.tif and .png into")
    sus.set_defaults(handler=_hazard_susceptibility)


def _add_input_flags(command: argparse.ArgumentParser) -> None:
    """The flags that lift the input limits of :mod:`twin.inputs` and the scenario schema."""
    command.add_argument(
        "--allow-long",
        action="store_true",
        help="accept runs over 100,000 steps or longer than 366 days (they can take hours)",
    )
    command.add_argument(
        "--allow-outside-paths",
        action="store_true",
        help="accept file fields (CSVs) that are absolute or outside the scenario file's folder",
    )


def _add_scenario_commands(sub: argparse._SubParsersAction) -> None:
    validate = sub.add_parser("validate", help="check scenario files; print ok or every problem")
    validate.add_argument("files", nargs="+", type=Path, help="scenario YAML files")
    validate.add_argument(
        "--no-map",
        action="store_true",
        help="check the files only, not whether their events and hazards fit their map (which loads the map)",
    )
    _add_input_flags(validate)
    validate.set_defaults(handler=_validate)
    schema = sub.add_parser("schema", help="write the JSON Schema of scenario files, or of city.yaml (for editors)")
    schema.add_argument("--city", action="store_true", help="the schema of a map folder's city.yaml instead")
    schema.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    schema.set_defaults(handler=_schema)
    run = sub.add_parser("run", help="run a scenario and write a run folder with metrics and plots")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<name>-<time>)")
    run.add_argument("--seed", type=SEED, default=None, help="override the scenario's seed")
    run.add_argument("--until", default=None, help="stop at this simulated time (e.g. 2h) instead of the end")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "override a scenario value, e.g. --set metrics.access_tau=20min or --set interventions[levee].crest_m=3 "
            "(list entries by index or by type, kind, label or name; repeatable)"
        ),
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="empty the run folder first when it holds files (by default a non-empty folder is refused)",
    )
    _add_input_flags(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="run N seeds (the seed, seed+1, ...) into OUT/seed-<s>/ and compare them in OUT/compare/",
    )
    run.set_defaults(handler=_run)


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="write a run folder's report: one self-contained HTML file (offline, phone, A4)",
        description="The planner's report of a run: what was run, headline figures per service, Q(t) curves with "
        "the loss area, maps, a timeline of events and the resilience properties. Reads the run folder only.",
    )
    report.add_argument("run", type=Path, help="run folder written by twin run")
    report.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the report (default: en)")
    report.add_argument("--out", type=Path, default=None, help="HTML file to write (default: RUN/report.html)")
    report.set_defaults(handler=_report)
    compare = sub.add_parser(
        "compare",
        help="compare run folders: metric differences with 95%% intervals across seeds, overlaid curves, maps",
        description="Compare variants. Runs are grouped into variants by scenario (same name and resolved "
        "scenario apart from the seed), or by --group LABEL=PATTERN; the first variant is the baseline. Writes "
        "compare.html, compare.parquet and compare.csv.",
    )
    compare.add_argument("runs", nargs="+", type=Path, help="run folders (several seeds per variant for intervals)")
    compare.add_argument("--out", type=Path, default=Path("compare"), help="folder to write (default: ./compare)")
    compare.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the page (default: en)")
    compare.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="LABEL=PATTERN",
        help="a variant: the run folders whose path matches the shell pattern, e.g. levee='runs/levee-*' (repeatable)",
    )
    compare.set_defaults(handler=_compare)


def parser() -> argparse.ArgumentParser:
    """The ``twin`` argument parser."""
    top = argparse.ArgumentParser(
        prog="twin", description="twin: a digital twin of a city's resilience to floods, landslides and outages."
    )
    top.add_argument("--version", action="version", version=f"twin {__version__}")
    sub = top.add_subparsers(
        dest="command", required=True, metavar="{map,hazard,validate,schema,run,report,compare,sweep,drill}"
    )
    _add_map_commands(sub)
    _add_hazard_commands(sub)
    _add_scenario_commands(sub)
    _add_report_commands(sub)
    _add_sweep_command(sub)
    add_drill_command(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["sweep", "analyze"]:
        argv = [SWEEP_ANALYZE, *argv[2:]]
    args = parser().parse_args(argv)
    args.argv = argv  # the command line as given, for the run's provenance
    handler: Handler = args.handler
    try:
        return handler(args)
    except TwinError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
