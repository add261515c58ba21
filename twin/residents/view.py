"""The water as the people meet it, recomputed only when the hazards change the water.

Per walkable node the depth and velocity of its cell (velocity: :mod:`twin.residents.velocity`), per walk edge
the deepest water and fastest flow along it and whether it is unsafe for each group (the worst ARR class of its
cells, :mod:`twin.residents.walking`), and per person the depth at the ground of their home (the building's
depth, or their node's on roads-only maps) and at their floor (3 m per floor). These are functions of the
state's water grid and building depths: kept between steps only to skip work while the water stands still,
never checkpointed (a restored run recomputes them at its first step).
"""

from __future__ import annotations

import numpy as np

from twin.residents.places import Places, depth_at_nodes
from twin.residents.population import FLOOR_HEIGHT_M, Population
from twin.residents.velocity import velocity_grid
from twin.residents.walking import WalkGraph, hazard_class, unsafe_of_class
from twin.sim.state import SimState


class WaterView:
    """Depths at nodes, edges and homes, and unsafe edges, for the current water (see the module docstring)."""

    def __init__(
        self, graph: WalkGraph, places: Places, population: Population, ground_m: np.ndarray, cell_m: float
    ) -> None:
        self.graph, self.places, self.population = graph, places, population
        self.ground_m, self.cell_m = ground_m, cell_m
        self.node_velocity = np.zeros(graph.n_nodes)
        self.edge_velocity = np.zeros(graph.n_edges)
        self._water = np.zeros(0, dtype=np.float32)
        self._buildings = np.zeros(0)
        self.node_depth = np.zeros(graph.n_nodes)
        self.edge_depth = np.zeros(graph.n_edges)
        self.unsafe = np.zeros((2, graph.n_edges), dtype=bool)
        self.home_ground = np.zeros(population.size, dtype=np.float32)
        self.home_floor = np.zeros(population.size, dtype=np.float32)
        self.dry = True

    def update(self, state: SimState) -> bool:
        """Recompute from the state when its water changed; return whether it did."""
        if np.array_equal(state.water_depth_m, self._water) and np.array_equal(state.building_depth_m, self._buildings):
            return False
        self._water, self._buildings = state.water_depth_m.copy(), state.building_depth_m.copy()
        pop = self.population
        self.node_depth = depth_at_nodes(state, self.places)
        self.edge_depth = self.graph.edge_depth(state.water_depth_m)
        velocity = velocity_grid(self.ground_m, state.water_depth_m, self.cell_m)
        flat_v, cell = velocity.reshape(-1), self.places.cell
        self.node_velocity = np.where(cell >= 0, flat_v[np.maximum(cell, 0)], 0.0)
        self.edge_velocity = self.graph.edge_max(flat_v)
        depth = np.fmax(np.nan_to_num(state.water_depth_m, nan=0.0), 0.0).reshape(-1)
        self.unsafe = unsafe_of_class(self.graph.edge_max(hazard_class(depth, flat_v).astype(np.float64)))
        ground = self.node_depth[pop.home_node]
        indoors = pop.home_building >= 0
        ground[indoors] = np.fmax(state.building_depth_m[pop.home_building[indoors]], 0.0)
        self.home_ground = ground.astype(np.float32)
        self.home_floor = np.fmax(ground - FLOOR_HEIGHT_M * pop.floor, 0.0).astype(np.float32)
        self.dry = not (self.node_depth.any() or self.home_ground.any())
        return True
