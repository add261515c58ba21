"""The origin's queue: trips bound for a full link are held without holding the others, across sub-steps, and
drivers held there still re-choose."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_traffic_nodes import blocked_branch_network
from twin.sim.traffic import TrafficNetwork, TrafficOptions, TrafficSim


@pytest.mark.parametrize("substep_s", [1.0, 5.0])
def test_trips_for_a_free_link_interleaved_with_trips_for_a_full_one_go_at_its_capacity(substep_s: float) -> None:
    """60 trips due at 0 s alternate in the queue between node 3 (over A into the shut C) and node 2 (over B).
    A and C take 10 trips for node 3; the 11th fills A for good, and the 19 behind it wait for ever. None of them
    holds a trip for node 2, however far back in the queue: B (0.5 veh/s, 10 s long) takes the k-th at 2 k s
    (k = 0..29, over 12 to 60 sub-steps, most trips of a sub-step beyond what B can take), and it reaches node 2
    at 10 + 2 k s exactly."""
    demand = pd.DataFrame({"origin": 0, "destination": [3, 2] * 30, "departure_s": 0.0})
    sim = TrafficSim(blocked_branch_network(), demand, TrafficOptions(substep_s=substep_s), seed=1)
    sim.run(140.0)
    trips = sim.result().trips
    to_two = trips[trips["destination"] == 2]
    assert (to_two["status"] == "arrived").all()
    expected = 10.0 + 2.0 * np.arange(30)
    np.testing.assert_allclose(np.sort(to_two["arrival_s"].to_numpy()), expected, rtol=0, atol=1e-9)
    to_three = trips[trips["destination"] == 3]
    assert (to_three["status"] == "queued").sum() == 20  # A and C hold 10
    assert (to_three["status"] == "on_link").sum() == 10


def parallel_routes_network() -> TrafficNetwork:
    """Two routes from node 0 to node 3: A (0->1, 100 m) then C (1->3, 100 m, exit shut: capacity factor 0),
    20 s at free flow; or B (0->2, 300 m) then D (2->3, 100 m), 40 s. 10 m/s, 1 veh/s, A and C holding 5."""
    network = TrafficNetwork.from_arrays(
        4,
        np.array([0, 1, 0, 2]),
        np.array([1, 3, 2, 3]),
        np.array([100.0, 100.0, 300.0, 100.0]),
        np.full(4, 10.0),
        np.full(4, 1.0),
        storage_veh=np.array([5.0, 5.0, 50.0, 50.0]),
    )
    network.capacity_factor[1] = 0.0
    return network


@pytest.mark.parametrize(("rechoice_every_s", "detoured"), [(60.0, 10), (None, 0)])
def test_drivers_held_for_a_full_link_still_choose_again(rechoice_every_s: float | None, detoured: int) -> None:
    """20 trips from node 0 to node 3 at 0 s all choose the shorter route over A; A and C take 10 and are full for
    good. When the trees are refreshed (every 60 s, on the queues), the 10 waiting at the origin that choose again
    (at a rate of one a minute each) find B, which has room, and arrive over it within 20 minutes; a driver that
    never chooses again waits for ever behind its full link (it is not closed)."""
    demand = pd.DataFrame({"origin": 0, "destination": 3, "departure_s": np.zeros(20)})
    options = TrafficOptions(rechoice_every_s=rechoice_every_s, reroute_every_s=60.0)
    sim = TrafficSim(parallel_routes_network(), demand, options, seed=4)
    sim.run(1200.0)
    trips = sim.result().trips
    assert (trips["status"] == "arrived").sum() == detoured
    assert (trips["status"] == "on_link").sum() == 10  # in A and C
    assert (trips.loc[trips["status"] == "arrived", "route_length_m"] == 400.0).all()  # over B and D
