"""The map's crews and shelters layers: where each crew is drawn (by hand: the straight line from its node to the
scene at the share of its travel time elapsed), each shelter's people and places, and deltas that carry only the
rows that changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tests.conftest import ROOT
from twin.city.build import City
from twin.crews.agents import ASSIGNED
from twin.crews.phase import CrewsPhase
from twin.drill.commands import COMMANDS
from twin.drill.layers import CREW_STATUS, map_origin
from twin.drill.roles import drill_roles
from twin.drill.session import DrillSession, DrillSetup
from twin.drill.views import ClientView, map_document
from twin.residents.people import SHELTER
from twin.residents.phase import ResidentsPhase

ROLES = {role.name: role for role in drill_roles(tuple(COMMANDS))}


class FakeWall:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _scenario(tmp_path: Path) -> Path:
    """One power crew and every substation failed at the start: the crew drives to the first repair."""
    data: dict[str, Any] = {
        "name": "layers-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-12T03:00",
        "duration": "1h",
        "step": "10s",  # the crew drives about 50 s to the first substation: a few step ends on the road
        "seed": 3,
        "residents": {"shelter_share": 1.0},
        "crews": {
            "per_station": {"fire_station": 0, "hospital": 0, "police": 0},
            "depot_crews": {"power": 1, "water": 0, "telecom": 0, "road": 0},
            "medical": {"rate_per_1000_day": 0},
            "dispatch_delay": {"power": 120},
        },
        "events": [{"kind": "fail_component", "at": 0, "target": {"kinds": ["substation"]}}],
    }
    path = tmp_path / "layers.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_crews_and_shelters_are_drawn_where_they_are_and_sent_as_deltas(andorra_city: City, tmp_path: Path) -> None:
    wall = FakeWall()
    session = DrillSession.start(tmp_path / "d", DrillSetup(_scenario(tmp_path), speed=60), now=wall, city=andorra_city)
    crews = session.model.phases["crews"][0]
    residents = session.model.phases["residents"][0]
    assert isinstance(crews, CrewsPhase) and isinstance(residents, ResidentsPhase)
    x0, y0 = map_origin(andorra_city)
    assert map_document(andorra_city)["crew_status"] == list(CREW_STATUS)
    nodes = andorra_city.drive.nodes[["x", "y"]].to_numpy(float) - [x0, y0]
    walk = andorra_city.walk.nodes[["x", "y"]].to_numpy(float) - [x0, y0]
    page = ClientView(ROLES["observer"])
    first = page.update(session)
    assert first is not None
    crew = crews.crews[0]
    assert first["crews"] == {"0": [round(nodes[crew.home][0]), round(nodes[crew.home][1]), 0, "power"]}
    count = residents.shelters.count
    assert sorted(first["shelters"], key=int) == [str(k) for k in range(count)]
    k = residents.shelters.node[0]
    places = int(residents.shelters.capacity[0])
    assert first["shelters"]["0"] == [round(walk[k][0]), round(walk[k][1]), 0, places, True]
    assert first["shelter_names"]["0"] == residents.shelters.name[0]
    assert page.update(session) is None  # nothing changed, nothing sent

    session.control(ROLES["controller"], {"action": "start"})
    session.submit(ROLES["shelters"], {"command": "close_shelter", "shelter": str(residents.shelters.name[0])})
    session.submit(ROLES["shelters"], {"command": "send_warning", "channels": ["cell_broadcast"]})
    # the run has residents, so traffic: the crew drives as a vehicle of the traffic model
    while not (crew.status == ASSIGNED and crew.vehicle >= 0 and crew.depart_s < session.model.clock_s):
        wall.t += 1 / 6  # a step of 10 s at 60x
        session.tick(budget_s=10.0)
        assert session.model.clock_s < 3600, "the power crew never took to the road"
    delta = page.update(session)
    assert delta is not None
    where = session.model.services["traffic"].vehicle_positions(np.array([crew.vehicle])).iloc[0]
    links = andorra_city.drive.links
    if where["link"] >= 0:  # by hand: on the straight line along its link, by the share of it driven
        link = links.iloc[int(where["link"])]
        share = where["offset_m"] / link["length_m"]
        x, y = nodes[int(link["src"])] + share * (nodes[int(link["dst"])] - nodes[int(link["src"])])
    else:
        x, y = nodes[int(where["node"])]
    assert delta["crews"] == {"0": [round(x), round(y), 1, "power"]}
    people = residents.people
    inside = np.bincount(people.target[people.status == SHELTER], minlength=residents.shelters.count)
    assert delta["shelters"]["0"][4] is False  # closed, and so sent again
    changed = {key for key, row in first["shelters"].items() if row != delta["shelters"].get(key, row)}
    assert set(delta["shelters"]) == changed  # only the rows that changed
    assert all(delta["shelters"][key][2] == int(inside[int(key)]) for key in delta["shelters"])
    session.journal.close()
