"""River flood (fluvial): a stage above the channel, spread over the land that is below it and connected to it.

The model is the height-above-nearest-drainage (HAND) "modified bathtub with hydro-connectivity" used for
NOAA's flood inundation mapping (Zheng, Tarboton et al. 2018, JAWRA 54(4); Nobre et al. 2016): a cell is wet
at stage s when its height above the river, HAND_r(c), is below s *and* it is connected to the river through
cells that are all below s; its depth is ``s - HAND_r(c)``. In a flat city this is the classic bathtub; in a
valley the water surface follows the river's slope, because HAND is measured from the bed below each cell.

HAND_r is measured from the flooded river's own channel (not from the nearest stream): a side valley's
stream does not carry the main river's stage up the mountain. Connectivity is precomputed once as each
cell's *connection stage* m(c), the lowest stage at which a path of cells below the stage links it to the
channel (a minimax path, :func:`twin.hydrology.grid.minimax_from_sources`, 4-connected so that water does
not leak through a diagonal gap): wet(s) = m(c) < s. A step is then one comparison over the cells that
can ever be wet, whatever the stage, with no labelling of components per step.

Only the cells that connect below the scenario's highest stage are kept. When a run raises the river beyond
it (a ``set_hazard_parameter`` event), :meth:`FloodPlain.extended` recomputes the plain for the new highest
stage from the same terrain: the cells and depths at any stage the old plain covered are the same, so the
answer does not depend on when the plain was extended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.city.terrain import Terrain
from twin.hydrology.conditioning import Hydrology, height_above
from twin.hydrology.grid import min_downstream, minimax_from_sources
from twin.hydrology.landcover import LANDCOVER_CLASSES


@dataclass(frozen=True)
class FloodPlain:
    """Cells a river can flood up to a stage, sorted by the stage at which they connect.

    Attributes
    ----------
    cells
        Flat cell indices, sorted by ``connect_m``; mapped open water (OSM water areas, riverbanks) is the
        river itself and is left out: its water is not a flood.
    connect_m
        Connection stage of each cell (m above the channel): it is wet at stages above this.
    hand_m
        Height of each cell above the river's channel (m).
    channel
        bool flat mask of the river's channel cells (kept to extend the plain).
    max_stage_m
        The highest stage (m above the DEM's river cells) the plain covers: :meth:`depth` is exact up to it.
    barrier
        The levees' heights it was built with (see :meth:`of_channel`), kept so that an extension keeps them.
    """

    cells: np.ndarray
    connect_m: np.ndarray
    hand_m: np.ndarray
    channel: np.ndarray
    max_stage_m: float
    barrier: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def of_channel(
        cls,
        terrain: Terrain,
        hydrology: Hydrology,
        channel: np.ndarray,
        max_stage_m: float,
        barrier: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> FloodPlain:
        """The flood plain of a channel (bool flat mask) for stages up to ``max_stage_m``.

        Parameters
        ----------
        terrain, hydrology
            The City's working grid and its hydrology.
        channel
            bool flat mask of the river's channel cells.
        max_stage_m
            The highest stage the scenario reaches: cells connecting above it are left out.
        barrier
            HAND -> the heights water must top to pass each cell (levees,
            :func:`twin.interventions.flood.barrier_hand`); depths still count from the ground's HAND.
        """
        hand, flat = connection_stages(terrain, hydrology, channel, barrier)
        # Mapped open water (OSM water areas, riverbanks) is the river itself, not flooded land. The channel's
        # own cells stay: on a coarse grid they hold the banks too, and they are wet only above channel_depth_m.
        permanent = hydrology.landcover.ravel() == LANDCOVER_CLASSES.index("water")
        cells = np.flatnonzero(np.isfinite(flat) & (flat < max_stage_m) & ~permanent)
        cells = cells[np.argsort(flat[cells], kind="stable")]
        return cls(
            cells=cells,
            connect_m=flat[cells],
            hand_m=hand[cells],
            channel=channel,
            max_stage_m=max_stage_m,
            barrier=barrier,
        )

    def extended(self, terrain: Terrain, hydrology: Hydrology, max_stage_m: float) -> FloodPlain:
        """The plain covering stages up to ``max_stage_m`` (itself when it already does).

        Recomputed from the terrain as :meth:`of_channel` computes it (deterministic, a fraction of a second on
        a city grid): its cells below the old highest stage are the old plain's, in the same order.
        """
        if max_stage_m <= self.max_stage_m:
            return self
        return FloodPlain.of_channel(terrain, hydrology, self.channel, max_stage_m, self.barrier)

    def depth(self, stage_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Wet cells and their depths at a stage: ``cells[m < s]`` and ``s - HAND`` (m).

        ``stage_m`` is the water's height above the DEM's river cells (the scenario's stage minus the
        channel depth the DEM does not see), at most :attr:`max_stage_m`.

        Raises
        ------
        ValueError
            Above :attr:`max_stage_m`, where cells may be missing: extend the plain first.
        """
        if stage_m > self.max_stage_m:
            raise ValueError(f"stage {stage_m:g} m is above the {self.max_stage_m:g} m the flood plain covers")
        count = int(np.searchsorted(self.connect_m, stage_m, side="left"))
        return self.cells[:count], stage_m - self.hand_m[:count]


def connection_stages(
    terrain: Terrain,
    hydrology: Hydrology,
    channel: np.ndarray,
    barrier: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's height above the river, HAND_r(c), and its connection stage m(c) (flat float64 arrays, m).

    ``m(c)`` is the minimax over 4-connected paths from the channel of the heights water must top (HAND, or
    the ``barrier`` heights where levees stand): ``inf`` where no path exists, NaN off the DEM.
    """
    z = terrain.elevation_m.astype(np.float64).ravel()
    bed = min_downstream(hydrology.receiver, z, channel)
    hand = height_above(z, hydrology.receiver, channel, bed)
    shape = terrain.elevation_m.shape
    reachable = np.isfinite(hand).reshape(shape)
    heights = hand if barrier is None else barrier(hand)
    connect, _ = minimax_from_sources(
        np.nan_to_num(heights, nan=np.inf).reshape(shape), channel.reshape(shape), reachable, connectivity=4
    )
    return hand, connect.ravel()


def channel_mask(
    terrain: Terrain, hydrology: Hydrology, waterway_rows: np.ndarray | None, min_area_km2: float | None
) -> np.ndarray:
    """bool flat mask of a river's channel: the cells of the given waterways, or every cell draining at least
    ``min_area_km2`` (maps without named rivers)."""
    mask = np.zeros(terrain.elevation_m.size, dtype=bool)
    if waterway_rows is not None:
        pairs = hydrology.channel_cells
        mask[pairs["cell"].to_numpy()[np.isin(pairs["waterway"].to_numpy(), waterway_rows)]] = True
    if min_area_km2 is not None:
        area_km2 = hydrology.accumulation.ravel().astype(np.float64) * terrain.resolution_m**2 / 1e6
        mask |= area_km2 >= min_area_km2
    return mask & np.isfinite(terrain.elevation_m.ravel())
