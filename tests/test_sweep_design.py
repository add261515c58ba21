"""Experiment files and designs: validation with lines, grid, LHS stratification, Sobol and Morris sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from twin.errors import ScenarioError
from twin.inputs import display_path
from twin.interventions.spec import LeveeSpec
from twin.sweep.design import build_design, draw_unit, from_unit
from twin.sweep.experiment import ParameterSpec, load_experiment, override_text
from twin.sweep.plan import base_facts, plan_tasks

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "andorra-flood-1982.yaml"


def write_exp(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text.replace("BASE", str(BASE)), encoding="utf-8")
    return path


GOOD = """name: levee
base: BASE
sampler: grid
replications: 3
parameters:
  hazards[0].hydrograph.peak_stage_m: {levels: [3.0, 5.0]}
  hazards[0].channel_depth_m: {low: 2.0, high: 4.0, n: 2}
metrics: [health.min_q, "time_below(Q_health, 0.5)"]
"""


def test_grid_design_is_every_combination(tmp_path: Path) -> None:
    exp = load_experiment(write_exp(tmp_path, GOOD))
    design = build_design(exp.spec)
    assert design.values == ((3.0, 2.0), (3.0, 4.0), (5.0, 2.0), (5.0, 4.0))
    assert design.unit.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_lhs_holds_one_point_per_bin_in_every_dimension() -> None:
    n = 17
    unit = draw_unit("lhs", 3, n, seed=5)
    for column in unit.T:
        assert sorted(np.floor(column * n).astype(int).tolist()) == list(range(n))
    assert np.array_equal(unit, draw_unit("lhs", 3, n, seed=5))
    assert not np.array_equal(unit, draw_unit("lhs", 3, n, seed=6))


def test_sobol_and_morris_sizes_and_structure() -> None:
    unit = draw_unit("sobol", 3, 8, seed=1)
    assert unit.shape == (8 * (3 + 2), 3)
    a, b = unit[0::5], unit[4::5]
    ab1 = unit[1::5]  # Saltelli: A with column 0 taken from B
    assert np.array_equal(ab1[:, 0], b[:, 0]) and np.array_equal(ab1[:, 1:], a[:, 1:])
    morris = draw_unit("morris", 3, 4, seed=1, levels=4)
    assert morris.shape == (4 * 4, 3)
    steps = np.diff(morris.reshape(4, 4, 3), axis=1)
    assert (np.count_nonzero(steps, axis=2) == 1).all()  # one parameter moves per step
    assert set(np.round(np.unique(morris), 6)) <= {0.0, round(1 / 3, 6), round(2 / 3, 6), 1.0}


def test_distributions_map_the_unit_interval() -> None:
    uniform = ParameterSpec.model_validate({"low": 2.0, "high": 6.0})
    assert from_unit(uniform, 0.25) == 3.0
    normal = ParameterSpec.model_validate({"distribution": "normal", "mean": 4.0, "sd": 1.0, "low": 0.0, "high": 8.0})
    assert from_unit(normal, 0.5) == pytest.approx(4.0)
    assert from_unit(normal, 0.0) == 0.0 and from_unit(normal, 1.0) == 8.0
    tri = ParameterSpec.model_validate({"distribution": "triangular", "low": 0.0, "mode": 0.0, "high": 1.0})
    assert from_unit(tri, 0.75) == pytest.approx(1 - np.sqrt(0.25))  # F(x) = 1 - (1 - x)^2
    levels = ParameterSpec.model_validate({"levels": ["a", "b", "c"]})
    assert [from_unit(levels, u) for u in (0.0, 0.34, 0.99, 1.0)] == ["a", "b", "c", "c"]


@pytest.mark.parametrize("value", [1e-05, 1e20, 2.5, 3, True, "free_flow", 'a"b'])
def test_override_text_reads_back_as_the_value(value: object) -> None:
    assert yaml.safe_load(override_text(value)) == value


def test_every_problem_with_its_line(tmp_path: Path) -> None:
    text = """name: levee
base: BASE
sampler: {method: lhs}
parameters:
  hazards[0].hydrograph.peak_stg: {low: 3.0, high: 5.0}
  hazards[0].channel_depth_m: {low: 4.0, high: 2.0}
  hazards[0].hydrograph.peak_stage_m: {low: -1.0, high: 5.0}
metrics: [health.min_q, "median(Q_health)"]
keep_runs: some
"""
    with pytest.raises(ScenarioError) as err:
        load_experiment(write_exp(tmp_path, text))
    problems = err.value.problems
    joined = "\n".join(problems)
    assert "exp.yaml:3 sampler.n: the lhs sampler needs n" in joined
    assert "exp.yaml:6" in joined and "must be greater than low" in joined
    assert "exp.yaml:8" in joined and "unknown summary median()" in joined
    assert "exp.yaml:9 keep_runs" in joined
    # Paths are checked against the base only once the file itself is valid:
    with pytest.raises(ScenarioError) as err:
        load_experiment(
            write_exp(
                tmp_path,
                text.replace("{method: lhs}", "{method: lhs, n: 4}")
                .replace("  hazards[0].channel_depth_m: {low: 4.0, high: 2.0}\n", "")
                .replace(', "median(Q_health)"', "")
                .replace("keep_runs: some\n", ""),
            )
        )
    problems = err.value.problems
    assert len(problems) == 2
    assert "exp.yaml:5 parameters.hazards[0].hydrograph.peak_stg: the base scenario" in problems[0]
    assert problems[0].endswith("hazards[0].hydrograph.peak_stg: unknown key 'peak_stg'; did you mean 'peak_stage_m'?")
    assert "exp.yaml:6 parameters.hazards[0].hydrograph.peak_stage_m" in problems[1]
    assert "-1.0" in problems[1] and "> 0" in problems[1]


def test_cli_reports_a_bad_experiment_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twin.cli import main

    path = write_exp(tmp_path, GOOD.replace("levels: [3.0, 5.0]", "levels: [-3.0, 5.0]"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "exp.yaml:6 parameters.hazards[0].hydrograph.peak_stage_m" in err and "must be > 0" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_the_shipped_levee_experiment_sweeps_the_real_levee_and_warning() -> None:
    experiment = load_experiment(Path(__file__).resolve().parents[1] / "experiments" / "andorra-flood-levee.yaml")
    assert experiment.names == ["interventions[levee].crest_m", "warnings[0].at", "hazards[0].hydrograph.peak_stage_m"]
    assert experiment.resolved["interventions[levee].crest_m"] == "interventions[0].crest_m"
    assert experiment.base.name == "andorra-flood-1982-levee.yaml"


LEVEE_BASE = ROOT / "scenarios" / "andorra-flood-1982-levee.yaml"
BY_NAME = """name: wall
base: BASE
sampler: grid
parameters:
  hazards[0].hydrograph.peak_stage_m: {levels: [4.0, 5.0]}
  PATH: {levels: [1.0, 2.5]}
metrics: [health.min_q]
"""


def write_by_name(tmp_path: Path, path: str, base: Path = LEVEE_BASE) -> Path:
    tmp_path.mkdir(exist_ok=True)
    out = tmp_path / "exp.yaml"
    out.write_text(BY_NAME.replace("BASE", str(base)).replace("PATH", path), encoding="utf-8")
    return out


@pytest.mark.parametrize("path", ["interventions[levee].crest_m", "interventions[Santa Coloma flood wall].crest_m"])
def test_a_parameter_names_its_entry_by_type_or_label(tmp_path: Path, path: str) -> None:
    exp = load_experiment(write_by_name(tmp_path, path))
    assert exp.names[1] == path and exp.resolved[path] == "interventions[0].crest_m"
    assert exp.resolved["hazards[0].hydrograph.peak_stage_m"] == "hazards[0].hydrograph.peak_stage_m"
    from twin.scenario import load_scenario

    design = build_design(exp.spec)
    tasks = plan_tasks(exp, design, base_facts(exp), None)
    levee = load_scenario(exp.base, tasks[-1].overrides).interventions[0]
    assert isinstance(levee, LeveeSpec) and levee.crest_m == 2.5
    # The name and the index spell the same runs: the same keys, so a sweep resumes across the two spellings.
    by_index = load_experiment(write_by_name(tmp_path / "i", "interventions[0].crest_m"))
    other = plan_tasks(by_index, build_design(by_index.spec), base_facts(by_index), None)
    assert [t.key for t in tasks] == [t.key for t in other]


def test_a_parameter_entry_name_that_matches_none_is_reported_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        load_experiment(path := write_by_name(tmp_path, "interventions[flood_wall].crest_m"))
    assert err.value.problems == [
        f"{display_path(path)}:6 parameters.interventions[flood_wall].crest_m: interventions[flood_wall] matches "
        "no entry: no interventions entry has type, kind, label or name 'flood_wall'; its entries are [0] type "
        f"'levee', label 'Santa Coloma flood wall' (in the base scenario {display_path(LEVEE_BASE)})"
    ]


def test_a_parameter_entry_name_that_matches_several_is_reported_at_its_line(tmp_path: Path) -> None:
    two = tmp_path / "two-walls.yaml"
    two.write_text(
        f"extends: {ROOT / 'scenarios' / 'andorra-flood-1982.yaml'}\n"
        "interventions:\n"
        "  - {type: levee, label: Santa Coloma, street: Avinguda de Santa Coloma, crest_m: 2.0}\n"
        "  - {type: levee, street: Avinguda Meritxell, crest_m: 1.0}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(path := write_by_name(tmp_path / "e", "interventions[levee].crest_m", base=two))
    [problem] = err.value.problems
    assert problem.startswith(
        f"{display_path(path)}:6 parameters.interventions[levee].crest_m: interventions[levee] matches 2 entries "
        "(interventions[0], interventions[1]); choose one by its index, or by a label or name of its own "
        "(interventions[0] 'Santa Coloma')"
    )
