"""How the flood interventions change the water's physics: levees, raised roads, floodproofed components.

* **Levee.** The river model (:mod:`twin.hazards.flood.river`) floods a cell when the stage exceeds its
  *connection stage*, the lowest stage at which a path of cells below the water joins it to the channel
  (the minimax path over the height above the river, HAND; Zheng, Tarboton et al. 2018). A levee is a line
  of cells whose height in that path search is its crest, ``HAND(c) + crest_m``: the land behind it connects
  only once the stage tops the crest's lowest point (overtopping), and the levee's line need only be
  8-connected, because water moves 4-connected. This is the "levee as a raised barrier in the connectivity"
  used by HAND-based screening (e.g. NOAA OWP's FIM, which burns levees from the National Levee Database into
  the DEM). The land behind does not fill at once: the crest is a broad-crested weir and the land a level
  pool that fills at the rate the weir passes (:mod:`twin.hazards.flood.behind_levee`).
* **Breach.** At ``breach_at`` a gap opens at the breach's place: the levee's cells whose centres lie within
  half the final width ``breach_width_m`` of it, measured along the levee (:func:`gap_cells`), lose their
  crest. Through them the water passes as weir flow on the ground under the levee, over a width that grows
  linearly from ``breach_initial_width_m`` to ``breach_width_m`` over ``breach_formation`` (HEC-RAS's linear
  breach progression), and it fills only the land behind the gap.
* **Raised road.** A road whose surface is lifted ``h`` carries ``max(d - h, 0)`` of water where the ground
  carries ``d``; closure (0.3 m, Pregnolato et al. 2017) and speeds follow from that depth.
* **Floodproofed component.** Dry- or wet-floodproofing to a design depth (FEMA P-348, "Protecting Building
  Utility Systems from Flood Damage", 2017) means water up to that depth does no damage: the component's
  damage threshold becomes ``max(threshold, depth_m)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from twin.city.build import City
from twin.hazards.gridindex import line_cell_pairs
from twin.interventions.spec import BROAD_CREST_C, FloodproofSpec, LeveeSpec, RaiseRoadSpec
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
    gap
        Flat indices of the cells its breach opens (a subset of ``cells``; empty without a breach).
    gap_width_m
        The breach's final width as the scenario gives it (m; 0 without a breach).
    lengths_m
        Length of the levee's line within each of its cells (m; empty: one cell's width each).
    weir_coefficient
        ``C`` of the weir its crest and breach make, ``Q = C L H^1.5`` (m^0.5/s;
        :mod:`twin.hazards.flood.behind_levee`).
    breach_initial_width_m, breach_formation_s
        The breach's width when it opens (m) and the time it takes to grow to ``gap_width_m`` (s; 0: at once).
    """

    cells: np.ndarray
    crest_m: float
    breach_s: float | None
    label: str
    gap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    gap_width_m: float = 0.0
    lengths_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weir_coefficient: float = BROAD_CREST_C
    breach_initial_width_m: float = 0.0
    breach_formation_s: float = 0.0

    def at(self, t_s: float) -> Levee:
        """The levee as it stands at ``t_s``: without its gap's cells once the breach has happened."""
        if self.breach_s is None or t_s < self.breach_s:
            return self
        keep = ~np.isin(self.cells, self.gap)
        return replace(
            self, cells=self.cells[keep], lengths_m=self.lengths_m[keep] if self.lengths_m.size else self.lengths_m
        )


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
    levee = Levee(
        cells=cells,
        crest_m=spec.crest_m,
        breach_s=spec.breach_at_s,
        label=label,
        lengths_m=lengths_in_cells(lines, cells, city.terrain.transform, shape[1]),
        weir_coefficient=spec.weir_coefficient,
    )
    if spec.breach_at_s is None:
        return levee, None
    gap, problem = breach_gap(city, spec, lines, cells)
    if problem:
        return None, problem
    breached = replace(
        levee,
        gap=gap,
        gap_width_m=float(spec.breach_width_m or 0.0),
        breach_initial_width_m=float(spec.breach_initial_width_m or 0.0),
        breach_formation_s=float(spec.breach_formation_s or 0.0),
    )
    return breached, None


def lengths_in_cells(lines: Any, cells: np.ndarray, transform: Any, n_cols: int) -> np.ndarray:
    """Length of the levee's lines inside each of its cells (m): each cell's weir length.

    The lines are merged first, so that two streets' links meeting in a cell count once. A cell the line only
    touches at a corner gets a length near 0 and passes next to no water.
    """
    route = shapely.union_all(lines)
    rows, cols = np.divmod(cells, n_cols)
    x0, y0 = transform @ (cols, rows)
    x1, y1 = transform @ (cols + 1, rows + 1)
    boxes = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1))
    return np.asarray(shapely.length(shapely.intersection(route, boxes)), dtype=np.float64)


def breach_gap(city: City, spec: LeveeSpec, lines: Any, cells: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The cells a levee's breach opens (see :func:`gap_cells`), or the problem with its place.

    The levee's lines are merged into pieces first (a street's links join end to end); ``breach_point`` picks
    the piece nearest to it and must lie within the breach's width (or two cells) of it; ``breach_along_m``
    needs a levee of one piece and counts from its first point.
    """
    pieces = list(shapely.get_parts(shapely.line_merge(shapely.union_all(lines))))
    cell_m = float(city.terrain.resolution_m)
    width = float(spec.breach_width_m or 0.0)
    if spec.breach_point is not None:
        to_metric = Transformer.from_crs("EPSG:4326", city.config.crs, always_xy=True)
        point = shapely.Point(*to_metric.transform(*spec.breach_point))
        distance = shapely.distance(np.array(pieces), point)
        piece = pieces[int(np.argmin(distance))]
        off = float(distance.min())
        if off > max(width, 2 * cell_m):
            return np.zeros(0, np.int64), (
                f"{spec.source}: breach_point: lies {off:.0f} m from the levee; give a point on it (within "
                f"{max(width, 2 * cell_m):.0f} m)"
            )
        along = float(piece.project(point))
    else:
        if len(pieces) > 1:
            return np.zeros(0, np.int64), (
                f"{spec.source}: breach_along_m: the levee is in {len(pieces)} pieces that do not join end to end, "
                "so a distance along it is ambiguous; give breach_point: [lon, lat] instead"
            )
        piece, along = pieces[0], float(spec.breach_along_m or 0.0)
        if along > piece.length:
            return np.zeros(0, np.int64), (
                f"{spec.source}: breach_along_m: {along:g} m is beyond the levee's end ({piece.length:.0f} m long); "
                f"give a distance from 0 to {piece.length:.0f}"
            )
    n_cols = int(city.terrain.elevation_m.shape[1])
    return gap_cells(piece, along, width, cells, city.terrain.transform, n_cols), None


def gap_cells(piece: Any, along_m: float, width_m: float, cells: np.ndarray, transform: Any, n_cols: int) -> np.ndarray:
    """The levee cells a breach of ``width_m`` centred ``along_m`` along the line ``piece`` opens.

    A cell opens when its centre lies within a cell's half diagonal of the line (it is this piece's, not a
    crossing street's) and its position along the line, the projection of its centre, is within
    ``width_m / 2`` of ``along_m``: ``|project(c) - a| <= w / 2``. The levee cell nearest the breach's place
    always opens, so a breach narrower than a cell still leaves a one-cell gap (the grid's resolution).

    Parameters
    ----------
    piece
        The levee's line (shapely, the City's metric CRS).
    along_m, width_m
        The breach's centre along the line from its first point, and its width (m).
    cells
        The levee's flat cell indices on a grid of ``n_cols`` columns with the affine ``transform``.
    """
    rows, cols = np.divmod(cells, n_cols)
    x, y = transform @ (cols + 0.5, rows + 0.5)
    centres = shapely.points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    cell_m = abs(transform.a)
    on_piece = shapely.distance(piece, centres) <= cell_m * np.sqrt(0.5) + 1e-6
    position = shapely.line_locate_point(piece, centres)
    within = on_piece & (np.abs(position - along_m) <= width_m / 2.0 + 1e-9)
    nearest = int(np.argmin(shapely.distance(piece.interpolate(along_m), centres)))
    within[nearest] = True
    return np.sort(cells[within])


def barrier_hand(hand: np.ndarray, levees: list[Levee]) -> np.ndarray:
    """HAND with every levee's crest on its cells: ``max(HAND, HAND + crest)`` over the levees (m).

    This is the height field of the connection-stage search; depths still use the ground's HAND.
    """
    barrier = hand.copy()
    for levee in levees:
        np.maximum.at(barrier, levee.cells, hand[levee.cells] + levee.crest_m)
    return barrier


def as_at(levees: list[Levee], t_s: float) -> list[Levee]:
    """The levees as they stand at ``t_s``: each breached one without its gap (:meth:`Levee.at`)."""
    return [levee.at(t_s) for levee in levees]


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
