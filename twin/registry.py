"""The one registry: every kind of thing a scenario may name and the engine may run, each registered beside its code.

What it holds, and who reads it:

* **hazard types**, **response types** and **intervention types**: scenario entry name -> pydantic model (the
  scenario schema, ``twin validate`` and ``twin schema`` read them);
* **phases**: name -> builder ``build(city, spec, rng) -> list[Phase]`` (the engine calls every builder, in
  registration order, when a run is built; a builder returns no phase when the scenario does not use it);
* **event kinds**: name -> what the target selects (links, components or nothing) and the engine handler that
  executes it (the scenario schema validates ``kind`` and ``target`` against them; the engine runs the handler);
* **dispatch policies**: name -> factory of a crews dispatch policy (``crews.policy``, the ``set_policy`` command);
* **condition services**: the service levels ``when:`` conditions can watch (``Q_<service>``).

Built-in kinds register themselves when their module is imported; the registry imports those modules only when
their kind of entry is first asked for (:data:`SPEC_MODULES` when a scenario is validated, :data:`PHASE_MODULES`
when a run is built), so loading a scenario imports no hazard physics, engine or traffic simulator, and nothing
here imports numpy. A plug-in registers the same way from its own code::

    from twin.registry import REGISTRY

    REGISTRY.add_hazard_type("heatwave", HeatwaveSpec)
    REGISTRY.add_phase("heatwave", build_heatwave)   # build(city, spec, rng) -> list[Phase]

The registry is the package's one deliberately shared object: a plug-in must be able to add to it from outside.
:meth:`Registry.scoped` undoes additions (tests use it so that one test's kinds do not leak into another).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from pydantic import BaseModel

    from twin.sim.phase import Phase

    # build(city, spec, rng): the City, the validated Scenario (twin.scenario imports this module, so it is not
    # named here) and the run's numpy Generator
    PhaseBuilder = Callable[..., list[Phase]]
else:
    PhaseBuilder = Callable[..., list[Any]]

SPEC_MODULES = (
    "twin.hazards.flood.spec",
    "twin.hazards.landslide.spec",
    "twin.hazards.outage.spec",
    "twin.interventions.spec",
)
"""Modules whose import registers the built-in hazard, response and intervention types."""
PHASE_MODULES = (
    "twin.hazards.flood.model",
    "twin.hazards.outage.model",
    "twin.hazards.landslide.model",
    "twin.lifelines.model",
    "twin.residents.phase",
    "twin.crews.phase",
    "twin.traffic.engine",
)
"""Modules whose import registers the built-in phases, in the order their builders run (and draw from the seed)."""

TargetKind = Literal["link", "component"]


@dataclass(frozen=True)
class EventKindInfo:
    """An event kind: its name, what its ``target`` selects and the engine function that executes it.

    Attributes
    ----------
    name
        The ``kind`` of a scenario event or inject.
    target
        ``"link"`` (drivable links, a link selector), ``"component"`` (rows of ``City.facilities``, a component
        selector) or None (no target).
    handler
        ``"module:function"``; the function takes ``(engine, event)`` and is imported when a run first needs it.
    """

    name: str
    target: TargetKind | None
    handler: str


BUILTIN_EVENT_KINDS = (
    EventKindInfo("close_link", "link", "twin.sim.handlers:close_link"),
    EventKindInfo("open_link", "link", "twin.sim.handlers:open_link"),
    EventKindInfo("message", None, "twin.sim.handlers:message"),
    EventKindInfo("fail_component", "component", "twin.sim.handlers:fail_component"),
    EventKindInfo("repair_component", "component", "twin.sim.handlers:repair_component"),
    EventKindInfo("set_hazard_parameter", None, "twin.sim.handlers:set_hazard_parameter"),
)
"""The generic event kinds, listed once: the scenario schema's ``kind`` and the engine's handlers come from here."""

EVENT_KINDS: tuple[str, ...] = tuple(info.name for info in BUILTIN_EVENT_KINDS)
LINK_EVENT_KINDS: tuple[str, ...] = tuple(i.name for i in BUILTIN_EVENT_KINDS if i.target == "link")
"""Kinds that act on road links and so need a link ``target``."""
COMPONENT_EVENT_KINDS: tuple[str, ...] = tuple(i.name for i in BUILTIN_EVENT_KINDS if i.target == "component")
"""Kinds that act on facilities and lifeline components and so need a component ``target``."""
HAZARD_EVENT_KINDS: tuple[str, ...] = ("set_hazard_parameter",)
"""Kinds that change a scenario's hazard entry (``hazard: <index>``, ``parameter``, ``value``); no target."""

if TYPE_CHECKING:
    EventKind = str
else:
    EventKind = Literal[EVENT_KINDS]
"""The type of a scenario event's ``kind`` (a Literal of :data:`EVENT_KINDS` for the schema)."""

Service = Literal["power", "water", "telecom", "health", "access"]
"""Services with a city-wide level Q in [0, 1] (``Q_power``, ...), which conditions can watch."""
SERVICES: tuple[str, ...] = get_args(Service)


@dataclass
class Registry:
    """Hazard types, response types, phases and event kinds by name (see the module's docstring)."""

    _hazard_types: dict[str, type[BaseModel]] = field(default_factory=dict)
    _response_types: dict[str, type[BaseModel]] = field(default_factory=dict)
    _intervention_types: dict[str, type[BaseModel]] = field(default_factory=dict)
    _phases: dict[str, PhaseBuilder] = field(default_factory=dict)
    _event_kinds: dict[str, EventKindInfo] = field(default_factory=lambda: {i.name: i for i in BUILTIN_EVENT_KINDS})
    _policies: dict[str, Callable[[], Any]] = field(default_factory=dict)
    _loaded: set[str] = field(default_factory=set)

    # --- registration ------------------------------------------------------------------------------------------

    def add_hazard_type(self, name: str, model: type[BaseModel]) -> None:
        """Register a hazard entry type (``- type: name``) and its pydantic model."""
        self._hazard_types[name] = model

    def add_response_type(self, name: str, model: type[BaseModel]) -> None:
        """Register a response entry type (crews, shelters, warnings) and its pydantic model."""
        self._response_types[name] = model

    def add_intervention_type(self, name: str, model: type[BaseModel]) -> None:
        """Register an intervention entry type (``interventions: - type: levee``) and its pydantic model."""
        self._intervention_types[name] = model

    def add_phase(self, name: str, build: PhaseBuilder) -> None:
        """Register a phase builder ``build(city, spec, rng) -> list[Phase]`` (an empty list: not in this run).

        The builder raises :class:`twin.errors.ScenarioError` with every entry that does not fit the map.
        """
        self._phases[name] = build

    def add_event_kind(self, info: EventKindInfo) -> None:
        """Register an event kind the engine executes with ``info.handler``."""
        self._event_kinds[info.name] = info

    def add_dispatch_policy(self, name: str, factory: Callable[[], Any]) -> None:
        """Register a crews dispatch policy (:class:`twin.crews.policies.DispatchPolicy`) by name."""
        self._policies[name] = factory

    # --- lookup ------------------------------------------------------------------------------------------------

    def hazard_types(self) -> dict[str, type[BaseModel]]:
        """Hazard type name -> model (built-in types loaded on first use)."""
        self._load(SPEC_MODULES)
        return self._hazard_types

    def response_types(self) -> dict[str, type[BaseModel]]:
        """Response type name -> model."""
        self._load(SPEC_MODULES)
        return self._response_types

    def intervention_types(self) -> dict[str, type[BaseModel]]:
        """Intervention type name -> model (levee, raise_road, generator, ...)."""
        self._load(SPEC_MODULES)
        return self._intervention_types

    def phase_builders(self) -> list[tuple[str, PhaseBuilder]]:
        """Every registered phase builder, in registration order (built-in phases loaded on first use)."""
        self._load(PHASE_MODULES)
        return list(self._phases.items())

    def event_kinds(self) -> dict[str, EventKindInfo]:
        """Event kind name -> its target and handler."""
        return self._event_kinds

    def dispatch_policies(self) -> dict[str, Callable[[], Any]]:
        """Dispatch policy name -> factory (the built-in policies loaded on first use)."""
        self._load(("twin.crews.policies",))
        return self._policies

    def handler(self, kind: str) -> Callable[..., None]:
        """The engine function that executes events of ``kind``."""
        module, _, function = self._event_kinds[kind].handler.partition(":")
        handler: Callable[..., None] = getattr(importlib.import_module(module), function)
        return handler

    def _load(self, modules: tuple[str, ...]) -> None:
        for module in modules:
            if module not in self._loaded:
                self._loaded.add(module)
                importlib.import_module(module)

    @contextmanager
    def scoped(self, builtins: bool = True) -> Iterator[Registry]:
        """Within the block, additions are allowed; on leaving, the registry is as it was.

        With ``builtins=False`` the block starts without hazard, response and intervention types and phases (a
        test of the scenario's own rules, say).
        """
        self._load(SPEC_MODULES + PHASE_MODULES)
        saved = (
            dict(self._hazard_types),
            dict(self._response_types),
            dict(self._intervention_types),
            dict(self._phases),
            dict(self._event_kinds),
        )
        policies = dict(self._policies)
        if not builtins:
            self._hazard_types, self._response_types, self._intervention_types, self._phases = {}, {}, {}, {}
        try:
            yield self
        finally:
            (
                self._hazard_types,
                self._response_types,
                self._intervention_types,
                self._phases,
                self._event_kinds,
            ) = saved
            self._policies = policies


REGISTRY = Registry()
"""The package's registry; plug-ins add to it (see :class:`Registry`)."""
