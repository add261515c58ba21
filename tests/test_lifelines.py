"""Lifelines against exact answers: zones, generators, tanks, the cascade, restoration, signals, real scenarios."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.lifelines.model import Lifelines
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

HOSPITAL = 7  # Hospital de Nostra Senyora de Meritxell: power zone of substation row 96, water zone 1


def _scenario(tmp_path: Path, events: list[dict[str, Any]], **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "lifelines-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "12h",
        "step": "10min",
        "seed": 3,
        "events": events,
    }
    data.update(changes)
    return scenario_of(tmp_path, data, f"s{len(list(tmp_path.iterdir()))}.yaml")


def _fail(row: int, at: str) -> dict[str, object]:
    return {"kind": "fail_component", "at": at, "target": {"components": [row]}}


def _repair(row: int, at: str) -> dict[str, object]:
    return {"kind": "repair_component", "at": at, "target": {"components": [row]}}


def _lifelines(model: CityModel) -> Lifelines:
    return next(c for c in model.phases["lifelines"] if isinstance(c, Lifelines))


def _source_of_zone(city: City, row: int) -> int:
    lifelines = city.lifelines
    zone = lifelines.node_power_zone[city.facilities["drive_node"].iloc[row]]
    return int(lifelines.power_sources[zone])


def _with(
    city: City,
    tank_hours: float | None = None,
    hospital_backup_h: float | None = None,
    hospital_water_h: float | None = None,
) -> City:
    """The City with other tank sizes, hospital generators or water storage (dependencies are data a user can
    change)."""
    config = city.config
    if tank_hours is not None:
        water = config.lifelines.water.model_copy(update={"tank_hours": tank_hours})
        config = config.model_copy(update={"lifelines": config.lifelines.model_copy(update={"water": water})})
    lifelines = city.lifelines
    deps = lifelines.dependencies.copy()
    for needs, hours in (("power", hospital_backup_h), ("water", hospital_water_h)):
        if hours is not None:
            deps.loc[(deps["comp"] == HOSPITAL) & (deps["needs"] == needs), "backup_hours"] = hours
    lifelines = dataclasses.replace(lifelines, dependencies=deps)
    return dataclasses.replace(city, config=config, lifelines=lifelines)


def test_a_substation_cuts_exactly_its_zones_customers(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    population = andorra_city.homes["population"].to_numpy(float)
    home_zone = lifelines.node_power_zone[andorra_city.homes["drive_node"].to_numpy()]
    for zone, source in enumerate(lifelines.power_sources.tolist()):
        model = CityModel(andorra_city, _scenario(tmp_path, [_fail(source, "1h")], duration="2h"))
        model.run()
        series = model.recorder.timeseries().set_index("t_s")["Q_power"]
        assert series.loc[3000.0] == 1.0  # before the failure
        expected = 1 - population[home_zone == zone].sum() / population.sum()
        assert series.loc[3600.0] == pytest.approx(expected, abs=1e-12)  # at the failure step, exactly


def test_hospital_generator_runs_out_after_its_fuel_hours(andorra_city: City, tmp_path: Path) -> None:
    city = _with(andorra_city, hospital_backup_h=4.0)
    source = _source_of_zone(city, HOSPITAL)
    model = CityModel(city, _scenario(tmp_path, [_fail(source, "1h")]))
    model.run()
    events = model.recorder.events_table()
    mine = events[events["details"].str.contains(f'"component": {HOSPITAL}[,}}]', regex=True)]
    assert mine.loc[mine["kind"] == "backup_start", "t_s"].tolist() == [3600.0]
    down = mine[mine["kind"] == "component_down"]
    assert down["t_s"].tolist() == [3600.0 + 4 * 3600.0] and down["cause"].tolist() == ["backup exhausted"]


def test_cascade_power_pump_water_hospital_in_order_and_on_time(andorra_city: City, tmp_path: Path) -> None:
    city = _with(andorra_city, tank_hours=6.0, hospital_water_h=3.0)
    lifelines = city.lifelines
    water_zone = int(lifelines.node_water_zone[city.facilities["drive_node"].iloc[HOSPITAL]])
    pump, tank = int(lifelines.water_pump[water_zone]), int(lifelines.water_tank[water_zone])
    source = _source_of_zone(city, pump)
    assert source != _source_of_zone(city, HOSPITAL)  # the hospital keeps grid power: only water can stop it
    model = CityModel(city, _scenario(tmp_path, [_fail(source, "1h")]))
    model.run()
    events = model.recorder.events_table()
    down = events[events["kind"] == "component_down"]

    def when(row: int) -> float:
        return float(down.loc[down["details"].str.contains(f'"component": {row}[,}}]', regex=True), "t_s"].min())

    assert when(pump) == 3600.0  # loses power with its substation
    assert when(tank) == 3600.0 + 6 * 3600.0  # the 6 h tank runs dry
    assert when(HOSPITAL) == 3600.0 + (6 + 3) * 3600.0  # and the hospital's own 3 h of water after it
    mine = down[down["details"].str.contains(f'"component": {HOSPITAL}[,}}]', regex=True)]
    # "backup exhausted" is for power backups; a hospital whose own water ran out is down for water (a cascade)
    # and its details say how long its store lasted.
    assert mine["cause"].tolist() == ["cascade"]
    details = json.loads(str(mine["details"].iloc[0]))
    assert details["lost"] == "water" and details["own_water_h"] == 3.0
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[10 * 3600.0 - 600, "Q_health"] == 1.0 and series.loc[10 * 3600.0, "Q_health"] < 1.0


def test_restoration_brings_every_service_back(andorra_city: City, tmp_path: Path) -> None:
    city = _with(andorra_city, tank_hours=2.0)
    sources = city.lifelines.power_sources.tolist()
    events = [_fail(s, "1h") for s in sources] + [_repair(s, "6h") for s in sources]
    model = CityModel(city, _scenario(tmp_path, events, duration="8h"))
    model.run()
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[4 * 3600.0, "Q_telecom"] == 1.0  # the sites' 4 h batteries still hold
    during = series.loc[5.5 * 3600.0]
    assert during["Q_power"] == 0.0 and during["Q_water"] < 1.0 and during["Q_telecom"] < 1.0
    assert series.loc[6 * 3600.0, "Q_power"] == 1.0  # power at the repair step
    after = series.loc[6 * 3600.0 + 600]  # the pumps refill the empty tanks during the next step
    assert (after[["Q_power", "Q_water", "Q_telecom", "Q_health"]] == 1.0).all()
    assert model.state.comp_up.all() and not model.state.comp_damaged.any()


def test_unpowered_signals_cut_exactly_their_junctions_capacity(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    zone_source = int(lifelines.power_sources[0])
    model = CityModel(andorra_city, _scenario(tmp_path, [_fail(zone_source, "30min")], duration="1h"))
    model.run()
    links = andorra_city.drive.links
    signal_zone = lifelines.node_power_zone[lifelines.signal_node]
    dark_nodes = lifelines.signal_node[signal_zone == 0]
    assert len(dark_nodes) and len(dark_nodes) < len(lifelines.signal_node)
    expected = np.where(
        links["dst"].isin(dark_nodes).to_numpy(), andorra_city.config.lifelines.signal_capacity_factor, 1.0
    )
    np.testing.assert_array_equal(model.state.link_capacity_factor, expected)


def test_substation_outage_scenario_matches_its_zone(andorra_city: City) -> None:
    spec = load_scenario(ROOT / "scenarios" / "andorra-substation-outage.yaml")
    model = CityModel(andorra_city, spec)
    model.run()
    lifelines = andorra_city.lifelines
    failed = model.recorder.events_table()
    failed_rows = {
        int(r)
        for r in failed.loc[failed["kind"] == "fail_component", "details"]
        .str.extract(r'"component": (\d+)')[0]
        .astype(int)
    }
    zones = [z for z, s in enumerate(lifelines.power_sources.tolist()) if s in failed_rows]
    population = andorra_city.homes["population"].to_numpy(float)
    home_zone = lifelines.node_power_zone[andorra_city.homes["drive_node"].to_numpy()]
    expected = 1 - population[np.isin(home_zone, zones)].sum() / population.sum()
    series = model.recorder.timeseries().set_index("t_s")["Q_power"]
    # 07:00-08:00 the burnt substation's zone only; at 08:00 two working transformers fail too (most critical).
    assert series.loc[5400.0] == pytest.approx(expected, abs=1e-12)
    assert series.min() < expected and series.iloc[-1] > series.min()  # the substation is restored after 6 h
    zones_table = model.recorder.zones_table()
    assert isinstance(zones_table, pd.DataFrame)
    assert set(zones_table.columns) >= {"t_s", "zone", "service", "q", "customers"}


def test_flooded_substation_cascades(andorra_city: City) -> None:
    spec = load_scenario(ROOT / "scenarios" / "andorra-compound.yaml")
    model = CityModel(andorra_city, spec)
    model.run(until_s=12 * 3600)
    state = model.state
    sources = andorra_city.lifelines.power_sources
    flooded = sources[(state.comp_cause[sources] == "flood")]
    assert len(flooded)
    events = model.recorder.events_table()
    assert (events.loc[events["kind"] == "component_down", "cause"] == "cascade").any()
    assert model.recorder.timeseries()["Q_power"].min() < 1.0


def test_lifelines_checkpoint_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    city = _with(andorra_city, tank_hours=3.0)
    spec = _scenario(tmp_path, [_fail(int(city.lifelines.power_sources[1]), "1h")], duration="6h")
    first = CityModel(city, spec)
    first.run(until_s=2 * 3600)
    first.checkpoint(tmp_path / "half.npz")
    first.run()
    restored = CityModel.restore(tmp_path / "half.npz", city, spec)
    restored.run()
    assert first.recorder.timeseries().equals(restored.recorder.timeseries())
    assert first.recorder.events_table().equals(restored.recorder.events_table())


def test_conditions_on_power_fire_when_it_drops(andorra_city: City, tmp_path: Path) -> None:
    source = int(andorra_city.lifelines.power_sources[2])
    alert = {"kind": "message", "when": {"service": "power", "below": 0.9}, "text": "power below 90%"}
    model = CityModel(andorra_city, _scenario(tmp_path, [_fail(source, "1h"), alert], duration="2h"))
    model.run()
    events = model.recorder.events_table()
    assert events.loc[events["kind"] == "message", "t_s"].tolist() == [3600.0 + 600.0]  # the step after


def test_a_tower_on_the_only_supply_path_cuts_the_zones_it_feeds(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    kinds = andorra_city.facilities["kind"].to_numpy(str)
    towers = lifelines.feeds_comp[kinds[lifelines.feeds_comp] == "tower"]
    assert len(towers)
    tower = int(towers[0])
    zones = lifelines.feeds_zone[lifelines.feeds_comp == tower]
    model = CityModel(andorra_city, _scenario(tmp_path, [_fail(tower, "1h")], duration="2h"))
    model.run()
    population = andorra_city.homes["population"].to_numpy(float)
    home_zone = lifelines.node_power_zone[andorra_city.homes["drive_node"].to_numpy()]
    expected = 1 - population[np.isin(home_zone, zones)].sum() / population.sum()
    assert model.recorder.timeseries().set_index("t_s").loc[3600.0, "Q_power"] == pytest.approx(expected, abs=1e-12)
    sources = lifelines.power_sources[zones]
    events = model.recorder.events_table()
    cut = events[(events["kind"] == "component_down") & (events["cause"] == "cascade")]
    assert all(cut["details"].str.contains(f'"component": {s}[,}}]', regex=True).any() for s in sources)
