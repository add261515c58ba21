"""Save and restore a :class:`~twin.traffic.sim.TrafficSim`'s changing state as flat arrays (for engine checkpoints).

The network and options are rebuilt from the scenario; everything that changes while the simulation runs is its
:class:`~twin.traffic.state.TrafficState` (including the trips added and redirected at run time), saved with
:meth:`~twin.traffic.state.TrafficState.arrays` and rebuilt with
:meth:`~twin.traffic.state.TrafficState.from_arrays`. The random Generator is the engine's and is saved by the
engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from twin.traffic.state import TrafficState

if TYPE_CHECKING:
    from twin.traffic.sim import TrafficSim


def state_arrays(sim: TrafficSim) -> dict[str, np.ndarray]:
    """Everything that changes in ``sim``, as named arrays (no pickle)."""
    return sim.state.arrays()


def load_state_arrays(sim: TrafficSim, arrays: dict[str, np.ndarray]) -> None:
    """Put :func:`state_arrays` back into a simulation built on the same network with the same options."""
    sim.restore(TrafficState.from_arrays(arrays, sim.network, sim.options))
