"""CityModel: the clock, the event heap, the phases and the record of one run.

``CityModel`` subclasses :class:`mesa.Model` for its seeded ``rng``, its agents and AgentSets (DESIGN.md
rule 8); simulated time is our own clock (``clock_s``, seconds since the start), the validated scenario is
``spec``, and events are data in our own heap, so that a run can be stepped, paused, injected into,
checkpointed and restored bit for bit.

One step of ``dt`` seconds, from ``t`` to ``t + dt``:

1. events due at or before ``t + dt`` fire, in time order (then the order they were scheduled); their kinds'
   handlers come from the registry (:mod:`twin.sim.handlers` for the generic kinds);
2. the phases (:class:`~twin.sim.phase.Phase`) run in phase order, hazards -> lifelines -> residents -> crews ->
   traffic, each with a :class:`~twin.sim.phase.StepContext`; hazards hand their impacts to the engine, which
   applies and logs them (:mod:`twin.sim.impacts`), and the engine notices closures that changed;
3. the clock moves to ``t + dt`` and the record phase measures the service levels and counts;
4. conditional events whose condition now holds are scheduled for the next step.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from twin.city.build import City
from twin.errors import ScenarioError
from twin.lifelines.measured import measured_services
from twin.registry import REGISTRY
from twin.scenario import EventSpec, Scenario
from twin.sim.checkpoint import check_arrays, check_identity, read_checkpoint, scenario_hash, write_checkpoint
from twin.sim.events import Event, EventQueue
from twin.sim.impacts import Impacts, apply_impacts
from twin.sim.phase import PHASE_ORDER, Phase, StepContext
from twin.sim.record import Recorder
from twin.sim.state import SimState
from twin.sim.targets import TargetError, resolve_components, resolve_links

#: What the engine keeps in a checkpoint's meta document besides the identity (twin.sim.checkpoint).
ENGINE_KEYS = (
    "clock_s",
    "step_count",
    "queue",
    "queue_counter",
    "conditions_armed",
    "numpy_rng",
    "python_random",
    "recorder",
)
CLOSURE_FLAGS = ("link_closed_event", "link_closed_flood", "link_closed_debris")
"""The SimState arrays that close a link: when one changes, the engine measures access again at the next record."""


class CityModel(mesa.Model):
    """The engine: a City, a validated Scenario and a seed give one reproducible run.

    Parameters
    ----------
    city
        The compiled, read-only City.
    spec
        The validated scenario.
    seed
        Seed of the run's only source of randomness (default: the scenario's seed).

    Examples
    --------
    A user adds a phase of their own (or Mesa agents it steps) without editing the package::

        class Curfew(Phase):
            name = "curfew"
            order = "traffic"

            def step(self, ctx, dt_s):
                if ctx.clock_s >= 3600:
                    ctx.state.link_capacity_factor[:] = 0.5

        model = CityModel(city, spec)
        model.add_phase(Curfew())
        model.run()

    The run's own phases come from the registry (:mod:`twin.registry`): every registered builder is asked for
    the phases the scenario needs.
    """

    def __init__(self, city: City, spec: Scenario, seed: int | None = None) -> None:
        self.seed_value = spec.seed if seed is None else seed
        super().__init__(rng=self.seed_value)
        self.city = city
        self.spec = spec
        self.clock_s = 0.0
        self.step_count = 0
        self.state = SimState.normal(city)
        self.phases: dict[str, list[Phase]] = {order: [] for order in PHASE_ORDER}
        self.services: dict[str, Any] = {}
        self.queue = EventQueue()
        self.conditions: list[tuple[EventSpec, bool]] = []
        self._targets: dict[str, np.ndarray] = {}
        self._event_kinds = REGISTRY.event_kinds()
        self.recorder = Recorder(city, spec)
        problems = self._load_events() + self._build_phases()
        if problems:
            raise ScenarioError("the scenario does not fit the map", problems)
        self.recorder.record(self.clock_s, self.step_count, self.state, self._all_phases(), force=True)

    # --- scenario events ---------------------------------------------------------------------------

    def _load_events(self) -> list[str]:
        """Schedule the scenario's events and interventions; return every bad target."""
        problems = []
        for cause_default, specs in (("scenario", self.spec.events), ("intervention", self.spec.interventions)):
            for event_spec in specs:
                problem = self._check_event(event_spec)
                if problem:
                    problems.append(problem)
                    continue
                if event_spec.when is not None:
                    self.conditions.append((event_spec, True))
                else:
                    self.schedule(self._event_from_spec(event_spec, float(event_spec.at_s or 0.0), cause_default))
        return problems

    def _build_phases(self) -> list[str]:
        """Build the phases of every registered builder, in registration order; return every misfit of every one."""
        problems: list[str] = []
        for _name, build in REGISTRY.phase_builders():
            try:
                built = build(self.city, self.spec, self.rng)
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            for phase in built:
                self.add_phase(phase)
                for event in phase.initial_events():  # an outage is events in the checkpointed queue
                    self.schedule(event)
        return problems

    def assumptions(self) -> list[str]:
        """What the run's phases assumed, for ``assumptions.json``."""
        return [note for phase in self._all_phases() for note in phase.assumptions()]

    def _all_phases(self) -> list[Phase]:
        """Every phase in step order."""
        return [phase for order in PHASE_ORDER for phase in self.phases[order]]

    def _check_event(self, event_spec: EventSpec) -> str | None:
        source = _source_of(event_spec)
        measured = measured_services(self.city)
        if event_spec.when is not None and event_spec.when.service not in measured:
            return (
                f"{source}: when.service: {event_spec.when.service!r} is not measured on {self.city.name} (it "
                f"lacks what the service needs), so the condition could never hold; conditions can use: "
                f"{', '.join(measured)}"
            )
        if event_spec.target is not None:
            try:
                self._resolve(str(event_spec.kind), event_spec.target.model_dump(exclude_none=True))
            except TargetError as exc:
                return f"{source}: target: {exc}"
        return None

    def _event_from_spec(self, event_spec: EventSpec, t_s: float, cause_default: str) -> Event:
        cause = event_spec.cause if event_spec.cause != "scenario" else cause_default
        params: dict[str, Any] = {"text": event_spec.text} if event_spec.text else {}
        if event_spec.restore_after_s is not None:
            params["restore_after_s"] = float(event_spec.restore_after_s)
        return Event(
            t_s=t_s,
            kind=str(event_spec.kind),
            target=event_spec.target.model_dump(exclude_none=True) if event_spec.target else {},
            params=params,
            cause=cause,
            source=_source_of(event_spec),
        )

    def _resolve(self, kind: str, selector: dict[str, Any]) -> np.ndarray:
        """Ids an event of ``kind`` selects: facility rows for component events, else drivable links."""
        components = self._event_kinds[kind].target == "component"
        key = json.dumps([components, selector], sort_keys=True)
        if key not in self._targets:
            resolve = resolve_components if components else resolve_links
            self._targets[key] = resolve(self.city, selector)
        return self._targets[key]

    def links_of(self, event: Event) -> np.ndarray:
        """Drivable link ids an event's target selects (cached per selector)."""
        return self._resolve(event.kind, event.target)

    def components_of(self, event: Event) -> np.ndarray:
        """Facility rows (component ids) a component event's target selects (cached per selector)."""
        return self._resolve(event.kind, event.target)

    # --- the public engine API ---------------------------------------------------------------------

    def add_phase(self, phase: Phase) -> None:
        """Step ``phase`` every step, in its ``order`` slot (one of :data:`~twin.sim.phase.PHASE_ORDER`), after the
        phases already there."""
        if phase.order not in self.phases:
            orders = ", ".join(PHASE_ORDER)
            raise ValueError(f"phase {phase.name!r} has the unknown order {phase.order!r}; orders: {orders}")
        self.phases[phase.order].append(phase)
        self.services.update(phase.offers())
        phase.attach(_RunOf(self))

    def schedule(self, event: Event) -> Event:
        """Put an event in the queue; it fires in the first step whose end time is >= ``event.t_s``.

        Returns the event as scheduled, with its ``id`` (for ``model.queue.cancel(id)``).
        """
        info = self._event_kinds.get(event.kind)
        if info is None:
            raise ScenarioError(
                f"{event.source or 'event'}: unknown event kind {event.kind!r}; known: "
                f"{', '.join(sorted(self._event_kinds))}"
            )
        if event.target or info.target == "component":
            try:
                self._resolve(event.kind, event.target)
            except TargetError as exc:
                raise ScenarioError(f"{event.source or 'event'}: target: {exc}") from None
        _check_restore(event)
        if isinstance(event.priority, bool) or not isinstance(event.priority, int):
            raise ScenarioError(f"{event.source or 'event'}: priority: must be a whole number, got {event.priority!r}")
        return self.queue.push(event)

    def inject(
        self,
        kind: str,
        target: dict[str, Any] | None = None,
        cause: str = "inject",
        source: str = "inject",
        **params: Any,
    ) -> Event:
        """Schedule an event now (a drill inject or a person's command); it fires in the next step."""
        event = Event(t_s=self.clock_s, kind=kind, target=target or {}, params=params, cause=cause, source=source)
        return self.schedule(event)

    @property
    def duration_s(self) -> float:
        """The scenario's duration (s)."""
        return float(self.spec.duration_s)

    @property
    def finished(self) -> bool:
        """Whether the clock has reached the end of the scenario."""
        return self.clock_s >= self.duration_s - 1e-9

    def context(self, dt_s: float = 0.0) -> StepContext:
        """What a phase sees in the step that starts now (``dt_s`` is only for the caller's bookkeeping)."""
        return StepContext(
            clock_s=self.clock_s,
            step_count=self.step_count,
            city=self.city,
            state=self.state,
            rng=self.rng,
            log=self.log,
            schedule=self.schedule,
            services=self.services,
            report=self._report,
        )

    def step(self) -> None:
        """Advance the clock by one step (Mesa calls this through ``Model.step``)."""
        dt = min(float(self.spec.step_s), self.duration_s - self.clock_s)
        end = self.clock_s + dt
        for event in self.queue.pop_due(end + 1e-9):
            REGISTRY.handler(event.kind)(self, event)
        before = self._closures()
        ctx = self.context(dt)
        for phase in self._all_phases():
            phase.step(ctx, dt)
        if self._closures() != before:  # a phase closed or reopened links: routes and access change
            self.recorder.network_changed()
        self.clock_s = end
        self.step_count += 1
        self.recorder.record(self.clock_s, self.step_count, self.state, self._all_phases(), force=self.finished)
        self._check_conditions()

    def _closures(self) -> bytes:
        """The closure flags as bytes (a cheap fingerprint to notice a change)."""
        return b"".join(getattr(self.state, name).tobytes() for name in CLOSURE_FLAGS)

    def _report(self, impacts: Impacts) -> None:
        """Apply and log a hazard's impacts (``StepContext.report``)."""
        apply_impacts(self.city, self.state, self.log, impacts)

    def run(self, until_s: float | None = None, progress: Callable[[CityModel], None] | None = None) -> None:
        """Step until ``until_s`` (default: the end of the scenario); resumable."""
        stop = self.duration_s if until_s is None else min(until_s, self.duration_s)
        while self.clock_s < stop - 1e-9:
            self.step()  # Mesa replaced it with its wrapped step: counts Mesa steps, then calls ours
            if progress is not None:
                progress(self)

    def _check_conditions(self) -> None:
        """Schedule conditional events whose condition holds now; they fire in the next step.

        A condition is armed at the start; it disarms when it fires, and a ``repeat`` condition re-arms
        once it stops holding, so it fires each time the condition *becomes* true.
        """
        updated = []
        for event_spec, armed in self.conditions:
            assert event_spec.when is not None
            value = self.recorder.latest(f"Q_{event_spec.when.service}")
            below, above = event_spec.when.below, event_spec.when.above
            holds = bool(np.isfinite(value)) and (value < below if below is not None else value > float(above or 0))
            if holds and armed:
                cause = event_spec.cause if event_spec.cause != "scenario" else "condition"
                next_step_end = min(self.clock_s + float(self.spec.step_s), self.duration_s)
                self.schedule(self._event_from_spec(event_spec, next_step_end, cause))
                armed = False
            elif not holds and event_spec.repeat:
                armed = True
            updated.append((event_spec, armed))
        self.conditions = updated

    def repair(self, components: np.ndarray) -> None:
        """Clear the physical damage of components (facility rows): restore_after, repair events and crews call
        this; the lifelines phase then brings their service back through its usual rules (power, tanks, backups).
        """
        self.state.comp_damaged[components] = False
        self.state.comp_cause[components] = ""

    def log(self, t_s: float, kind: str, target: str, cause: str, details: dict[str, Any]) -> None:
        """Add a row to the event log."""
        self.recorder.log_event(t_s, kind, target, cause, details)

    # --- checkpoints ---------------------------------------------------------------------------------

    def checkpoint(self, path: Path | str) -> None:
        """Save everything that changes (state, clock, queue, conditions, record, random states) to ``path``.

        The file (:mod:`twin.sim.checkpoint`) is an ``.npz`` without pickle, written atomically, that names the
        scenario, the map and the seed it belongs to.
        """
        meta = {
            "scenario_hash": scenario_hash(self.spec),
            "map_hash": self.city.map_hash,
            "seed": self.seed_value,
            "clock_s": self.clock_s,
            "step_count": self.step_count,
            "queue": self.queue.to_list(),
            "queue_counter": self.queue.counter,
            "conditions_armed": [armed for _spec, armed in self.conditions],
            "numpy_rng": self.rng.bit_generator.state,
            "python_random": _random_state(self.random),
            "recorder": self.recorder.to_dict(),
        }
        arrays = {f"state__{k}": v for k, v in self.state.arrays().items()}
        for phase in self._all_phases():
            arrays.update({f"comp__{phase.name}__{k}": v for k, v in phase.arrays().items()})
        write_checkpoint(path, meta, arrays)

    @classmethod
    def restore(cls, path: Path | str, city: City, spec: Scenario, seed: int | None = None) -> CityModel:
        """A model continued from a checkpoint written by :meth:`checkpoint` for the same scenario, map and seed.

        Parameters
        ----------
        path
            The checkpoint.
        city, spec
            The City and the scenario of the run it continues (their hashes must be the checkpoint's).
        seed
            The run's seed (default: the scenario's); it must be the checkpoint's.

        Raises
        ------
        RunError
            If the file is missing or damaged, of another format version, or made for another scenario, map
            or seed (every difference named).
        """
        meta, saved = read_checkpoint(path, required=ENGINE_KEYS)
        expected = {
            "scenario_hash": scenario_hash(spec),
            "map_hash": city.map_hash,
            "seed": spec.seed if seed is None else seed,
        }
        check_identity(path, meta, expected)
        arrays = {k.removeprefix("state__"): v for k, v in saved.items() if k.startswith("state__")}
        parts = {k.removeprefix("comp__"): v for k, v in saved.items() if k.startswith("comp__")}
        model = cls(city, spec, seed=meta["seed"])
        check_arrays(path, arrays, model.state.arrays())
        model.state = SimState.from_arrays(arrays)
        model.clock_s, model.step_count = meta["clock_s"], meta["step_count"]
        model.queue = EventQueue.from_list(meta["queue"], meta["queue_counter"])
        armed = meta["conditions_armed"]
        model.conditions = [(spec_, a) for (spec_, _), a in zip(model.conditions, armed, strict=True)]
        model.rng.bit_generator.state = meta["numpy_rng"]
        model.random.setstate(_tuple_state(meta["python_random"]))
        model.recorder.load_dict(meta["recorder"])
        for phase in model._all_phases():
            prefix = f"{phase.name}__"
            phase.load_arrays({k.removeprefix(prefix): v for k, v in parts.items() if k.startswith(prefix)})
        return model

    # --- outputs -------------------------------------------------------------------------------------------

    def write_outputs(self, folder: Path) -> list[Path]:
        """Every phase's own files (rasters, layers, tables) in ``folder``, in step order; their paths."""
        return [path for phase in self._all_phases() for path in phase.outputs(folder)]


class _RunOf:
    """A model as its phases see it when they write their outputs (:class:`~twin.sim.phase.RunView`)."""

    def __init__(self, model: CityModel) -> None:
        self._model = model

    @property
    def city(self) -> City:
        return self._model.city

    @property
    def state(self) -> SimState:
        return self._model.state

    @property
    def title(self) -> str:
        return self._model.spec.name

    @property
    def seed(self) -> int:
        return int(self._model.seed_value)

    def timeseries(self) -> pd.DataFrame:
        return self._model.recorder.timeseries()

    def zones_table(self) -> pd.DataFrame | None:
        return self._model.recorder.zones_table()


def _source_of(event_spec: EventSpec) -> str:
    return event_spec.source or "event"


def _check_restore(event: Event) -> None:
    """``restore_after_s`` (from a drill inject, say) is a finite number of seconds > 0, on fail_component only."""
    restore = event.params.get("restore_after_s")
    if restore is None:
        return
    number = isinstance(restore, int | float) and not isinstance(restore, bool)
    if event.kind != "fail_component" or not number or not (0 < restore < np.inf):
        raise ScenarioError(
            f"{event.source or 'event'}: restore_after_s: must be a number of seconds > 0 on a fail_component "
            f"event, got {restore!r} on a {event.kind} event"
        )


def _random_state(generator: random.Random) -> list[Any]:
    version, internal, gauss = generator.getstate()
    return [version, list(internal), gauss]


def _tuple_state(state: list[Any]) -> tuple[Any, ...]:
    return (state[0], tuple(state[1]), state[2])
