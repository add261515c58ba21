"""The first hour of a planner (issue 15): each defect a new user met, with the test that shows it fixed."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from twin.errors import ScenarioError
from twin.scenario import load_scenario

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_the_set_hint_is_a_path_the_scenario_being_run_accepts(path: object) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, ["peak_stage_m"])  # type: ignore[arg-type]
    (problem,) = info.value.problems
    hint = re.search(r"e\.g\. --set (\S+)$", problem)
    assert hint is not None, problem
    load_scenario(path, [hint[1]])  # type: ignore[arg-type]  # the hint itself is accepted
    if "flood-1982" in str(path):
        assert hint[1] == "hazards[0].hydrograph.peak_stage_m=4.5"
