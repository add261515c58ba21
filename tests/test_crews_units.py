"""The crews' parts on hand-computed cases: routing on a small network, the dispatch policies, the time on scene,
the medical call rate, the response metrics and the incident desk's checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twin.crews.agents import Crew, Roster
from twin.crews.incidents import IncidentDesk, Incidents, medical_rate_per_s, segment_keys
from twin.crews.policies import (
    CriticalFirst,
    DispatchView,
    NearestAvailable,
    PriorityFirst,
    check_pairs,
    greedy_nearest,
    make_policy,
)
from twin.crews.restoration import clearance_s, draw_truncated_normal, restoration_s
from twin.crews.travel import RoadGraph, class_factor
from twin.metrics.response import response_metrics

# 0 -> 1: 1000 m at 10 m/s (100 s), and a slower parallel link (200 s) that must not add to it
# 1 -> 2: 600 m at 20 m/s (30 s); 0 -> 2: 2000 m at 10 m/s (200 s); 2 -> 3: 300 m at 10 m/s (30 s)
GRAPH = RoadGraph(
    n_nodes=4,
    src=np.array([0, 0, 1, 0, 2]),
    dst=np.array([1, 1, 2, 2, 3]),
    length_m=np.array([1000.0, 1000.0, 600.0, 2000.0, 300.0]),
    speed_mps=np.array([10.0, 5.0, 20.0, 10.0, 10.0]),
)
OPEN = np.zeros(5, dtype=bool)
DRY = np.ones(5)


def test_shortest_times_on_a_small_network() -> None:
    times = GRAPH.times_from(np.array([0, 3]), DRY, OPEN)
    assert times[0].tolist() == [0.0, 100.0, 130.0, 160.0]  # 0 -> 1 -> 2 -> 3
    assert times[1, :3].tolist() == [np.inf, np.inf, np.inf]  # nothing leaves node 3


def test_water_slows_and_closures_cut() -> None:
    half = DRY.copy()
    half[0] = 0.5  # the fast 0 -> 1 link at half speed: 200 s, so 0 -> 2 direct (200 s) wins
    assert GRAPH.times_from(np.array([0]), half, OPEN)[0].tolist() == [0.0, 200.0, 200.0, 230.0]
    closed = OPEN.copy()
    closed[4] = True  # 2 -> 3 closed: node 3 unreachable until it opens
    assert GRAPH.times_from(np.array([0]), DRY, closed)[0, 3] == np.inf
    stopped = DRY.copy()
    stopped[3] = 0.0  # a speed factor of 0 closes the link too
    closed_12 = OPEN.copy()
    closed_12[2] = True
    assert GRAPH.times_from(np.array([0]), stopped, closed_12)[0, 2] == np.inf


def test_emergency_vehicles_drive_at_the_traffic_models_class_speed() -> None:
    assert class_factor("fire") == class_factor("ems") == 1.2
    assert class_factor("power") == class_factor("road") == 1.0


def test_two_directions_of_a_road_are_one_segment() -> None:
    keys = segment_keys(np.array([3, 7, 3]), np.array([7, 3, 8]), 10)
    assert keys.tolist() == [37, 37, 38]


def _view(response: list[list[float]], priority: list[int], created: list[float], **extra: object) -> DispatchView:
    n = len(priority)
    values: dict[str, object] = {
        "now_s": 0.0,
        "crew_id": np.arange(len(response)),
        "crew_kind": np.array(["fire"] * len(response)),
        "incident_id": np.arange(n),
        "incident_kind": np.array(["rescue"] * n),
        "priority": np.array(priority),
        "created_s": np.array(created),
        "criticality": np.zeros(n, dtype=np.int64),
        "work_s": np.full(n, 600.0),
        "response_s": np.array(response),
        "customers": np.zeros(n),
    }
    values.update(extra)
    return DispatchView(**values)


def test_nearest_serves_calls_in_order_each_with_its_nearest_crew() -> None:
    # two crews, three calls: call 0 came first; crew 1 is nearer to it, crew 0 nearer to call 2
    view = _view([[300.0, 500.0, 100.0], [200.0, 400.0, 900.0]], priority=[2, 1, 2], created=[0.0, 10.0, 20.0])
    assert NearestAvailable().assign(view) == [(1, 0), (0, 1)]
    assert PriorityFirst().assign(view) == [(1, 1), (0, 0)]  # the priority-1 call first, to its nearest crew


def test_unreachable_calls_wait_and_crews_are_used_once() -> None:
    view = _view([[np.inf, 50.0]], priority=[1, 1], created=[0.0, 0.0])
    assert greedy_nearest(view, np.array([0, 1])) == [(0, 1)]
    assert check_pairs(view, [(0, 0)]) == ["crew 0 cannot serve or reach incident 0"]
    assert check_pairs(view, [(0, 1), (0, 1)]) == ["a crew or an incident appears twice"]


def test_critical_first_restores_transmission_before_distribution_and_short_jobs_first() -> None:
    view = _view(
        [[100.0, 900.0, 500.0]],
        priority=[2, 2, 2],
        created=[0.0, 0.0, 0.0],
        incident_kind=np.array(["power"] * 3),
        crew_kind=np.array(["power"]),
        criticality=np.array([5, 0, 0]),
        work_s=np.array([60.0, 7200.0, 3600.0]),
    )
    assert CriticalFirst().assign(view) == [(0, 2)]  # class 0, the shorter of the two class-0 jobs
    assert NearestAvailable().assign(view) == [(0, 0)]


def test_policies_by_name_and_a_clear_error_for_an_unknown_one() -> None:
    assert make_policy("critical_first").name == "critical_first"
    with pytest.raises(KeyError, match="unknown dispatch policy 'fastest'; known: critical_first, nearest"):
        make_policy("fastest")


def test_hazus_restoration_times_and_overrides() -> None:
    assert restoration_s("substation", "moderate", {}) == (3 * 86400.0, 1.5 * 86400.0)
    assert restoration_s("pumping_station", "slight", {}) == (0.9 * 86400.0, 0.3 * 86400.0)
    assert restoration_s("substation", "moderate", {"substation": (3600.0, 0.0)}) == (3600.0, 0.0)
    draws = draw_truncated_normal(np.random.default_rng(0), np.array([3600.0, 100.0]), np.array([0.0, 1e6]))
    assert draws[0] == 3600.0  # no spread: exactly the mean
    assert draws[1] >= 10.0  # floored at a tenth of the mean
    assert clearance_s(250.0, 100.0) == 9000.0  # 250 m3 at 100 m3/h: 2.5 h


def test_medical_rate_surges_with_the_share_without_power() -> None:
    # 0.15 calls per 1,000 per day for 40,000 people: 6 a day; with half of them without power and a 40 % surge,
    # 6 x (1 + 0.4 x 0.5) = 7.2 a day
    assert medical_rate_per_s(0.15, 40_000, 0.4, 0.0) * 86400 == pytest.approx(6.0, rel=1e-12)
    assert medical_rate_per_s(0.15, 40_000, 0.4, 0.5) * 86400 == pytest.approx(7.2, rel=1e-12)


def test_the_desk_refuses_bad_reports_with_every_problem() -> None:
    desk = IncidentDesk(n_nodes=10)
    desk.report("rescue", np.array([1, 2]), 60.0, np.array([600.0, 900.0]))
    with pytest.raises(ValueError) as error:
        desk.report("fire", np.array([12]), 60.0, np.array([0.0]))
    message = str(error.value)
    assert "unknown incident kind 'fire'" in message
    assert "nodes must be drivable node ids from 0 to 9" in message
    assert "must be finite numbers of seconds > 0" in message
    taken = desk.take()
    assert len(taken) == 1 and taken[0].nodes.tolist() == [1, 2]
    assert desk.take() == []


def test_the_desk_carries_numbered_reports_deadlines_and_completions() -> None:
    desk = IncidentDesk(n_nodes=10)
    desk.report(
        "rescue", np.array([3, 4]), 60.0, np.array([900.0, 1200.0]), refs=np.array([7, 8]), people=np.array([1, 2])
    )
    table = Incidents()
    for report in desk.take():
        table.add(report.kind, report.nodes, report.t_s, work_s=report.work_s, ref=report.refs, people=report.people)
    table.add("medical", np.array([5]), 60.0, work_s=np.array([900.0]))
    assert table.of_refs("rescue", np.array([8])).tolist() == [1] and table.ref.tolist() == [7, 8, -1]
    desk.deadline("rescue", np.array([8]), 300.0)
    assert [told.refs.tolist() for told in desk.take_deadlines()] == [[8]] and desk.take_deadlines() == []
    desk.finished("rescue", 7, 500.0)
    desk.finished("medical", 3, 510.0)
    saved = desk.arrays()
    assert saved["desk_done"].tolist() == [[0.0, 7.0, 500.0], [1.0, 3.0, 510.0]]
    restored = IncidentDesk(n_nodes=10)
    restored.load_arrays(saved)
    done = restored.take_done("rescue")
    assert done.refs.tolist() == [7] and done.t_s.tolist() == [500.0]
    assert [c.kind for c in restored.done] == ["medical"]  # another kind's completions wait for their reporter
    with pytest.raises(ValueError, match="2 nodes but 1 refs"):
        desk.report("rescue", np.array([3, 4]), 60.0, np.array([900.0, 900.0]), refs=np.array([1]))


def test_incidents_grow_and_round_trip() -> None:
    table = Incidents()
    ids = table.add("medical", np.array([4, 5]), 60.0, work_s=np.array([900.0, 600.0]))
    assert ids.tolist() == [0, 1]
    assert table.priority.tolist() == [1, 1]
    again = Incidents.from_arrays(table.arrays())
    assert all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in zip(table.arrays().values(), again.arrays().values(), strict=True)
    )


def test_response_metrics_by_hand() -> None:
    incidents = pd.DataFrame(
        {
            "kind": pd.Categorical(["medical"] * 4 + ["rescue"]),
            "status": ["done"] * 3 + ["open", "done"],
            "created_s": [0.0] * 5,
            "arrived_s": [100.0, 200.0, 300.0, np.nan, 50.0],
            "response_s": [100.0, 200.0, 300.0, np.nan, 50.0],
            "travel_s": [100.0, 500.0, 300.0, np.nan, 300.0],
            "people": [0, 0, 0, 0, 2],
            "deadline_s": [np.nan] * 4 + [40.0],
        }
    )
    crews = pd.DataFrame({"kind": ["ems", "ems", "fire"], "busy_s": [3600.0, 0.0, 1800.0]})
    figures = response_metrics(incidents, crews, {"medical": 480.0, "rescue": 240.0}, 7200.0)
    medical = figures["response"]["medical"]
    assert medical["median_s"] == 200.0
    assert medical["p90_s"] == pytest.approx(280.0)  # linear: 200 + 0.8 x (300 - 200)
    assert medical["share_within_standard"] == pytest.approx(2 / 3)
    assert medical["not_reached"] == 1
    assert figures["response"]["rescue"]["share_within_standard"] == 0.0
    assert figures["utilisation"] == {"ems": 0.25, "fire": 0.25}
    assert figures["rescues"]["not_reached_before_1_5m"] == 1  # 1.5 m at 40 s, the crew there at 50 s


def test_pair_times_are_the_same_searched_from_either_side() -> None:
    net = GRAPH.now(DRY, OPEN)
    few_origins = net.pair_times(np.array([0]), np.array([1, 2, 3, 3]))  # forward from one origin
    many_origins = net.pair_times(np.array([0, 1, 2]), np.array([3]))  # backward from one destination
    assert few_origins.tolist() == [[100.0, 130.0, 160.0, 160.0]]
    assert many_origins[:, 0].tolist() == [160.0, 60.0, 30.0]


def test_a_job_at_the_crews_own_post_ends_its_busy_spell_there() -> None:
    roster = Roster()
    crew = Crew(roster, 0, "fire", "station", home=5)
    crew.dispatch(incident=0, now_s=0.0, depart_s=140.0, arrive_s=140.0, done_s=1640.0)
    crew.finish(5, 1640.0)  # the scene is the station: no drive back
    assert crew.busy_s == 1640.0 and math.isnan(crew.busy_since)
    crew.dispatch(incident=1, now_s=2000.0, depart_s=2140.0, arrive_s=2500.0, done_s=3100.0)
    crew.finish(9, 3100.0)  # away from the post: busy until it is back
    assert crew.busy_s == 1640.0 and crew.busy_since == 2000.0
