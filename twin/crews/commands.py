"""The engine's handlers of the crews' event kinds: a crew's work ending, and the drill commands.

Registered by :mod:`twin.crews.phase` (``REGISTRY.add_event_kind``); each takes the engine and the event, like
:mod:`twin.sim.handlers`. Commands go through the engine's queue, so a drill, a scenario's plug-in or a test
issues them alike::

    model.inject("dispatch", crew=3, incident=12)    # send crew 3 to incident 12 (recalling whoever had it)
    model.inject("stage", crew=3, node=812)          # post crew 3 at drivable node 812 (it returns there)
    model.inject("set_policy", policy="nearest")      # swap the dispatch policy
    model.inject("recall", crew=3)                    # take crew 3 off its job, back to its home base
    model.inject("prioritise_repair", {"name": "ETR"})  # repair these components first, whatever the policy

A command the crews cannot follow (an unknown crew, a crew of the wrong kind) is logged as refused, not raised:
a drill goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.sim.events import Event

if TYPE_CHECKING:
    from twin.crews.phase import CrewsPhase
    from twin.sim.model import CityModel


def _crews(model: CityModel, event: Event) -> CrewsPhase | None:
    """The run's crews phase, or None (the command is logged as refused)."""
    for phase in model.phases["crews"]:
        if phase.name == "crews":
            return phase  # type: ignore[return-value]
    model.log(event.t_s, event.kind, "", event.cause, {"refused": "the scenario has no crews section"})
    return None


def crew_done(model: CityModel, event: Event) -> None:
    """A crew's time on scene ends: the repair or clearing takes effect (see ``CrewsPhase.finish``)."""
    crews = _crews(model, event)
    if crews is not None:
        crews.finish(model, event)


def _command(model: CityModel, event: Event) -> None:
    crews = _crews(model, event)
    if crews is not None:
        crews.command(model, event)


def dispatch(model: CityModel, event: Event) -> None:
    """``dispatch(crew, incident)``: send a crew to an incident at this step's dispatch."""
    _command(model, event)


def stage(model: CityModel, event: Event) -> None:
    """``stage(crew, node)``: post a crew at a drivable node (idle crews drive there now, busy ones after)."""
    _command(model, event)


def set_policy(model: CityModel, event: Event) -> None:
    """``set_policy(policy)``: dispatch by another registered policy from now on."""
    _command(model, event)


def recall(model: CityModel, event: Event) -> None:
    """``recall(crew)``: take a crew off its job (the incident waits again) and back to its home base."""
    _command(model, event)


def prioritise_repair(model: CityModel, event: Event) -> None:
    """``prioritise_repair(target)``: move the repairs of the selected components to the front of their crews'
    queue (the latest moved first), now and whenever they are damaged until a crew has repaired them."""
    _command(model, event)
