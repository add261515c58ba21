"""Residents in the engine: conservation, safety, determinism, checkpoints and errors over whole runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from tests.test_residents import _scenario
from twin.city.build import City
from twin.errors import ScenarioError
from twin.residents.people import ELSEWHERE, WALKING
from twin.residents.phase import ResidentsPhase
from twin.sim.model import CityModel


def test_bad_warning_areas_are_reported_in_the_users_words(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, warnings=[{"at": "0s", "area": {"zones": ["Ordino", "Encamp", "Canillo"]}}])
    with pytest.raises(ScenarioError) as info:
        CityModel(andorra_city, spec)
    message = str(info.value)
    assert "warnings[0].area.zones" in message and "'Ordino', 'Canillo'" in message and "Escaldes" in message
    with pytest.raises(ScenarioError) as info:
        _scenario(tmp_path, warnings=[{"at": "0s", "when_water_above_m": 0.5}, {"area": {}}])
    assert "exactly one of at" in str(info.value) and "warnings" in str(info.value)


# --- whole runs ----------------------------------------------------------------------------------------------------


FLOOD = {
    "type": "river_flood",
    "rivers": ["valira"],
    "hydrograph": {
        "peak_stage_m": 4.5,
        "time_to_peak": "2h",
        "peak_duration": "2h",
        "duration": "6h",
        "shape": "trapezoidal",
    },
    "channel_depth_m": 3.0,
}
WARN = {"at": "30min", "area": {"forecast": {"stage_m": 1.5, "depth_above_m": 0.1}}}


def test_people_are_conserved_every_step_and_runs_are_deterministic(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, hazards=[FLOOD], warnings=[WARN], duration="4h")
    tables = []
    for _ in range(2):
        model = CityModel(andorra_city, spec)
        phase = model.phases["residents"][0]
        assert isinstance(phase, ResidentsPhase)
        while not model.finished:
            model.step()
            counts = phase.people.counts()
            assert counts.sum() == andorra_city.population
            walking = np.flatnonzero((phase.people.status == WALKING) & (phase.people.nxt >= 0))
            edge = phase.graph.edge_of(phase.people.node[walking], phase.people.nxt[walking])
            unsafe = phase.view.unsafe  # the worst ARR class (depth and velocity) of each link's cells now
            assert np.array_equal(unsafe[0] & ~unsafe[1], np.zeros_like(unsafe[0]))  # H4+ is H3+ too
            ok = ~unsafe[phase.safety[walking], edge] | phase.people.trapped[walking]
            assert ok.all()
        tables.append(phase.table())
        series = model.recorder.timeseries()
    assert tables[0].equals(tables[1])
    assert series["people_warned"].iloc[-1] > 1000 and series["people_elsewhere"].iloc[-1] > 500
    # Walkers who reached a place to stay after the order stand beyond the documented distance from its area.
    assert isinstance(phase, ResidentsPhase)
    p = phase.people
    walked = (p.status == ELSEWHERE) & (p.mode == 0) & (p.arrived_s > phase.issued_s[0])
    area = phase.walk_xy[phase.areas.mask[0]]
    distance = cKDTree(area).query(phase.walk_xy[p.node[walked]])[0]
    assert walked.sum() > 100 and distance.min() > phase.options.elsewhere_beyond_m == 250.0
    assert series["people_exposed"].max() > 0


def test_residents_checkpoint_restores_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, hazards=[FLOOD], warnings=[WARN], duration="3h")
    whole = CityModel(andorra_city, spec)
    whole.run()
    half = CityModel(andorra_city, spec)
    half.run(until_s=5400)
    half.checkpoint(tmp_path / "c.npz")
    restored = CityModel.restore(tmp_path / "c.npz", andorra_city, spec)
    restored.run()
    assert restored.phases["residents"][0].table().equals(whole.phases["residents"][0].table())  # type: ignore[attr-defined]


def test_the_run_folder_gets_people_parquet_and_residents_figures(andorra_city: City, tmp_path: Path) -> None:
    from twin.run import run_scenario

    spec = _scenario(tmp_path, hazards=[FLOOD], warnings=[WARN], duration="3h")
    results = run_scenario(spec, out=tmp_path / "run")
    people = pd.read_parquet(tmp_path / "run" / "people.parquet")
    assert len(people) == andorra_city.population and people["person"].is_unique
    expected = {"group", "home", "at_start", "warned_s", "warned_by", "decided_s", "left_s", "arrived_s", "vehicle"}
    assert expected | {"destination", "exposure_h", "without_power_h", "without_health_h"} <= set(people.columns)
    figures = json.loads((tmp_path / "run" / "residents.json").read_text())
    assert set(figures["by_group"]) == {"child", "adult", "elderly", "impaired"}
    assert figures["left"] == int(people["left_s"].notna().sum()) > 0
    assert figures["exposure_theil"]["total"] is None or figures["exposure_theil"]["total"] >= 0
    assert "Q_shelter" in results.timeseries and "people_driving" in results.timeseries
    trips = pd.read_parquet(tmp_path / "run" / "trips.parquet")  # the residents' cars, in the traffic model
    drove = people[people["mode"] == "car"]
    assert len(drove) and set(drove["vehicle"]) <= set(trips["vehicle"])
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "people.parquet" in json.dumps(manifest) and "residents.json" in json.dumps(manifest)
