"""How the flood interventions change the water's physics: levees, raised roads, floodproofed components.

* **Levee.** The river model (:mod:`twin.hazards.flood.river`) floods a cell when the stage exceeds its
  *connection stage*, the lowest stage at which a path of cells below the water joins it to the channel
  (the minimax path over the height above the river, HAND; Zheng, Tarboton et al. 2018). A levee is a line
  of cells whose height in that path search is its crest, ``HAND(c) + crest_m``: the land behind it connects
  only once the stage tops the crest's lowest point (overtopping), and the levee's line need only be
  8-connected, because water moves 4-connected. Behind an overtopped levee the water stands at the river's
  level (the bathtub's assumption: no flow limit over the crest, so overtopping is the worst case).
  After ``breach_at`` the levee is gone (a full breach: the plain is the one without it). This is the
  "levee as a raised barrier in the connectivity" used by HAND-based screening (e.g. NOAA OWP's FIM, which
  burns levees from the National Levee Database into the DEM).
* **Raised road.** A road whose surface is lifted ``h`` carries ``max(d - h, 0)`` of water where the ground
  carries ``d``; closure (0.3 m, Pregnolato et al. 2017) and speeds follow from that depth.
* **Floodproofed component.** Dry- or wet-floodproofing to a design depth (FEMA P-348, "Protecting Building
  Utility Systems from Flood Damage", 2017) means water up to that depth does no damage: the component's
  damage threshold becomes ``max(threshold, depth_m)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from twin.city.build import City
from twin.hazards.gridindex import line_cell_pairs
from twin.interventions.spec import FloodproofSpec, LeveeSpec, RaiseRoadSpec
from twin.sim.targets import TargetError, resolve_components, resolve_links


@dataclass(frozen=True)
class Levee:
    """A levee on the working grid.

    Attributes
    ----------
    cells
        Flat indices of its cells (the river's own channel cells left out: a levee stands on the banks).
    crest_m
        Crest height above the ground it stands on (m).
    breach_s
        When it fails (s after the start), or None.
    label
        How the report and the assumptions name it.
    """

    cells: np.ndarray
    crest_m: float
    breach_s: float | None
    label: str


def levee_line(city: City, spec: LeveeSpec) -> Any:
    """The levee's route as shapely lines in the City's metric CRS.

    Raises
    ------
    TargetError
        When ``street`` names no drivable street.
    """
    if spec.line is not None:
        to_metric = Transformer.from_crs("EPSG:4326", city.config.crs, always_xy=True)
        lon, lat = np.array(spec.line, dtype=np.float64).T
        x, y = to_metric.transform(lon, lat)
        return np.array([shapely.LineString(np.column_stack([x, y]))])
    links = resolve_links(city, {"street": spec.street})
    return shapely.from_wkb(city.drive.links["geometry"].to_numpy()[links])


def levee_of(city: City, spec: LeveeSpec, channel: np.ndarray) -> tuple[Levee | None, str | None]:
    """The :class:`Levee` of an entry, or the problem (citing the entry) that stops it.

    Parameters
    ----------
    city
        The run's City.
    spec
        The levee entry.
    channel
        bool flat mask of every flooded river's channel cells.
    """
    try:
        lines = levee_line(city, spec)
    except TargetError as exc:
        return None, f"{spec.source}: street: {exc}"
    shape = (int(city.terrain.elevation_m.shape[0]), int(city.terrain.elevation_m.shape[1]))
    _, cells = line_cell_pairs(lines, city.terrain.transform, shape)
    cells = np.unique(cells)
    if not cells.size:
        west, south, east, north = city.bounds_lonlat
        return None, (
            f"{spec.source}: the levee lies outside the elevation grid of {city.name}; give points within "
            f"lon {west:.4f} to {east:.4f}, lat {south:.4f} to {north:.4f}"
        )
    cells = cells[~channel[cells]]
    if not cells.size:
        return None, f"{spec.source}: the levee lies entirely on the river's channel; draw it along a bank"
    label = spec.label or (f"levee along {spec.street}" if spec.street else "levee")
    return Levee(cells=cells, crest_m=spec.crest_m, breach_s=spec.breach_at_s, label=label), None


def barrier_hand(hand: np.ndarray, levees: list[Levee]) -> np.ndarray:
    """HAND with every levee's crest on its cells: ``max(HAND, HAND + crest)`` over the levees (m).

    This is the height field of the connection-stage search; depths still use the ground's HAND.
    """
    barrier = hand.copy()
    for levee in levees:
        np.maximum.at(barrier, levee.cells, hand[levee.cells] + levee.crest_m)
    return barrier


def standing(levees: list[Levee], t_s: float) -> list[Levee]:
    """The levees not yet breached at ``t_s``."""
    return [levee for levee in levees if levee.breach_s is None or t_s < levee.breach_s]


def breach_times(levees: list[Levee]) -> list[float]:
    """The distinct breach times, in order: the plain changes at each one."""
    return sorted({levee.breach_s for levee in levees if levee.breach_s is not None})


def raised_links(city: City, specs: list[RaiseRoadSpec]) -> tuple[np.ndarray, list[str]]:
    """Per drivable link, how much its surface is raised (m; the highest entry wins where they overlap).

    Returns the array and every entry whose target matches nothing.
    """
    raise_m = np.zeros(city.drive.n_links)
    problems: list[str] = []
    for spec in specs:
        try:
            links = resolve_links(city, spec.target.model_dump(exclude_none=True))
        except TargetError as exc:
            problems.append(f"{spec.source}: target: {exc}")
            continue
        np.maximum.at(raise_m, links, spec.height_m)
    return raise_m, problems


def floodproof_depths(city: City, specs: list[FloodproofSpec], vulnerable: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per component, the water depth it withstands thanks to floodproofing (m, 0 where none).

    Parameters
    ----------
    city
        The run's City.
    specs
        The floodproof entries.
    vulnerable
        bool per component: water damages it in the flood model.

    Returns the array and every entry that matches nothing or only components water does not damage.
    """
    depth = np.zeros(len(city.facilities))
    problems: list[str] = []
    kinds = city.facilities["kind"].to_numpy(str)
    for spec in specs:
        try:
            rows = resolve_components(city, spec.target.model_dump(exclude_none=True))
        except TargetError as exc:
            problems.append(f"{spec.source}: target: {exc}")
            continue
        useless = rows[~vulnerable[rows]]
        if useless.size:
            names = ", ".join(sorted(set(pd.unique(kinds[useless]).tolist())))
            problems.append(
                f"{spec.source}: target: selects {useless.size} component(s) that water does not damage in this "
                f"model ({names}): floodproofing them would change nothing; select substations, transformers, "
                "pumps, tanks or masts"
            )
            continue
        np.maximum.at(depth, rows, spec.depth_m)
    return depth, problems
