"""What a hazard did in one step, and the one place the engine applies and logs it.

A hazard phase computes its impacts (the links it closed or reopened, the components it damaged) and hands them
to the engine with ``ctx.report(Impacts(...))``. The engine marks the damaged components (``comp_damaged`` and,
where the component had no cause yet, ``comp_cause``: the cause of the first damage is kept), then writes one event
log row per impact, with one label format per kind of target (:func:`~twin.sim.targets.describe_link`,
:func:`~twin.sim.targets.describe_component`, the same that events, lifelines and crews log), so that every row
naming a link or a component reads alike whoever wrote it::

    close_link      link 812 (Avinguda Meritxell, way 4224562)                  {"link": 812, "osm_way": ..., ...}
    fail_component  substation l’ETR d’Escaldes (component 94, OSM way 386898986)   {"component": 94, "depth_m": ...}

The hazard still writes the arrays only it owns (its closure flag, depths, debris): the engine notices changed
closures itself by comparing the closure flags before and after the phases ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.sim.targets import describe_component, describe_links

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.sim.state import SimState

LogFunction = Callable[[float, str, str, str, dict[str, Any]], None]
"""``log(t_s, kind, target, cause, details)``: append one row to the run's event log."""


def _no_ids() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


Measure = tuple[str, np.ndarray, int]
"""``(detail key, value per id, decimals)``: a figure logged with each impact, e.g. ``("depth_m", depth, 3)``."""


@dataclass(frozen=True)
class Impacts:
    """The impacts of one hazard at one time.

    Attributes
    ----------
    t_s
        When they happened (s since the start; the end of the step).
    cause
        The hazard (``flood``, ``landslide``): the event log's cause and the damaged components' ``comp_cause``.
    closed_links, reopened_links
        Drivable link ids the hazard closed or reopened now (logged ``close_link`` / ``open_link``).
    link_measure
        A figure per link id logged with each closed or reopened link (water depth, debris volume).
    damaged_components
        Rows of ``City.facilities`` the hazard damaged now (each undamaged before).
    component_measure
        A figure per component row logged with each damaged component.
    """

    t_s: float
    cause: str
    closed_links: np.ndarray = field(default_factory=_no_ids)
    reopened_links: np.ndarray = field(default_factory=_no_ids)
    link_measure: Measure | None = None
    damaged_components: np.ndarray = field(default_factory=_no_ids)
    component_measure: Measure | None = None


def damage_components(state: SimState, rows: np.ndarray, cause: str) -> None:
    """Mark components damaged; those without a cause get ``cause`` (the first damage's cause is kept)."""
    state.comp_damaged[rows] = True
    state.comp_cause[rows[state.comp_cause[rows] == ""]] = cause


def repair_components(state: SimState, rows: np.ndarray) -> None:
    """Clear the physical damage of components (rows of ``City.facilities``) and forget its cause."""
    state.comp_damaged[rows] = False
    state.comp_cause[rows] = ""


def apply_impacts(city: City, state: SimState, log: LogFunction, impacts: Impacts) -> None:
    """Apply a hazard's component damage to the state and log every impact (links first, then components)."""
    damage_components(state, impacts.damaged_components, impacts.cause)
    for kind, ids in (("close_link", impacts.closed_links), ("open_link", impacts.reopened_links)):
        links = ids.tolist()
        labels, ways = describe_links(city, links)
        for link, label, way in zip(links, labels, ways, strict=True):
            details: dict[str, Any] = {"link": link, "osm_way": int(way)}
            details.update(_measured(impacts.link_measure, link))
            log(impacts.t_s, kind, label, impacts.cause, details)
    for comp in impacts.damaged_components.tolist():
        details = {"component": comp, **_measured(impacts.component_measure, comp)}
        log(impacts.t_s, "fail_component", describe_component(city, comp), impacts.cause, details)


def _measured(measure: Measure | None, item: int) -> dict[str, float]:
    if measure is None:
        return {}
    key, values, decimals = measure
    return {key: round(float(values[item]), decimals)}
