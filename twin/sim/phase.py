"""The phase contract: what every part of the engine that advances with the clock implements.

A *phase* (hazards, lifelines, residents, crews, traffic, or a user's own) is stepped once per engine step, in
phase order, with a small :class:`StepContext` instead of the whole model: the clock, the changing
:class:`~twin.sim.state.SimState`, the run's one random Generator, the event log, the read-only City, the event
queue and the services other phases offer (traffic takes trips). Everything a phase changes lives either in
``SimState`` or in the arrays its :meth:`Phase.arrays` declares, so a checkpoint holds the whole run.

A phase subclasses :class:`Phase` and overrides what it has; the defaults say "nothing of that kind"::

    class Curfew(Phase):
        name = "curfew"
        order = "traffic"

        def step(self, ctx: StepContext, dt_s: float) -> None:
            if ctx.clock_s >= 3600:
                ctx.state.link_capacity_factor[:] = 0.5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.sim.events import Event
    from twin.sim.state import SimState

PHASE_ORDER = ("hazards", "lifelines", "residents", "crews", "traffic")
"""The order phases run in within a step: each reads what the ones before it wrote this step."""

LogFunction = Callable[[float, str, str, str, dict[str, Any]], None]
"""``log(t_s, kind, target, cause, details)``: append one row to the run's event log."""


@dataclass
class StepContext:
    """What a phase sees in one step.

    Attributes
    ----------
    clock_s
        Simulated time at the start of the step (s since the run's start); the step ends at ``clock_s + dt_s``.
    step_count
        Steps completed before this one.
    city
        The compiled City (read only).
    state
        The changing state of the run; a phase writes only the arrays it owns (see ``SimState``).
    rng
        The run's only source of randomness.
    log
        Appends a row to the event log.
    schedule
        Puts an :class:`~twin.sim.events.Event` in the engine's queue (it fires in the first step whose end is
        at or after its time).
    services
        Services other phases offer, by name (``"traffic"``: :class:`twin.traffic.service.TrafficService`).
    """

    clock_s: float
    step_count: int
    city: City
    state: SimState
    rng: np.random.Generator
    log: LogFunction
    schedule: Callable[[Event], None]
    services: Mapping[str, Any] = field(default_factory=dict)


class Phase:
    """Base of every phase: override what the phase has; the defaults are "nothing".

    Attributes
    ----------
    name
        Unique name in a run; prefixes the phase's checkpoint arrays.
    order
        Which slot of :data:`PHASE_ORDER` it runs in.
    """

    name: ClassVar[str] = "phase"
    order: ClassVar[str] = "hazards"

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Advance the phase's part of ``ctx.state`` by ``dt_s`` seconds."""

    def series(self) -> dict[str, float]:
        """Columns the phase adds to the time series at a record time (name -> value)."""
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every piece of changing state the phase keeps outside ``SimState``, for checkpoints."""
        return {}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`arrays` returned (a restored run then continues bit for bit)."""

    def assumptions(self) -> list[str]:
        """What the phase assumed, in the user's words, for ``assumptions.json`` and the report."""
        return []

    def outputs(self, folder: Path) -> list[Path]:
        """Write the phase's own files (rasters, layers, tables) into a run folder; return their paths."""
        return []
