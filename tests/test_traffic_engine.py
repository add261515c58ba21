"""Traffic in the engine: an OD demand from the scenario, link states from the other phases, series, trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from twin.city.build import City
from twin.errors import ScenarioError
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext
from twin.traffic.engine import TrafficPhase

DRILL_TRIPS = ROOT / "scenarios" / "andorra-evacuation-drill-trips.csv"
CLOSE_BRIDGES = {"kind": "close_link", "at": "30min", "target": {"bridges_over": "valira"}}


def _spec(tmp_path: Path, trips: pd.DataFrame, **changes: object) -> Scenario:
    trips.to_csv(tmp_path / "trips.csv", index=False)
    data: dict[str, object] = {
        "name": "traffic-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T09:00",
        "duration": "1h",
        "step": "60s",
        "seed": 4,
        "traffic": {"demand": "trips.csv"},
    }
    data.update(changes)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    return load_scenario(tmp_path / "s.yaml")


def _traffic(model: CityModel) -> TrafficPhase:
    return next(c for c in model.phases["traffic"] if isinstance(c, TrafficPhase))


def test_the_drill_conserves_vehicles_and_writes_its_trips(andorra_city: City, tmp_path: Path) -> None:
    spec = _spec(tmp_path, pd.read_csv(DRILL_TRIPS), events=[CLOSE_BRIDGES], duration="75min")
    model = CityModel(andorra_city, spec)
    model.run()
    series = model.recorder.timeseries()
    trips = _traffic(model).trips()
    departed_by = np.array([(trips["departure_s"] < t).sum() for t in series["t_s"]])  # due by the step before
    total = series["vehicles_on_network"] + series["vehicles_arrived"] + series["vehicles_stranded"]
    # every departed vehicle is on the network, arrived or stranded at every record (none abandoned here)
    np.testing.assert_array_equal(total.to_numpy(), departed_by)
    assert series["vehicles_arrived"].iloc[-1] > 0.5 * len(trips)
    # the bridges close at 30 min: vehicles on the wrong bank with no other way are stranded, not lost
    assert series.loc[series["t_s"] < 1800, "vehicles_stranded"].max() == 0
    assert series["vehicles_stranded"].iloc[-1] > 0


def test_closures_from_events_reach_the_traffic(andorra_city: City, tmp_path: Path) -> None:
    links = andorra_city.drive.links
    nodes = andorra_city.drive.nodes["osm_id"].to_numpy()
    link = int(np.flatnonzero(links["name"].str.contains("Meritxell", na=False).to_numpy())[0])
    src, dst = int(links["src"].iloc[link]), int(links["dst"].iloc[link])
    trips = pd.DataFrame({"origin": [nodes[src]] * 5, "destination": [nodes[dst]] * 5, "departure": [0] * 5})
    close = {"kind": "close_link", "at": "1min", "target": {"links": [link]}}
    model = CityModel(andorra_city, _spec(tmp_path, trips, events=[close], duration="30min"))
    model.run()
    result = _traffic(model).trips()
    assert (result["status"].isin(["arrived", "stranded"])).all()
    assert _traffic(model).network.closed[link]  # the phase applied the engine's closure


def test_same_seed_same_trips(andorra_city: City, tmp_path: Path) -> None:
    spec = _spec(tmp_path, pd.read_csv(DRILL_TRIPS), events=[CLOSE_BRIDGES], duration="40min")
    first, second = CityModel(andorra_city, spec), CityModel(andorra_city, spec)
    first.run()
    second.run()
    pd.testing.assert_frame_equal(_traffic(first).trips(), _traffic(second).trips())


def test_demand_problems_are_reported_with_rows(andorra_city: City, tmp_path: Path) -> None:
    bad = pd.DataFrame({"origin": [1, "x"], "destination": [2, 3], "departure": ["soon", 10]})
    with pytest.raises(ScenarioError) as info:
        _spec(tmp_path, bad)
    text = "\n".join(info.value.problems)
    assert "column 'origin'" in text and "rows 3" in text and "column 'departure'" in text and "rows 2" in text
    off_map = pd.DataFrame({"origin": [123], "destination": [456], "departure": [0]})
    with pytest.raises(ScenarioError, match="not junctions of the drivable network"):
        CityModel(andorra_city, _spec(tmp_path, off_map))


def test_a_run_with_traffic_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _spec(tmp_path, pd.read_csv(DRILL_TRIPS), events=[CLOSE_BRIDGES], duration="50min")
    first = CityModel(andorra_city, spec)
    first.run(until_s=25 * 60)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    assert first.recorder.timeseries().equals(restored.recorder.timeseries())
    pd.testing.assert_frame_equal(_traffic(first).trips(), _traffic(restored).trips())


def test_gridlocked_vehicles_are_counted_and_abandoned_with_a_log(andorra_city: City, tmp_path: Path) -> None:
    links = andorra_city.drive.links
    nodes = andorra_city.drive.nodes["osm_id"].to_numpy()
    link = int(np.flatnonzero(links["name"].str.contains("Meritxell", na=False).to_numpy())[0])
    src, dst = int(links["src"].iloc[link]), int(links["dst"].iloc[link])
    trips = pd.DataFrame({"origin": [nodes[src]] * 40, "destination": [nodes[dst]] * 40, "departure": [0] * 40})
    spec = _spec(
        tmp_path,
        trips,
        duration="40min",
        traffic={"demand": "trips.csv", "gridlock": "10min", "abandon_gridlocked": True},
    )
    model = CityModel(andorra_city, spec)

    class Blockade(Phase):  # a user's phase: the link lets nothing out (capacity 0), without closing it
        name = "blockade"
        order = "crews"  # after lifelines (which writes the factors), before traffic

        def step(self, ctx: StepContext, dt_s: float) -> None:
            ctx.state.link_capacity_factor[link] = 0.0

    model.add_phase(Blockade())
    phase = _traffic(model)
    model.run()
    assert (phase.trips()["status"] == "abandoned").sum() == 40  # held 10 min at the link's end, then removed
    events = model.recorder.events_table()
    abandoned = events[events["kind"] == "vehicles_abandoned"]
    assert len(abandoned) and set(abandoned["cause"]) == {"gridlock"}
    assert (phase.trips()["status"] == "abandoned").sum() == sum(
        int(d.split('"vehicles": ')[1].split(",")[0].rstrip("}")) for d in abandoned["details"]
    )


def test_the_route_options_and_the_squeeze_reach_the_traffic(andorra_city: City, tmp_path: Path) -> None:
    nodes = andorra_city.drive.nodes["osm_id"].to_numpy()
    trips = pd.DataFrame({"origin": [nodes[0]] * 3, "destination": [nodes[5]] * 3, "departure": [0, 10, 20]})
    traffic = {
        "demand": "trips.csv",
        "route_cost": "mean_speed",
        "route_memory": 0.0,
        "squeeze_after": "2min",
        "rechoice_every": "1min",
    }
    options = _traffic(CityModel(andorra_city, _spec(tmp_path, trips, traffic=traffic))).sim.options
    assert (options.route_cost, options.route_memory, options.squeeze_after_s) == ("mean_speed", 0.0, 120.0)
    assert options.rechoice_every_s == 60.0
    with pytest.raises(ScenarioError) as error:
        _spec(tmp_path, trips, traffic={**traffic, "route_cost": "fastest", "route_memory": 1.5})
    text = str(error.value)
    assert "route_cost" in text and "route_memory" in text  # both problems at once


def test_held_drivers_rechoose_every_minute_unless_the_scenario_says_never(tmp_path: Path) -> None:
    """``rechoice_every`` is 60 s when absent (TrafficOptions' default), ``never`` (any case) keeps the fixed
    choice, and an empty value, a word, zero and a negative interval are each refused, all at once, with the
    way to write one."""
    trips = pd.DataFrame({"origin": [1], "destination": [2], "departure": [0]})
    default = _spec(tmp_path, trips).traffic
    never = _spec(tmp_path, trips, traffic={"demand": "trips.csv", "rechoice_every": "Never"}).traffic
    assert default is not None and default.options().rechoice_every_s == 60.0
    assert never is not None and never.options().rechoice_every_s is None
    for bad in (None, "sometimes", 0, "-1min"):
        with pytest.raises(ScenarioError) as error:
            _spec(tmp_path, trips, traffic={"demand": "trips.csv", "rechoice_every": bad})
        text = str(error.value)
        assert "traffic.rechoice_every" in text and "`never` or a duration > 0" in text and "Traceback" not in text
    with pytest.raises(ScenarioError) as error:
        _spec(tmp_path, trips, traffic={"demand": "trips.csv", "rechoice_every": "often", "route_memory": 1.5})
    assert "rechoice_every" in str(error.value) and "route_memory" in str(error.value)  # both problems at once
