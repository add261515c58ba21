"""Pluvial ponding: rain -> SCS curve-number runoff -> minus drainage -> down D8 into depressions -> fill and spill.

Model (DESIGN.md "Pluvial ponding"), per step of dt:

1. Runoff depth by the SCS curve-number method (USDA NRCS 1986, TR-55 ch. 2) on the cumulative rain P (mm):
   ``Q(P) = (P - 0.2 S)^2 / (P + 0.8 S)`` for P > 0.2 S, else 0, with ``S = 25400 / CN - 254``; the step's
   runoff is ``Q(P(t + dt)) - Q(P(t))``. CN per cell is the land-cover class's CN made composite with the cell's
   sealed share f beyond the share f0 the class's table value already assumes (:func:`composite_curve_number`;
   TR-55 Figure 2-3, connected impervious area).
2. Storm drains take up to ``d`` mm/h: a dry cell sends on ``max(runoff - d dt, 0)``; a ponded cell's inlets take
   ``d`` from the pond instead (``d x wet area``), and its own runoff goes to the pond.
3. What is left flows down the D8 paths to the first depression cell it meets (or leaves the map or reaches a
   river, and is counted as outflow).
4. Depressions are the connected regions where the Priority-Flood fill raised the DEM (Barnes et al. 2014),
   apart from those the drainage network runs through (their water is the river's). Each region is a level
   pool: its volume sets one water level h with ``V = sum max(0, h - z_i) A`` over its cells, up to its spill
   level; beyond it the excess spills down D8 from the region's exit to the next depression downstream, in
   upstream-to-downstream order within the same step. Nested pits share one level (a simplification of
   fill-spill-merge, Barnes et al. 2020).

A water budget (rain, losses, drained, outflow, stored) is kept so that conservation can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

from twin.city.terrain import Terrain
from twin.hydrology.conditioning import Hydrology
from twin.hydrology.grid import first_reached, path_depths

# Depressions whose deepest point is shallower than this are DEM noise, not storage.
MIN_DEPRESSION_DEPTH_M = 0.05


def scs_runoff_mm(rain_mm: np.ndarray | float, curve_number: np.ndarray) -> np.ndarray:
    """Direct runoff Q (mm) from cumulative rain P (mm), SCS curve-number method (TR-55, 1986, eq. 2-3/2-4).

    ``S = 25400 / CN - 254``; ``Q = (P - 0.2 S)^2 / (P + 0.8 S)`` when ``P > 0.2 S``, else 0.
    """
    retention = 25400.0 / np.asarray(curve_number, dtype=np.float64) - 254.0
    abstraction = 0.2 * retention
    rain = np.asarray(rain_mm, dtype=np.float64)
    excess = np.maximum(rain - abstraction, 0.0)
    return excess**2 / np.maximum(rain + 0.8 * retention, 1e-12)


TABLE_SEALED_SHARE: dict[str, float] = {"urban": 0.65, "impervious": 1.0}
"""Sealed share each land-cover class's TR-55 curve number already assumes (Table 2-2a: residential, 1/8 acre or
less, 65 % impervious; paved areas 100 %); other classes assume none."""


def table_sealed_share(classes: tuple[str, ...]) -> np.ndarray:
    """:data:`TABLE_SEALED_SHARE` per class, in ``classes`` order (0 for classes it does not name)."""
    return np.array([TABLE_SEALED_SHARE.get(c, 0.0) for c in classes], dtype=np.float64)


def composite_curve_number(
    class_cn: np.ndarray, landcover: np.ndarray, impervious: np.ndarray, table_sealed: np.ndarray | None = None
) -> np.ndarray:
    r"""Per-cell CN: the class's table CN composited with the sealed share *beyond* what the table assumes.

    TR-55's composite rule (USDA NRCS 1986, Technical Release 55, ch. 2, Figure 2-3, connected impervious
    area) is :math:`CN_c = CN_p + f (98 - CN_p)` with :math:`CN_p` the pervious part's CN and f the sealed share.
    A class whose table value already assumes a sealed share :math:`f_0` (residential: 65 %) has
    :math:`CN_t = CN_p + f_0 (98 - CN_p)`, so for a measured share f:

    .. math:: CN = (1 - e)\, CN_t + 98\, e, \qquad e = \frac{\max(f - f_0, 0)}{1 - f_0}

    (e = 0 where :math:`f_0 = 1`). With :math:`f_0 = 0` this is the plain composite
    :math:`(1 - f) CN_t + 98 f`; a measured share below the table's keeps the table value (OSM maps roofs and
    roads, not driveways and yards, so a lower measured share is not taken as less sealing).

    Parameters
    ----------
    class_cn
        CN per land-cover class.
    landcover
        Class code per cell.
    impervious
        Measured sealed share per cell, in [0, 1].
    table_sealed
        Sealed share each class's CN already includes (:func:`table_sealed_share`); none when None.
    """
    table = class_cn[landcover]
    assumed = np.zeros(len(class_cn)) if table_sealed is None else np.asarray(table_sealed, dtype=np.float64)
    f0 = assumed[landcover]
    beyond = np.maximum(impervious - f0, 0.0)
    e = np.divide(beyond, 1.0 - f0, out=np.zeros_like(beyond, dtype=np.float64), where=f0 < 1.0)
    return (1.0 - e) * table + 98.0 * e


@dataclass
class Depressions:
    """The level pools of a grid: cells, capacities, where their spill goes, and level-volume tables."""

    region_of_cell: np.ndarray  # flat, -1 outside depressions
    capacity_m3: np.ndarray  # per region
    downstream: np.ndarray  # per region: region its spill reaches, -1 = leaves (river, map edge)
    spill_levels: list[np.ndarray]  # regions grouped upstream -> downstream
    target_region: np.ndarray  # flat: region the runoff of each cell reaches, -1 = outflow
    cells: np.ndarray  # region cells sorted by (region, elevation)
    cell_z: np.ndarray
    start: np.ndarray  # first position of each region in ``cells``
    volume_at: np.ndarray  # volume when the level is at cell_z[j]
    keys: np.ndarray  # globally increasing search keys: offset[region] + volume_at
    offset: np.ndarray
    cell_area_m2: float

    @classmethod
    def of_grid(cls, terrain: Terrain, hydrology: Hydrology) -> Depressions:
        """Find the depressions of a City's grid and prepare their level-volume tables."""
        z = terrain.elevation_m.astype(np.float64)
        # Every raised cell belongs to its depression, however shallow: the fill's flat over a depression
        # drains to the spill point in D8, so its fringe must be part of the pool to catch its rain.
        raise_m = hydrology.filled_m.astype(np.float64) - z
        raised = np.isfinite(z) & (raise_m > 0)
        labels, count = ndi.label(raised, structure=np.ones((3, 3)))
        flat_labels = labels.ravel().astype(np.int64) - 1
        deepest = np.zeros(count)
        inside = flat_labels >= 0
        np.maximum.at(deepest, flat_labels[inside], raise_m.ravel()[inside])
        keep = deepest > MIN_DEPRESSION_DEPTH_M
        keep[np.unique(flat_labels[hydrology.drainage.ravel() & inside])] = False
        renumber = np.full(count + 1, -1, dtype=np.int64)
        renumber[:-1][keep] = np.arange(int(keep.sum()))
        region = renumber[flat_labels]  # -1 stays -1 (index -1 -> last entry, which is -1)
        n_regions = int(keep.sum())
        receiver = hydrology.receiver
        in_region = region >= 0
        target_cell = first_reached(receiver, in_region)
        target_region = np.where(in_region[target_cell], region[target_cell], -1)
        downstream = _downstream_regions(receiver, region, target_region, n_regions)
        spill_levels = _levels(downstream)
        area = terrain.resolution_m**2
        filled = hydrology.filled_m.astype(np.float64).ravel()
        cells = np.flatnonzero(in_region)
        order = np.lexsort((z.ravel()[cells], region[cells]))
        cells = cells[order]
        cell_region = region[cells]
        cell_z = z.ravel()[cells]
        start = np.searchsorted(cell_region, np.arange(n_regions))
        rank = np.arange(len(cells)) - start[cell_region]
        cum_z = np.cumsum(cell_z)
        before = np.where(start[cell_region] > 0, cum_z[start[cell_region] - 1], 0.0)
        volume_at = area * ((rank + 1) * cell_z - (cum_z - before))
        spill = np.zeros(n_regions)
        np.maximum.at(spill, cell_region, filled[cells])
        capacity = np.bincount(cell_region, weights=(spill[cell_region] - cell_z) * area, minlength=n_regions)
        offset = np.concatenate([[0.0], np.cumsum(capacity + 1.0)[:-1]])
        return cls(
            region_of_cell=region,
            capacity_m3=capacity,
            downstream=downstream,
            spill_levels=spill_levels,
            target_region=target_region,
            cells=cells,
            cell_z=cell_z,
            start=start,
            volume_at=volume_at,
            keys=offset[cell_region] + volume_at,
            offset=offset,
            cell_area_m2=area,
        )

    @property
    def count(self) -> int:
        """Number of depressions."""
        return len(self.capacity_m3)

    def depths(self, volume_m3: np.ndarray) -> np.ndarray:
        """Water depth on every region cell (in ``cells`` order) for the regions' stored volumes.

        The level h of a region solves ``V = A sum max(0, h - z_i)``: between the sorted cell elevations V is
        linear in h, so ``h = z_j + (V - V_j) / (A (j + 1))`` at the last breakpoint j with ``V_j <= V``.
        """
        if not self.count:
            return np.zeros(0)
        position = np.searchsorted(self.keys, self.offset + volume_m3, side="right") - 1
        position = np.clip(position, self.start, None)
        local = position - self.start
        level = self.cell_z[position] + (volume_m3 - self.volume_at[position]) / (self.cell_area_m2 * (local + 1))
        region = self.region_of_cell[self.cells]
        return np.maximum(level[region] - self.cell_z, 0.0)


def _downstream_regions(
    receiver: np.ndarray, region: np.ndarray, target_region: np.ndarray, n_regions: int
) -> np.ndarray:
    """Where each region's spill goes: follow D8 from the region's exit to the next region (-1: none).

    A spill only goes to a region whose exit lies strictly further down the flow path, which keeps the
    region graph acyclic even where a D8 path leaves a region and comes back.
    """
    inside_next = (receiver >= 0) & (region >= 0)
    inside_next[inside_next] = region[receiver[inside_next]] == region[inside_next]
    exit_cell = first_reached(np.where(inside_next, receiver, -1), ~inside_next)
    members = np.flatnonzero(region >= 0)
    _, first = np.unique(region[members], return_index=True)
    exits = exit_cell[members[first]]
    after = receiver[exits]
    downstream = np.where(after >= 0, target_region[np.maximum(after, 0)], -1)
    depth = path_depths(receiver)
    further = downstream >= 0
    further[further] = depth[exits[downstream[further]]] < depth[exits[further]]
    return np.where(further, downstream, -1)


def _levels(downstream: np.ndarray) -> list[np.ndarray]:
    """Regions grouped so that every region comes before the one its spill reaches."""
    if not len(downstream):
        return []
    depth = path_depths(downstream)
    order = np.argsort(-depth, kind="stable")
    cut = np.flatnonzero(np.diff(depth[order])) + 1
    return [level for level in np.split(order, cut) if len(level)]


@dataclass
class WaterBudget:
    """Cumulative volumes (m3) over the run: rain = losses + drained + outflow + stored (closes to round-off)."""

    rain: float = 0.0
    losses: float = 0.0
    drained: float = 0.0
    outflow: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The budget as a plain dict."""
        return {"rain": self.rain, "losses": self.losses, "drained": self.drained, "outflow": self.outflow}


@dataclass
class Ponding:
    """The ponding state of one rain hazard: stored volume per depression, advanced step by step.

    Parameters
    ----------
    depressions
        The grid's level pools.
    curve_number
        float flat array: CN per cell (NaN outside the DEM).
    drainage_mm_h
        Storm drain capacity d.
    """

    depressions: Depressions
    curve_number: np.ndarray
    drainage_mm_h: float
    volume_m3: np.ndarray = field(init=False)
    budget: WaterBudget = field(default_factory=WaterBudget)

    def __post_init__(self) -> None:
        self.volume_m3 = np.zeros(self.depressions.count)
        self._valid = np.isfinite(self.curve_number)
        self._cells = np.flatnonzero(self._valid)
        self._depth = np.zeros(self.depressions.count and len(self.depressions.cells))

    def step(self, rain_before_mm: float, rain_after_mm: float, dt_s: float) -> None:
        """Advance by one step in which the cumulative rain goes from ``rain_before_mm`` to ``rain_after_mm``."""
        dep = self.depressions
        area = dep.cell_area_m2
        cn = self.curve_number[self._cells]
        runoff = scs_runoff_mm(rain_after_mm, cn) - scs_runoff_mm(rain_before_mm, cn)
        drain_mm = self.drainage_mm_h * dt_s / 3600.0
        wet = np.zeros(self.curve_number.size, dtype=bool)
        wet[dep.cells[self._depth > 0]] = True
        wet_cells = wet[self._cells]
        sent = np.where(wet_cells, runoff, np.maximum(runoff - drain_mm, 0.0))
        self.budget.rain += (rain_after_mm - rain_before_mm) / 1000.0 * area * len(cn)
        self.budget.losses += float((rain_after_mm - rain_before_mm - runoff).sum()) / 1000.0 * area
        self.budget.drained += float((runoff - sent).sum()) / 1000.0 * area
        target = dep.target_region[self._cells]
        to_pond = target >= 0
        self.budget.outflow += float(sent[~to_pond].sum()) / 1000.0 * area
        self.volume_m3 += np.bincount(target[to_pond], weights=sent[to_pond] / 1000.0 * area, minlength=dep.count)
        wet_area = np.bincount(
            dep.region_of_cell[dep.cells], weights=(self._depth > 0).astype(float) * area, minlength=dep.count
        )
        drained = np.minimum(self.volume_m3, drain_mm / 1000.0 * wet_area)
        self.volume_m3 -= drained
        self.budget.drained += float(drained.sum())
        self._spill()
        self._depth = dep.depths(self.volume_m3)

    def _spill(self) -> None:
        """Move each full depression's excess to the next one downstream, upstream first."""
        dep = self.depressions
        for level in dep.spill_levels:
            excess = np.maximum(self.volume_m3[level] - dep.capacity_m3[level], 0.0)
            self.volume_m3[level] -= excess
            down = dep.downstream[level]
            onward = down >= 0
            np.add.at(self.volume_m3, down[onward], excess[onward])
            self.budget.outflow += float(excess[~onward].sum())

    @property
    def stored_m3(self) -> float:
        """Water held in depressions now."""
        return float(self.volume_m3.sum())

    def depth_grid_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Wet cells (flat indices) and their depths."""
        wet = self._depth > 0
        return self.depressions.cells[wet], self._depth[wet]

    def arrays(self) -> dict[str, np.ndarray]:
        """The state to checkpoint."""
        budget = self.budget
        return {
            "volume_m3": self.volume_m3,
            "budget": np.array([budget.rain, budget.losses, budget.drained, budget.outflow]),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.volume_m3 = np.array(arrays["volume_m3"], dtype=np.float64)
        self.budget = WaterBudget(*(float(v) for v in arrays["budget"]))
        self._depth = self.depressions.depths(self.volume_m3)
