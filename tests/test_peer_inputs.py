"""The peer benchmark's input builders (the comparison itself is a benchmark: CI does not install the peers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.city.build import City
from twin.traffic.peers import (
    chicago_sketch,
    evacuation,
    expand_demand,
    grid_11x11,
    uxsim_capacity,
    uxsim_departures,
)

CHICAGO = Path(
    os.environ.get(
        "TWIN_CHICAGO_SKETCH", Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "chicago-sketch"
    )
)


def test_grid_is_uxsims_large_demo() -> None:
    case = grid_11x11()
    assert len(case.nodes) == 121 and len(case.links) == 440
    assert len(case.demand) == 4 * 11 * 11  # west->east, east->west, south->north, north->south
    assert case.trips == pytest.approx(60_984)  # 484 pairs x 0.035 veh/s x 3600 s
    assert uxsim_capacity(20.0, 0.2) == pytest.approx(0.8)  # w = 5 m/s: q = 20 x 0.2 x 5 / 25
    # every link joins neighbours 1 km apart, in both directions
    xy = case.nodes[["x", "y"]].to_numpy()
    span = np.hypot(*(xy[case.links["src"]] - xy[case.links["dst"]]).T)
    np.testing.assert_allclose(span, 1000.0)


def test_expanded_demand_drops_the_fraction_like_uxsim() -> None:
    case = grid_11x11()
    per_vehicle, platoons = expand_demand(case.demand), expand_demand(case.demand, 5)
    assert len(per_vehicle) == 484 * 126 and len(platoons) * 5 == 60_500  # UXsim's "about 60,500" with deltan 5
    assert per_vehicle["departure_s"].between(0, 3600).all()


@pytest.mark.skipif(not CHICAGO.is_dir(), reason="the Chicago Sketch data is not on this machine")
def test_chicago_sketch_loads_with_its_counts() -> None:
    case = chicago_sketch(CHICAGO)
    assert (len(case.nodes), len(case.links), len(case.demand)) == (546, 2176, 8406)
    assert case.trips == pytest.approx(1_079_457, rel=1e-3)
    links = case.links
    # twin gets what UXsim can discharge: the TNTP capacity, or less where UXsim's diagram caps it
    assert (links["capacity_veh_s"] <= links["uxsim_capacity_out"] + 1e-12).all()
    three = links[links["lanes"] == 3].iloc[0]
    assert uxsim_capacity(three["free_speed_mps"], 0.2, 3) == pytest.approx(
        three["free_speed_mps"] * 0.2 * 15 / (three["free_speed_mps"] + 15)
    )  # w = lanes / (tau k_j) = 15 m/s
    np.testing.assert_allclose(links["jam_density_veh_m"] * links["lanes"], 0.2)  # 0.2 veh/m for the whole link


def test_andorra_evacuation_closes_the_riverside_and_sends_every_car_to_a_reachable_shelter(andorra_city: City) -> None:
    from twin.sim.traffic import TrafficNetwork

    case = evacuation(andorra_city, cars=3000, seed=1)
    full = TrafficNetwork.from_network(andorra_city.drive)
    assert case.trips == 3000 and (case.demand["t_end"] == 3600.0).all()
    assert 0 < full.n_links - len(case.links) < full.n_links // 4  # the riverside links are out, not the city
    shelters = set(andorra_city.facilities.loc[andorra_city.facilities["kind"] == "shelter", "drive_node"])
    assert set(case.demand["dest"]) <= shelters and (case.demand["orig"] != case.demand["dest"]).all()
    # every car can reach its shelter on the links left
    graph = sp.csr_matrix(
        (np.ones(len(case.links)), (case.links["src"], case.links["dst"])), shape=(len(case.nodes), len(case.nodes))
    )
    hops = csgraph.shortest_path(graph, indices=case.demand["orig"].to_numpy(), unweighted=True)
    assert np.isfinite(hops[np.arange(len(case.demand)), case.demand["dest"].to_numpy()]).all()


def test_uxsim_departures_release_a_platoon_once_deltan_vehicles_built_up() -> None:
    """Hand-computed with UXsim's rule (step dt = deltan x 1 s, f += V / (t1 - t0) x dt, a platoon at s dt
    whenever f >= deltan): 12 vehicles over [0, 100) s in platoons of 5 add 0.6 per 5 s step, so f reaches 5.4 at
    step 8 (40 s) and, from 0.4, 5.2 at step 16 (80 s), the last 2 vehicles dropped; 2 vehicles never make a
    platoon; 30 over [0, 10) s add 15 per step, 3 platoons at 0 s and 3 at 5 s."""
    demand = pd.DataFrame(
        {
            "orig": [0, 1, 2],
            "dest": [3, 4, 5],
            "t_start": [0.0, 100.0, 0.0],
            "t_end": [100.0, 400.0, 10.0],
            "volume": [12.0, 2.0, 30.0],
        }
    )
    out = uxsim_departures(demand, 5)
    assert out["origin"].tolist() == [0, 0, 2, 2, 2, 2, 2, 2]
    assert out["departure_s"].tolist() == [40.0, 80.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0]
    assert (out["platoon"] == 5).all() and (out["destination"] == out["origin"] + 3).all()


def test_uxsim_departures_per_vehicle_and_on_a_window_off_the_step() -> None:
    """Per vehicle (1 s steps), 3 vehicles over [0, 4) s add 0.75 per step: 1.5 at step 1, 1.25 at step 2 and 1.0
    at step 3 release one each. A window starting at 7 s in 5 s steps starts at step int(7 / 5) = 1 (5 s, as
    UXsim does) and ends before step int(17 / 5) = 3: 10 vehicles add 5 per step, one platoon at 5 s and at 10 s."""
    per_vehicle = pd.DataFrame({"orig": [0], "dest": [1], "t_start": [0.0], "t_end": [4.0], "volume": [3.0]})
    assert uxsim_departures(per_vehicle, 1)["departure_s"].tolist() == [1.0, 2.0, 3.0]
    off = pd.DataFrame({"orig": [0], "dest": [1], "t_start": [7.0], "t_end": [17.0], "volume": [10.0]})
    assert uxsim_departures(off, 5)["departure_s"].tolist() == [5.0, 10.0]
