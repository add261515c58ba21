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

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from twin.sim.impacts import Impacts, LogFunction

if TYPE_CHECKING:
    import pandas as pd

    from twin.city.build import City
    from twin.sim.events import Event
    from twin.sim.state import SimState

PHASE_ORDER = ("hazards", "lifelines", "residents", "crews", "traffic")
"""The order phases run in within a step: each reads what the ones before it wrote this step."""


def _no_engine(impacts: Impacts) -> None:
    """The default ``report`` of a context built outside the engine: impacts need an engine to apply them."""
    raise RuntimeError("this step context has no engine to report impacts to; step phases through CityModel")


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
    report
        Hands the engine a hazard's :class:`~twin.sim.impacts.Impacts` (links it closed or reopened, components
        it damaged): the engine applies the component damage, logs every impact in one format and notices
        changed closures.
    """

    clock_s: float
    step_count: int
    city: City
    state: SimState
    rng: np.random.Generator
    log: LogFunction
    schedule: Callable[[Event], Event]
    services: Mapping[str, Any] = field(default_factory=dict)
    report: Callable[[Impacts], None] = field(default=_no_engine)


class RunView(Protocol):
    """The run as a phase's :meth:`Phase.outputs` sees it: read-only, after the last step."""

    @property
    def city(self) -> City:
        """The compiled City."""

    @property
    def state(self) -> SimState:
        """The state at the end of the run."""

    @property
    def title(self) -> str:
        """The scenario's name (maps put it in their title)."""

    @property
    def seed(self) -> int:
        """The run's seed."""

    @property
    def start(self) -> dt.datetime:
        """The scenario's start (time-zone aware, the map's zone): pictures give local clock times."""

    def timeseries(self) -> pd.DataFrame:
        """The recorded time series."""

    def zones_table(self) -> pd.DataFrame | None:
        """The recorded per-zone service rows, or None."""


class Phase:
    """Base of every phase: override what the phase has; the defaults are "nothing".

    Attributes
    ----------
    name
        Unique name in a run; prefixes the phase's checkpoint arrays.
    order
        Which slot of :data:`PHASE_ORDER` it runs in.
    run
        The run the phase belongs to, read only (set by the engine when it adds the phase; None before): what
        :meth:`outputs` writes from.
    """

    name: ClassVar[str] = "phase"
    order: ClassVar[str] = "hazards"
    run: RunView | None = None

    def attach(self, run: RunView) -> None:
        """Called by the engine when it adds the phase to a run."""
        self.run = run

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Advance the phase's part of ``ctx.state`` by ``dt_s`` seconds."""

    def series(self) -> dict[str, float]:
        """Columns the phase adds to the time series at a record time (name -> value)."""
        return {}

    def zone_rows(self, t_s: float) -> list[dict[str, object]]:
        """Rows the phase adds to ``zones.parquet`` at a record time (``t_s``, ``zone``, ``service``, ``q``,
        ``customers``)."""
        return []

    def services(self) -> dict[str, Any]:
        """Services the phase offers the other phases, by name (``ctx.services``); the engine collects them when
        it adds the phase (traffic offers ``"traffic"``, a :class:`twin.traffic.service.TrafficService`)."""
        return {}

    def initial_events(self) -> list[Event]:
        """Events the phase puts in the queue when the run is built (an outage's failures, say)."""
        return []

    def set_parameter(self, entry: int, name: str, value: float) -> bool:
        """Set run-time parameter ``name`` of the scenario's hazard entry number ``entry`` from now on.

        A ``set_hazard_parameter`` event calls this on every hazards phase; the one that runs the entry applies
        it (the value was checked against the entry's ``with_parameter``) and keeps it in :meth:`arrays`.

        Returns
        -------
        bool
            Whether this phase runs the entry (the default: no).
        """
        return False

    def arrays(self) -> dict[str, np.ndarray]:
        """Every piece of changing state the phase keeps outside ``SimState``, for checkpoints."""
        return {}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`arrays` returned (a restored run then continues bit for bit)."""

    def assumptions(self) -> list[str]:
        """What the phase assumed, in the user's words, for ``assumptions.json`` and the report."""
        return []

    def outputs(self, folder: Path) -> list[Path]:
        """Write the phase's own files (rasters, layers, tables) into a run folder; return their paths.

        Called once the run has stopped; :attr:`run` gives the final state and the record.
        """
        return []

    def attached(self) -> RunView:
        """:attr:`run`, or a clear error when the phase was never added to a run."""
        if self.run is None:
            raise RuntimeError(f"phase {self.name!r} is not part of a run: add it with CityModel.add_phase")
        return self.run
