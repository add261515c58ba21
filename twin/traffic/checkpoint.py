"""Save and restore a :class:`~twin.traffic.sim.TrafficSim`'s changing state as flat arrays (for engine checkpoints).

The network, demand and options are rebuilt from the scenario; only what changes while the simulation runs is
saved: the vehicles, the links' counts and servers, the pending backward-wave releases, the routes, the
recorder's open interval and rows. The random Generator is the engine's and is saved by the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.traffic.sim import TrafficSim

VEHICLE_ARRAYS = (
    "status",
    "link",
    "entered_s",
    "exit_min_s",
    "route_m",
    "end_s",
    "end_node",
    "_queue",
    "_q",
    "_at_end",
)
LINK_ARRAYS = (
    "occupancy",
    "cum_in",
    "cum_out",
    "_released",
    "_last_exit_s",
    "_last_weight",
    "stuck_by_link",
    "_entry_free_s",
)
SCALARS = ("clock_s", "_dep_next", "vehicles_stuck", "_next_route_s", "route_refreshes", "_next_record_s")
RECORDER_ARRAYS = ("inflow", "outflow", "time_on_link")


def state_arrays(sim: TrafficSim) -> dict[str, np.ndarray]:
    """Everything that changes in ``sim``, as named arrays (no pickle)."""
    arrays = {name: np.asarray(getattr(sim, name)) for name in VEHICLE_ARRAYS + LINK_ARRAYS}
    arrays["scalars"] = np.array([float(getattr(sim, name)) for name in SCALARS] + list(sim._step_times))
    arrays["route_trees"] = sim._routes.trees[: sim._routes.n_trees]
    arrays["routed_closed"] = (
        np.zeros(0, dtype=bool) if sim._routed_closed is None else np.concatenate([[True], sim._routed_closed])
    )
    times, links, weight = sim._pending.everything()
    arrays["pending_links"], arrays["pending_times"], arrays["pending_weight"] = links.astype(np.int64), times, weight
    arrays["moving_e"], arrays["moving_ids"] = sim._moving.everything()
    recorder = sim._recorder
    arrays.update({f"rec_{name}": getattr(recorder, name) for name in RECORDER_ARRAYS})
    arrays["rec_times"] = np.array([recorder.free_time, recorder.actual_time])
    keys = sorted(recorder.network_rows[0]) if recorder.network_rows else []
    arrays["rec_network_keys"] = np.array(keys, dtype=str)
    arrays["rec_network"] = np.array(
        [[row[k] for k in keys] for row in recorder.network_rows], dtype=np.float64
    ).reshape(len(recorder.network_rows), len(keys))
    if recorder.link_rows:
        raise ValueError("checkpoints of a traffic simulation that records per-link series are not supported")
    abandoned = recorder.abandoned_rows or [(0.0, np.zeros(0, np.int64), np.zeros(0, np.int64))]
    arrays["rec_abandoned_t"] = np.concatenate([np.full(len(v), t) for t, v, _ in abandoned])
    arrays["rec_abandoned_vehicle"] = np.concatenate([v for _, v, _ in abandoned]).astype(np.int64)
    arrays["rec_abandoned_link"] = np.concatenate([lk for _, _, lk in abandoned]).astype(np.int64)
    return arrays


def load_state_arrays(sim: TrafficSim, arrays: dict[str, np.ndarray]) -> None:
    """Put :func:`state_arrays` back into a simulation built from the same network, demand and options."""
    for name in VEHICLE_ARRAYS + LINK_ARRAYS:
        current = getattr(sim, name)
        setattr(sim, name, np.array(arrays[name], dtype=current.dtype))
    scalars = np.asarray(arrays["scalars"], dtype=np.float64)
    for name, value in zip(SCALARS, scalars[: len(SCALARS)], strict=True):
        setattr(sim, name, int(value) if name in ("_dep_next", "route_refreshes") else float(value))
    sim._step_times = [float(v) for v in scalars[len(SCALARS) :]]
    trees = np.asarray(arrays["route_trees"], dtype=np.int32)
    sim._routes.n_trees = trees.shape[0]
    sim._routes.trees[: trees.shape[0]] = trees
    routed = np.asarray(arrays["routed_closed"], dtype=bool)
    sim._routed_closed = routed[1:].copy() if routed.size else None
    sim._pending.clear()
    sim._pending.add(
        np.asarray(arrays["pending_times"], dtype=np.float64),
        np.asarray(arrays["pending_links"], dtype=np.intp),
        np.asarray(arrays["pending_weight"]),
    )
    sim._moving.clear()
    sim._moving.add(np.asarray(arrays["moving_e"], dtype=np.float64), np.asarray(arrays["moving_ids"], dtype=np.intp))
    recorder = sim._recorder
    for name in RECORDER_ARRAYS:
        setattr(recorder, name, np.array(arrays[f"rec_{name}"], dtype=np.float64))
    recorder.free_time, recorder.actual_time = (float(v) for v in arrays["rec_times"])
    keys = [str(k) for k in arrays["rec_network_keys"]]
    recorder.network_rows = [dict(zip(keys, map(float, row), strict=True)) for row in arrays["rec_network"]]
    t, vehicles, link = arrays["rec_abandoned_t"], arrays["rec_abandoned_vehicle"], arrays["rec_abandoned_link"]
    recorder.abandoned_rows = [(float(time), vehicles[t == time], link[t == time]) for time in np.unique(t)]
