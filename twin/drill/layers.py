"""What pages may read of the engine: a view the session publishes after each step (the engine steps in a worker
thread, so pages never read arrays while a step writes them), with the map layers of crews and shelters.

Crews are drawn where they are: at their node, on the straight line from it to the scene of their incident at the
share of their travel time elapsed (the page draws no road path), at the scene, or at their node while they drive
back. Shelters carry the people inside, their places and whether they take people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.sim.model import CityModel

CrewRow = tuple[int, int, int, str]
"""A crew on the map: x, y (m from the map's south-west corner), status (index of :data:`CREW_STATUS`), kind."""
ShelterRow = tuple[int, int, int, int, bool]
"""A shelter on the map: x, y, people inside, places, whether it takes people."""
CREW_STATUS = ("free", "on the way", "on scene", "returning")
"""What the map says a crew is doing (the index is sent)."""


@dataclass(frozen=True)
class EngineView:
    """What the pages show of the engine at one step end: copies, so pages never read arrays a step is writing.

    Attributes
    ----------
    clock_s, step_count
        The engine's time and step.
    closed_event, closed_flood, closed_debris, down
        Per link: closed by an event, by water, by debris; per component: out of service or damaged.
    rows, events
        How many time-series rows and log events the recorder held (lists only appended to: a page reads up to
        these counts).
    crews
        Per crew: ``[x, y, status, kind]``, x and y in m from the map's south-west corner, status an index of
        :data:`CREW_STATUS` (empty without a crews section).
    shelters
        Per public shelter: ``[x, y, people inside, capacity, open]`` (empty without residents).
    shelter_names
        The shelters' names, in the same order.
    """

    clock_s: float
    step_count: int
    closed_event: np.ndarray
    closed_flood: np.ndarray
    closed_debris: np.ndarray
    down: np.ndarray
    rows: int
    events: int
    crews: tuple[CrewRow, ...] = ()
    shelters: tuple[ShelterRow, ...] = ()
    shelter_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: CityModel, origin: tuple[float, float]) -> EngineView:
        """The view of ``model`` now (call it between steps); ``origin``: :func:`map_origin` of its City."""
        state = model.state
        shelters, names = _shelter_layer(model, origin)
        return cls(
            clock_s=model.clock_s,
            step_count=model.step_count,
            closed_event=state.link_closed_event.copy(),
            closed_flood=state.link_closed_flood.copy(),
            closed_debris=state.link_closed_debris.copy(),
            down=~state.comp_up | state.comp_damaged,
            rows=len(model.recorder.rows),
            events=len(model.recorder.events),
            crews=_crew_layer(model, origin),
            shelters=shelters,
            shelter_names=names,
        )


def map_origin(city: City) -> tuple[float, float]:
    """The south-west corner of the drivable links: the origin of the map document's coordinates."""
    bounds = shapely.total_bounds(shapely.from_wkb(city.drive.links["geometry"].to_numpy()))
    return float(bounds[0]), float(bounds[1])


def _phase(model: CityModel, order: str, name: str) -> Any:
    return next((p for p in model.phases.get(order, []) if p.name == name), None)


def _crew_layer(model: CityModel, origin: tuple[float, float]) -> tuple[CrewRow, ...]:
    """Each crew where it is now: at its node, or on the straight line from it to its incident (by the share of
    the drive done; the page draws no road path), at the scene, or at its node while it returns. Crews driving in
    the traffic model are where it has them (on the straight line along their link)."""
    crews = _phase(model, "crews", "crews")
    if crews is None or not crews.crews:
        return ()
    from twin.crews.agents import ASSIGNED, RETURNING

    x0, y0 = origin
    nodes = model.city.drive.nodes
    xs, ys = nodes["x"].to_numpy(float) - x0, nodes["y"].to_numpy(float) - y0
    now = model.clock_s
    driving = crews.vehicle_points()
    layer = []
    for crew in crews.crews:  # a few hundred crews at most, once a step
        x, y, status = xs[crew.node], ys[crew.node], 0
        if crew.crew_id in driving:
            x, y = driving[crew.crew_id][0] - x0, driving[crew.crew_id][1] - y0
            status = 3 if crew.status == RETURNING else 1
        elif crew.status == ASSIGNED:
            scene = int(crews.incidents.node[crew.incident])
            span = crew.arrive_s - crew.depart_s
            share = 1.0 if now >= crew.arrive_s else max(0.0, (now - crew.depart_s) / span) if span > 0 else 0.0
            x, y = x + share * (xs[scene] - x), y + share * (ys[scene] - y)
            status = 2 if now >= crew.arrive_s else 1
        elif crew.status == RETURNING:
            status = 3
        layer.append((round(float(x)), round(float(y)), status, str(crew.kind)))
    return tuple(layer)


def _shelter_layer(model: CityModel, origin: tuple[float, float]) -> tuple[tuple[ShelterRow, ...], tuple[str, ...]]:
    """Each public shelter with the people in it, its places and whether it takes people."""
    residents = _phase(model, "residents", "residents")
    if residents is None or not residents.shelters.count:
        return (), ()
    from twin.residents.people import SHELTER

    x0, y0 = origin
    walk = model.city.walk.nodes
    node = residents.shelters.node
    xs, ys = walk["x"].to_numpy(float)[node] - x0, walk["y"].to_numpy(float)[node] - y0
    people = residents.people
    inside = np.bincount(people.target[people.status == SHELTER], minlength=len(node))
    is_open = residents.shelter_open()
    rows = tuple(
        (round(float(x)), round(float(y)), int(n), int(c), bool(o))
        for x, y, n, c, o in zip(xs, ys, inside, residents.shelters.capacity, is_open, strict=True)
    )
    return rows, tuple(str(n) for n in residents.shelters.name)
