"""The engine: event timing, conditional events, determinism, checkpoints, Q_access known answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.scenario import Scenario
from twin.sim.access import access_to_care
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext
from twin.sim.state import SimState


def _scenario(tmp_path: Path, **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "2h",
        "step": "60s",
        "seed": 3,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


CLOSE_BRIDGES = {"kind": "close_link", "at": "30min", "target": {"bridges_over": "valira"}}
OPEN_BRIDGES = {"kind": "open_link", "at": "90min", "target": {"bridges_over": "valira"}}


def _run(city: City, spec: Scenario, until_s: float | None = None) -> CityModel:
    model = CityModel(city, spec)
    model.run(until_s=until_s)
    return model


def test_events_fire_in_the_step_that_reaches_their_time(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, events=[CLOSE_BRIDGES, {**OPEN_BRIDGES, "at": "2025-10-14T07:30"}])
    series = _run(andorra_city, spec).recorder.timeseries().set_index("t_s")
    assert series.loc[0.0, "links_closed"] == 0 and series.loc[0.0, "Q_access"] == 1.0
    assert series.loc[1740.0, "links_closed"] == 0
    assert series.loc[1800.0, "links_closed"] > 50  # the bridges over the Valira rivers
    assert series.loc[1800.0, "Q_access"] < 0.9
    assert series.loc[5340.0, "links_closed"] > 0
    assert series.loc[5400.0, "links_closed"] == 0 and series.loc[5400.0, "Q_access"] == 1.0
    assert len(series) == 121  # t = 0 and one row per minute


def test_conditional_event_fires_in_the_next_step_once(andorra_city: City, tmp_path: Path) -> None:
    warning = {"kind": "message", "when": {"service": "access", "below": 0.9}, "text": "access low"}
    spec = _scenario(tmp_path, events=[CLOSE_BRIDGES, warning])
    events = _run(andorra_city, spec).recorder.events_table()
    fired = events[events["kind"] == "message"]
    assert fired["t_s"].tolist() == [1860.0]  # condition seen at 1800 s, fires in the step after
    assert fired["cause"].iloc[0] == "condition"


def test_conditional_event_can_reopen_roads(andorra_city: City, tmp_path: Path) -> None:
    reopen = {
        "kind": "open_link",
        "when": {"service": "access", "below": 0.9},
        "target": {"bridges_over": "valira"},
        "cause": "emergency reopening",
    }
    series = _run(andorra_city, _scenario(tmp_path, events=[CLOSE_BRIDGES, reopen])).recorder.timeseries()
    series = series.set_index("t_s")
    assert series.loc[1800.0, "Q_access"] < 0.9 and series.loc[1860.0, "Q_access"] == 1.0


def test_conditions_on_services_not_measured_are_refused(porto_alegre_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, events=[{"kind": "message", "when": {"service": "power", "below": 0.5}, "text": "x"}])
    spec = spec.model_copy(update={"map": ROOT / "maps" / "porto-alegre"})
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+ events\[0\]: when.service: 'power' is not measured"):
        CityModel(porto_alegre_city, spec)


def test_targets_that_match_nothing_are_all_reported_with_their_line(andorra_city: City, tmp_path: Path) -> None:
    events = [
        {"kind": "close_link", "at": "10min", "target": {"street": "Nonexistent Avenue"}},
        {"kind": "close_link", "at": "10min", "target": {"bridges_over": "Danube"}},
    ]
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, _scenario(tmp_path, events=events))
    message = str(info.value)
    assert "events[0]: target: no drivable street name contains 'Nonexistent Avenue'" in message
    assert "events[1]: target: no river or stream is named like 'Danube'; the map has: " in message
    assert "Riu Valira" in message


def test_inject_closes_links_at_the_next_step(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path))
    model.run(until_s=600)
    model.inject("close_link", target={"bridges_over": "valira"})
    model.run(until_s=660)
    assert model.recorder.latest("links_closed") > 50
    assert model.recorder.events_table()["cause"].tolist() == ["inject"]


def test_same_seed_same_results(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, events=[CLOSE_BRIDGES, OPEN_BRIDGES])
    first, second = _run(andorra_city, spec), _run(andorra_city, spec)
    pd.testing.assert_frame_equal(first.recorder.timeseries(), second.recorder.timeseries())
    pd.testing.assert_frame_equal(first.recorder.events_table(), second.recorder.events_table())


def test_checkpoint_and_restore_end_bit_identical(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(
        tmp_path,
        events=[
            CLOSE_BRIDGES,
            OPEN_BRIDGES,
            {"kind": "message", "when": {"service": "access", "below": 0.9}, "text": "x"},
        ],
    )
    whole = _run(andorra_city, spec)
    half = _run(andorra_city, spec, until_s=3600)
    half.rng.random(3)  # the random states must travel with the checkpoint too
    half.random.random()
    half.checkpoint(tmp_path / "half.npz")
    expected_draw = (half.rng.random(), half.random.random())
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    assert (restored.rng.random(), restored.random.random()) == expected_draw
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    pd.testing.assert_frame_equal(whole.recorder.timeseries(), restored.recorder.timeseries())
    pd.testing.assert_frame_equal(whole.recorder.events_table(), restored.recorder.events_table())
    for name, array in whole.state.arrays().items():
        np.testing.assert_array_equal(array, restored.state.arrays()[name], err_msg=name)


def test_two_processes_give_identical_run_folders(tmp_path: Path) -> None:
    scenario = ROOT / "scenarios" / "andorra-bridge-closures.yaml"
    for name in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "twin.cli",
                "run",
                str(scenario),
                "--out",
                str(tmp_path / name),
                "--quiet",
                "--until",
                "2h",
            ],
            check=True,
            capture_output=True,
        )
    for table in ("timeseries.parquet", "events.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / table), pd.read_parquet(tmp_path / "b" / table))


def test_user_component_runs_in_its_phase(andorra_city: City, tmp_path: Path) -> None:
    class CloseEverythingAtOneHour(Phase):
        name = "test"
        order = "hazards"

        def step(self, ctx: StepContext, dt_s: float) -> None:
            if ctx.clock_s + dt_s >= 3600:
                ctx.state.link_closed_event[:] = True  # the engine notices the closures itself

    model = CityModel(andorra_city, _scenario(tmp_path))
    model.add_phase(CloseEverythingAtOneHour())
    model.run()
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[3540.0, "Q_access"] == 1.0
    # only people whose nearest node is a hospital's node keep access
    assert series.loc[3600.0, "Q_access"] < 0.05


# --- Q_access on a graph with a known answer ---------------------------------------------------------------


def _line_city(andorra_city: City) -> City:
    """Four nodes A-B-C-D, 1,000 m links at 10 m/s (100 s each), both ways; a hospital at A;
    10 residents at B, 20 at C, 30 at D."""
    from dataclasses import replace

    from twin.city.roads import Network

    nodes = pd.DataFrame(
        {"osm_id": [1, 2, 3, 4], "lon": 0.0, "lat": 0.0, "x": [0.0, 1000, 2000, 3000], "y": 0.0, "elevation_m": 0.0}
    )
    src, dst = [0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]
    links = pd.DataFrame({"src": src, "dst": dst, "length_m": 1000.0, "speed_mps": 10.0, "bridge": False})
    homes = pd.DataFrame(
        {
            "building": -1,
            "x": [1000.0, 2000, 3000],
            "y": 0.0,
            "population": [10, 20, 30],
            "area": 0,
            "drive_node": [1, 2, 3],
            "drive_distance_m": 0.0,
            "walk_node": [1, 2, 3],
        }
    )
    facilities = pd.DataFrame({"kind": ["hospital"], "group": ["facility"], "drive_node": [0]})
    network = Network(nodes=nodes, links=links)
    return replace(
        andorra_city,
        drive=network,
        walk=network,
        homes=homes,
        facilities=facilities,
        buildings=andorra_city.buildings.iloc[:0],
    )


@pytest.mark.parametrize(("tau_s", "within"), [(99, 0), (100, 10), (250, 30), (300, 60)])
def test_access_counts_residents_within_tau(andorra_city: City, tau_s: float, within: int) -> None:
    city = _line_city(andorra_city)
    assert access_to_care(city, SimState.normal(city), tau_s).residents_within == within


def test_access_drops_when_a_link_closes_and_slows_with_water(andorra_city: City) -> None:
    city = _line_city(andorra_city)
    state = SimState.normal(city)
    state.link_closed_event[3] = True  # C -> B: C and D are cut from the hospital
    assert access_to_care(city, state, 300).residents_within == 10
    state.link_closed_event[3] = False
    state.link_speed_factor[:] = 0.5  # every link takes 200 s
    result = access_to_care(city, state, 300)
    assert result.residents_within == 10
    np.testing.assert_allclose(result.time_to_care_s[:2], [0, 200])
