"""One label per link and per component in the event log, whoever logs the row (hazards, events, lifelines, crews)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.city.build import City
from twin.scenario import load_scenario
from twin.sim.impacts import Impacts, apply_impacts
from twin.sim.model import CityModel
from twin.sim.state import SimState
from twin.sim.targets import describe_component, describe_link, describe_links

#: Every component row of the log: ``{kind} {name} (component {row}, {origin})``, the name optional.
COMPONENT_LABEL = re.compile(r"^[a-z_]+( .+)? \(component (?P<row>\d+)(, .+)?\)$")
LINK_LABEL = re.compile(r"^link (?P<link>\d+) \(.+, way \d+\)$")


def _city() -> City:
    """A stand-in City with the tables the labels read: four components of each origin, two links."""
    facilities = pd.DataFrame(
        {
            "kind": ["substation", "pumping_station", "shelter", "traffic_signals"],
            "name": ["l’ETR d’Escaldes", "pump, water zone 1 (895 m+)", "Pavello Joan Alay", ""],
            "osm_type": ["way", "synthetic", "", "node"],
            "osm_id": [386898986, 0, 0, 4242],
            "source": [
                "OSM",
                "city.yaml lifelines.water (synthesised: the band's lowest home at least 3 m above its drainage)",
                "city.yaml",
                "OSM",
            ],
        }
    )
    links = pd.DataFrame({"name": ["Avinguda Meritxell", ""], "highway": ["primary", "service"], "osm_way": [7, 8]})
    return cast(City, SimpleNamespace(facilities=facilities, drive=SimpleNamespace(links=links)))


def test_a_component_is_labelled_by_kind_name_row_and_origin() -> None:
    city = _city()
    assert describe_component(city, 0) == "substation l’ETR d’Escaldes (component 0, OSM way 386898986)"
    assert (
        describe_component(city, 1)
        == "pumping_station pump, water zone 1 (895 m+) (component 1, synthesised from city.yaml lifelines.water)"
    )
    assert describe_component(city, 2) == "shelter Pavello Joan Alay (component 2, city.yaml)"
    assert describe_component(city, 3) == "traffic_signals (component 3, OSM node 4242)"  # no name: no gap


def test_a_link_is_labelled_by_its_street_or_class_and_way() -> None:
    city = _city()
    assert describe_link(city, 0) == "link 0 (Avinguda Meritxell, way 7)"
    assert describe_link(city, 1) == "link 1 (service, way 8)"
    assert describe_links(city, [1, 0, 1]) == (
        ["link 1 (service, way 8)", "link 0 (Avinguda Meritxell, way 7)", "link 1 (service, way 8)"],
        [8, 7, 8],
    )
    assert describe_links(city, []) == ([], [])


@pytest.mark.slow
def test_every_andorra_link_keeps_its_row_label(andorra_city: City) -> None:
    """The labels read column by column are those of each link's row (the engine logged these before)."""
    links = andorra_city.drive.links
    every = list(range(len(links)))
    rows = [links.iloc[i] for i in every]
    by_row = [
        f"link {i} ({row['name'] or row['highway']}, way {row['osm_way']})" for i, row in zip(every, rows, strict=True)
    ]
    assert describe_links(andorra_city, every) == (by_row, links["osm_way"].tolist())


def test_a_hazard_s_impacts_are_logged_with_the_same_labels() -> None:
    city = _city()
    state = cast(SimState, SimpleNamespace(comp_damaged=np.zeros(4, bool), comp_cause=np.full(4, "", dtype="<U16")))
    rows: list[tuple[float, str, str, str, dict[str, Any]]] = []
    impacts = Impacts(
        t_s=600.0,
        cause="flood",
        closed_links=np.array([1]),
        damaged_components=np.array([0, 1]),
        component_measure=("depth_m", np.array([0.61234, 1.2, 0.0, 0.0]), 2),
    )
    apply_impacts(city, state, lambda *row: rows.append(row), impacts)
    assert [(kind, target) for _, kind, target, _, _ in rows] == [
        ("close_link", "link 1 (service, way 8)"),
        ("fail_component", "substation l’ETR d’Escaldes (component 0, OSM way 386898986)"),
        (
            "fail_component",
            "pumping_station pump, water zone 1 (895 m+) (component 1, synthesised from city.yaml lifelines.water)",
        ),
    ]
    assert rows[1][4] == {"component": 0, "depth_m": 0.61}
    assert state.comp_cause.tolist() == ["flood", "flood", "", ""]


@pytest.mark.slow
def test_every_row_of_a_compound_run_names_a_component_one_way(andorra_city: City) -> None:
    """Flood damage (the hazard), the cascade (lifelines) and repairs all label a component the same way."""
    model = CityModel(andorra_city, load_scenario(ROOT / "scenarios" / "andorra-compound.yaml"))
    model.run(until_s=12 * 3600)
    events = model.recorder.events_table()
    details = events["details"].map(json.loads)
    single = details.map(lambda d: "component" in d)
    assert {"fail_component", "component_down"} <= set(events.loc[single, "kind"])
    assert set(events.loc[single & (events["kind"] == "fail_component"), "cause"]) >= {"flood"}
    labels: dict[int, set[str]] = {}
    for target, detail in zip(events.loc[single, "target"], details[single], strict=True):
        match = COMPONENT_LABEL.match(target)
        assert match is not None, target
        assert int(match["row"]) == detail["component"]
        labels.setdefault(detail["component"], set()).add(target)
    assert all(len(names) == 1 for names in labels.values()), labels
    links = details.map(lambda d: "link" in d)
    assert links.any()
    assert all(LINK_LABEL.match(target) for target in events.loc[links, "target"])
