"""Outages: component selectors, random shares, criticality, restore_after, run-time events, checkpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.hazards.outage.criticality import power_criticality
from twin.hazards.outage.model import OutageHazard
from twin.hazards.outage.spec import LognormalRestore, OutageSpec, UniformRestore, draw_restore_s
from twin.lifelines.powergrid import power_grid
from twin.scenario import Scenario, load_scenario, scenario_json_schema
from twin.sim.model import CityModel
from twin.sim.targets import TargetError, resolve_components

# Rows of the Andorra facilities table (components), looked up by OSM id in test_the_rows_these_tests_use.
ETR_ESCALDES = 94  # substation l’ETR d’Escaldes, OSM way 386898986
PLANT = 78  # Centrale hydroélectrique de Les Escaldes
SUBSTATIONS = [94, 95, 96]
TRANSFORMERS = [383, 384, 385, 386, 387, 388, 389]
WATER = [444, 445, 446, 447]  # OSM: three storage tanks and a wastewater plant (the rest are synthesised)
TELECOM = [390, 391, 392, 393, 394, 395]  # OSM masts and communication towers


def _scenario(tmp_path: Path, **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "outage-test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "4h",
        "step": "60s",
        "seed": 3,
    }
    data.update(changes)
    return scenario_of(tmp_path, data)


def _outage(**fields: Any) -> dict[str, Any]:
    return {"type": "outage", "at": "1h", **fields}


def _down(model: CityModel) -> pd.Series:
    # The outage's own damage (cascades in the lifelines come on top of it: components_down counts them too).
    return model.recorder.timeseries().set_index("t_s")["components_down_outage"]


def _problems(call: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        call()
    return str(info.value)


# --- selectors -------------------------------------------------------------------------------------------


def test_the_rows_these_tests_use(andorra_city: City) -> None:
    table = andorra_city.facilities
    assert table.loc[ETR_ESCALDES, "osm_id"] == 386898986 and table.loc[ETR_ESCALDES, "name"] == "l’ETR d’Escaldes"
    assert table.loc[PLANT, "kind"] == "plant"
    assert np.flatnonzero(table["kind"] == "substation").tolist() == SUBSTATIONS
    assert np.flatnonzero(table["kind"] == "transformer").tolist() == TRANSFORMERS
    assert np.flatnonzero((table["group"] == "water") & ~table["assumed"]).tolist() == WATER
    assert np.flatnonzero(table["group"] == "telecom").tolist() == TELECOM


@pytest.mark.parametrize(
    ("selector", "rows"),
    [
        ({"components": [385, ETR_ESCALDES]}, [ETR_ESCALDES, 385]),
        ({"osm_ids": [386898986, 12189161680]}, [ETR_ESCALDES, 385]),
        ({"name": "l'ETR d'Escaldes"}, [ETR_ESCALDES]),  # straight apostrophes match the typographic ones
        ({"name": "L’ETR"}, [ETR_ESCALDES]),
        ({"kinds": ["transformer"]}, TRANSFORMERS),
        ({"kinds": ["substation", "plant"]}, sorted([PLANT, *SUBSTATIONS])),
        ({"groups": ["telecom"]}, TELECOM),
        ({"groups": ["power"], "name": "escaldes"}, [PLANT, ETR_ESCALDES]),  # not the school or the police
        ({"kinds": ["substation"], "name": "escaldes"}, [ETR_ESCALDES]),
        ({"kinds": ["transformer"], "components": [94, 385, 386]}, [385, 386]),
    ],
)
def test_selectors_pick_exactly_the_components_asked_for(
    andorra_city: City, selector: dict[str, Any], rows: list[int]
) -> None:
    assert resolve_components(andorra_city, selector).tolist() == rows


@pytest.mark.parametrize(
    ("selector", "words"),
    [
        ({"name": "Nowhere"}, ["no component name contains 'Nowhere'", "named components:", "l’ETR d’Escaldes"]),
        (
            {"kinds": ["substations"]},
            ["no component of kind 'substations'", "did you mean 'substation'?", "transformer (7)"],
        ),
        ({"groups": ["gas"]}, ["no component in group 'gas'", "groups here: facility, power"]),
        ({"components": [10_000]}, ["components [10000] do not exist", "from 0 to "]),
        (
            {"kinds": ["transformer"], "name": "escaldes"},
            ["none matches all of them", "kinds ['transformer'] matches 7 (transformer (7))"],
        ),
        ({"street": "Avinguda Meritxell"}, ["'street' selects road links, not components", "close_link"]),
        ({}, ["selects no component"]),
    ],
)
def test_selectors_that_match_nothing_say_what_the_map_has(
    andorra_city: City, selector: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(TargetError) as info:
        resolve_components(andorra_city, selector)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_map_misfits_of_every_entry_and_event_are_reported_with_their_line(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(
        tmp_path,
        hazards=[
            _outage(target={"name": "Nowhere"}),
            _outage(target={"kinds": ["substation"]}, share=0.1),
            _outage(target={"kinds": ["transformer"]}, most_critical=9),
        ],
        events=[{"kind": "fail_component", "at": "1h", "target": {"kinds": ["pump"]}}],
    )
    message = _problems(lambda: CityModel(andorra_city, spec))
    lines = (tmp_path / "s.yaml").read_text().splitlines()
    where = {
        f"{key}[{i}]": 1 + next(n for n, line in enumerate(lines) if line.startswith(f"{key}:")) + first
        for key, firsts in (("events", [1]), ("hazards", [1, 5, 11]))
        for i, first in enumerate(firsts)
    }
    assert (
        f"s.yaml:{where['events[0]']} events[0]: target: no component of kind 'pump'; kinds here: cable (1), clinic (6)"
    ) in message
    assert (
        f"s.yaml:{where['hazards[0]']} hazards[0]: target: no component name contains 'Nowhere'; named "
        "components: Centrale hydroélectrique de Les Escaldes (plant), "
    ) in message  # lifelines first
    assert "l’ETR d’Escaldes (substation)" in message
    assert (
        f"s.yaml:{where['hazards[1]']} hazards[1]: share: 0.1 of the 3 components the target selects "
        "(3 substation) rounds to none; give share >= 0.167"
    ) in message
    assert (
        f"s.yaml:{where['hazards[2]']} hazards[2]: most_critical: 9 is more than the 7 components the target "
        "selects (7 transformer)"
    ) in message


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            {"kind": "fail_component", "at": "1h", "target": {"street": "Meritxell"}},
            [
                "events[0].target.street: selects road links, but a fail_component event acts on components",
                "to close a road use kind: close_link",
            ],
        ),
        (
            {"kind": "close_link", "at": "1h", "target": {"kinds": ["substation"]}},
            [
                "events[0].target.kinds: selects components, but a close_link event acts on road links",
                "to fail a component use kind: fail_component",
            ],
        ),
        (
            {"kind": "repair_component", "at": "1h"},
            ["events[0].target: required key is missing: a repair_component event acts on components"],
        ),
        (
            {"kind": "close_link", "at": "1h", "target": {"street": "x"}, "restore_after": "1h"},
            ["events[0].restore_after: is only for fail_component events"],
        ),
        ({"kind": "fail_component", "at": "1h", "target": {}}, ["events[0].target: selects no component"]),
    ],
)
def test_component_events_are_checked_when_the_scenario_loads(
    tmp_path: Path, entry: dict[str, Any], words: list[str]
) -> None:
    message = _problems(lambda: _scenario(tmp_path, events=[entry]))
    assert all(w in message for w in words), message


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            _outage(target={"kinds": ["substation"]}, share=0.5, most_critical=1),
            ["hazards[0]: has both share and most_critical"],
        ),
        (_outage(share=0.5), ["hazards[0].target: required key is missing: an outage acts on components"]),
        (_outage(target={"street": "x"}), ["hazards[0].target.street: selects road links, but an outage acts on"]),
        (_outage(target={"kinds": ["substation"]}, share=1.5), ["hazards[0].share: must be <= 1"]),
        (
            _outage(target={"kinds": ["substation"]}, restore_after={"normal": {"mean": "1h"}}),
            ["hazards[0].restore_after: must be a duration or one distribution", "{uniform: [2h, 8h]}"],
        ),
        (
            _outage(target={"kinds": ["substation"]}, restore_after={"uniform": ["8h", "2h"]}),
            ["hazards[0].restore_after.uniform: must be [shortest, longest]"],
        ),
        (
            _outage(target={"kinds": ["substation"]}, restore_after={"lognormal": {"median": "4h"}}),
            ["hazards[0].restore_after.lognormal.sigma: required key is missing"],
        ),
        (
            {**_outage(target={"kinds": ["substation"]}), "at": "9h"},
            ["hazards[0].at: must be within the run, 0s to 4h after the start"],
        ),
    ],
)
def test_outage_entries_are_checked_when_the_scenario_loads(
    tmp_path: Path, entry: dict[str, Any], words: list[str]
) -> None:
    message = _problems(lambda: _scenario(tmp_path, hazards=[entry]))
    assert all(w in message for w in words), message


def test_outage_entries_take_local_times_and_resolve_to_a_valid_scenario(tmp_path: Path) -> None:
    entry = _outage(
        at="2025-10-14T07:30",
        target={"kinds": ["transformer"]},
        share=0.5,
        restore_after={"lognormal": {"median": "4h", "sigma": 0.5}},
    )
    spec = _scenario(
        tmp_path, hazards=[entry, _outage(target={"groups": ["water"]}, restore_after={"uniform": ["2h", "8h"]})]
    )
    first, second = spec.hazards
    assert isinstance(first, OutageSpec) and first.at_s == 5400.0
    assert isinstance(first.restore_after, LognormalRestore) and first.restore_after.lognormal.median_s == 14400.0
    assert isinstance(second, OutageSpec) and isinstance(second.restore_after, UniformRestore)
    again = tmp_path / "again"
    again.mkdir()
    (again / "s.yaml").write_text(yaml.safe_dump(spec.resolved_dict(), allow_unicode=True))
    assert [h.model_dump() for h in load_scenario(again / "s.yaml").hazards] == [h.model_dump() for h in spec.hazards]
    schema = scenario_json_schema()
    assert {"$ref": "#/$defs/OutageSpec"} in schema["properties"]["hazards"]["items"]["oneOf"]
    assert "LognormalRestore" in schema["$defs"] and "UniformRestore" in schema["$defs"]


# --- random shares and criticality ---------------------------------------------------------------------------


def _hazard(city: City, tmp_path: Path, seed: int, *entries: dict[str, Any]) -> OutageHazard:
    hazard = OutageHazard.from_specs(
        city, list(_scenario(tmp_path, hazards=list(entries)).hazards), np.random.default_rng(seed)
    )
    assert hazard is not None
    return hazard


def test_a_share_draws_the_right_count_the_same_for_a_seed_and_differently_across_seeds(
    andorra_city: City, tmp_path: Path
) -> None:
    entry = _outage(target={"kinds": ["tower"]}, share=0.25)
    towers = np.flatnonzero(andorra_city.facilities["kind"] == "tower")
    picks = {seed: _hazard(andorra_city, tmp_path, seed, entry).picks[0].rows.tolist() for seed in range(4)}
    assert all(len(rows) == round(0.25 * len(towers)) == 72 for rows in picks.values())  # 286 towers
    assert all(set(rows) <= set(towers.tolist()) and rows == sorted(set(rows)) for rows in picks.values())
    assert picks[1] == _hazard(andorra_city, tmp_path, 1, entry).picks[0].rows.tolist()
    assert len({tuple(rows) for rows in picks.values()}) == 4
    # the engine draws from the run's Generator: the model's seed decides
    models = [CityModel(andorra_city, _scenario(tmp_path, hazards=[entry]), seed=s) for s in (1, 1, 2)]
    chosen = [sorted(row for e in m.queue.to_list() for row in e["event"]["target"]["components"]) for m in models]
    assert chosen[0] == chosen[1] != chosen[2]


def test_share_one_fails_everything_selected(andorra_city: City, tmp_path: Path) -> None:
    hazard = _hazard(andorra_city, tmp_path, 0, _outage(target={"kinds": ["transformer"]}, share=1.0))
    assert hazard.picks[0].rows.tolist() == TRANSFORMERS


def _synthetic(city: City, points: list[tuple[str, Any]], lines: list[list[tuple[float, float]]]) -> City:
    """A City whose facilities are ``points`` (kind, geometry) and power ``lines``, nothing else."""
    rows = [
        {
            "kind": kind,
            "group": "power",
            "osm_type": "node",
            "osm_id": i + 1,
            "name": f"{kind} {chr(65 + i)}",
            "geometry": shapely.to_wkb(geometry),
            "drive_node": 0,
            "source": "osm",
        }
        for i, (kind, geometry) in enumerate(points)
    ]
    rows += [
        {
            "kind": "line",
            "group": "power",
            "osm_type": "way",
            "osm_id": 100 + i,
            "name": "",
            "geometry": shapely.to_wkb(shapely.LineString(coords)),
            "drive_node": 0,
            "source": "osm",
        }
        for i, coords in enumerate(lines)
    ]
    return replace(city, facilities=pd.DataFrame(rows))


def test_the_middle_of_a_chain_is_the_most_critical(andorra_city: City, tmp_path: Path) -> None:
    # A - B - C: only B lies on a shortest path between two others (A to C), so C_B(B) = 1 and C_B(A) = C_B(C) = 0;
    # the line A-B carries the pairs A-B and A-C, 2 of the 3 pairs.
    city = _synthetic(
        andorra_city,
        [
            ("substation", shapely.Point(0, 0)),
            ("substation", shapely.Point(1000, 0)),
            ("substation", shapely.Point(2000, 0)),
        ],
        [[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]],
    )
    values, grid = power_criticality(city.facilities)
    np.testing.assert_allclose(values, [0.0, 1.0, 0.0, 2 / 3, 2 / 3])
    assert grid.graph.number_of_nodes() == 3
    hazard = _hazard(city, tmp_path, 0, _outage(target={"kinds": ["substation"]}, most_critical=1))
    assert hazard.picks[0].rows.tolist() == [1]
    two = _hazard(city, tmp_path, 0, _outage(target={"kinds": ["substation"]}, most_critical=2)).picks[0]
    assert two.rows.tolist() == [1, 0] and two.tied == 1  # A and C tie: the lower component id is taken
    assert "1 more tie with the last one picked" in " ".join(
        _hazard(city, tmp_path, 0, _outage(target={"kinds": ["substation"]}, most_critical=2)).assumptions()
    )


def test_a_substation_area_joins_the_lines_that_end_in_it(andorra_city: City) -> None:
    # Two lines stop 10 m short of each other inside a 40 m square substation: the substation joins them, and
    # a transformer inside it shares its node. Nodes: 0, 990, hub, 1010, 2000; the hub lies on the shortest
    # paths of 4 of the 6 pairs of the other nodes.
    yard = shapely.box(980, -20, 1020, 20)
    city = _synthetic(
        andorra_city,
        [("substation", yard), ("transformer", shapely.Point(1000, 5)), ("tower", shapely.Point(2000, 0))],
        [[(0, 0), (990, 0)], [(1010, 0), (2000, 0)]],
    )
    grid = power_grid(city.facilities)
    assert grid.hubs == [0] and grid.node_of[0] == grid.node_of[1]
    values, _ = power_criticality(city.facilities)
    np.testing.assert_allclose(values[:3], [4 / 6, 4 / 6, 0.0])


def test_andorra_ranks_the_escaldes_substation_first(andorra_city: City, tmp_path: Path) -> None:
    hazard = _hazard(andorra_city, tmp_path, 0, _outage(target={"kinds": ["substation"]}, most_critical=1))
    assert hazard.picks[0].rows.tolist() == [ETR_ESCALDES]
    notes = " ".join(hazard.assumptions())
    assert "Freeman 1977; Brandes 2001" in notes and "l’ETR d’Escaldes" in notes


def test_components_off_the_power_grid_are_ranked_on_the_road_network(andorra_city: City, tmp_path: Path) -> None:
    hazard = _hazard(andorra_city, tmp_path, 0, _outage(target={"components": WATER}, most_critical=2))
    pick = hazard.picks[0]
    assert len(pick.rows) == 2 and set(pick.rows.tolist()) <= set(WATER)
    assert pick.criticality is not None and pick.criticality[0] >= pick.criticality[1]
    assert "nearest drivable road node" in " ".join(hazard.assumptions())


# --- restore_after ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "at", "fails_at", "restored_at"),
    [("60s", "1h", 3600.0, 10800.0), ("300s", "1h", 3600.0, 10800.0), ("300s", "62min", 3900.0, 11100.0)],
)
def test_restore_after_restores_at_the_right_step(
    andorra_city: City, tmp_path: Path, step: str, at: str, fails_at: float, restored_at: float
) -> None:
    spec = _scenario(tmp_path, step=step, hazards=[_outage(at=at, target={"name": "ETR"}, restore_after="2h")])
    model = CityModel(andorra_city, spec)
    model.run()
    down = _down(model)
    dt = float(spec.step_s)
    assert down.loc[fails_at - dt] == 0 and down.loc[fails_at] == 1
    assert down.loc[restored_at - dt] == 1 and down.loc[restored_at] == 0
    events = model.recorder.events_table()
    events = events[events["kind"].isin(["fail_component", "repair_component"])]  # not the lifelines' cascade
    assert events["kind"].tolist() == ["fail_component", "repair_component"]
    assert events["target"].iloc[0] == "substation l’ETR d’Escaldes (component 94, OSM way 386898986)"
    assert not model.state.comp_damaged.any() and (model.state.comp_cause == "").all()


def test_a_fail_component_event_with_restore_after(andorra_city: City, tmp_path: Path) -> None:
    event = {"kind": "fail_component", "at": "30min", "target": {"kinds": ["transformer"]}, "restore_after": "1h"}
    model = CityModel(andorra_city, _scenario(tmp_path, events=[event]))
    model.run()
    down = _down(model)
    assert (down.loc[1740.0], down.loc[1800.0], down.loc[5340.0], down.loc[5400.0]) == (0, 7, 7, 0)


def test_restore_draws_are_reproducible(andorra_city: City, tmp_path: Path) -> None:
    lognormal = LognormalRestore.model_validate({"lognormal": {"median": "4h", "sigma": 0.5}})
    draws = draw_restore_s(lognormal, np.random.default_rng(7), 20_000)
    np.testing.assert_array_equal(draws, draw_restore_s(lognormal, np.random.default_rng(7), 20_000))
    assert abs(np.median(draws) / 14400.0 - 1) < 0.02 and abs(np.std(np.log(draws)) - 0.5) < 0.01
    uniform = UniformRestore.model_validate({"uniform": ["2h", "8h"]})
    draws = draw_restore_s(uniform, np.random.default_rng(7), 1000)
    assert draws.min() >= 7200.0 and draws.max() <= 28800.0
    entry = _outage(target={"kinds": ["transformer"]}, restore_after={"lognormal": {"median": "1h", "sigma": 0.5}})
    restores = [
        [e.params["restore_after_s"] for e in _hazard(andorra_city, tmp_path, s, entry).initial_events()]
        for s in (5, 5, 6)
    ]
    assert restores[0] == restores[1] != restores[2] and len(set(restores[0])) == 7


# --- run-time events, checkpoints, determinism -------------------------------------------------------------


def test_injected_fail_and_repair_events_work_at_run_time(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path))
    model.run(until_s=600)
    model.inject("fail_component", target={"name": "ETR"}, restore_after_s=600)
    model.inject("fail_component", target={"kinds": ["transformer"]}, cause="drill: transformer fire")
    model.run(until_s=660)
    assert model.state.comp_damaged[[ETR_ESCALDES, *TRANSFORMERS]].all() and model.state.comp_damaged.sum() == 8
    assert model.state.comp_cause[ETR_ESCALDES] == "outage"  # "inject" says who, not what damaged it
    model.run(until_s=1200)
    assert not model.state.comp_damaged[ETR_ESCALDES] and model.state.comp_damaged.sum() == 7
    model.inject("repair_component", target={"components": [385, 386]})
    model.run(until_s=1260)
    assert model.state.comp_damaged.sum() == 5
    events = model.recorder.events_table()
    counts = events["kind"].value_counts()
    assert counts[["fail_component", "repair_component"]].to_dict() == {"fail_component": 8, "repair_component": 3}
    assert _problems(lambda: model.inject("fail_component", target={"street": "Meritxell"})).startswith(
        "inject: target: 'street' selects road links, not components"
    )
    assert "must be a number of seconds > 0" in _problems(
        lambda: model.inject("fail_component", target={"name": "ETR"}, restore_after_s="soon")
    )


def test_a_restore_leaves_damage_of_another_cause(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path))
    model.inject("fail_component", target={"name": "ETR"}, restore_after_s=600, cause="fire")
    model.run(until_s=120)
    model.inject("repair_component", target={"name": "ETR"})  # repaired by a crew, then flooded
    model.run(until_s=180)
    model.state.comp_damaged[ETR_ESCALDES], model.state.comp_cause[ETR_ESCALDES] = True, "flood"
    model.run(until_s=900)
    assert model.state.comp_damaged[ETR_ESCALDES] and model.state.comp_cause[ETR_ESCALDES] == "flood"


CHECKPOINT_HAZARDS = [
    _outage(
        at="30min", target={"kinds": ["tower"]}, share=0.1, restore_after={"lognormal": {"median": "1h", "sigma": 0.6}}
    ),
    _outage(at="45min", target={"kinds": ["transformer"]}, most_critical=2, restore_after={"uniform": ["1h", "2h"]}),
    _outage(at="1h", target={"name": "ETR"}),
]


def test_checkpoint_and_restore_mid_outage_continue_bit_for_bit(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, hazards=CHECKPOINT_HAZARDS)
    whole = CityModel(andorra_city, spec)
    whole.run()
    half = CityModel(andorra_city, spec)
    half.run(until_s=5400)
    assert half.state.comp_damaged.sum() > 0 and any(
        e["event"]["kind"] == "repair_component" for e in half.queue.to_list()
    )
    half.checkpoint(tmp_path / "half.npz")
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    assert restored.queue.to_list() == half.queue.to_list()
    restored.run()
    pd.testing.assert_frame_equal(whole.recorder.timeseries(), restored.recorder.timeseries())
    pd.testing.assert_frame_equal(whole.recorder.events_table(), restored.recorder.events_table())
    for name, array in whole.state.arrays().items():
        np.testing.assert_array_equal(array, restored.state.arrays()[name], err_msg=name)
    down = _down(whole)
    assert down.max() > down.iloc[-1] >= 1  # towers and transformers restored, the substation until repaired


def test_an_outage_run_is_deterministic_for_a_seed(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path, hazards=CHECKPOINT_HAZARDS)
    runs = [CityModel(andorra_city, spec, seed=s) for s in (11, 11, 12)]
    for model in runs:
        model.run()
    pd.testing.assert_frame_equal(runs[0].recorder.events_table(), runs[1].recorder.events_table())
    pd.testing.assert_frame_equal(runs[0].recorder.timeseries(), runs[1].recorder.timeseries())
    assert not runs[0].recorder.events_table().equals(runs[2].recorder.events_table())


def test_the_shipped_substation_outage(andorra_city: City) -> None:
    spec = load_scenario(ROOT / "scenarios" / "andorra-substation-outage.yaml")
    model = CityModel(andorra_city, spec)
    model.run()
    down = _down(model)
    assert [down.loc[t] for t in (3540.0, 3600.0, 7200.0, 25140.0, 25200.0, 43200.0)] == [0, 1, 3, 3, 2, 2]
    events = model.recorder.events_table()
    failed = events.loc[events["kind"] == "fail_component", "target"].tolist()
    assert failed[0].startswith("substation l’ETR d’Escaldes") and len(failed) == 3
    assert all(t.startswith("transformer (component 38") for t in failed[1:])


def test_most_critical_by_people_served_ranks_substations_by_their_zones(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    population = andorra_city.homes["population"].to_numpy(float)
    zone = lifelines.node_power_zone[andorra_city.homes["drive_node"].to_numpy()]
    residents = np.bincount(zone, weights=population, minlength=len(lifelines.power_sources))
    entry = _outage(target={"kinds": ["substation"]}, most_critical=1, criticality="people_served")
    hazard = _hazard(andorra_city, tmp_path, 0, entry)
    assert hazard.picks[0].rows.tolist() == [int(lifelines.power_sources[np.argmax(residents)])]
    assert hazard.picks[0].criticality is not None and hazard.picks[0].criticality[0] == residents.max()
    assert "residents served" in " ".join(hazard.assumptions())
