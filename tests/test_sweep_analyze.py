"""twin sweep analyze on sweep folders of functions with known answers (no simulation).

Ishigami's analytic Sobol indices (Ishigami & Homma 1990; Saltelli et al. 2008) are recovered within SALib's
intervals by the Sobol and RBD-FAST paths; a linear function gives Morris's mu* and the main effects exactly;
PRIM finds a planted box; the seed share follows the law of total variance by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_sweep_indices import S1, ST, ishigami
from twin.cli import main
from twin.sweep.analysis import Analysis, analyze, load_sweep, seed_share
from twin.sweep.design import draw_unit
from twin.sweep.runner import DESIGN, SWEEP_JSON, UNIT_PREFIX
from twin.sweep.store import ResultStore

NAMES = ["x1", "x2", "x3"]


def write_sweep(
    folder: Path,
    unit: np.ndarray,
    f: Callable[[np.ndarray, int], np.ndarray],
    sampler: str,
    names: list[str] = NAMES,
    replications: int = 1,
    extra: dict | None = None,
    status: Callable[[int], str] = lambda _point: "ok",
) -> Path:
    """A sweep folder as twin sweep writes it, with the metric ``m`` = f(unit points, replication)."""
    points = len(unit)
    rows: dict[str, list] = {"key": [], "point": [], "replication": [], "seed": []}
    for p in range(points):
        for r in range(replications):
            rows["key"] += [f"k{p}-{r}"]
            rows["point"] += [p]
            rows["replication"] += [r]
            rows["seed"] += [r]
    design = pd.DataFrame(rows)
    for j, name in enumerate(names):
        design[UNIT_PREFIX + name] = unit[design["point"], j]
        design[name] = unit[design["point"], j]  # values = unit coordinates (a uniform [0, 1] parameter)
    folder.mkdir(parents=True)
    design.to_parquet(folder / DESIGN)
    experiment = {"sampler": {"method": sampler, "seed": 3, "levels": 4}, **(extra or {})}
    facts = {"parameters": names, "metrics": ["m"], "sampler": sampler, "experiment": experiment}
    (folder / SWEEP_JSON).write_text(json.dumps(facts), encoding="utf-8")
    store = ResultStore(folder, batch_size=1000)
    for r in range(replications):
        y = f(unit, r)
        for p in range(points):
            ok = status(p) == "ok"
            store.add(
                {
                    "key": f"k{p}-{r}",
                    "point": p,
                    "replication": r,
                    "seed": r,
                    "m": y[p] if ok else np.nan,
                    "status": status(p),
                    "error": "" if ok else "boom",
                    "wall_s": 0.1,
                    "worker": "w",
                }
            )
    store.flush()
    return folder


def _index(analysis: Analysis, name: str) -> pd.DataFrame:
    part = analysis.indices[analysis.indices["index"] == name]
    return part.set_index("parameter").reindex(NAMES[: len(part)])


def test_sobol_design_recovers_ishigami_within_salib_intervals(tmp_path: Path) -> None:
    unit = draw_unit("sobol", 3, 2048, seed=3)
    analysis = analyze(load_sweep(write_sweep(tmp_path / "s", unit, lambda u, _r: ishigami(u), "sobol")))
    for name, truth in (("S1", S1), ("ST", ST)):
        table = _index(analysis, name)
        assert (table["method"] == "Sobol").all()
        assert (np.abs(table["value"].to_numpy() - truth) <= table["conf"].to_numpy()).all()


def test_lhs_design_recovers_ishigami_first_order_by_rbd_fast(tmp_path: Path) -> None:
    unit = draw_unit("lhs", 3, 2000, seed=1)
    analysis = analyze(load_sweep(write_sweep(tmp_path / "l", unit, lambda u, _r: ishigami(u), "lhs")))
    table = _index(analysis, "S1")
    assert (table["method"] == "RBD-FAST").all()
    assert (np.abs(table["value"].to_numpy() - S1) <= table["conf"].to_numpy()).all()


def test_morris_on_a_linear_function_gives_its_slopes_exactly(tmp_path: Path) -> None:
    # y = 3 x1 - x2 + 0 x3: every elementary effect of x_i is its slope, so mu* = |slope| and sigma = 0.
    unit = draw_unit("morris", 3, 20, seed=2, levels=4)
    folder = write_sweep(tmp_path / "m", unit, lambda u, _r: 3 * u[:, 0] - u[:, 1], "morris")
    analysis = analyze(load_sweep(folder))
    np.testing.assert_allclose(_index(analysis, "mu_star")["value"], [3.0, 1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(_index(analysis, "sigma")["value"], [0.0, 0.0, 0.0], atol=1e-9)


def test_grid_main_effects_and_seed_share_by_hand(tmp_path: Path) -> None:
    # 3 x 3 grid, y = 3 a + b, replication 0 adds +0.5 and replication 1 adds -0.5.
    levels = np.linspace(0.0, 1.0, 3)
    unit = np.array([(a, b) for a in levels for b in levels])
    folder = write_sweep(
        tmp_path / "g",
        unit,
        lambda u, r: 3 * u[:, 0] + u[:, 1] + (0.5 if r == 0 else -0.5),
        "grid",
        names=["a", "b"],
        replications=2,
    )
    analysis = analyze(load_sweep(folder))
    effects = analysis.effects.set_index("parameter")
    assert list(effects.index) == ["a", "b"]  # largest swing first
    np.testing.assert_allclose(effects["swing"], [3.0, 1.0])
    np.testing.assert_allclose(effects["low"], [1.0 / 2, 3 * 0.5])  # mean at a = 0: (0 + 0.5 + 1) / 3
    # Within each point the variance is 0.25; between points Var(3a) + Var(b) = 9/6 + 1/6.
    share = 0.25 / (0.25 + 10.0 / 6.0)
    assert analysis.summary.loc["m", "seed_share"] == pytest.approx(share)
    assert seed_share(np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 2.0, 2.0])) == 0.0
    assert np.isnan(seed_share(np.array([0, 1]), np.array([1.0, 2.0])))  # one run per point: not measured


def test_prim_finds_a_planted_box(tmp_path: Path) -> None:
    unit = draw_unit("lhs", 2, 600, seed=4)
    fails = lambda u, _r: np.where((u[:, 0] > 0.7) & (u[:, 1] < 0.4), 0.2, 0.9)  # noqa: E731
    folder = write_sweep(
        tmp_path / "p", unit, fails, "lhs", names=["a", "b"], extra={"discovery": {"metric": "m", "below": 0.5}}
    )
    found = analyze(load_sweep(folder)).discovery
    assert found.condition == "m < 0.5" and found.cases == int(((unit[:, 0] > 0.7) & (unit[:, 1] < 0.4)).sum())
    assert found.density >= 0.8 and found.coverage >= 0.8
    # A box [a0, 1] x [0, b1] with a0 >= 0.7 has density 0.4 / b1 on uniform points: >= 0.8 needs b1 <= 0.5.
    assert found.limits.loc["a", "min"] == pytest.approx(0.7, abs=0.03)
    assert 0.37 <= found.limits.loc["b", "max"] <= 0.52
    tight = analyze(load_sweep(folder), min_density=1.0).discovery
    assert tight.density == 1.0
    assert tight.limits.loc["a", "min"] == pytest.approx(0.7, abs=0.03)
    assert tight.limits.loc["b", "max"] == pytest.approx(0.4, abs=0.03)


def test_no_case_of_interest_is_said_in_words(tmp_path: Path) -> None:
    unit = draw_unit("lhs", 2, 50, seed=4)
    folder = write_sweep(tmp_path / "n", unit, lambda u, _r: u[:, 0] + 1.0, "lhs", names=["a", "b"])
    found = analyze(load_sweep(folder), condition="m < 0.5").discovery
    assert found == "no run has m < 0.5: nothing to discover"


def test_a_failed_point_is_named_instead_of_sobol_indices(tmp_path: Path) -> None:
    unit = draw_unit("sobol", 3, 64, seed=3)
    folder = write_sweep(
        tmp_path / "f", unit, lambda u, _r: ishigami(u), "sobol", status=lambda p: "failed" if p == 7 else "ok"
    )
    analysis = analyze(load_sweep(folder))
    assert analysis.indices.empty
    assert analysis.notes == [
        "m: 1 of 320 design points have no value (failed runs or no figure); Sobol indices need every point"
    ]


def test_cli_writes_tables_charts_and_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unit = draw_unit("morris", 2, 12, seed=2, levels=4)
    folder = write_sweep(
        tmp_path / "c",
        unit,
        lambda u, _r: 2 * u[:, 0] + (u[:, 1] > 0.5),
        "morris",
        names=["a", "b"],
        extra={"discovery": {"metric": "m", "above": 1.5}},
    )
    assert main(["sweep", "analyze", str(folder)]) == 0
    out = capsys.readouterr()
    assert "mu_star" in out.out and "PRIM, m > 1.5" in out.out
    files = {p.name for p in (folder / "analysis").iterdir()}
    assert {
        "index.html",
        "summary.parquet",
        "indices.parquet",
        "effects.parquet",
        "discovery.parquet",
        "01-m-indices.png",
        "01-m-tornado.png",
        "01-m-scatter.png",
        "discovery-box.png",
    } <= files
    page = (folder / "analysis" / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5 and "http" not in page.replace("http-equiv", "")
    table = pd.read_parquet(folder / "analysis" / "indices.parquet")
    assert set(table["index"]) == {"mu_star", "sigma"} and len(table) == 4
    features = pd.read_parquet(folder / "analysis" / "features.parquet")
    assert features["parameter"].tolist() == ["a", "b"] and features["score"].sum() == pytest.approx(1.0)
    assert "Extra-trees feature scores of m" in page and "extra trees, out-of-bag R" in out.out


def test_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "analyze", str(tmp_path / "nowhere")]) == 1
    assert "no such sweep folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["sweep", "analyze", str(tmp_path / "empty")]) == 1
    assert "not a sweep folder (sweep.json is missing)" in capsys.readouterr().err
    folder = write_sweep(
        tmp_path / "x", draw_unit("lhs", 2, 20, seed=1), lambda u, _r: u[:, 0], "lhs", names=["a", "b"]
    )
    assert main(["sweep", "analyze", str(folder), "--discover", "Q < 0.5"]) == 1
    err = capsys.readouterr().err
    assert "the sweep kept no metric 'Q'; it kept m" in err and "Traceback" not in err
    assert main(["sweep", "analyze", str(folder), "--discover", "m is low"]) == 1
    assert "expected METRIC < LEVEL" in capsys.readouterr().err


def test_too_few_points_for_rbd_fast_are_said_and_the_main_effects_stand(tmp_path: Path) -> None:
    levels = np.linspace(0.0, 1.0, 3)
    unit = np.array([(a, b) for a in levels for b in levels])
    folder = write_sweep(tmp_path / "t", unit, lambda u, _r: u[:, 0], "grid", names=["a", "b"])
    analysis = analyze(load_sweep(folder))
    assert analysis.indices.empty
    assert analysis.notes == [
        "m: no RBD-FAST indices from 9 points (RBD-FAST needs at least 40 points)",
        "m: no extra-trees feature scores (extra-trees scoring needs at least 20 runs with a value, got 9)",
    ]
    assert analysis.effects.set_index("parameter")["swing"].to_dict() == {"a": 1.0, "b": 0.0}


def test_extra_trees_scores_rank_a_linear_function_and_put_the_irrelevant_input_last(tmp_path: Path) -> None:
    # m = 4 x1 + 2 x2 with x3 unused, on 200 Latin hypercube points with 2 seeds each (identical rows): x1 carries
    # 16/20 of the variance and x2 4/20, so the forest ranks x1, x2, then x3, whose score only chance splits give.
    unit = draw_unit("lhs", 3, 200, seed=5)
    folder = write_sweep(tmp_path / "f", unit, lambda u, _r: 4 * u[:, 0] + 2 * u[:, 1], "lhs", replications=2)
    analysis = analyze(load_sweep(folder))
    scores = analysis.features.set_index("parameter")
    assert scores["score"].idxmax() == "x1" and scores["score"].idxmin() == "x3"
    assert scores.at["x1", "score"] > scores.at["x2", "score"] > scores.at["x3", "score"] + scores.at["x3", "conf"]
    assert scores["score"].sum() == pytest.approx(1.0) and (scores["oob_r2"] > 0.9).all()
    again = analyze(load_sweep(folder))
    pd.testing.assert_frame_equal(analysis.features, again.features)  # seeded: the same scores every time
