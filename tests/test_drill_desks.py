"""The desks' own commands as engine events: warnings (shelters desk), shelters opened and closed, and repairs
moved to the front of the crews' queue (power and water desks); each checked per field, each against an answer
computed by hand from the model's own curves and draws."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT
from twin.city.build import City
from twin.crews.phase import CrewsPhase
from twin.drill.commands import CommandError, validate_command
from twin.drill.roles import DESK_COMMANDS, DESKS, Role
from twin.residents.people import ELSEWHERE, HOME, SHELTER, WALKING
from twin.residents.phase import ResidentsPhase
from twin.residents.warnings import CELL, CURVES, logistic_share
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

DESK_NAMES = tuple(DESKS)


def _scenario(tmp_path: Path, **changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "desks-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-12T03:00",  # a Sunday night: everyone at home, the night reach of each channel
        "duration": "2h",
        "step": "5min",
        "seed": 7,
    }
    data.update(changes)
    path = tmp_path / f"s{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def _residents(model: CityModel) -> ResidentsPhase:
    phase = model.phases["residents"][0]
    assert isinstance(phase, ResidentsPhase)
    return phase


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"command": "send_warning", "zones": ["Ordino"], "channels": ["carrier_pigeon"]}, ["zones", "channels"]),
        ({"command": "send_warning", "channels": "siren", "evacuate": "yes"}, ["channels", "evacuate"]),
        ({"command": "send_warning", "channels": ["door_to_door"]}, ["channels"]),
        ({"command": "open_shelter", "capacity": 0}, ["capacity", "building", "shelter"]),
        (
            {"command": "open_shelter", "building": 10**7, "shelter": "Pavello Joan Alay"},
            ["building"] * 2 + ["shelter"],
        ),
        ({"command": "open_shelter", "shelter": "Pavello Joan Alay", "capacity": 5}, ["capacity"]),
        ({"command": "close_shelter", "shelter": "The Ritz"}, ["shelter"]),
        ({"command": "prioritise_repair", "target": {"name": "No such thing"}}, ["target"]),
    ],
)
def test_the_desks_commands_are_checked_per_field(andorra_city: City, payload: dict, fields: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        validate_command(payload, andorra_city, DESK_NAMES)
    assert sorted(name for name, _ in caught.value.problems) == sorted(fields), caught.value.problems
    assert all(message for _, message in caught.value.problems)


def test_the_desks_that_send_them() -> None:
    assert {"open_shelter", "close_shelter", "send_warning"} <= set(DESK_COMMANDS["shelters"])
    assert "prioritise_repair" in DESK_COMMANDS["power"] and "prioritise_repair" in DESK_COMMANDS["water"]
    assert "send_warning" not in DESK_COMMANDS["police"] and "prioritise_repair" not in DESK_COMMANDS["health"]


def test_the_power_desk_moves_only_power_repairs(andorra_city: City, tmp_path: Path) -> None:
    from twin.drill.session import DrillSession, DrillSetup, RefusedError

    scenario = ROOT / "scenarios" / "andorra-flood-drill.yaml"
    session = DrillSession.start(tmp_path / "d", DrillSetup(scenario), city=andorra_city)
    power = Role("power", "player", "Power", DESK_COMMANDS["power"])
    with pytest.raises(RefusedError, match="water"):
        session.submit(power, {"command": "prioritise_repair", "target": {"groups": ["power", "water"]}})
    ack = session.submit(power, {"command": "prioritise_repair", "target": {"groups": ["power"], "kinds": ["plant"]}})
    assert ack["ok"] and session.entries[-1]["payload"]["target"] == {"groups": ["power"], "kinds": ["plant"]}
    session.journal.close()


# --- warnings --------------------------------------------------------------------------------------------------


def test_a_warning_sent_by_command_reaches_its_zone_along_the_channels_curve(
    andorra_city: City, tmp_path: Path
) -> None:
    """Unwarned people stay at home, so after t seconds the warned are exactly those at home in the zone whose
    cell site works and whose draw u is below P(t) = R (L(t) - L(0)) / (1 - L(0)) of cell broadcast at night."""
    model = CityModel(andorra_city, _scenario(tmp_path, residents={}))
    phase = _residents(model)
    model.inject("send_warning", zones=["Encamp"], channels=["cell_broadcast"], evacuate=False, text="Stay in")
    start_node = phase.people.node.copy()
    present = phase.people.status != ELSEWHERE
    signal = phase.reader.served(model.state, 0.0)["telecom"][start_node]
    encamp = [a.name for a in andorra_city.config.population.areas].index("Encamp")
    in_zone = phase.places.area[start_node] == encamp
    curve = CURVES["cell_broadcast"]
    for _ in range(6):  # to 30 min, checked at every step
        model.step()
        share = float(logistic_share(model.clock_s, curve.reach_night, curve.half_s))  # sent at t = 0
        expected = present & in_zone & signal & (phase.u_channel[CELL] < share)
        warned = np.isfinite(phase.people.warned_s)
        assert np.array_equal(warned, expected), model.clock_s
    assert 0.3 * (present & in_zone).sum() < warned.sum() < (present & in_zone).sum()
    assert (phase.people.warned_by[warned] == CELL).all() and not phase.people.ordered.any()
    kinds = [row[1] for row in model.recorder.events]
    assert "send_warning" in kinds and "warning" in kinds  # the command, then the warning it sent


def test_a_warning_to_an_unknown_zone_is_logged_as_refused(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, residents={}))
    model.inject("send_warning", zones=["Ordino"], channels=["siren"])
    model.step()
    refused = [row for row in model.recorder.events if row[1] == "send_warning"]
    assert len(refused) == 1 and "Ordino" in refused[0][4] and "refused" in refused[0][4]
    assert not np.isfinite(_residents(model).people.warned_s).any()


# --- shelters --------------------------------------------------------------------------------------------------


def _shelter_drill(model: CityModel, building: int) -> None:
    """Close every shelter of the map, open one at ``building`` with 40 places, order Encamp out."""
    phase = _residents(model)
    for name in phase.shelters.name.tolist():
        model.inject("close_shelter", shelter=name)
    model.inject("open_shelter", building=building, capacity=40, name="Drill shelter")
    model.inject("send_warning", zones=["Encamp"], channels=["cell_broadcast", "word_of_mouth"], evacuate=True)


def _encamp_building(city: City, phase: ResidentsPhase) -> int:
    encamp = [a.name for a in city.config.population.areas].index("Encamp")
    xy = city.buildings[["x", "y"]].to_numpy(float)
    return int(np.argmin(((xy - phase.zone_xy[encamp]) ** 2).sum(axis=1)))


@pytest.mark.slow
def test_an_opened_shelter_takes_the_evacuees_and_a_closed_one_takes_none(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, residents={"shelter_share": 1.0})
    model = CityModel(andorra_city, spec)
    phase = _residents(model)
    old = phase.shelters.count
    building = _encamp_building(andorra_city, phase)
    _shelter_drill(model, building)
    model.run()
    assert phase.shelters.count == old + 1 and phase.shelters.name[old] == "Drill shelter"
    assert not phase.shelter_open()[:old].any() and phase.shelter_open()[old]
    headed = phase.people.target[~np.isnan(phase.people.left_s)]
    assert (headed == old).sum() == 40  # all 40 places taken, nobody sent to a closed shelter
    assert not np.isin(headed, np.arange(old)).any()
    inside = phase.people.status == SHELTER
    assert 0 < inside.sum() <= 40 and (phase.people.target[inside] == old).all()
    assert phase.room[old] == 0
    table = phase.table()
    assert (table["destination"] == "Drill shelter").sum() == 40
    assert (table["destination"] == "elsewhere").sum() > 0  # the rest, turned away, went out of the model


@pytest.mark.slow
def test_a_checkpoint_keeps_the_shelters_and_warnings_of_commands(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, residents={"shelter_share": 1.0})
    whole = CityModel(andorra_city, spec)
    building = _encamp_building(andorra_city, _residents(whole))
    _shelter_drill(whole, building)
    whole.run(until_s=1800)
    whole.checkpoint(tmp_path / "c.npz")
    whole.run()
    resumed = CityModel.restore(tmp_path / "c.npz", andorra_city, spec)
    resumed.run()
    a, b = _residents(whole), _residents(resumed)
    assert b.shelters.name.tolist() == a.shelters.name.tolist() and len(b.warnings) == len(a.warnings)
    assert a.table().equals(b.table())
    assert np.array_equal(a.room, b.room) and np.array_equal(a.shelter_open(), b.shelter_open())


def test_a_shelter_is_reopened_with_the_places_it_had_left(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, residents={}))
    phase = _residents(model)
    name = str(phase.shelters.name[0])
    room = int(phase.room[0])
    model.inject("close_shelter", shelter=name)
    model.step()
    assert phase.room[0] == 0 and not phase.shelter_open()[0]
    model.inject("open_shelter", shelter=name)
    model.inject("open_shelter", shelter=name)  # twice: the second is refused
    model.step()
    assert phase.room[0] == room and phase.shelter_open()[0]
    refused = [row for row in model.recorder.events if row[1] == "open_shelter" and "refused" in row[4]]
    assert len(refused) == 1 and "open already" in refused[0][4]


# --- repair priorities -----------------------------------------------------------------------------------------

REPAIRS: dict[str, Any] = {
    "per_station": {"fire_station": 0, "hospital": 0, "police": 0},
    "depot_crews": {"power": 1, "water": 0, "telecom": 0, "road": 0},
    "medical": {"rate_per_1000_day": 0},
    "dispatch_delay": {"power": 300},
    "repair": {"substation": {"mean": "1h", "sd": 0}, "plant": {"mean": "1h", "sd": 0}},
    "policy": "critical_first",
}


def _repairs(city: City, tmp_path: Path, prioritise: int | None) -> CrewsPhase:
    sources = [int(s) for s in city.lifelines.power_sources[:3]]
    events = [{"kind": "fail_component", "at": 0, "target": {"components": sources}}]
    model = CityModel(city, _scenario(tmp_path, crews=REPAIRS, events=events, duration="6h", step="60s"))
    if prioritise is not None:
        model.inject("prioritise_repair", {"components": [prioritise]})
    model.run()
    phase = model.phases["crews"][0]
    assert isinstance(phase, CrewsPhase)
    return phase


def test_a_prioritised_repair_goes_to_the_front_of_the_queue_whatever_the_policy(
    andorra_city: City, tmp_path: Path
) -> None:
    """One power crew, three sources failed at once: without the command the policy's order; with it, the
    chosen component first (its crew leaves at the first decision, 60 s), then the policy's order again."""
    sources = [int(s) for s in andorra_city.lifelines.power_sources[:3]]
    plain = _repairs(andorra_city, tmp_path, None).incidents_frame().sort_values("assigned_s")
    last = int(plain["target"].iloc[-1])  # the policy's last repair
    phase = _repairs(andorra_city, tmp_path, last)
    moved = phase.incidents_frame().sort_values("assigned_s")
    assert sorted(moved["target"].tolist()) == sorted(sources) and (moved["status"] == "done").all()
    assert int(moved["target"].iloc[0]) == last and moved["assigned_s"].iloc[0] == 60.0
    rest = [t for t in plain["target"].tolist() if t != last]
    assert [int(t) for t in moved["target"].iloc[1:]] == rest  # the others keep the policy's order
    assert phase.first[last] == 0  # repaired: back in the policy's order if it fails again


def test_closing_a_shelter_sends_its_people_to_the_next_with_room(andorra_city: City, tmp_path: Path) -> None:
    """30 people of Encamp sit in its designated shelter k (some came by car) when k closes with 5 free places;
    the next two shelters of Encamp's order have 12 and 8 places, the others none. By the departure rule
    (places in person order, each zone's order of shelters), the first 12 go to the next, the following 8 to the
    one after, the last 10 elsewhere; k keeps 5 + 30 places for when it opens again."""
    model = CityModel(andorra_city, _scenario(tmp_path, residents={}))
    phase = _residents(model)
    p, pop, shelters = phase.people, phase.population, phase.shelters
    encamp = [a.name for a in andorra_city.config.population.areas].index("Encamp")
    k, j, m = (int(x) for x in shelters.preference[encamp][:3])
    inside = np.flatnonzero((phase.home_area == encamp) & (p.status == HOME))[:30]
    by_car = pop.car[inside] & (np.arange(30) % 2 == 0)
    assert 0 < by_car.sum() < 30
    p.status[inside], p.target[inside], p.node[inside] = SHELTER, k, shelters.node[k]
    p.mode[inside] = np.where(by_car, 1, 0)
    for times in (p.decided_s, p.depart_s, p.left_s, p.arrived_s):
        times[inside] = 0.0
    phase.room[:] = 0
    phase.room[[k, j, m]] = (5, 12, 8)
    model.inject("close_shelter", shelter=str(shelters.name[k]))
    model.step()
    expected = np.repeat([j, m, shelters.count], [12, 8, 10])
    assert np.array_equal(p.target[inside], expected)
    assert phase.changes.held[k] == 5 + 30 and phase.room[j] == phase.room[m] == 0
    assert not ((p.status == SHELTER) & (p.target == k)).any()
    assert (p.mode[inside[~by_car]] == 0).all()  # who walked in walks on
    assert (p.mode[inside[by_car & (expected < shelters.count)]] == 1).all()  # who came by car drives on
    moved = [row for row in model.recorder.events if row[1] == "leave_shelter"]
    assert len(moved) == 1 and moved[0][2] == str(shelters.name[k])
    details = json.loads(moved[0][4])
    names = shelters.name.tolist()
    assert details["to"] == {names[j]: 12, names[m]: 8, "elsewhere": 10} and details["people"] == 30
    assert details["by_car"] + details["on_foot"] == 30
    model.run(until_s=3600.0)
    model.run(until_s=3600.0)  # an hour on: the cars have arrived, the walkers are on their way
    status, target = p.status[inside], p.target[inside]
    sheltered = status == SHELTER
    assert (sheltered == (by_car & (expected < shelters.count))).all()
    assert (p.node[inside[sheltered]] == shelters.node[target[sheltered]]).all()
    assert (status[expected == shelters.count] == ELSEWHERE).all()
    assert np.isin(status, (SHELTER, WALKING, ELSEWHERE)).all() and (target == expected).all()  # nobody lost


# --- door to door ----------------------------------------------------------------------------------------------


def test_a_knocked_block_reaches_its_own_people_at_home_not_a_neighbour_on_the_same_footpath() -> None:
    """Homes 0 and 1 share a footpath node but are reached from different streets (blocks 0 and 1); home 2 is
    outside the request. Block 0 knocked: only its people at home hear it."""
    from twin.residents.door import blocks_of, knocked_people

    blocks = blocks_of(np.array([0, 0, 1]), np.array([7, 9, 9]), np.array([2, 1, 1]), zones=np.array([0]))
    assert blocks.drive_node.tolist() == [7, 9] and blocks.home_block.tolist() == [0, 1, -1]
    person_home = np.array([0, 0, 1, 2])
    at_home = np.array([True, False, True, True])
    assert knocked_people(blocks, [0], person_home, at_home).tolist() == [True, False, False, False]
    assert knocked_people(blocks, [], person_home, at_home).tolist() == [False] * 4


def test_door_to_door_warns_the_blocks_the_police_crews_have_finished(andorra_city: City, tmp_path: Path) -> None:
    """Encamp's homes grouped by the drivable node they are reached from: one police incident per block with
    people, on scene people / 600 x 3600 s; an hour on, exactly the people at home in the blocks finished are
    warned, all by door-to-door, and ordered to leave."""
    from twin.crews.incidents import DONE, KINDS
    from twin.residents.door import REF_STRIDE
    from twin.residents.warnings import DOOR

    model = CityModel(andorra_city, _scenario(tmp_path, residents={}, crews={}))
    phase, crews = _residents(model), model.phases["crews"][0]
    assert isinstance(crews, CrewsPhase)
    p, homes = phase.people, andorra_city.homes
    encamp = [a.name for a in andorra_city.config.population.areas].index("Encamp")
    in_encamp = homes["area"].to_numpy() == encamp
    nodes = np.unique(homes["drive_node"].to_numpy()[in_encamp])  # the blocks, by hand
    residents = np.bincount(phase.population.home, minlength=len(homes))
    per_block = np.array([residents[in_encamp & (homes["drive_node"].to_numpy() == n)].sum() for n in nodes])
    at_home = p.status == HOME
    model.inject("door_to_door", zones=["Encamp"], per_crew_h=600, text="Police: leave now")
    model.run(until_s=1800.0)
    model.checkpoint(tmp_path / "half.npz")  # a drill resumed from here knocks on the same doors
    model.run(until_s=3600.0)
    resumed = CityModel.restore(tmp_path / "half.npz", andorra_city, model.spec)
    resumed.run(until_s=3600.0)
    assert _residents(resumed).table().equals(phase.table())
    table = crews.incidents
    police = np.flatnonzero(table.kind == KINDS.index("police"))
    assert np.array_equal(table.node[police], nodes[per_block > 0])
    assert np.allclose(table.work_s[police], per_block[per_block > 0] / 600 * 3600)
    done = police[table.status[police] == DONE]
    assert 0 < len(done) < len(police)  # an hour: some blocks knocked, not all
    knocked = table.ref[done] % REF_STRIDE
    home_block = np.searchsorted(nodes, homes["drive_node"].to_numpy())
    their_block = np.where(in_encamp, home_block, -1)[phase.population.home]
    expected = at_home & np.isin(their_block, knocked)
    warned = np.isfinite(p.warned_s)
    assert np.array_equal(warned, expected)
    assert (p.warned_by[warned] == DOOR).all() and p.ordered[warned].all()


def test_door_to_door_without_crews_is_refused(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path, residents={}))
    model.inject("door_to_door", zones=["Encamp"], per_crew_h=600)
    model.step()
    refused = [row for row in model.recorder.events if row[1] == "door_to_door"]
    assert len(refused) == 1 and "no crews" in refused[0][4]
    with pytest.raises(CommandError) as caught:
        validate_command({"command": "door_to_door", "zones": ["Nowhere"], "per_crew_h": 0}, andorra_city, DESK_NAMES)
    assert sorted(name for name, _ in caught.value.problems) == ["per_crew_h", "zones"]
    assert "door_to_door" in DESK_COMMANDS["police"] and "door_to_door" not in DESK_COMMANDS["power"]
