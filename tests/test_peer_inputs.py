"""The peer benchmark's input builders (the comparison itself is a benchmark: CI does not install the peers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from twin.city.build import City
from twin.traffic.peers import chicago_sketch, evacuation, expand_demand, grid_11x11, uxsim_capacity

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
