"""The first hour of a planner (issue 15): each defect a new user met, with the test that shows it fixed."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.patches import Patch

from tests.conftest import ROOT, scenario_of
from tests.test_outage import _hazard, _outage, _synthetic
from twin.city.build import City
from twin.city.facilities import classify
from twin.errors import ScenarioError
from twin.hazards.outage.criticality import power_criticality
from twin.hazards.outage.model import OutageHazard
from twin.lifelines.outputs import _service_loss_heading
from twin.lifelines.powergrid import power_grid
from twin.metrics import service_metrics
from twin.report.curves import event_labels, service_levels_figure
from twin.report.maps.sheet import draw_legend, new_sheet
from twin.results import Results
from twin.run import summary_table
from twin.scenario import Scenario, load_scenario
from twin.sim.model import CityModel

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
HOSPITAL = 7  # Hospital de Nostra Senyora de Meritxell (200 beds) on the Andorra map


def _scenario(tmp_path: Path, events: list[dict[str, Any]], **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "first-use",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "6h",
        "step": "10min",
        "seed": 3,
        "events": events,
        **changes,
    }
    return scenario_of(tmp_path, data, f"s{len(list(tmp_path.iterdir()))}.yaml")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_the_set_hint_is_a_path_the_scenario_being_run_accepts(path: object) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, ["peak_stage_m"])
    (problem,) = info.value.problems
    hint = re.search(r"e\.g\. --set (\S+)$", problem)
    assert hint is not None, problem
    load_scenario(path, [hint[1]])  # the hint itself is accepted
    if "flood-1982" in str(path):
        assert hint[1] == "hazards[0].hydrograph.peak_stage_m=4.5"


def _down_of(events: pd.DataFrame, row: int) -> pd.DataFrame:
    down = events[events["kind"] == "component_down"]
    return down[down["details"].str.contains(f'"component": {row}[,}}]', regex=True)]


def test_a_hospital_down_for_water_names_water_not_its_fuelled_generator(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    node = andorra_city.facilities["drive_node"].iloc[HOSPITAL]
    zone = int(lifelines.node_water_zone[node])
    tank = int(lifelines.water_tank[zone])
    substation = int(lifelines.power_sources[lifelines.node_power_zone[node]])
    # The grid goes (its 48 h generator takes over) and, at the same moment, the zone's tank bursts: the hospital
    # runs on its own 24 h of water (city.yaml hospital_water_hours), then goes down for water, at 1 h + 24 h.
    fail = {"kind": "fail_component", "at": "1h", "target": {"components": [substation, tank]}}
    model = CityModel(andorra_city, _scenario(tmp_path, [fail], duration="26h"))
    model.run()
    (down,) = _down_of(model.recorder.events_table(), HOSPITAL).itertuples()
    assert down.t_s == 25 * 3600.0 and down.cause == "cascade"
    details = json.loads(str(down.details))
    assert details["lost"] == "water" and details["upstream_component"] == tank and details["root_cause"] == "outage"
    assert details["own_water_h"] == 24.0  # and not its generator, which still runs (48 h)


def test_the_root_of_a_water_cascade_is_the_damaged_component_up_the_chain(andorra_city: City, tmp_path: Path) -> None:
    lifelines = andorra_city.lifelines
    node = andorra_city.facilities["drive_node"].iloc[HOSPITAL]
    zone = int(lifelines.node_water_zone[node])
    pump = int(lifelines.water_pump[zone])
    fail = {"kind": "fail_component", "at": "1h", "target": {"components": [pump]}}
    # the zone's 12 h tank, then the hospital's own 24 h of water: down at 37 h
    model = CityModel(andorra_city, _scenario(tmp_path, [fail], duration="38h"))
    model.run()
    (down,) = _down_of(model.recorder.events_table(), HOSPITAL).itertuples()
    details = json.loads(str(down.details))
    assert down.t_s == 37 * 3600.0
    assert down.cause == "cascade" and details["lost"] == "water" and details["upstream_component"] == pump
    assert details["root"] == details["upstream"] and details["root_cause"] == "outage"  # the damaged pump


def test_recovery_uses_the_scenario_threshold_and_a_shallow_dip_is_not_recovered_after_0s() -> None:
    t = np.arange(0.0, 7 * 3600.0 + 1, 3600.0)
    q = np.array([1.0, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995])  # access that stays at 0.995
    deep = np.array([1.0, 0.5, 0.5, 0.999, 0.999, 1.0, 1.0, 1.0])
    table = pd.DataFrame({"t_s": t, "Q_access": q, "Q_power": deep})
    metrics = service_metrics(table, population=100, recovery_threshold=0.999)
    assert metrics["access"]["recovery_threshold"] == 0.999
    assert metrics["access"]["time_to_recover_s"] is None  # below 99.9 % to the end
    assert metrics["power"]["time_to_recover_s"] == 2 * 3600.0  # back to 0.999 at 3 h
    loose = service_metrics(table, population=100, recovery_threshold=0.95)
    assert "equivalent_outage_hours" not in loose["access"]
    results = Results(
        timeseries=table, events=pd.DataFrame(), zones=None, metrics=loose, assumptions={}, provenance={}, scenario={}
    )
    text = summary_table(results)
    assert "(>= 95 %)" in text and " 0s" not in text
    access = next(line for line in text.splitlines() if line.startswith("access"))
    assert access.endswith("held >= 95 %")


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"amenity": "hospital", "healthcare": "hospital", "name": "Centre Hospitalier Princesse Grace"}, "hospital"),
        ({"healthcare": "hospital", "name": "Hospital de Nostra Senyora de Meritxell"}, "hospital"),
        ({"amenity": "hospital", "healthcare": "hospital", "name": "Farmacy des Anglais"}, None),
        ({"amenity": "hospital", "name": "Farmàcia Central"}, None),
        (
            {"amenity": "hospital", "healthcare": "hospital", "name": "Institut Monégasque de Médecine du Sport"},
            "clinic",
        ),
        ({"amenity": "hospital", "healthcare:speciality": "sports_medicine", "name": "X"}, "clinic"),
        ({"amenity": "hospital", "healthcare": "clinic", "name": "Centre Cardio Thoracique"}, "clinic"),
        ({"amenity": "hospital", "healthcare": "pharmacy", "name": "Bughin"}, None),
        ({"amenity": "pharmacy", "healthcare": "pharmacy"}, None),
        ({"amenity": "clinic", "name": "IMO Andorra"}, "clinic"),
    ],
)
def test_hospitals_are_classified_by_their_tags_and_what_contradicts_them(tags: dict[str, str], kind: str) -> None:
    found = classify(tags)
    assert (found[0] if found else None) == kind


def test_monaco_hospitals_are_hospitals(monaco_city: City) -> None:
    facilities = monaco_city.facilities
    hospitals = set(facilities.loc[facilities["kind"] == "hospital", "name"])
    assert hospitals == {
        "Centre Hospitalier Princesse Grace",
        "Centre Cardio Thoracique de Monaco",
        "Centre de Gérontologie Clinique Rainier III",
        "Fondation Hector Ott",
    }
    clinics = set(facilities.loc[facilities["kind"] == "clinic", "name"])
    assert "Institut Monégasque de Médecine du Sport" in clinics
    assert not facilities["name"].str.contains("Farmacy").any()


def test_a_bare_unnamed_hospital_point_is_not_weighed_as_a_hospital(andorra_city: City) -> None:
    facilities = andorra_city.facilities
    hospitals = facilities[facilities["kind"] == "hospital"]
    assert hospitals["osm_id"].tolist() == [194554955, 1058436427]  # Meritxell and the Clínica Verge de Meritxell
    assert facilities.index[facilities["osm_id"] == 194554955].tolist() == [HOSPITAL]
    bare = facilities[facilities["osm_id"] == 2050364490]
    assert bare["kind"].tolist() == ["clinic"]


def test_criticality_ranks_the_grid_that_still_stands(andorra_city: City, tmp_path: Path) -> None:
    # A - B - C - D: normally B and C each lie on 2 of the 6 pairs' shortest paths (2/3 normalised: (n-1)(n-2)/2 = 3
    # pairs of others). With A down, B - C - D is left: C lies on the one path B-D (1), B and D on none (0); the
    # span A-B is gone with A (NaN), B-C carries B-C and B-D (2/3), C-D carries C-D and B-D (2/3).
    points = [("substation", shapely.Point(1000.0 * i, 0)) for i in range(4)]
    lines = [[(0.0, 0.0), (1000.0, 0.0)], [(1000.0, 0.0), (2000.0, 0.0)], [(2000.0, 0.0), (3000.0, 0.0)]]
    city = _synthetic(andorra_city, points, lines)
    values, _ = power_criticality(city.facilities)
    np.testing.assert_allclose(values, [0, 2 / 3, 2 / 3, 0, 1 / 2, 2 / 3, 1 / 2])
    values, _ = power_criticality(city.facilities, down=np.array([0]))
    np.testing.assert_allclose(values, [np.nan, 0, 1, 0, np.nan, 2 / 3, 2 / 3])
    # An outage of A at 1h (restored at 3h): at 2h the most critical that still works is C; at 4h it is B again.
    first = _outage(target={"components": [0]}, restore_after="2h")
    later = _outage(target={"kinds": ["substation"]}, most_critical=1, at="2h")
    assert _hazard(city, tmp_path, 0, first, later).picks[1].rows.tolist() == [2]
    assert _hazard(city, tmp_path, 0, first, {**later, "at": "4h"}).picks[1].rows.tolist() == [1]


def test_the_outage_scenario_fails_transformers_outside_the_failed_substation(andorra_city: City) -> None:
    spec = load_scenario(ROOT / "scenarios" / "andorra-substation-outage.yaml")
    hazard = OutageHazard.from_specs(andorra_city, list(spec.hazards), np.random.default_rng(1))
    assert hazard is not None
    substation, transformers = hazard.picks[0].rows, hazard.picks[1].rows
    grid = power_grid(andorra_city.facilities)
    dead = grid.node_of[int(substation[0])]
    assert len(transformers) == 2 and all(grid.node_of.get(int(row)) != dead for row in transformers)


def test_flooded_area_leaves_out_the_river_s_own_channel(andorra_city: City, tmp_path: Path) -> None:
    # The stage just tops the 3 m channel: the DEM's river cells are wet, and the flattest floor beside them.
    river = {
        "type": "river_flood",
        "rivers": ["valira"],
        "channel_depth_m": 3.0,
        "hydrograph": {"peak_stage_m": 3.05, "time_to_peak": "1h", "duration": "3h"},
    }
    model = CityModel(andorra_city, _scenario(tmp_path, [], hazards=[river], duration="1h"))
    model.run()
    channel = np.zeros(andorra_city.terrain.elevation_m.size, dtype=bool)
    channel[andorra_city.hydrology.channel_cells["cell"].to_numpy()] = True
    wet = model.state.water_depth_m.ravel() > 0
    assert (wet & channel).sum() > 50  # the channel is wet ...
    area = andorra_city.terrain.resolution_m**2
    flooded = model.recorder.timeseries()["flooded_area_m2"].iloc[-1]
    assert flooded == (wet & ~channel).sum() * area  # ... but it is not flooded land


START = dt.datetime(2025, 10, 14, 6, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Andorra"))


def _curves() -> tuple[pd.DataFrame, pd.DataFrame]:
    t = np.arange(0.0, 4 * 3600.0 + 1, 1800.0)
    power = np.where((t >= 3600.0) & (t < 3 * 3600.0), 0.6, 1.0)
    timeseries = pd.DataFrame({"t_s": t, "Q_power": power, "Q_water": np.ones_like(t)})
    events = pd.DataFrame(
        {
            "t_s": [3600.0, 3600.0, 3600.0, 10800.0],
            "kind": ["message", "fail_component", "component_down", "repair_component"],
            "target": ["", "substation ETR (component 94)", "pump (component 448)", "substation ETR (component 94)"],
            "cause": ["scenario", "fire", "cascade", "scenario"],
            "details": ['{"text": "fire"}', "{}", "{}", "{}"],
        }
    )
    return timeseries, events


def test_curves_label_their_events_keep_the_legend_outside_and_give_clock_times() -> None:
    timeseries, events = _curves()
    # An action is named before a message at the same time; the lifelines' own consequences are not marked.
    assert event_labels(events) == {
        3600.0: "fail component substation ETR (compon… (+1)",
        10800.0: "repair component substation ETR (comp…",
    }
    figure = service_levels_figure(timeseries, events, "a $name$ {with} markup", START)
    axes = figure.axes[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    drawn = axes.get_legend()
    assert drawn is not None
    legend = drawn.get_window_extent(renderer)
    assert legend.x0 >= axes.get_window_extent(renderer).x1  # beside the curves, not over them
    texts = [t.get_text() for t in axes.texts]
    assert any(text.startswith("fail component") for text in texts)
    ticks = [label.get_text() for label in axes.get_xticklabels()]
    assert "2 h\n08:00" in ticks
    assert "06:00 local time (CEST)" in axes.get_xlabel()
    assert axes.get_title() == "a $name$ {with} markup"


def test_the_service_loss_map_says_which_moment_it_shows() -> None:
    timeseries, _ = _curves()
    levels = ["Q_power 0.600", "Q_water 1.000"]
    heading, moment = _service_loss_heading(timeseries, 2, levels, 3600.0, START)
    assert heading == "worst moment for power and water"
    assert moment == "14 Oct 07:00, 1h after the start: Q_power 0.600, Q_water 1.000"
    calm = timeseries.assign(Q_power=1.0)
    heading, moment = _service_loss_heading(calm, 0, levels, 0.0, START)
    assert heading == "power and water served throughout" and "no zone lost" in moment


def test_a_long_legend_label_is_wrapped_inside_the_page(andorra_city: City) -> None:
    sheet = new_sheet(andorra_city)
    draw_legend(sheet, [Patch(facecolor="none", edgecolor="#bbbbbb", label="P = 0: gentle slope, bare rock, water")])
    sheet.fig.canvas.draw()
    legend = sheet.fig.legends[0].get_window_extent(sheet.fig.canvas.get_renderer())  # type: ignore[attr-defined]
    assert legend.x1 <= sheet.fig.bbox.x1
