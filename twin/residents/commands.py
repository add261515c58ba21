"""Warnings sent and shelters opened or closed during a run: the residents' event kinds (drill commands).

Registered by :mod:`twin.residents.phase` (``REGISTRY.add_event_kind``); each handler takes the engine and the
event, like :mod:`twin.sim.handlers`, so a drill, a plug-in or a test issues them alike::

    model.inject("send_warning", zones=["Encamp"], channels=["cell_broadcast"], evacuate=True, text="Leave now")
    model.inject("open_shelter", building=812, capacity=300)    # a building of city.buildings, 300 places
    model.inject("close_shelter", shelter="Pavello Joan Alay")  # or "building 812" for one opened so

* ``send_warning``: a warning like a scenario's ``warnings:`` entry sent at the event's time, to the named zones
  (city.yaml population areas) or to the whole city, by the given channels; from then on it spreads exactly
  as a scenario's warning does (each channel's logistic curve, :mod:`twin.residents.warnings`).
* ``open_shelter``: a building becomes a public shelter with ``capacity`` places (default: its floor area /
  3.5 m2 a person, the Sphere standard of :mod:`twin.residents.shelters`), at the walkable and drivable nodes
  nearest to it; every zone's order of shelters is recomputed with it (nearest first). A closed shelter named
  by ``shelter`` opens again with the places it had left.
* ``close_shelter``: the shelter takes nobody more: its free places are held back (evacuees who leave later go
  to the next shelter with room, as when it is full). The people inside leave in the next step for the next
  shelter with room by their zone's order, or elsewhere when every shelter is full (the rule of their first
  departure, :func:`twin.residents.shelters.allocate`), by car those who came by car, else on foot; people on
  their way to it go on, find it closed and are sent on the same way from its door. The places they free are
  held back with the others: the shelter opens again with them. Each closed shelter's moves are logged
  (``leave_shelter``: how many, where to, on foot or by car).

* ``door_to_door``: police crews knock on the doors of the named zones (:mod:`twin.residents.door`): each block
  of homes is a ``police`` incident for the crews with ``per_crew_h`` people warned an hour on scene; everyone
  at a block's homes when its crew finishes receives the warning (an order to leave unless ``evacuate`` is
  false). Needs a ``crews:`` section (the police crews of the map's police stations).

A command the residents cannot follow (no residents in the scenario, an unknown zone, shelter or building) is
logged as refused, not raised: a drill goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import ScenarioError
from twin.residents.phase import ResidentsPhase
from twin.residents.shelters import SPHERE_M2_PER_PERSON
from twin.scenario.residents import CHANNELS
from twin.sim.events import Event

if TYPE_CHECKING:
    from twin.sim.model import CityModel

COMMAND_CHANNELS = tuple(c for c in CHANNELS if c != "door_to_door")
"""Channels a sent warning may use (door to door is its own command: crews knock, :func:`door_to_door`)."""


# --- the engine's handlers ------------------------------------------------------------------------------------


def _residents(model: CityModel, event: Event) -> ResidentsPhase | None:
    for phase in model.phases["residents"]:
        if isinstance(phase, ResidentsPhase):
            return phase
    _refuse(model, event, "the scenario has no residents (add a residents: or warnings: section)")
    return None


def _refuse(model: CityModel, event: Event, why: str) -> None:
    model.log(event.t_s, event.kind, "", event.cause, {"refused": why, "source": event.source})


def send_warning(model: CityModel, event: Event) -> None:
    """``send_warning(zones, channels, evacuate, text)``: a warning sent now (see the module docstring)."""
    phase = _residents(model, event)
    if phase is None:
        return
    p = event.params
    channels = [str(c) for c in p.get("channels") or COMMAND_CHANNELS]
    params: dict[str, Any] = {
        "t_s": float(event.t_s),
        "zones": [str(z) for z in p["zones"]] if p.get("zones") else None,
        "channels": channels,
        "evacuate": bool(p.get("evacuate", True)),
        "text": str(p.get("text") or ""),
    }
    bad = [c for c in channels if c not in COMMAND_CHANNELS]
    if bad:
        _refuse(model, event, f"unknown channels {bad}; channels: {', '.join(COMMAND_CHANNELS)}")
        return
    try:
        phase.add_warning(params)
    except (ScenarioError, ValueError) as exc:
        _refuse(model, event, str(exc))
        return
    phase.issued_s = np.append(phase.issued_s, np.nan)  # _issue sends it in this step, at its time
    phase.changes.warnings.append(params)
    model.log(event.t_s, "send_warning", _area_label(params), event.cause, {**params, "source": event.source})


def open_shelter(model: CityModel, event: Event) -> None:
    """``open_shelter(building, capacity, name)`` or ``open_shelter(shelter)``: see the module docstring."""
    phase = _residents(model, event)
    if phase is None:
        return
    p = event.params
    if p.get("shelter") is not None:
        k = _shelter_index(phase, str(p["shelter"]))
        if k is None or phase.changes.held[k] < 0:
            why = "no shelter of that name" if k is None else "it is open already"
            _refuse(model, event, f"cannot open shelter {p['shelter']!r} again: {why}")
            return
        phase.room[k] += phase.changes.held[k]
        phase.changes.held[k] = -1
        model.log(event.t_s, "open_shelter", str(p["shelter"]), event.cause, {"source": event.source})
        return
    building = p.get("building")
    buildings = phase.city.buildings
    if not isinstance(building, int) or not 0 <= building < len(buildings):
        _refuse(model, event, f"building must be a building id from 0 to {len(buildings) - 1}, got {building!r}")
        return
    if any(s["building"] == building for s in phase.changes.shelters):
        _refuse(model, event, f"building {building} is a shelter already")
        return
    capacity = p.get("capacity")
    if capacity is None:
        capacity = int(np.floor(float(buildings["floor_area_m2"].iloc[building]) / SPHERE_M2_PER_PERSON))
    name = str(p.get("name") or f"building {building}")
    params: dict[str, Any] = {"building": building, "capacity": int(capacity), "name": name}
    if _shelter_index(phase, name) is not None:
        _refuse(model, event, f"there is a shelter named {name!r} already; give another name")
        return
    elsewhere = phase.shelters.count  # people heading out of the model keep that destination
    phase.add_shelter(params)
    phase.people.target[phase.people.target == elsewhere] = phase.shelters.count
    phase.room = np.append(phase.room, params["capacity"])
    phase.changes.held = np.append(phase.changes.held, -1)
    phase.changes.shelters.append(params)
    details = {**params, "source": event.source}
    model.log(event.t_s, "open_shelter", name, event.cause, details)


def door_to_door(model: CityModel, event: Event) -> None:
    """``door_to_door(zones, per_crew_h, evacuate, text)``: see the module docstring."""
    phase = _residents(model, event)
    if phase is None:
        return
    if not any(getattr(other, "name", "") == "crews" for other in model.phases.get("crews", [])):
        _refuse(model, event, "the scenario has no crews to knock on doors (add a crews: section)")
        return
    p = event.params
    names = [a.name for a in phase.city.config.population.areas]
    zones = [str(z) for z in p.get("zones") or []]
    per_h = float(p.get("per_crew_h") or 0)
    if not zones or any(z not in names for z in zones) or not per_h > 0:
        _refuse(model, event, f"door_to_door needs zones from {', '.join(names)} and per_crew_h > 0")
        return
    params: dict[str, Any] = {
        "t_s": float(event.t_s),
        "zones": zones,
        "channels": ["door_to_door"],
        "evacuate": bool(p.get("evacuate", True)),
        "text": str(p.get("text") or ""),
        "door_to_door_per_h": per_h,
    }
    phase.add_warning(params)
    phase.issued_s = np.append(phase.issued_s, np.nan)  # _issue sends it in this step, at its time
    phase.changes.warnings.append(params)
    request = {"warning": len(phase.warnings) - 1, "zones": [names.index(z) for z in zones], "per_crew_h": per_h}
    phase.changes.door.append({**request, "reported": False, "knocked": []})
    model.log(event.t_s, "door_to_door", _area_label(params), event.cause, {**params, "source": event.source})


def close_shelter(model: CityModel, event: Event) -> None:
    """``close_shelter(shelter)``, a name (``building N`` for one opened at building N): see the module docstring."""
    phase = _residents(model, event)
    if phase is None:
        return
    name = str(event.params.get("shelter"))
    k = _shelter_index(phase, name)
    if k is None or phase.changes.held[k] >= 0:
        why = "no shelter of that name" if k is None else "it is closed already"
        _refuse(model, event, f"cannot close shelter {name!r}: {why}")
        return
    phase.changes.held[k] = phase.room[k]
    phase.room[k] = 0
    model.log(event.t_s, "close_shelter", str(name), event.cause, {"source": event.source})


def _shelter_index(phase: ResidentsPhase, name: str) -> int | None:
    """A shelter by its name, or by ``building N`` for one opened at building N under another name."""
    hits = np.flatnonzero(phase.shelters.name == name)
    if len(hits):
        return int(hits[0])
    opened = [s["name"] for s in phase.changes.shelters if f"building {s['building']}" == name]
    return _shelter_index(phase, opened[0]) if opened else None


def _area_label(params: dict[str, Any]) -> str:
    return ", ".join(params["zones"]) if params["zones"] else "the whole city"
