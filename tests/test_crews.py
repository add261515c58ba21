"""The crews phase in the engine, on Andorra, against answers computed by hand (shortest paths by networkx, not the
phase's own scipy routing): exact response times, priorities, a road crew opening the way for a repair crew and
the power coming back at the computed time, policies ranked, determinism, checkpoints, drill commands, errors."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import scenario_of
from twin.city.build import City
from twin.crews.phase import CrewsPhase
from twin.crews.policies import greedy_nearest, register_policy
from twin.errors import ScenarioError
from twin.registry import REGISTRY
from twin.scenario import Scenario
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

ROOT = Path(__file__).resolve().parents[1]
STEP = 60.0
FIRE_DELAY = 100.0
WORK = 600.0


def _scenario(tmp_path: Path, crews: dict[str, Any], **changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "crews-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "4h",
        "step": "60s",
        "seed": 5,
        "crews": crews,
    }
    data.update(changes)
    return scenario_of(tmp_path, data, f"s{len(list(tmp_path.iterdir()))}.yaml")


ONLY_FIRE: dict[str, Any] = {
    "per_station": {"fire_station": 1, "hospital": 0, "police": 0},
    "depot_crews": {"power": 0, "water": 0, "telecom": 0, "road": 0},
    "medical": {"rate_per_1000_day": 0},
    "dispatch_delay": {"fire": FIRE_DELAY},
}


class Reports(Phase):
    """A stand-in for the residents phase: reports rescues to the crews' desk at given times."""

    name = "test_reports"
    order = "residents"

    def __init__(self, calls: list[tuple[float, int, int]]) -> None:
        self.calls = calls  # (time, node, priority)

    def step(self, ctx: StepContext, dt_s: float) -> None:
        end = ctx.clock_s + dt_s
        for t_s, node, priority in self.calls:
            if ctx.clock_s < t_s <= end:
                ctx.services["crews"].report("rescue", np.array([node]), t_s, np.array([WORK]), priority=priority)


def _crews(model: CityModel) -> CrewsPhase:
    phase = model.phases["crews"][0]
    assert isinstance(phase, CrewsPhase)
    return phase


def _times_from(city: City, source: int, closed: np.ndarray | None = None) -> dict[int, float]:
    """Shortest free-speed times (s) from ``source`` by networkx, parallel links taking the faster."""
    links = city.drive.links
    graph = nx.DiGraph()
    keep = np.ones(len(links), dtype=bool) if closed is None else ~closed
    for u, v, t in zip(
        links["src"].to_numpy()[keep],
        links["dst"].to_numpy()[keep],
        (links["length_m"] / links["speed_mps"]).to_numpy()[keep],
        strict=True,
    ):
        if not graph.has_edge(u, v) or graph[u][v]["t"] > t:
            graph.add_edge(int(u), int(v), t=float(t))
    return dict(nx.single_source_dijkstra_path_length(graph, source, weight="t"))


def _fire_station_node(city: City) -> int:
    return int(city.facilities.loc[city.facilities["kind"] == "fire_station", "drive_node"].iloc[0])


def _school_nodes(city: City) -> list[int]:
    return [int(n) for n in city.facilities.loc[city.facilities["kind"] == "school", "drive_node"]]


def test_one_incident_one_crew_responds_in_delay_plus_shortest_travel(andorra_city: City, tmp_path: Path) -> None:
    station = _fire_station_node(andorra_city)
    times = _times_from(andorra_city, station)
    place = max((n for n in _school_nodes(andorra_city) if n in times), key=lambda n: times[n])
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE))
    model.add_phase(Reports([(120.0, place, 1)]))
    model.run(until_s=3600)
    row = _crews(model).incidents_frame().iloc[0]
    travel = times[place] / 1.2  # an engine drives at 1.2 x the limit (the traffic model's emergency class)
    assert row["kind"] == "rescue" and row["status"] == "done"
    assert row["travel_s"] == pytest.approx(travel, rel=1e-9)
    assert row["response_s"] == pytest.approx(FIRE_DELAY + travel, rel=1e-9)
    assert row["done_s"] == pytest.approx(120.0 + FIRE_DELAY + travel + WORK, rel=1e-9)
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[120.0, "incidents_open_rescue"] == 1 and series.loc[120.0, "crews_busy_fire"] == 1
    done_step = math.ceil(row["done_s"] / STEP) * STEP
    assert series.loc[done_step, "incidents_open"] == 0


def test_priorities_are_served_in_order(andorra_city: City, tmp_path: Path) -> None:
    schools = _school_nodes(andorra_city)[:3]
    model = CityModel(andorra_city, _scenario(tmp_path, {**ONLY_FIRE, "policy": "priority"}))
    model.add_phase(Reports([(60.0, schools[0], 3), (60.0, schools[1], 1), (60.0, schools[2], 2)]))
    model.run()
    table = _crews(model).incidents_frame()
    assert (table["status"] == "done").all()
    order = table.sort_values("assigned_s")["priority"].tolist()
    assert order == [1, 2, 3]
    first = table.set_index("priority").loc[1]
    assert first["assigned_s"] == 60.0
    # the second is assigned at the end of the step in which the crew finished the first (decisions at step ends)
    assert table.set_index("priority").loc[2, "assigned_s"] == math.ceil(first["done_s"] / STEP) * STEP


class ShortestResponseFirst:
    """The README's user-written policy: serve first the call the crews reach soonest."""

    name = "shortest_response"

    def assign(self, view: Any) -> list[tuple[int, int]]:
        return greedy_nearest(view, np.argsort(view.response_s.min(axis=0), kind="stable"))


@pytest.fixture
def user_policy() -> Iterator[None]:
    with REGISTRY.scoped():
        register_policy(ShortestResponseFirst)
        yield


def _policy_run(city: City, tmp_path: Path, policy: str, near: int, far: int) -> pd.DataFrame:
    model = CityModel(city, _scenario(tmp_path, {**ONLY_FIRE, "policy": policy}))
    model.add_phase(Reports([(60.0, near, 2), (60.0, far, 1)]))  # the near call is reported first
    model.run()
    return _crews(model).incidents_frame().set_index("node")


def test_two_policies_rank_as_expected_and_a_user_policy_runs(
    andorra_city: City, tmp_path: Path, user_policy: None
) -> None:
    station = _fire_station_node(andorra_city)
    times = _times_from(andorra_city, station)
    reachable = sorted((n for n in _school_nodes(andorra_city) if n in times and n != station), key=times.get)
    near, far = reachable[0], reachable[-1]
    nearest = _policy_run(andorra_city, tmp_path, "nearest", near, far)
    priority = _policy_run(andorra_city, tmp_path, "priority", near, far)
    user = _policy_run(andorra_city, tmp_path, "shortest_response", far, near)  # far reported first this time
    # priority classes serve the priority-1 call at once; first come first served makes it wait for the other
    assert priority.loc[far, "response_s"] == pytest.approx(FIRE_DELAY + times[far] / 1.2, rel=1e-9)
    assert priority.loc[far, "response_s"] < nearest.loc[far, "response_s"]
    assert nearest.loc[near, "response_s"] < priority.loc[near, "response_s"]
    assert user.loc[near, "assigned_s"] == 60.0 and user.loc[far, "assigned_s"] > 60.0


class Debris(Phase):
    """Puts debris on every road touching a node in the first step (as the landslide phase would)."""

    name = "test_debris"
    order = "hazards"

    def __init__(self, links: np.ndarray, volume_m3: np.ndarray) -> None:
        self.links, self.volume_m3, self.done = links, volume_m3, False

    def step(self, ctx: StepContext, dt_s: float) -> None:
        if not self.done:
            ctx.state.link_closed_debris[self.links] = True
            ctx.state.link_debris_m3[self.links] = self.volume_m3
            self.done = True


def test_a_road_crew_clears_the_way_then_the_repair_crew_restores_power(andorra_city: City, tmp_path: Path) -> None:
    city = andorra_city
    substation = int(city.lifelines.power_sources[0])
    node = int(city.facilities["drive_node"].iloc[substation])
    links = city.drive.links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    touching = np.flatnonzero((src == node) | (dst == node))
    segments = {tuple(sorted((int(src[i]), int(dst[i])))) for i in touching}
    volumes = 100.0 + 50.0 * np.arange(len(touching))  # different volumes, so one segment opens first
    crews = {
        "per_station": {"fire_station": 0, "hospital": 0, "police": 0},
        "depot_crews": {"power": 1, "water": 0, "telecom": 0, "road": len(segments)},
        "medical": {"rate_per_1000_day": 0},
        "dispatch_delay": {"power": 300, "road": 600},
        "repair": {"substation": {"mean": "1h", "sd": 0}},
        "debris_m3_per_h": 200,
    }
    events = [{"kind": "fail_component", "at": 0, "target": {"components": [substation]}}]
    model = CityModel(city, _scenario(tmp_path, crews, events=events, duration="8h"))
    model.add_phase(Debris(touching, volumes))
    model.run()
    phase = _crews(model)
    table = phase.incidents_frame()
    debris = table[table["kind"] == "debris"]
    assert len(debris) == len(segments) and (debris["status"] == "done").all()
    # by hand: each road crew leaves the depot at 60 + 600 s, drives to the nearer end of its road, clears
    # volume / 200 m3/h; the first road into the node to open lets the power crew through at the end of that step
    road_depot = next(c.home for c in phase.crews if c.kind == "road")
    from_road = _times_from(city, road_depot, closed=np.isin(np.arange(len(links)), touching))
    clear_at = {}
    for row in debris[debris["assigned_s"] == 60.0].itertuples():  # roads cut off behind node: later, skipped
        segment = links.iloc[int(row.target)]
        ends = [int(segment["src"]), int(segment["dst"])]
        travel = min(from_road.get(e, np.inf) for e in ends)
        volume = float(volumes[np.isin(touching, _pair(links, int(row.target)))].max())  # the road's two ways
        clear_at[int(row.target)] = 60.0 + 600.0 + travel + volume / 200.0 * 3600.0
        assert row.done_s == pytest.approx(clear_at[int(row.target)], rel=1e-9)
    into_node = [link for link in clear_at if (dst[_pair(links, link)] == node).any()]  # one-way roads out don't help
    first = min(into_node, key=clear_at.__getitem__)
    dispatched = math.ceil(clear_at[first] / STEP) * STEP
    still_closed = np.isin(np.arange(len(links)), touching) & ~np.isin(np.arange(len(links)), _pair(links, first))
    power_depot = next(c.home for c in phase.crews if c.kind == "power")
    repair = table[table["kind"] == "power"].iloc[0]
    assert repair["assigned_s"] == dispatched  # not before: the substation was cut off
    travel = _times_from(city, power_depot, closed=still_closed)[node]
    done = dispatched + 300.0 + travel + 3600.0
    assert repair["done_s"] == pytest.approx(done, rel=1e-9)
    q = model.recorder.timeseries().set_index("t_s")["Q_power"]
    back = math.ceil(done / STEP) * STEP
    assert q.loc[back - STEP] < 1.0 and q.loc[back] == 1.0
    series = model.recorder.timeseries().iloc[-1]
    assert series["repairs_done"] == 1 and series["links_cleared"] == len(touching)


def _pair(links: pd.DataFrame, link: int) -> np.ndarray:
    """The link and its reverse (the two directions of a road)."""
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    u, v = src[link], dst[link]
    return np.flatnonzero(((src == u) & (dst == v)) | ((src == v) & (dst == u)))


MEDICAL: dict[str, Any] = {"medical": {"rate_per_1000_day": 20}, "policy": "nearest"}


def test_same_seed_same_incidents_and_dispatches(andorra_city: City, tmp_path: Path) -> None:
    frames = []
    for seed in (5, 5, 6):
        model = CityModel(andorra_city, _scenario(tmp_path, MEDICAL, seed=seed))
        model.run()
        frames.append(_crews(model).incidents_frame())
    assert len(frames[0]) > 20
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert not frames[0].equals(frames[2])


def test_checkpoint_restores_crews_and_incidents_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, MEDICAL)
    first = CityModel(andorra_city, spec)
    first.run(until_s=2 * 3600)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    pd.testing.assert_frame_equal(_crews(first).incidents_frame(), _crews(restored).incidents_frame())
    pd.testing.assert_frame_equal(_crews(first).crews_frame(), _crews(restored).crews_frame())
    assert first.recorder.timeseries().equals(restored.recorder.timeseries())
    assert first.recorder.events_table().equals(restored.recorder.events_table())


def test_drill_commands_recall_dispatch_and_refuse(andorra_city: City, tmp_path: Path) -> None:
    schools = _school_nodes(andorra_city)
    model = CityModel(andorra_city, _scenario(tmp_path, ONLY_FIRE))
    model.add_phase(Reports([(60.0, schools[0], 1)]))
    model.run(until_s=120)
    model.inject("recall", crew=0)
    model.inject("set_policy", policy="fastest")
    model.inject("dispatch", crew=7, incident=0)
    model.run(until_s=180)
    table = _crews(model).incidents_frame()
    assert table.loc[0, "assigned_s"] == 180.0  # recalled, then sent again by the policy in the same step
    model.inject("recall", crew=0)
    model.run(until_s=240)
    model.inject("dispatch", crew=0, incident=0)
    model.run()
    table = _crews(model).incidents_frame()
    assert table.loc[0, "assigned_s"] == 300.0 and table.loc[0, "status"] == "done"
    events = model.recorder.events_table()
    refused = events[events["details"].astype(str).str.contains("refused")]
    assert refused["kind"].tolist() == ["set_policy", "dispatch"]
    assert "policy must be one of critical_first, nearest, priority, got 'fastest'" in refused["details"].iloc[0]
    assert "crew must be a crew id from 0 to 0, got 7" in refused["details"].iloc[1]


def test_bad_crews_sections_say_what_and_where(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, {"policy": "fastest", "depots": [{"kind": "power", "at": [2.35, 48.85]}]})
    with pytest.raises(ScenarioError) as error:
        CityModel(andorra_city, spec)
    problems = "\n".join(error.value.problems)
    assert "crews.policy: unknown dispatch policy 'fastest'; known: critical_first, nearest, priority" in problems
    assert "crews.depots[0].at: [2.35, 48.85] is outside Andorra" in problems
    with pytest.raises(ScenarioError) as error:
        _scenario(tmp_path, {"per_station": {"fire_station": -1}, "damage_state": "total"})
    text = str(error.value) + "\n".join(error.value.problems)
    assert "per_station" in text and "damage_state" in text


def test_without_a_crews_section_nothing_changes(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, {}, duration="10min")
    data = spec.model_dump(by_alias=True)
    assert data["crews"] is not None
    plain = {k: v for k, v in yaml.safe_load((tmp_path / "s0.yaml").read_text()).items() if k != "crews"}
    model = CityModel(andorra_city, scenario_of(tmp_path, plain, "plain.yaml"))
    assert model.phases["crews"] == [] and "crews" not in model.services


def test_a_run_folder_holds_the_crews_tables_and_figures(andorra_city: City, tmp_path: Path) -> None:
    from twin.run import run_scenario

    spec = _scenario(tmp_path, {"medical": {"rate_per_1000_day": 50}}, duration="1h")
    run_scenario(spec, out=tmp_path / "run")
    incidents = pd.read_parquet(tmp_path / "run" / "incidents.parquet")
    crews = pd.read_parquet(tmp_path / "run" / "crews.parquet")
    figures = json.loads((tmp_path / "run" / "crews_metrics.json").read_text())
    assert len(incidents) > 0 and set(crews["kind"]) >= {"fire", "ems", "police", "power", "water", "road"}
    assert set(figures) == {"response", "utilisation", "rescues"} and "medical" in figures["response"]
    assert figures["rescues"]["requests"] == 0  # no residents: nobody asks to be rescued
    assert {"request", "people", "deadline_s"} <= set(incidents.columns)
    timeseries = pd.read_parquet(tmp_path / "run" / "timeseries.parquet")
    assert {"incidents_open_medical", "crews_busy_ems", "repairs_done", "links_cleared"} <= set(timeseries.columns)
