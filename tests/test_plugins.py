"""A hazard type and a phase from outside the package, registered and run through the engine: the worked example
of docs/architecture.md ("How to add a hazard, a phase or an output").

* ``tree_fall`` (a hazard type): at a time, a random share of the roads of some classes is blocked by fallen
  trees. Which roads is drawn once, when the run is built, from the run's Generator; the phase reports the
  closures to the engine, which logs them and notices that the network changed.
* ``closed_km_h`` (a phase in the ``crews`` slot): the closed road length integrated over time,
  ``sum over steps of (closed length, km) x dt (h)``, a figure a road crew planner reads, kept as checkpoint state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from twin.city.build import City
from twin.errors import ScenarioError
from twin.registry import REGISTRY
from twin.scenario import Scenario, load_scenario
from twin.scenario.events import AT_HELP, EventTime
from twin.scenario.registry import HazardSpec
from twin.sim.impacts import Impacts
from twin.sim.model import CityModel
from twin.sim.phase import Phase, StepContext

ROOT = Path(__file__).resolve().parents[1]


class TreeFallSpec(HazardSpec):
    """``- type: tree_fall``: at ``at``, a random ``share`` of the roads of the classes ``highways`` is blocked."""

    type: Literal["tree_fall"] = "tree_fall"
    at_s: EventTime = Field(alias="at", description=AT_HELP)
    highways: list[str] = Field(min_length=1, description="road classes (OSM highway=*) trees fall on")
    share: float = Field(gt=0.0, le=1.0, description="the share of those roads blocked")


class TreeFall(Phase):
    """Blocks its chosen links (``link_closed_debris``) in the step that reaches ``at``, once."""

    name = "tree_fall"
    order = "hazards"

    def __init__(self, spec: TreeFallSpec, links: np.ndarray) -> None:
        self.spec, self.links = spec, links
        self.fallen = False

    def step(self, ctx: StepContext, dt_s: float) -> None:
        t_s = ctx.clock_s + dt_s
        if self.fallen or t_s < self.spec.at_s - 1e-9:
            return
        self.fallen = True
        closed = self.links[~ctx.state.link_closed_debris[self.links]]
        ctx.state.link_closed_debris[closed] = True
        ctx.report(Impacts(t_s=t_s, cause="tree_fall", closed_links=closed))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"fallen": np.array([self.fallen])}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.fallen = bool(arrays["fallen"][0])

    def assumptions(self) -> list[str]:
        return [f"tree fall at {self.spec.source}: {len(self.links)} links blocked at {self.spec.at_s:g} s"]


def build_tree_fall(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """One phase per entry; the blocked links drawn now, so a run is reproducible from its seed."""
    phases: list[Phase] = []
    problems = []
    for entry in (h for h in spec.hazards if isinstance(h, TreeFallSpec)):
        candidates = np.flatnonzero(city.drive.links["highway"].isin(entry.highways).to_numpy())
        if not len(candidates):
            problems.append(f"{entry.source}: highways: no road of {city.name} has the classes {entry.highways}")
            continue
        count = max(1, round(entry.share * len(candidates)))
        phases.append(TreeFall(entry, np.sort(rng.choice(candidates, size=count, replace=False))))
    if problems:
        raise ScenarioError("the scenario's tree falls do not fit the map", problems)
    return phases


class ClosedKilometreHours(Phase):
    """Closed road length x time (km h), accumulated each step from the closures the phases before it wrote."""

    name = "closed_km_h"
    order = "crews"

    def __init__(self, city: City) -> None:
        self.length_km = city.drive.links["length_m"].to_numpy(np.float64) / 1000.0
        self.km_h = 0.0

    def step(self, ctx: StepContext, dt_s: float) -> None:
        self.km_h += float(self.length_km[ctx.state.link_closed()].sum()) * dt_s / 3600.0

    def series(self) -> dict[str, float]:
        return {"closed_km_h": self.km_h}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"km_h": np.array([self.km_h])}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.km_h = float(arrays["km_h"][0])


@pytest.fixture
def plugins() -> Iterator[None]:
    """The two plug-ins registered for one test, as a package outside twin would register them."""
    with REGISTRY.scoped() as registry:
        registry.add_hazard_type("tree_fall", TreeFallSpec)
        registry.add_phase("tree_fall", build_tree_fall)
        registry.add_phase("closed_km_h", lambda city, spec, rng: [ClosedKilometreHours(city)])
        yield


SCENARIO = """\
name: plugins
map: {map}
timezone: Europe/Andorra
start: 2025-10-14T06:00
duration: 1h
step: 60s
seed: 4
hazards:
  - type: tree_fall
    at: 30min
    highways: [secondary, tertiary]
    share: {share}
"""


def _scenario(tmp_path: Path, share: Any = 0.2) -> Scenario:
    path = tmp_path / "plugins.yaml"
    path.write_text(SCENARIO.format(map=ROOT / "maps" / "andorra", share=share))
    return load_scenario(path)


def test_a_plugin_hazard_and_phase_run_through_the_engine(plugins: None, andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    model = CityModel(andorra_city, spec)
    model.run()
    tree_fall = next(p for p in model.phases["hazards"] if isinstance(p, TreeFall))
    series = model.recorder.timeseries().set_index("t_s")
    assert series.loc[1740.0, "links_closed"] == 0 and series.loc[1800.0, "links_closed"] == len(tree_fall.links)
    assert series.loc[1800.0, "Q_access"] <= series.loc[1740.0, "Q_access"]  # the engine measured access again
    # closed from the step ending at 30 min to the end: 31 steps of 60 s
    length_km = andorra_city.drive.links["length_m"].to_numpy()[tree_fall.links].sum() / 1000.0
    assert series.loc[3600.0, "closed_km_h"] == pytest.approx(length_km * 31 * 60 / 3600, rel=1e-12)
    events = model.recorder.events_table()
    closed = events[(events["kind"] == "close_link") & (events["cause"] == "tree_fall")]
    assert len(closed) == len(tree_fall.links) and set(closed["t_s"]) == {1800.0}
    assert any(note.startswith("tree fall at") for note in model.assumptions())


def test_a_plugin_run_restores_from_a_checkpoint_bit_for_bit(plugins: None, andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    whole = CityModel(andorra_city, spec)
    whole.run()
    half = CityModel(andorra_city, spec)
    half.run(until_s=2400)
    half.checkpoint(tmp_path / "half.npz")
    restored = CityModel.restore(tmp_path / "half.npz", andorra_city, spec)
    restored.run()
    pd.testing.assert_frame_equal(whole.recorder.timeseries(), restored.recorder.timeseries())
    pd.testing.assert_frame_equal(whole.recorder.events_table(), restored.recorder.events_table())
    for name, array in whole.state.arrays().items():
        np.testing.assert_array_equal(array, restored.state.arrays()[name])


def test_a_plugin_entry_is_validated_with_file_and_line(plugins: None, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path, share=1.5)
    [problem] = caught.value.problems
    assert problem.endswith("plugins.yaml:12 hazards[0].share: must be <= 1, got 1.5")


def test_a_plugin_entry_that_does_not_fit_the_map_is_reported(
    plugins: None, andorra_city: City, tmp_path: Path
) -> None:
    path = tmp_path / "plugins.yaml"
    path.write_text(SCENARIO.format(map=ROOT / "maps" / "andorra", share=0.2).replace("secondary, tertiary", "runway"))
    with pytest.raises(ScenarioError) as caught:
        CityModel(andorra_city, load_scenario(path))
    assert any("hazards[0]: highways: no road of" in p for p in caught.value.problems)


def test_without_the_plugins_the_type_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        _scenario(tmp_path)
    assert any("hazards[0].type: unknown hazard type 'tree_fall'" in p for p in caught.value.problems)


def test_a_plugin_run_goes_through_the_library_runner_into_a_sealed_run_folder(plugins: None, tmp_path: Path) -> None:
    """``twin.run_scenario`` (what ``twin run``, sweeps and drills call) runs the plugins from a scenario file and
    writes a run folder whose manifest vouches for its files; the plugin phase's series is in the Results."""
    from twin import run_scenario
    from twin.results import Results

    path = tmp_path / "plugins.yaml"
    path.write_text(SCENARIO.format(map=ROOT / "maps" / "andorra", share=0.2))
    results = run_scenario(path, out=tmp_path / "run")
    loaded = Results.load(tmp_path / "run")
    pd.testing.assert_frame_equal(results.timeseries, loaded.timeseries)
    series = loaded.timeseries.set_index("t_s")
    assert series.loc[1740.0, "closed_km_h"] == 0.0 and series.loc[3600.0, "closed_km_h"] > 0.0
    assert (loaded.events["cause"] == "tree_fall").any()
    assert loaded.provenance["status"] == "complete"
