"""A drill session: the engine, the real-time clock, the journal and the checkpoints of one drill folder.

Everything that changes the run goes through :meth:`DrillSession.submit` (a person's command),
:meth:`DrillSession.fire` (an MSEL inject, when its time comes or by the controller's hand) or
:meth:`DrillSession.control` (the clock), and each is journaled (:mod:`twin.drill.journal`) before it is
applied. Commands are applied between engine steps and journaled with the step they were applied at, so
the run is a pure function of (City, scenario, seed, journal): :func:`replay_drill` reproduces it without
the clock, bit for bit, and :meth:`DrillSession.resume` continues a crashed drill from its last checkpoint
plus the journal entries written after it.

Threads: the server steps the engine in a worker thread (:meth:`DrillSession.step_once`, one step at a time)
so that its event loop keeps answering while a step computes. A lock guards the journal and the engine
between steps: a command that arrives while a step (or a checkpoint) is under way is journaled at once, with
the step it will be applied at (the end of the step under way), queued, and applied in journal order as soon as
the step ends, before the next one starts. The journal's step of application is therefore always the step
the engine applied it at, and a replay or a resume reproduces the run. Pages read the view of the engine
(:class:`~twin.drill.layers.EngineView`) the worker publishes after each step, never arrays a step is writing.

The drill folder holds ``drill.json`` (what was started: scenario, seed, MSEL, speed), ``journal.jsonl``,
``checkpoints/step-NNNNNN.npz`` with its ``.json`` (the step and how many journal entries it includes),
and at the end ``run/``, a run folder like ``twin run`` writes (:mod:`twin.runfolder`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.atomic import write_text_atomic
from twin.city.build import City, load_city
from twin.drill.clock import DrillClock, WallClock, check_speed
from twin.drill.commands import COMMANDS, CommandError, validate_command
from twin.drill.journal import JOURNAL_NAME, Journal, read_journal
from twin.drill.layers import EngineView, map_origin
from twin.drill.msel import Inject, load_msel
from twin.drill.roles import DESK_GROUPS, DESKS, Role
from twin.errors import RunError
from twin.results import Results, to_jsonable
from twin.run import results_of, run_provenance, write_run_folder
from twin.runfolder import begin_run_folder
from twin.scenario import Scenario, load_scenario
from twin.sim.checkpoint import scenario_hash
from twin.sim.model import CityModel
from twin.sim.targets import resolve_components

DRILL_JSON = "drill.json"
CHECKPOINTS = "checkpoints"
RUN_FOLDER = "run"
KEEP_CHECKPOINTS = 2
CLOCK_ACTIONS = ("start", "pause", "resume", "speed", "step", "end")


class RefusedError(Exception):
    """A request the sender's role may not make (the server answers 403 with the reason)."""


@dataclass(frozen=True)
class DrillSetup:
    """What a drill was started with (``drill.json``).

    Attributes
    ----------
    scenario
        The scenario file.
    seed
        The run's seed (None: the scenario's).
    msel
        The MSEL file, if any.
    speed
        Simulated seconds per wall second at the start.
    checkpoint_every_s
        Simulated seconds between checkpoints.
    """

    scenario: Path
    seed: int | None = None
    msel: Path | None = None
    speed: float = 60.0
    checkpoint_every_s: float = 900.0

    def to_dict(self, spec: Scenario) -> dict[str, Any]:
        return {
            "scenario": str(self.scenario.resolve()),
            "scenario_hash": scenario_hash(spec),
            "seed": self.seed,
            "msel": None if self.msel is None else str(self.msel.resolve()),
            "speed": self.speed,
            "checkpoint_every_s": self.checkpoint_every_s,
        }

    @classmethod
    def read(cls, folder: Path) -> tuple[DrillSetup, str]:
        """The setup of a drill folder and its scenario hash."""
        path = folder / DRILL_JSON
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            setup = cls(
                Path(data["scenario"]),
                data["seed"],
                None if data["msel"] is None else Path(data["msel"]),
                float(data["speed"]),
                float(data["checkpoint_every_s"]),
            )
        except FileNotFoundError:
            raise RunError(
                f"{folder}: not a drill folder (no {DRILL_JSON}); give the folder twin drill wrote"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{path}: damaged ({exc}); it is written by twin drill and should not be edited") from None
        return setup, str(data["scenario_hash"])


def apply_entry(model: CityModel, entry: dict[str, Any]) -> None:
    """Apply one journal entry to the engine (clock and end entries change nothing in the engine)."""
    if entry["type"] not in ("command", "inject"):
        return
    command = validate_command(entry["payload"], model.city, tuple(DESKS))
    if entry["type"] == "inject":
        cause, source = "inject", f"MSEL {entry.get('msel', '')}".strip()
    else:
        cause, source = ("inject" if entry["role"] == "controller" else "command"), f"drill {entry['role']}"
    model.inject(command.event, command.target, cause=command.cause or cause, source=source, **command.params)


def replay_entries(model: CityModel, entries: list[dict[str, Any]]) -> None:
    """Apply ``entries`` each at its journaled step, stepping the engine in between."""
    for entry in entries:
        while model.step_count < entry["step"] and not model.finished:
            model.step()
        if model.step_count != entry["step"]:
            raise RunError(f"journal entry {entry['seq']} is for step {entry['step']}, after the scenario's end")
        apply_entry(model, entry)


@dataclass
class DrillSession:
    """A running drill (build it with :meth:`start` or :meth:`resume`).

    Attributes
    ----------
    folder, setup, model, clock, journal, injects
        The drill folder, what it was started with, the engine, the clock, the journal, the MSEL.
    entries
        Every journal entry so far (the feed reads them).
    fired
        Numbers of the injects already sent.
    notes
        What resuming found (a torn last line dropped, the checkpoint used).
    """

    folder: Path
    setup: DrillSetup
    model: CityModel
    clock: DrillClock
    journal: Journal
    injects: list[Inject]
    entries: list[dict[str, Any]] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    ended: bool = False
    closed: bool = False
    view: EngineView | None = None
    origin: tuple[float, float] = (0.0, 0.0)
    _checkpoint_at_s: float = 0.0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _step_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _busy_until: tuple[int, float] | None = None
    _pending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origin = map_origin(self.model.city)
        self.view = EngineView.of(self.model, self.origin)

    # --- building ----------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls, folder: Path, setup: DrillSetup, now: WallClock = time.monotonic, city: City | None = None
    ) -> DrillSession:
        """A new drill in an empty (or new) folder, paused at the start until the controller starts it
        (``city``: the scenario's City when the caller has it loaded already)."""
        spec = load_scenario(setup.scenario)
        check_speed(setup.speed)
        model = CityModel(city or load_city(spec.map), spec, seed=setup.seed)
        injects = msel_of(setup, model)
        if folder.exists() and any(folder.iterdir()):
            raise RunError(f"{folder}: not empty; give a new folder for the drill, or --resume {folder} to go on")
        (folder / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / DRILL_JSON, json.dumps(setup.to_dict(spec), indent=2) + "\n")
        journal, _read = Journal.open(folder / JOURNAL_NAME)
        clock = DrillClock(model.duration_s, setup.speed, 0.0, paused=True, now=now)
        session = cls(folder, setup, model, clock, journal, injects)
        session._checkpoint()
        return session

    @classmethod
    def resume(cls, folder: Path, now: WallClock = time.monotonic, city: City | None = None) -> DrillSession:
        """The drill of ``folder`` continued from its last checkpoint plus its journal, paused."""
        setup, saved_hash = DrillSetup.read(folder)
        spec = load_scenario(setup.scenario)
        if scenario_hash(spec) != saved_hash:
            raise RunError(
                f"{setup.scenario} changed since the drill in {folder} started; resuming needs the scenario as it "
                "was (restore it, or start a new drill)"
            )
        journal, read = Journal.open(folder / JOURNAL_NAME)
        model, included, used = _latest_model(folder, city or load_city(spec.map), spec, setup.seed)
        replay_entries(model, read.entries[included:])
        injects = msel_of(setup, model)
        speeds = [e["payload"]["speed"] for e in read.entries if e["payload"].get("action") == "speed"]
        speed = float(speeds[-1]) if speeds else setup.speed  # the pace the controller last set
        clock = DrillClock(model.duration_s, speed, model.clock_s, paused=True, now=now)
        session = cls(folder, setup, model, clock, journal, injects, list(read.entries))
        session.fired = {str(e["msel"]) for e in read.entries if e["type"] == "inject"}
        session.ended = any(e["type"] == "end" for e in read.entries)
        session.notes = [used, f"{len(read.entries) - included} journal entries replayed after it"]
        if read.torn:
            session.notes.append(read.torn)
        session._checkpoint_at_s = model.clock_s
        return session

    # --- inputs -------------------------------------------------------------------------------------------

    def submit(self, role: Role, payload: Any) -> dict[str, Any]:
        """A person's command: checked against the role (RefusedError), validated (CommandError), journaled, applied."""
        name = payload.get("command") if isinstance(payload, dict) else None
        if isinstance(name, str) and name in COMMANDS and name not in role.commands:
            allowed = ", ".join(role.commands) or "none (this role only watches)"
            raise RefusedError(f"the {role.title} role may not send {name}; it may send: {allowed}")
        if not role.commands:
            raise RefusedError(f"the {role.title} role only watches and sends no commands")
        command = validate_command(payload, self.model.city, tuple(DESKS))
        if name not in role.commands:  # unreachable for known commands; unknown ones failed validation
            raise RefusedError(f"the {role.title} role may not send {name}")
        if name == "prioritise_repair" and role.name in DESK_GROUPS:
            self._check_own_components(role, command.target)
        with self._lock:
            self._check_running()
            return self._record("command", role.name, payload)

    def _check_own_components(self, role: Role, target: dict[str, Any]) -> None:
        """A desk moves only its own service's repairs to the front (RefusedError naming the others)."""
        facilities = self.model.city.facilities
        rows = resolve_components(self.model.city, target)
        group = facilities["group"].to_numpy().astype(str)[rows]
        others = sorted(set(group[group != DESK_GROUPS[role.name]].tolist()))
        if others:
            raise RefusedError(
                f"the {role.title} desk moves only {DESK_GROUPS[role.name]} repairs to the front; the target also "
                f"selects {', '.join(others)} components (narrow it with groups: [{DESK_GROUPS[role.name]}])"
            )

    def fire(self, role: Role, number: str) -> dict[str, Any]:
        """Send MSEL inject ``number`` now (the controller's hand)."""
        if not role.controls:
            raise RefusedError(f"only the controller fires injects, not the {role.title} role")
        inject = next((i for i in self.injects if i.number == number), None)
        if inject is None:
            known = ", ".join(i.number for i in self.injects) or "none (no MSEL was given)"
            raise CommandError([("number", f"no inject numbered {number!r}; injects: {known}")])
        with self._lock:
            if number in self.fired:
                raise CommandError([("number", f"inject {number} was already sent")])
            self._check_running()
            return self._send(inject)

    def control(self, role: Role, payload: Any) -> dict[str, Any]:
        """A clock action of the controller: start, pause, resume, speed (with ``speed``), step, end."""
        if not role.controls:
            raise RefusedError(f"only the controller runs the clock, not the {role.title} role")
        action = payload.get("action") if isinstance(payload, dict) else None
        if action not in CLOCK_ACTIONS:
            raise CommandError([("action", f"unknown action {action!r}; actions: {', '.join(CLOCK_ACTIONS)}")])
        unknown = [k for k in payload if k not in ("action", "speed")]
        if unknown or (action != "speed" and "speed" in payload):
            raise CommandError([(k, f"{action} takes no {k!r}") for k in unknown or ["speed"]])
        if action == "speed":
            try:
                check_speed(payload.get("speed"))
            except ValueError as exc:
                raise CommandError([("speed", str(exc))]) from None
        with self._lock:
            self._check_running()
            # The end is an "end" entry: a replay stops there, as the drill did.
            entry = self._journal("end" if action == "end" else "clock", role.name, payload)
            self._clock_action(action, payload.get("speed"))
            return _ack(entry)

    def _clock_action(self, action: str, speed: Any) -> None:
        if action in ("start", "resume"):
            self.clock.resume()
        elif action == "pause":
            self.clock.pause()
        elif action == "speed":
            self.clock.set_speed(float(speed))
        elif action == "step":
            self.clock.pause()
            engine_s = self._busy_until[1] if self._busy_until else self.model.clock_s
            target = max(self.clock.sim_s(), engine_s) + float(self.model.spec.step_s)
            self.clock.advance(target - self.clock.sim_s())
        elif action == "end":
            self.clock.pause()
            self.ended = True

    def _check_running(self) -> None:
        if self.ended or self.closed:
            raise RefusedError("the drill has ended; the after-action tables are in its folder")

    def _send(self, inject: Inject) -> dict[str, Any]:
        self.fired.add(inject.number)
        return self._record("inject", "controller", inject.payload, msel=inject.number)

    def _record(self, kind: str, role: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Journal (fsync), then apply, or queue it for the end of the step under way: an acknowledged command is
        on disk (call with the lock held)."""
        entry = self._journal(kind, role, payload, **extra)
        if self._busy_until is None:
            apply_entry(self.model, entry)
        else:
            self._pending.append(entry)
        return _ack(entry)

    def _journal(self, kind: str, role: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Append an entry with the step (and time) it takes effect at: now between steps, else the end of the
        step under way (call with the lock held)."""
        step, t_s = self._busy_until or (self.model.step_count, self.model.clock_s)
        entry = self.journal.append(kind, role, step, t_s, payload, **extra)
        self.entries.append(entry)
        return entry

    def _apply_pending(self) -> None:
        """Apply, in journal order, what was queued while the engine was busy (call with the lock held)."""
        self._busy_until = None
        pending, self._pending = self._pending, []
        for entry in pending:
            apply_entry(self.model, entry)

    # --- time -------------------------------------------------------------------------------------------

    def tick(self, budget_s: float = 0.05, timer: Callable[[], float] = time.perf_counter) -> int:
        """Step the engine towards the clock in this thread for at most ``budget_s`` of computing (at least one
        step when one is due); the rest waits for the next tick. Returns the number of steps taken."""
        began, steps = timer(), 0
        while (steps == 0 or timer() - began < budget_s) and self.step_once():
            steps += 1
        return steps

    def step_once(self) -> bool:
        """Fire the injects that are due and, when the clock has passed the end of the engine's next step, take
        it; return whether a step was taken. Safe to call from a worker thread while the event loop submits
        commands: the engine steps outside the lock and what arrives meanwhile is applied after the step."""
        with self._step_lock:
            with self._lock:
                if self.ended:
                    return False
                self._fire_due()
                if self.model.finished or not self._due():
                    self._end_if_finished()
                    return False
                dt = min(float(self.model.spec.step_s), self.model.duration_s - self.model.clock_s)
                self._busy_until = (self.model.step_count + 1, self.model.clock_s + dt)  # as CityModel.step adds
            self.model.step()
            with self._lock:
                self._apply_pending()
                checkpoint = self.model.clock_s - self._checkpoint_at_s >= self.setup.checkpoint_every_s - 1e-9
                if checkpoint:  # written outside the lock: commands meanwhile wait in the queue, as during a step
                    included = self.journal.count
                    self._busy_until = (self.model.step_count, self.model.clock_s)
            if checkpoint:
                self._checkpoint(included)
            with self._lock:
                self._apply_pending()
                self._fire_due()
                self._end_if_finished()
                self.view = EngineView.of(self.model, self.origin)
            return True

    def _end_if_finished(self) -> None:
        if self.model.finished and not self.ended:
            self._journal("end", "engine", {"reason": "the scenario's end"})
            self.ended = True

    def _due(self) -> bool:
        """Whether the clock has reached the end of the engine's next step."""
        dt = min(float(self.model.spec.step_s), self.model.duration_s - self.model.clock_s)
        return self.clock.sim_s() >= self.model.clock_s + dt - 1e-9

    def _fire_due(self) -> None:
        for inject in self.injects:
            if inject.time_s <= self.model.clock_s + 1e-9 and inject.number not in self.fired:
                self._send(inject)

    def behind_s(self) -> float:
        """How far the engine lags the clock beyond its one step (s of simulated time)."""
        engine_s = self.view.clock_s if self.view is not None else self.model.clock_s
        return self.clock.behind_s(engine_s, float(self.model.spec.step_s))

    def _checkpoint(self, included: int | None = None) -> None:
        """Write a checkpoint with the number of journal entries it includes (default: all); keep the last few."""
        step = self.model.step_count
        folder = self.folder / CHECKPOINTS
        self.model.checkpoint(folder / f"step-{step:06d}.npz")
        count = self.journal.count if included is None else included
        write_text_atomic(folder / f"step-{step:06d}.json", json.dumps({"step": step, "journal": count}))
        self._checkpoint_at_s = self.model.clock_s
        for old in sorted(folder.glob("step-*.json"))[:-KEEP_CHECKPOINTS]:
            old.with_suffix(".npz").unlink(missing_ok=True)
            old.unlink(missing_ok=True)

    # --- the end ----------------------------------------------------------------------------------------

    def finish(self) -> Results:
        """Write the run folder ``run/`` (marked complete when the scenario reached its end) and close (once);
        waits for a step under way in the worker thread."""
        with self._step_lock:
            with self._lock:  # from here on every request is refused: the journal is closed
                self.closed = True
                self.journal.close()
            return write_results(self.model, self.folder / RUN_FOLDER, len(self.entries), "twin drill")


def write_results(model: CityModel, out: Path, entries: int, command: str) -> Results:
    """The run folder of a drill or of its replay (same tables; the provenance says which)."""
    facts = {**run_provenance(model, model.city), "command": command, "journal_entries": entries}
    facts["stopped_at_s"] = model.clock_s
    begin_run_folder(out, to_jsonable(facts), overwrite=True)
    results = results_of(model, facts)
    write_run_folder(model, results, out, None)
    return results


def replay_drill(folder: Path, out: Path | None = None, city: City | None = None) -> Results:
    """Rerun a drill from its journal without the clock; write the run folder ``out`` (default ``replay/``).

    The engine steps to each entry's step, applies it, and runs on to the drill's end entry (or the
    scenario's end when the drill did not end), so the tables equal the drill's bit for bit.
    """
    setup, saved_hash = DrillSetup.read(folder)
    spec = load_scenario(setup.scenario)
    if scenario_hash(spec) != saved_hash:
        raise RunError(f"{setup.scenario} changed since the drill in {folder} ran; a replay needs it as it was")
    read = read_journal(folder / JOURNAL_NAME)
    model = CityModel(city or load_city(spec.map), spec, seed=setup.seed)
    replay_entries(model, read.entries)
    end = next((e for e in read.entries if e["type"] == "end"), None)
    if end is None:
        model.run()
    return write_results(model, out or folder / "replay", len(read.entries), "twin drill replay")


def msel_of(setup: DrillSetup, model: CityModel) -> list[Inject]:
    """The injects of the drill's MSEL (none without one)."""
    if setup.msel is None:
        return []
    return load_msel(setup.msel, model.city, tuple(DESKS), model.duration_s)


def _latest_model(folder: Path, city: City, spec: Scenario, seed: int | None) -> tuple[CityModel, int, str]:
    """The engine from the newest readable checkpoint, the journal entries it includes, and which it was."""
    problems = []
    for meta_path in sorted((folder / CHECKPOINTS).glob("step-*.json"), reverse=True):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            model = CityModel.restore(meta_path.with_suffix(".npz"), city, spec, seed)
        except (OSError, ValueError, KeyError, RunError) as exc:
            problems.append(f"{meta_path.name}: {exc}")
            continue
        return model, int(meta["journal"]), f"resumed from the checkpoint at step {meta['step']}"
    model = CityModel(city, spec, seed=seed)
    note = "no readable checkpoint: replayed the journal from the start"
    return model, 0, note + (f" ({'; '.join(problems)})" if problems else "")


def _ack(entry: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "seq": entry["seq"], "step": entry["step"], "t_s": entry["t_s"]}
