"""The small validation cases (twin.traffic.cases) against the link transmission model, vehicle by vehicle, at
sub-steps of 1, 5 and 10 s; the reference itself against answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from twin.sim.traffic import TrafficOptions, TrafficSim, simulate
from twin.traffic.cases import CASES, bottleneck, diverge, grid2x2, in_platoons, merge, reference_arrivals

SUBSTEPS = (1.0, 5.0, 10.0)


def twin_arrivals(name: str, substep_s: float, seed: int = 0) -> np.ndarray:
    case = CASES[name]()
    trips = simulate(case.network(), case.demand, TrafficOptions(substep_s=substep_s), seed=seed, until_s=case.until_s)
    assert (trips.trips["status"] == "arrived").all()
    return np.asarray(trips.trips["arrival_s"].to_numpy(float))


def test_the_reference_gives_the_hand_computed_bottleneck() -> None:
    """A vehicle every 2 s reaches the drop at 25 + 2k s, leaves at 0.4 veh/s: x_k = 25 + 2.5 k, then 50 s on link 1."""
    arrivals = reference_arrivals(bottleneck())
    np.testing.assert_allclose(arrivals, 75.0 + 2.5 * np.arange(arrivals.size), rtol=0, atol=1e-9)


def test_the_reference_gives_the_hand_computed_diverge() -> None:
    """Vehicles for node 4 (every 4 s from 2 s) reach link 3 at 102 + 4 j s and it takes one every 10 s, so they
    arrive at 152 + 10 j s: the queue backs up over link 2 and the diverge without ever leaving link 3 idle.
    The vehicles for node 2 then wait behind them at the diverge (first in, first out), though their branch is
    empty."""
    case = diverge()
    arrivals = reference_arrivals(case)
    to_four = case.demand["destination"].to_numpy() == 4
    np.testing.assert_allclose(arrivals[to_four], 152.0 + 10.0 * np.arange(to_four.sum()), rtol=0, atol=1e-9)
    # for node 2: 4 s apart at first; once link 2 is full, one every 10 s behind
    # each vehicle for node 4 (FIFO: the diverge lets out 0.1 / 0.5 = 0.2 veh/s, half of it for node 2)
    gaps = np.diff(arrivals[~to_four])
    np.testing.assert_allclose(gaps[:290], 4.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gaps[293:], 10.0, rtol=0, atol=1e-9)


def test_the_reference_gives_the_hand_computed_bottleneck_in_platoons() -> None:
    """Platoons of 5 every 10 s (the same 0.5 veh/s) reach the drop at 25 + 10 k s; it takes a platoon every
    5 / 0.4 = 12.5 s, so its queue never empties: x_k = 25 + 12.5 k, then 50 s on link 1."""
    case = in_platoons(bottleneck(), 5)
    assert case.demand["platoon"].eq(5).all() and len(case.demand) == 120
    arrivals = reference_arrivals(case)
    np.testing.assert_allclose(arrivals, 75.0 + 12.5 * np.arange(arrivals.size), rtol=0, atol=1e-9)


def test_the_reference_needs_fixed_paths() -> None:
    with pytest.raises(ValueError, match="route choice"):
        reference_arrivals(grid2x2())


@pytest.mark.parametrize("substep_s", SUBSTEPS)
@pytest.mark.parametrize("name", ["free_flow", "bottleneck", "diverge"])
def test_twin_matches_the_link_transmission_model_vehicle_by_vehicle(name: str, substep_s: float) -> None:
    """Free flow, a capacity drop whose queue spills back to the origin, and a diverge whose full branch blocks
    the free one (FIFO): every arrival time is the LTM's to 1e-9 s at every sub-step."""
    expected = reference_arrivals(CASES[name]())
    np.testing.assert_allclose(twin_arrivals(name, substep_s), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("substep_s", SUBSTEPS)
@pytest.mark.parametrize("name", ["free_flow", "bottleneck", "merge", "diverge"])
def test_platoons_spanning_several_substeps_match_the_link_transmission_model(name: str, substep_s: float) -> None:
    """The same cases in platoons of 5 (a platoon takes 6.25 s of a 0.8 veh/s server, so it spans several 1 s
    sub-steps): every arrival is the LTM's with platoons as units, to 1e-9 s, at 1, 5 and 10 s (by rank for the
    merge). With the fluid entry budget per sub-step (before issue 22's fix) the diverge's platoons for the free
    branch got through 0.25, 1.25 and 6.25 s early at 1, 5 and 10 s."""
    case = in_platoons(CASES[name](), 5)
    trips = simulate(case.network(), case.demand, TrafficOptions(substep_s=substep_s), seed=0, until_s=case.until_s)
    arrivals = trips.trips["arrival_s"].to_numpy(float)
    expected = reference_arrivals(case)
    if name == "merge":  # which approach goes first is the merge's choice
        arrivals, expected = np.sort(arrivals), np.sort(expected)
    np.testing.assert_allclose(arrivals, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("substep_s", SUBSTEPS)
def test_a_congested_merge_fills_its_link_at_capacity_and_shares_it_by_capacity(substep_s: float) -> None:
    """1 veh/s reach a link that takes 0.8 veh/s from 50 s on: its j-th vehicle enters at 50 + 1.25 j and
    arrives at 100 + 1.25 j s whatever the split; the two approaches of equal capacity share it equally
    (capacity-proportional merge, Tampere et al. 2011): by any time, their counts through differ by a few."""
    case = merge()
    sim = TrafficSim(case.network(), case.demand, TrafficOptions(substep_s=substep_s), seed=1)
    gap = 0.0
    while sim.clock_s < case.until_s:
        sim.step(10.0)
        out = sim.state.cum_out
        if sim.clock_s <= 600.0:  # both approaches saturated
            gap = max(gap, abs(float(out[0] - out[1])))
    arrivals = np.sort(sim.result().trips["arrival_s"].to_numpy(float))
    np.testing.assert_allclose(arrivals, 100.0 + 1.25 * np.arange(arrivals.size), rtol=0, atol=1e-9)
    assert gap <= 3.0


def test_a_link_never_takes_two_vehicles_closer_than_its_capacity_allows() -> None:
    """The entry is a server in continuous time: with sub-steps of 10 s, the diverge's slow link (0.1 veh/s)
    still takes one vehicle every 10 s or more, not a burst at the start of a sub-step."""
    case = diverge()
    sim = TrafficSim(case.network(), case.demand, TrafficOptions(substep_s=10.0), seed=0)
    entries: dict[int, float] = {}
    while sim.clock_s < case.until_s:
        sim.step(10.0)
        on = np.flatnonzero(sim.link == 3)
        entries.update({int(v): float(sim.entered_s[v]) for v in on})
    times = np.sort(np.array(list(entries.values())))
    assert times.size > 300
    assert np.diff(times).min() >= 10.0 - 1e-9
