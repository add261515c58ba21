"""The peer benchmark's input builders (the comparison itself is a benchmark: CI does not install the peers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twin.traffic.peers import chicago_sketch, expand_demand, grid_11x11, uxsim_capacity

CHICAGO = Path(os.environ.get("TWIN_CHICAGO_SKETCH", Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
                              / "chicago-sketch"))


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
