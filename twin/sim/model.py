"""CityModel: the clock, the event heap, the phases and the record of one run.

``CityModel`` subclasses :class:`mesa.Model` for its seeded ``rng``, its agents and AgentSets (DESIGN.md
rule 8); simulated time is our own clock (``clock_s``, seconds since the start), the validated scenario is
``spec``, and events are data in our own heap, so that a run can be stepped, paused, injected into,
checkpointed and restored bit for bit.

One step of ``dt`` seconds, from ``t`` to ``t + dt``:

1. events due at or before ``t + dt`` fire, in time order (then the order they were scheduled);
2. the components run in phase order: hazards -> lifelines -> residents -> crews -> traffic;
3. the clock moves to ``t + dt`` and the record phase measures the service levels and counts;
4. conditional events whose condition now holds are scheduled for the next step.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import mesa
import numpy as np

from twin.city.build import City
from twin.errors import ScenarioError
from twin.lifelines.measured import measured_services
from twin.scenario import EventSpec, Scenario
from twin.sim.events import COMPONENT_EVENT_KINDS, EVENT_KINDS, Event, EventQueue
from twin.sim.phase import Phase, StepContext
from twin.sim.record import Recorder
from twin.sim.state import SimState
from twin.sim.targets import TargetError, describe_component, resolve_components, resolve_links

PHASES = ("hazards", "lifelines", "residents", "crews", "traffic")
CHECKPOINT_VERSION = 2


class Component(Protocol):
    """A part of the model that advances with the clock (hazards, lifelines, traffic, or a user's own)."""

    name: str

    def step(self, model: CityModel, dt_s: float) -> None:
        """Advance the component's part of ``model.state`` by ``dt_s`` seconds."""


class PhaseComponent:
    """A phase of the phase contract (:class:`twin.sim.phase.Phase`) stepped by this engine with a StepContext."""

    def __init__(self, phase: Phase) -> None:
        self.phase = phase
        self.name = phase.name

    def step(self, model: CityModel, dt_s: float) -> None:
        """Step the phase with the model's clock, state, rng and log (no services yet)."""
        ctx = StepContext(
            clock_s=model.clock_s,
            step_count=model.step_count,
            city=model.city,
            state=model.state,
            rng=model.rng,
            log=model.log,
            schedule=model.schedule,
        )
        self.phase.step(ctx, dt_s)

    def series(self) -> dict[str, float]:
        """The phase's columns of the time series."""
        return self.phase.series()

    def arrays(self) -> dict[str, np.ndarray]:
        """The phase's checkpoint arrays."""
        return self.phase.arrays()

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the phase's checkpoint arrays."""
        self.phase.load_arrays(arrays)

    def assumptions(self) -> list[str]:
        """What the phase assumed."""
        return self.phase.assumptions()


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
    A user adds a component of their own (or Mesa agents it steps) without editing the package::

        class Curfew:
            name = "curfew"
            def step(self, model, dt_s):
                if model.clock_s >= 3600:
                    model.state.link_capacity_factor[:] = 0.5

        model = CityModel(city, spec)
        model.add_component(Curfew(), phase="traffic")
        model.run()
    """

    def __init__(self, city: City, spec: Scenario, seed: int | None = None) -> None:
        self.seed_value = spec.seed if seed is None else seed
        super().__init__(rng=self.seed_value)
        self.city = city
        self.spec = spec
        self.clock_s = 0.0
        self.step_count = 0
        self.state = SimState.normal(city)
        self.components: dict[str, list[Component]] = {phase: [] for phase in PHASES}
        self.queue = EventQueue()
        self.conditions: list[tuple[EventSpec, bool]] = []
        self._targets: dict[str, np.ndarray] = {}
        self.handlers: dict[str, Callable[[CityModel, Event], None]] = {
            "close_link": _close_link,
            "open_link": _open_link,
            "message": _message,
            "fail_component": _fail_component,
            "repair_component": _repair_component,
        }
        assert set(self.handlers) == set(EVENT_KINDS)
        problems = self._load_events() + self._load_hazards()
        if problems:
            raise ScenarioError("the scenario does not fit the map", problems)
        from twin.lifelines.model import Lifelines  # imports the engine's state; import it late

        self.add_component(Lifelines(city), "lifelines")
        if spec.traffic is not None:
            from twin.traffic.engine import TrafficPhase

            self.add_component(TrafficPhase(city, spec.traffic, self.rng), "traffic")
        if spec.residents is not None or spec.warnings:
            from twin.residents.phase import ResidentsPhase  # people only where the scenario asks for them

            self.add_component(PhaseComponent(ResidentsPhase(city, spec, self.rng)), "residents")
        self.recorder = Recorder(city, spec)
        self.recorder.record(self, force=True)

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

    def _load_hazards(self) -> list[str]:
        """Build the hazard components of the scenario's hazard entries; return every misfit of every type."""
        from twin.hazards.flood import FloodHazard  # the hazards import the engine's state; import them late
        from twin.hazards.landslide import Landslides
        from twin.hazards.outage import OutageHazard

        hazards = list(self.spec.hazards)
        builders: list[Callable[[], list[Any]]] = [
            lambda: [FloodHazard.from_specs(self.city, hazards)],
            lambda: [OutageHazard.from_specs(self.city, hazards, self.rng)],  # random picks drawn once, now
            lambda: list(Landslides.from_specs(self.city, hazards, self.rng)),  # soil per cell drawn once, now
        ]
        problems: list[str] = []
        for build in builders:
            try:
                built = build()
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            for component in (c for c in built if c is not None):
                self.add_component(component, "hazards")
                for event in getattr(component, "events", []):  # an outage is events in the checkpointed queue
                    self.schedule(event)
        return problems

    def assumptions(self) -> list[str]:
        """What the run's components assumed, for ``assumptions.json``."""
        notes: list[str] = []
        for phase in PHASES:
            for component in self.components[phase]:
                notes.extend(getattr(component, "assumptions", lambda: [])())
        return notes

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
        components = kind in COMPONENT_EVENT_KINDS
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

    def add_component(self, component: Component, phase: str) -> None:
        """Run ``component.step(model, dt)`` every step in ``phase`` (one of :data:`PHASES`)."""
        if phase not in self.components:
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        self.components[phase].append(component)

    def phases(self) -> list[Phase]:
        """The run's phases written to the phase contract (their ``outputs`` and metrics are written at the end)."""
        return [c.phase for cs in self.components.values() for c in cs if isinstance(c, PhaseComponent)]

    def schedule(self, event: Event) -> None:
        """Put an event in the queue; it fires in the first step whose end time is >= ``event.t_s``."""
        if event.kind not in self.handlers:
            raise ScenarioError(
                f"{event.source or 'event'}: unknown event kind {event.kind!r}; known: "
                f"{', '.join(sorted(self.handlers))}"
            )
        if event.target or event.kind in COMPONENT_EVENT_KINDS:
            try:
                self._resolve(event.kind, event.target)
            except TargetError as exc:
                raise ScenarioError(f"{event.source or 'event'}: target: {exc}") from None
        _check_restore(event)
        self.queue.push(event)

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
        self.schedule(event)
        return event

    @property
    def duration_s(self) -> float:
        """The scenario's duration (s)."""
        return float(self.spec.duration_s)

    @property
    def finished(self) -> bool:
        """Whether the clock has reached the end of the scenario."""
        return self.clock_s >= self.duration_s - 1e-9

    def step(self) -> None:
        """Advance the clock by one step (Mesa calls this through ``Model.step``)."""
        dt = min(float(self.spec.step_s), self.duration_s - self.clock_s)
        end = self.clock_s + dt
        for event in self.queue.pop_due(end + 1e-9):
            self.handlers[event.kind](self, event)
        for phase in PHASES:
            for component in self.components[phase]:
                component.step(self, dt)
        self.clock_s = end
        self.step_count += 1
        self.recorder.record(self, force=self.finished)
        self._check_conditions()

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

        The file is an ``.npz`` (no pickle): the state arrays plus one JSON document.
        """
        meta = {
            "version": CHECKPOINT_VERSION,
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
        for phase in PHASES:
            for component in self.components[phase]:
                if hasattr(component, "arrays"):
                    arrays.update({f"comp__{component.name}__{k}": v for k, v in component.arrays().items()})
        payload = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with Path(path).open("wb") as stream:
            np.savez_compressed(stream, meta=payload, **arrays)  # type: ignore[arg-type]

    @classmethod
    def restore(cls, path: Path | str, city: City, spec: Scenario) -> CityModel:
        """A model continued from a checkpoint written by :meth:`checkpoint` for the same city and scenario."""
        with np.load(Path(path), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            arrays = {k.removeprefix("state__"): npz[k] for k in npz.files if k.startswith("state__")}
            parts = {k.removeprefix("comp__"): npz[k] for k in npz.files if k.startswith("comp__")}
        if meta["map_hash"] != city.map_hash:
            raise ScenarioError(f"{path}: the checkpoint was made on another map (hash {meta['map_hash'][:12]})")
        model = cls(city, spec, seed=meta["seed"])
        model.state = SimState.from_arrays(arrays)
        model.clock_s, model.step_count = meta["clock_s"], meta["step_count"]
        model.queue = EventQueue.from_list(meta["queue"], meta["queue_counter"])
        armed = meta["conditions_armed"]
        model.conditions = [(spec_, a) for (spec_, _), a in zip(model.conditions, armed, strict=True)]
        model.rng.bit_generator.state = meta["numpy_rng"]
        model.random.setstate(_tuple_state(meta["python_random"]))
        model.recorder.load_dict(meta["recorder"])
        for phase in PHASES:
            for component in model.components[phase]:
                if hasattr(component, "load_arrays"):
                    prefix = f"{component.name}__"
                    component.load_arrays({k.removeprefix(prefix): v for k, v in parts.items() if k.startswith(prefix)})
        return model


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


# --- handlers of the generic events ---------------------------------------------------------------------


def _close_link(model: CityModel, event: Event) -> None:
    links = model.links_of(event)
    model.state.link_closed_event[links] = True
    model.recorder.network_changed()
    model.log(event.t_s, "close_link", _describe(event), event.cause, {"links": len(links), "source": event.source})


def _open_link(model: CityModel, event: Event) -> None:
    links = model.links_of(event)
    model.state.link_closed_event[links] = False
    model.recorder.network_changed()
    model.log(event.t_s, "open_link", _describe(event), event.cause, {"links": len(links), "source": event.source})


def _message(model: CityModel, event: Event) -> None:
    model.log(event.t_s, "message", "", event.cause, {"text": event.params.get("text", ""), "source": event.source})


GENERIC_CAUSES = ("scenario", "intervention", "inject", "condition", "")
"""Causes that say who sent an event, not what damaged a component: ``comp_cause`` is then ``outage``."""


def _fail_component(model: CityModel, event: Event) -> None:
    """Damage the target's components; with ``restore_after_s``, schedule the repair of those it damaged."""
    rows = model.components_of(event)
    state = model.state
    cause = "outage" if event.cause in GENERIC_CAUSES else event.cause
    fresh = rows[~state.comp_damaged[rows]]
    state.comp_damaged[fresh] = True
    state.comp_cause[fresh] = cause
    restore_s = event.params.get("restore_after_s")
    for row in rows.tolist():
        details: dict[str, Any] = {"component": row, "source": event.source}
        if row not in fresh:
            details["already_damaged_by"] = str(state.comp_cause[row])
        elif restore_s is not None:
            details["restore_after_s"] = float(restore_s)
        model.log(event.t_s, "fail_component", describe_component(model.city, row), event.cause, details)
    if restore_s is not None and len(fresh):
        stored = str(np.asarray(cause, dtype=state.comp_cause.dtype))  # comp_cause is fixed-width text
        model.schedule(
            Event(
                t_s=event.t_s + float(restore_s),
                kind="repair_component",
                target={"components": fresh.tolist()},
                params={"if_cause": stored, "after_s": float(restore_s)},
                cause=event.cause,
                source=event.source,
            )
        )


def _repair_component(model: CityModel, event: Event) -> None:
    """Clear the damage of the target's components (with ``if_cause``: only damage of that cause)."""
    rows = model.components_of(event)
    state = model.state
    damaged = state.comp_damaged[rows].copy()
    if "if_cause" in event.params:
        damaged &= state.comp_cause[rows] == event.params["if_cause"]
    fixed = rows[damaged]
    for row in fixed.tolist():
        details: dict[str, Any] = {"component": row, "source": event.source, "cause": str(state.comp_cause[row])}
        if "after_s" in event.params:
            details["restored_after_s"] = event.params["after_s"]
        model.log(event.t_s, "repair_component", describe_component(model.city, row), event.cause, details)
    model.repair(fixed)
    if not len(fixed):
        details = {"components": 0, "source": event.source, "note": "no targeted component was damaged"}
        model.log(event.t_s, "repair_component", _describe(event), event.cause, details)


def _describe(event: Event) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(event.target.items()))
