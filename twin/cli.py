"""The ``twin`` command: ``map`` (build, info, show), ``hazard`` (susceptibility), ``validate``, ``schema``, ``run``.

Errors a user can fix (:class:`twin.errors.TwinError`) are printed without a traceback and exit with 1;
an interrupted command exits with 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from twin.errors import TwinError

Handler = Callable[[argparse.Namespace], int]
#: Layers of ``twin map show`` (twin.report.mapplot.LAYERS, repeated so that parsing needs no matplotlib).
MAP_LAYERS = ("roads", "hand", "lifelines")


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
    from twin.report.mapplot import draw_city

    city = load_city(args.map, cache_dir=args.cache, progress=lambda m: _say(f"  {m} ..."))
    out = args.out or Path(f"{Path(args.map).resolve().name}.png")
    draw_city(city, out, layer=args.layer)
    _say(f"wrote {out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from twin.run import validate_against_maps

    problems = validate_against_maps(
        args.files, not args.no_map, allow_long=args.allow_long, allow_outside_paths=args.allow_outside_paths
    )
    for problem in problems:
        print(problem)
    if not problems:
        print("ok")
    return 1 if problems else 0


def _schema(args: argparse.Namespace) -> int:
    from twin.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        _say(f"wrote {args.out}")
    else:
        print(text)
    return 0


def _run(args: argparse.Namespace) -> int:
    from twin.run import run_command

    return run_command(args)


def _hazard_susceptibility(args: argparse.Namespace) -> int:
    from twin.hazards.landslide_outputs import susceptibility_command

    return susceptibility_command(args)


def _add_map_commands(sub: argparse._SubParsersAction) -> None:
    maps = sub.add_parser("map", help="compile, describe and draw a map folder (OSM + DEM + city.yaml)")
    map_sub = maps.add_subparsers(dest="map_command", required=True, metavar="{build,info,show}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("map", type=Path, help="map folder holding city.yaml, e.g. maps/andorra")
    common.add_argument("--cache", type=Path, default=None, help="cache folder (default: MAP/.cache)")
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
    schema = sub.add_parser("schema", help="write the JSON Schema of scenario files (for editors)")
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
        help="override a scenario value, e.g. --set metrics.access_tau=20min (repeatable)",
    )
    _add_input_flags(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)


def parser() -> argparse.ArgumentParser:
    """The ``twin`` argument parser."""
    top = argparse.ArgumentParser(
        prog="twin", description="twin: a digital twin of a city's resilience to floods, landslides and outages."
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="{map,hazard,validate,schema,run}")
    _add_map_commands(sub)
    _add_hazard_commands(sub)
    _add_scenario_commands(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` console script."""
    args = parser().parse_args(argv)
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
