"""Water on a road, measured above the road itself: points along each link, on the road's own elevation.

A road is closed by the water standing on *its* surface, not by the deepest cell its footprint touches: on a
coarse grid a riverside road shares cells with the river bed, and the deepest of those cells reads the
river's depth, not the road's. Each link is sampled at points at most half a cell apart (its vertices
included); each point has the road's elevation (bilinear on the DEM, which is what the road nodes carry,
exact on a plane) and lies in one grid cell, whose water surface is that cell's ground plus its depth (the
flood models give a level surface per cell). The depth over the road at a point is

.. math:: d_p = \\max(0,\\; z_{ground}(c_p) + h(c_p) - z_{road}(p)) \\quad\\text{where } h(c_p) > 0

and the link's depth is the largest :math:`d_p` over its points. On a planar valley a road then closes
within one cell's slope of the analytic stage (the water surface is resolved per cell), where the deepest
cell of its footprint closed it up to a whole bank height early.

Bias: a point whose own cell is dry reads no water even when the next cell's surface is above the road,
so a road can close up to one cell's slope late (the cell-centre error of the flood grid itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from twin.city.terrain import Terrain
from twin.hazards.gridindex import point_cells

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RoadSamples:
    """Points along the drivable links, with their cell and the road's elevation there.

    Attributes
    ----------
    owner
        Link of each point, sorted (points of a link are contiguous).
    cell
        Flat grid cell of each point (points outside the grid are dropped).
    road_m
        Road elevation at each point (m): the DEM's bilinear value, the cell's own elevation where
        bilinear sampling has no value (next to the grid's edge or a NaN cell).
    ground_m
        Ground elevation of each point's cell (m).
    links, starts
        The links that have points and where their run of points starts (for the max-reduction).
    """

    owner: IntArray
    cell: IntArray
    road_m: FloatArray
    ground_m: FloatArray
    links: IntArray
    starts: IntArray

    @classmethod
    def of_links(cls, geometry: npt.ArrayLike, terrain: Terrain) -> RoadSamples:
        """Sample every link (shapely geometries, metric CRS) at points at most half a cell apart."""
        shape = (int(terrain.elevation_m.shape[0]), int(terrain.elevation_m.shape[1]))
        dense = shapely.segmentize(np.asarray(geometry), terrain.resolution_m / 2.0)
        xy, owner = shapely.get_coordinates(dense, return_index=True)
        cells = point_cells(terrain.transform, shape, xy[:, 0], xy[:, 1])
        keep = cells >= 0
        xy, owner, cells = xy[keep], owner[keep].astype(np.int64), cells[keep]
        ground = terrain.elevation_m.reshape(-1)[cells].astype(np.float64)
        road = terrain.sample(xy[:, 0], xy[:, 1])
        road = np.where(np.isfinite(road), road, ground)
        usable = np.isfinite(road)
        order = np.argsort(owner[usable], kind="stable")
        owner = owner[usable][order]
        links, starts = np.unique(owner, return_index=True)
        return cls(
            owner=owner,
            cell=cells[usable][order],
            road_m=road[usable][order],
            ground_m=ground[usable][order],
            links=links.astype(np.int64),
            starts=starts.astype(np.int64),
        )

    def depth_m(self, depth_flat: npt.NDArray[np.floating], n_links: int) -> FloatArray:
        """Deepest water over each link's road surface (m); 0 for dry links and links off the grid.

        Parameters
        ----------
        depth_flat
            Water depth per grid cell (flat, m); NaN counts as dry.
        n_links
            Number of links (length of the result).
        """
        depth = np.fmax(depth_flat[self.cell].astype(np.float64), 0.0)
        over = np.where(depth > 0.0, self.ground_m + depth - self.road_m, 0.0)
        out = np.zeros(n_links)
        if over.size:
            out[self.links] = np.maximum(np.maximum.reduceat(over, self.starts), 0.0)
        return out
