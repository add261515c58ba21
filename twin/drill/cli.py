"""``twin drill``: start, resume and replay drills from the command line (the parser needs no web stack)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from twin.errors import UsageError


def add_drill_command(sub: argparse._SubParsersAction) -> None:
    """The ``drill`` subcommand."""
    drill = sub.add_parser(
        "drill",
        help="run a live drill: the engine on a real-time clock, a control room page per role, injects, a journal",
        description="twin drill SCENARIO starts a drill server and prints one link per role (controller, the desks, "
        "evaluator, observer); twin drill --resume DIR continues a stopped or crashed drill; twin drill replay DIR "
        "reruns a drill from its journal without the clock and writes the same tables; twin drill report DIR writes "
        "the after-action report (DIR/after-action.html; --lang zh in Chinese).",
    )
    drill.add_argument("what", nargs="?", help="a scenario file, or 'replay' or 'report'")
    drill.add_argument("folder", nargs="?", type=Path, help="with replay or report: the drill folder")
    drill.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second (default 60)")
    drill.add_argument("--msel", type=Path, default=None, help="the master scenario events list (CSV)")
    drill.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    drill.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    drill.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name or address people use to reach this machine (with --host 0.0.0.0; repeatable): "
        "requests naming any other host are refused (DNS rebinding)",
    )
    drill.add_argument("--seed", type=int, default=None, help="seed of the run (default: the scenario's)")
    drill.add_argument("--out", type=Path, default=None, help="the drill folder (default drills/NAME-TIME); with "
                       "replay, the run folder to write (default DIR/replay); with report, the HTML file")  # fmt: skip
    drill.add_argument("--resume", type=Path, default=None, metavar="DIR", help="continue the drill in DIR")
    drill.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="with report: the language of the page (default: en)"
    )
    drill.add_argument("--checkpoint-every", default="15min", help="simulated time between checkpoints (default 15min)")
    drill.set_defaults(handler=run_drill_command)


def run_drill_command(args: argparse.Namespace) -> int:
    """Dispatch ``twin drill``."""
    if args.what == "replay":
        return _replay(args)
    if args.what == "report":
        return _report(args)
    if args.resume is None and args.what is None:
        raise UsageError("twin drill: give a scenario file, --resume DIR or replay DIR (see twin drill --help)")
    if args.resume is not None and args.what is not None:
        raise UsageError("twin drill: give a scenario or --resume DIR, not both (a resumed drill keeps its scenario)")
    return _serve(args)


def _replay(args: argparse.Namespace) -> int:
    from twin.drill.session import replay_drill
    from twin.run import summary_table

    if args.folder is None:
        raise UsageError("twin drill replay: give the drill folder, e.g. twin drill replay drills/my-drill")
    results = replay_drill(args.folder, args.out)
    print(summary_table(results))
    _say(f"wrote {args.out or args.folder / 'replay'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from twin.drill.report import write_after_action

    if args.folder is None:
        raise UsageError("twin drill report: give the drill folder, e.g. twin drill report drills/my-drill")
    _say(f"wrote {write_after_action(args.folder, args.out, lang=args.lang)}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from twin.drill.server import DrillApp, local_hosts
    from twin.drill.session import RUN_FOLDER, DrillSession, DrillSetup
    from twin.units import parse_duration_s

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port: must be from 1 to 65535, got {args.port}")
    if args.resume is not None:
        session = DrillSession.resume(args.resume)
        for note in session.notes:
            _say(f"resume: {note}")
    else:
        try:
            every = parse_duration_s(args.checkpoint_every)
        except ValueError as exc:
            raise UsageError(f"--checkpoint-every: {exc}") from None
        if not every > 0:
            raise UsageError("--checkpoint-every: must be longer than 0, e.g. 15min")
        setup = DrillSetup(Path(args.what), args.seed, args.msel, args.speed, every)
        folder = args.out or Path("drills") / f"{Path(args.what).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        try:
            session = DrillSession.start(folder, setup)
        except ValueError as exc:  # the speed
            raise UsageError(f"--speed: {exc}") from None
    hosts = local_hosts(args.host, args.port) + [f"{name}:{args.port}" for name in args.allow_host]
    app = DrillApp(session, hosts)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    print(f"drill folder: {session.folder}", flush=True)
    for role, (token, _role) in app.tokens.by_role.items():
        print(f"  {role:<12} http://{shown}:{args.port}/join?token={token}", flush=True)
    _say("the drill waits for the controller to press start; Ctrl-C stops the server (resume with --resume)")
    try:
        uvicorn.run(app.app, host=args.host, port=args.port, log_level="warning")
    finally:
        if not session.closed:
            session.finish()
        _say(f"tables of the drill in {session.folder / RUN_FOLDER}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
