"""Water behind a levee: flow-limited filling of the protected land through weir flow and level-pool routing.

The river model (:mod:`twin.hazards.flood.river`) spreads the stage ``s`` over every cell connected to the
channel below it. Land a levee protects is different: water reaches it only over the crest (overtopping) or
through a breach, at a rate the opening passes, so it fills over hours, not at once.

* **Protected basins.** A cell is *protected* when its connection stage with the levees impassable,
  ``m_L(c)`` (its *flank* stage: water reaches it around the levees' ends above it, ``inf`` when they enclose
  it), is above the one without them, ``m_0(c)``. The protected cells form 4-connected *basins*
  (``scipy.ndimage.label``); each holds one water level ``z`` (m above the river, the HAND datum the stage
  uses): a level pool. Above its flank stage a cell is wet as the bathtub has it (the levee is outflanked).
* **Storage curve.** A basin cell is wet at level ``z`` when ``m_0(c) < z`` (it connects below ``z`` through
  the basin once the levee is no barrier) and holds ``z - HAND(c)``:
  ``V(z) = a * sum over m_0(c) < z of (z - HAND(c))``, ``a`` the cell area; its wetted area is
  ``A(z) = dV/dz = a * #{m_0(c) < z}``. A pocket behind an internal sill joins at the sill's level, where
  ``V`` steps up: the level waits at the sill while the pocket fills (fill and spill).
* **Weir flow.** Each levee cell bordering a basin is a broad-crested weir of length ``l`` (the levee's line
  within the cell) and crest ``HAND + crest_m``; once the river reaches its foot (the stage tops the
  connection stage of a river-side neighbour), it passes
  ``Q = C * l * H1^1.5 * (1 - (H2 / H1)^1.5)^0.385`` with ``H1`` and ``H2`` the heads of the higher and the
  lower water above the crest, ``C = (2/3)^1.5 * sqrt(g) = 1.7046 m^0.5/s`` for a broad crest at critical
  depth (Henderson 1966, *Open Channel Flow*; Bos 1989, *Discharge Measurement Structures*, with the
  discharge and velocity coefficients at 1) and the submergence factor of Villemonte (1947, *Engineering
  News-Record* 139: 866-869, exponent 1.5 for the weir's ``H^1.5``). Flow runs from the higher side to the
  lower: a basin drains back over the crest when the river falls below it. This is how HEC-RAS passes water
  over a lateral structure (a levee) into a storage area (USACE HEC-RAS Hydraulic Reference Manual, its
  chapters on lateral structures and on dam and levee breaching).
* **Breach.** From ``breach_at`` the breach is a weir on the ground under the levee (invert ``HAND``, the
  gap's cells) whose width grows linearly from ``breach_initial_width_m`` to ``breach_width_m`` over
  ``breach_formation`` (HEC-RAS's linear breach progression; a formation time of 0 opens the final width at
  once), shared among the gap's cells by their length of levee; the rest of those cells still overtops.
* **Routing.** ``dV/dt = sum of Q`` per basin (``dz/dt = Q / A(z)``), by explicit sub-steps of at most
  :data:`MAX_SUBSTEP_S` with the stage at each sub-step's middle. The level never passes the water it comes
  from: inflow stops at the river's level, outflow at the river's level or the lowest crest it spills over
  (the equal-levels limit of the Villemonte factor, which tends to 0 there). Water below every crest and
  invert stays behind the levee: no pumps or outfalls are modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np
from scipy import ndimage

from twin.interventions.flood import Levee

VILLEMONTE_EXPONENT = 0.385
MAX_SUBSTEP_S = 60.0
"""Longest routing sub-step (s): a fraction of the hours a basin takes to fill."""


def weir_discharge(
    river_m: np.ndarray, basin_m: np.ndarray, crest_m: np.ndarray, length_m: np.ndarray, coefficient: np.ndarray
) -> np.ndarray:
    """Signed discharge over broad-crested weirs, positive from the river into the basin (m3/s).

    ``Q = C * L * H1^1.5 * (1 - (H2 / H1)^1.5)^0.385``, ``H1`` the head of the higher side above the crest,
    ``H2`` that of the lower (Villemonte 1947 for the submerged weir; free flow when ``H2 = 0``).

    Parameters
    ----------
    river_m, basin_m
        Water levels on the river's and the basin's side (m, HAND datum; ``-inf`` where there is none).
    crest_m
        Crest (or breach invert) levels (m, same datum).
    length_m
        Weir lengths (m).
    coefficient
        ``C`` (m^0.5/s), :data:`twin.interventions.spec.BROAD_CREST_C` for an ideal broad crest.
    """
    high = np.maximum(river_m, basin_m)
    low = np.minimum(river_m, basin_m)
    h1 = np.clip(high - crest_m, 0.0, None)
    h2 = np.clip(low - crest_m, 0.0, None)
    ratio = np.divide(h2, h1, out=np.zeros_like(h1), where=h1 > 0)
    free = coefficient * length_m * h1**1.5
    q = free * (1.0 - ratio**1.5) ** VILLEMONTE_EXPONENT
    return np.where(river_m >= basin_m, q, -q)


def breach_width_m(levee: Levee, t_s: float) -> float:
    """The breach's width at ``t_s`` (m): 0 before ``breach_at``, then linear growth to the final width.

    ``b(t) = b0 + (B - b0) * min((t - t_b) / T_f, 1)`` (HEC-RAS's linear breach progression), ``B`` at once
    when the formation time ``T_f`` is 0.
    """
    if levee.breach_s is None or t_s < levee.breach_s:
        return 0.0
    final = levee.gap_width_m
    if levee.breach_formation_s <= 0:
        return final
    grown = min((t_s - levee.breach_s) / levee.breach_formation_s, 1.0)
    return levee.breach_initial_width_m + (final - levee.breach_initial_width_m) * grown


@dataclass(frozen=True)
class StorageCurve:
    """A basin's level-pool storage: its cells by the level at which they join, and ``V(z)`` (see module).

    Attributes
    ----------
    cells
        Flat cell indices, sorted by ``join_m``.
    join_m
        Level at which each cell joins the pool (its connection stage without the levees, m).
    hand_m
        Each cell's height above the river (m): its depth at level ``z`` is ``z - HAND``.
    cell_area_m2
        Area of one cell (m2).
    """

    cells: np.ndarray
    join_m: np.ndarray
    hand_m: np.ndarray
    cell_area_m2: float

    @cached_property
    def _sums(self) -> tuple[np.ndarray, np.ndarray]:
        """``sum HAND`` of the first i cells, i = 0..n, and the volume just before cell i joins (m3)."""
        hand_sum = np.concatenate([[0.0], np.cumsum(self.hand_m)])
        before = self.cell_area_m2 * (np.arange(self.join_m.size) * self.join_m - hand_sum[:-1])
        return hand_sum, before

    def volume_m3(self, level_m: float) -> float:
        """``V(z) = a * sum over join < z of (z - HAND)`` (m3)."""
        count = int(np.searchsorted(self.join_m, level_m, side="left"))
        return self.cell_area_m2 * float(count * level_m - self._sums[0][count]) if count else 0.0

    def level_m(self, volume_m3: float) -> float:
        """The level holding ``volume_m3``, the inverse of :meth:`volume_m3` (the sill's level on a step)."""
        hand_sum, before = self._sums
        i = max(int(np.searchsorted(before, volume_m3, side="right")) - 1, 0)
        after = self.cell_area_m2 * ((i + 1) * self.join_m[i] - hand_sum[i + 1])
        if volume_m3 <= after:
            return float(self.join_m[i])
        return float((volume_m3 / self.cell_area_m2 + hand_sum[i + 1]) / (i + 1))

    def depth(self, level_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Wet cells at ``level_m`` and their depths ``z - HAND`` (m)."""
        count = int(np.searchsorted(self.join_m, level_m, side="left"))
        return self.cells[:count], level_m - self.hand_m[:count]


@dataclass(frozen=True)
class Weirs:
    """Every levee cell that borders a basin, as weirs from the river into it: one row per (cell, basin).

    Attributes
    ----------
    basin
        The basin each row feeds.
    levee
        Index of the row's levee in the basins' levee list.
    crest_m, invert_m
        The cell's crest (``HAND + crest_m``) and the ground under it (``HAND``), m above the river.
    length_m
        The cell's length of levee, split evenly when it borders several basins (m).
    breach_share
        The row's share of its levee's breach width (its length over the gap's), 0 outside the gap.
    foot_m
        The stage at which the river reaches the cell's foot: the lowest connection stage of its river-side
        neighbours (cells with none are no weir).
    coefficient
        ``C`` of its levee (m^0.5/s).
    """

    basin: np.ndarray
    levee: np.ndarray
    crest_m: np.ndarray
    invert_m: np.ndarray
    length_m: np.ndarray
    breach_share: np.ndarray
    foot_m: np.ndarray
    coefficient: np.ndarray


class LeveeBasins:
    """The land one river's levees protect, as level pools filled by weir flow (see the module's docstring).

    Build it with :meth:`of_river`; :meth:`advance` routes the water over a step and :meth:`depth` gives the
    wet cells. The pools' volumes are its only state (:attr:`volume_m3`).
    """

    def __init__(
        self, label: np.ndarray, flank_m: np.ndarray, curves: list[StorageCurve], weirs: Weirs, levees: list[Levee]
    ) -> None:
        self.label = label
        """Flat grid: the basin of each cell, -1 outside every basin."""
        self.flank_m = flank_m
        """Flat grid: the stage at which water reaches each basin cell around the levees (``inf`` if never)."""
        self.curves = curves
        self.weirs = weirs
        self.levees = levees
        self.volume_m3 = np.zeros(len(curves))
        self.level_m = np.array([curve.level_m(0.0) for curve in curves])

    @classmethod
    def of_river(
        cls,
        hand: np.ndarray,
        bare: np.ndarray,
        walled: np.ndarray,
        levees: list[Levee],
        shape: tuple[int, int],
        cell_m: float,
        top_m: float,
    ) -> LeveeBasins | None:
        """The basins behind ``levees`` of one river, or None when they protect nothing below ``top_m``.

        Parameters
        ----------
        hand
            Flat HAND of every cell above this river (m, NaN off the DEM).
        bare, walled
            Flat connection stages without the levees and with them impassable (m;
            :func:`twin.hazards.flood.river.connection_stages`).
        levees
            The scenario's levees (unbreached).
        shape, cell_m
            The grid's shape and cell size (m).
        top_m
            The highest stage the run reaches (m above the DEM's river cells): land joining above it is left out.
        """
        wall = np.zeros(hand.size, dtype=bool)
        for levee in levees:
            wall[levee.cells] = True
        protected = np.isfinite(bare) & (bare < top_m) & (walled > bare + 1e-9) & ~wall
        grid, count = ndimage.label(protected.reshape(shape))
        if count == 0:
            return None
        label = grid.ravel().astype(np.int64) - 1
        cells = np.flatnonzero(label >= 0)
        order = np.lexsort((cells, bare[cells], label[cells]))
        cells = cells[order]
        starts = np.searchsorted(label[cells], np.arange(count + 1))
        curves = [
            StorageCurve(part, bare[part], hand[part], cell_m**2) for part in (cells[a:b] for a, b in pairwise(starts))
        ]
        weirs = _weirs(hand, bare, label, wall, levees, shape, cell_m)
        return cls(label, np.where(label >= 0, walled, np.inf), curves, weirs, levees)

    def carried_over(self, old: LeveeBasins) -> LeveeBasins:
        """These basins holding the water of ``old`` (the same river's basins for a lower top stage).

        A higher top only adds protected cells, so each old basin lies within one new basin, which takes its
        volume: water is conserved exactly.
        """
        for curve, volume in zip(old.curves, old.volume_m3.tolist(), strict=True):
            self.volume_m3[self.label[curve.cells[0]]] += volume
        self.level_m = np.array([c.level_m(v) for c, v in zip(self.curves, self.volume_m3.tolist(), strict=True)])
        return self

    def set_volumes(self, volume_m3: np.ndarray) -> None:
        """Restore the pools' volumes (a checkpoint) and their levels."""
        if volume_m3.shape != self.volume_m3.shape:
            raise ValueError(
                f"the checkpoint holds {volume_m3.size} basins behind levees and this run has {self.volume_m3.size}"
            )
        self.volume_m3 = np.array(volume_m3, dtype=np.float64)
        self.level_m = np.array([c.level_m(v) for c, v in zip(self.curves, self.volume_m3.tolist(), strict=True)])

    def advance(self, stage_at: Callable[[float], float], t0_s: float, t1_s: float) -> None:
        """Route the water over the levees from ``t0_s`` to ``t1_s`` (sub-steps of <= :data:`MAX_SUBSTEP_S`).

        ``stage_at(t)`` is the river's stage (m above the DEM's river cells) at time ``t``.
        """
        n = max(1, int(np.ceil((t1_s - t0_s) / MAX_SUBSTEP_S - 1e-9)))
        dt = (t1_s - t0_s) / n
        for i in range(n):
            t_mid = t0_s + (i + 0.5) * dt
            self._substep(stage_at(t_mid), t_mid, dt)

    def _substep(self, stage: float, t_s: float, dt_s: float) -> None:
        """One explicit step of ``dV = sum(Q) dt`` per basin, clipped at the levels the water comes from."""
        w = self.weirs
        river = np.where(stage > w.foot_m, stage, -np.inf)
        basin = self.level_m[w.basin]
        widths = np.array([breach_width_m(levee, t_s) for levee in self.levees])
        breach = widths[w.levee] * w.breach_share
        over = np.clip(w.length_m - breach, 0.0, None)
        q_crest = weir_discharge(river, basin, w.crest_m, over, w.coefficient)
        q_breach = weir_discharge(river, basin, w.invert_m, breach, w.coefficient)
        if not (q_crest.any() or q_breach.any()):
            return
        inflow = np.bincount(w.basin, q_crest + q_breach, minlength=len(self.curves))
        # Outflow stops at the lowest crest or invert the basin spills over.
        floor = np.full(len(self.curves), np.inf)
        np.minimum.at(floor, w.basin[q_crest < 0], w.crest_m[q_crest < 0])
        np.minimum.at(floor, w.basin[q_breach < 0], w.invert_m[q_breach < 0])
        for b in np.flatnonzero(inflow).tolist():
            curve = self.curves[b]
            volume = self.volume_m3[b] + inflow[b] * dt_s
            if inflow[b] > 0:
                volume = min(volume, curve.volume_m3(stage))
            else:
                volume = max(volume, curve.volume_m3(max(stage, floor[b])), 0.0)
            self.volume_m3[b] = volume
            self.level_m[b] = curve.level_m(volume)

    def depth(self) -> tuple[np.ndarray, np.ndarray]:
        """Wet basin cells and their depths (m)."""
        parts = [
            curve.depth(level)
            for curve, level, volume in zip(self.curves, self.level_m.tolist(), self.volume_m3.tolist(), strict=True)
            if volume > 0
        ]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate([c for c, _ in parts]), np.concatenate([d for _, d in parts])


def _weirs(
    hand: np.ndarray,
    bare: np.ndarray,
    label: np.ndarray,
    wall: np.ndarray,
    levees: list[Levee],
    shape: tuple[int, int],
    cell_m: float,
) -> Weirs:
    """One weir row per (levee cell with a river side, basin it borders); see :class:`Weirs`."""
    rows: dict[str, list[np.ndarray]] = {key: [] for key in Weirs.__dataclass_fields__}
    for index, levee in enumerate(levees):
        length = levee.lengths_m if levee.lengths_m.size else np.full(levee.cells.size, cell_m)
        owner, neighbour = _neighbours4(levee.cells, shape)
        basin = label[neighbour]
        foot = np.full(levee.cells.size, np.inf)
        side = (basin < 0) & ~wall[neighbour]
        np.minimum.at(foot, owner[side], np.nan_to_num(bare[neighbour[side]], nan=np.inf))
        # A cell with no river-side neighbour (inside a bend of the line, or between two basins) passes no water:
        # the river never reaches it, and what it would spill leaves for no place the model has.
        inner = (basin >= 0) & np.isfinite(foot[owner])
        pairs = np.unique(np.column_stack([owner[inner], basin[inner]]), axis=0)
        if not pairs.size:
            continue
        k, b = pairs[:, 0], pairs[:, 1]
        shares = np.bincount(k, minlength=levee.cells.size)[k]
        in_gap = np.isin(levee.cells, levee.gap) & np.isfinite(foot)  # the breach opens where the river reaches
        gap_length = float(length[in_gap].sum())
        share = np.where(in_gap, length / gap_length, 0.0) if gap_length > 0 else np.zeros(levee.cells.size)
        cells = levee.cells[k]
        rows["basin"].append(b)
        rows["levee"].append(np.full(k.size, index))
        rows["crest_m"].append(hand[cells] + levee.crest_m)
        rows["invert_m"].append(hand[cells])
        rows["length_m"].append(length[k] / shares)
        rows["breach_share"].append(share[k] / shares)
        rows["foot_m"].append(foot[k])
        rows["coefficient"].append(np.full(k.size, levee.weir_coefficient))
    empty = {"basin": np.int64, "levee": np.int64}
    return Weirs(
        **{
            key: np.concatenate(parts) if parts else np.zeros(0, empty.get(key, np.float64))
            for key, parts in rows.items()
        }
    )


def _neighbours4(cells: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``cells``, flat neighbour) for each cell's 4-neighbours on the grid."""
    r, c = np.divmod(cells, shape[1])
    owners, neighbours = [], []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        rr, cc = r + dr, c + dc
        ok = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
        owners.append(np.flatnonzero(ok))
        neighbours.append(rr[ok] * shape[1] + cc[ok])
    return np.concatenate(owners), np.concatenate(neighbours)
