"""Transport to hospital: an EMS crew carries its patient from the scene to the nearest working hospital and hands
the patient over there; times against shortest paths computed by hand (networkx), with and without traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.test_crews import _crews, _scenario, _school_nodes, _times_from
from twin.city.build import City
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

ON_SCENE = 900.0
HANDOVER = 1800.0
ONLY_EMS: dict[str, Any] = {
    "per_station": {"fire_station": 0, "hospital": 1, "police": 0},
    "depot_crews": {"power": 0, "water": 0, "telecom": 0, "road": 0},
    "medical": {"rate_per_1000_day": 0, "at_hospital": "30min"},
    "dispatch_delay": {"ems": 100},
}


class MedicalCall(Phase):
    """One medical call at ``node`` at ``t_s`` with a fixed time on scene."""

    name = "test_medical"
    order = "residents"

    def __init__(self, t_s: float, node: int) -> None:
        self.t_s, self.node = t_s, node

    def step(self, ctx: StepContext, dt_s: float) -> None:
        if ctx.clock_s < self.t_s <= ctx.clock_s + dt_s:
            ctx.services["crews"].report("medical", np.array([self.node]), self.t_s, np.array([ON_SCENE]))


@pytest.mark.parametrize("traffic", [False, True])
def test_the_patient_goes_to_the_nearest_hospital_and_is_handed_over(
    andorra_city: City, tmp_path: Path, traffic: bool
) -> None:
    city = andorra_city
    hospitals = np.flatnonzero(city.facilities["kind"].to_numpy() == "hospital")
    nodes = city.facilities["drive_node"].to_numpy()[hospitals]
    scene = _school_nodes(city)[3]
    from_scene = _times_from(city, scene)
    nearest = int(hospitals[np.argmin([from_scene.get(int(n), np.inf) for n in nodes])])
    extra: dict[str, Any] = {"traffic": {}} if traffic else {}
    model = CityModel(city, _scenario(tmp_path, ONLY_EMS, duration="3h", **extra))
    model.add_phase(MedicalCall(60.0, scene))
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    base = int(_crews(model).crews[0].home)
    travel = _times_from(city, base)[scene] / 1.2  # an ambulance at 1.2 x the limit on empty roads
    to_hospital = from_scene[int(city.facilities["drive_node"].iloc[nearest])] / 1.2
    assert row["arrived_s"] == pytest.approx(60.0 + 100.0 + travel, rel=1e-9)
    assert row["hospital"] == nearest
    assert row["at_hospital_s"] == pytest.approx(row["arrived_s"] + ON_SCENE + to_hospital, rel=1e-9)
    assert row["done_s"] == pytest.approx(row["at_hospital_s"] + HANDOVER, rel=1e-9)
    assert row["status"] == "done"
    crew = _crews(model).crews[0]
    assert crew.jobs_done == 1
    notes = " ".join(model.assumptions())
    assert "carried by the EMS crew to the nearest working hospital" in notes and "handed over in 30 min" in notes


def test_without_a_working_hospital_the_patient_is_treated_on_scene(andorra_city: City, tmp_path: Path) -> None:
    city = andorra_city
    hospitals = np.flatnonzero(city.facilities["kind"].to_numpy() == "hospital")
    events = [{"kind": "fail_component", "at": 0, "target": {"components": hospitals.tolist()}}]
    model = CityModel(city, _scenario(tmp_path, ONLY_EMS, duration="2h", events=events))
    model.add_phase(MedicalCall(60.0, _school_nodes(city)[3]))
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert row["status"] == "done" and row["hospital"] == -1
    assert row["done_s"] == pytest.approx(row["arrived_s"] + ON_SCENE, rel=1e-12)
    assert "treated_on_scene" in model.recorder.events_table()["kind"].tolist()


def test_transport_can_be_switched_off(andorra_city: City, tmp_path: Path) -> None:
    crews = {**ONLY_EMS, "medical": {"rate_per_1000_day": 0, "transport": False}}
    model = CityModel(andorra_city, _scenario(tmp_path, crews, duration="2h"))
    model.add_phase(MedicalCall(60.0, _school_nodes(andorra_city)[3]))
    model.run()
    row = _crews(model).incidents_frame().iloc[0]
    assert row["hospital"] == -1 and row["done_s"] == pytest.approx(row["arrived_s"] + ON_SCENE, rel=1e-12)
    assert "patients not carried to hospital" in " ".join(model.assumptions())
