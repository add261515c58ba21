"""The engine's handlers of the generic event kinds (registered in :data:`twin.registry.BUILTIN_EVENT_KINDS`).

Each takes the engine and the event; link events mark the road network as changed (access is measured again at
the next record), component events damage or repair facilities and lifeline components and log one row per
component; ``set_hazard_parameter`` hands a hazard entry's new parameter to the phase that runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import ScenarioError
from twin.sim.events import Event
from twin.sim.impacts import damage_components
from twin.sim.targets import describe_component

if TYPE_CHECKING:
    from twin.sim.model import CityModel

GENERIC_CAUSES = ("scenario", "intervention", "inject", "condition", "")
"""Causes that say who sent an event, not what damaged a component: ``comp_cause`` is then ``outage``."""


def close_link(model: CityModel, event: Event) -> None:
    """Close the target's links (``link_closed_event``)."""
    links = model.links_of(event)
    model.state.link_closed_event[links] = True
    model.recorder.network_changed()
    model.log(event.t_s, "close_link", _describe(event), event.cause, {"links": len(links), "source": event.source})


def open_link(model: CityModel, event: Event) -> None:
    """Reopen the target's links closed by events (water and debris keep theirs closed)."""
    links = model.links_of(event)
    model.state.link_closed_event[links] = False
    model.recorder.network_changed()
    model.log(event.t_s, "open_link", _describe(event), event.cause, {"links": len(links), "source": event.source})


def message(model: CityModel, event: Event) -> None:
    """Log the event's text."""
    model.log(event.t_s, "message", "", event.cause, {"text": event.params.get("text", ""), "source": event.source})


def fail_component(model: CityModel, event: Event) -> None:
    """Damage the target's components; with ``restore_after_s``, schedule the repair of those it damaged."""
    rows = model.components_of(event)
    state = model.state
    cause = "outage" if event.cause in GENERIC_CAUSES else event.cause
    fresh = rows[~state.comp_damaged[rows]]
    damage_components(state, fresh, cause)
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


def repair_component(model: CityModel, event: Event) -> None:
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


def set_hazard_parameter(model: CityModel, event: Event) -> None:
    """Change a hazard entry's run-time parameter from now on (checked when scheduled) and log it.

    The phase that owns the entry (:meth:`twin.sim.phase.Phase.set_parameter`) applies it.
    """
    entry, name, value = event.params["hazard"], event.params["parameter"], float(event.params["value"])
    if not any(phase.set_parameter(entry, name, value) for phase in model.phases["hazards"]):
        raise ScenarioError(f"{event.source or 'event'}: hazard: entry {entry} takes no run-time parameters")
    label = f"hazards[{entry}] ({model.spec.hazards[entry].type}) {name}"
    details = {"hazard": entry, "parameter": name, "value": value, "source": event.source}
    model.log(event.t_s, "set_hazard_parameter", label, event.cause, details)


def _describe(event: Event) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(event.target.items()))
