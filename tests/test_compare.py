"""twin compare: intervals (Student, Welch), grouping into variants, exact differences, coverage across seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.report_runs import make_run, reseal
from twin.cli import main
from twin.report.compare import comparability_warnings, group_by_patterns, group_by_scenario
from twin.report.compare_page import compare_runs
from twin.report.runfolder import read_run
from twin.report.stats import difference_interval, mean_interval
from twin.seeds import seed_folders


def test_student_interval_hand_computed() -> None:
    # mean 2, s = 1, t(0.975, 2) = 4.302653: half-width 4.302653 / sqrt(3).
    interval = mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729749464 / math.sqrt(3.0)
    assert (interval.estimate, interval.low, interval.high, interval.df) == pytest.approx((2.0, 2 - half, 2 + half, 2))
    single = mean_interval([5.0, math.nan])
    assert single.estimate == 5.0 and math.isnan(single.low) and math.isnan(single.high)


def test_welch_interval_hand_computed() -> None:
    # Difference 4 - 2 = 2; se^2 = 1/3 + 4/3 = 5/3; df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17.
    interval = difference_interval([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert interval.estimate == pytest.approx(2.0)
    assert interval.df == pytest.approx(50.0 / 17.0)
    from scipy import stats

    half = stats.t.ppf(0.975, 50.0 / 17.0) * math.sqrt(5.0 / 3.0)
    assert (interval.low, interval.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert not interval.excludes_zero
    exact = difference_interval([1.0, 1.0], [3.0, 3.0])  # no spread on either side: the difference itself
    assert (exact.low, exact.high) == (2.0, 2.0) and exact.excludes_zero


def test_intervals_cover_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    trials = 2000
    means = [mean_interval(rng.normal(3.0, 2.0, 8)) for _ in range(trials)]
    covered = np.mean([m.low <= 3.0 <= m.high for m in means])
    diffs = [difference_interval(rng.normal(1.0, 0.5, 6), rng.normal(1.5, 2.0, 10)) for _ in range(trials)]
    covered_diff = np.mean([d.low <= 0.5 <= d.high for d in diffs])
    # Binomial sd at 2000 trials is 0.005: a wrong quantile or df would miss these bands.
    assert 0.935 <= covered <= 0.965
    assert 0.935 <= covered_diff <= 0.965


def _loss(frame: pd.DataFrame, variant: str, service: str = "access", metric: str = "resilience_loss_h") -> pd.Series:
    rows = frame[(frame["variant"] == variant) & (frame["service"] == service) & (frame["metric"] == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_compare_two_runs_reports_the_known_difference_exactly(tmp_path: Path) -> None:
    base = make_run(tmp_path / "base", name="town-flood", depth=0.5)
    levee = make_run(tmp_path / "levee", name="town-levee", depth=0.3)
    frame = compare_runs([base, levee], tmp_path / "out")
    # Q_access dips to 1 - depth for 1 h .. 2 h (ramps of 1 h either side): loss = 2 x depth hours.
    row = _loss(frame, "town-levee")
    assert row["mean"] == pytest.approx(0.6, abs=1e-12)
    assert row["delta"] == pytest.approx(-0.4, abs=1e-12)
    assert row["delta_rel"] == pytest.approx(-0.4, abs=1e-12)
    assert math.isnan(row["delta_ci_low"]) and not row["real"]  # one seed each: exact, no interval
    people = _loss(frame, "town-levee", metric="people_hours_without_service")
    assert people["delta"] == pytest.approx(-400.0)  # 1000 residents x -0.4 h
    stored = pd.read_parquet(tmp_path / "out" / "compare.parquet")
    pd.testing.assert_frame_equal(stored, frame)
    assert pd.read_csv(tmp_path / "out" / "compare.csv").shape == frame.shape
    page = (tmp_path / "out" / "compare.html").read_text(encoding="utf-8")
    assert "-0.40" in page and "-40.0%" in page
    for section in ("cmp-runs", "cmp-table", "cmp-curves", "cmp-maps"):
        assert f'<section id="{section}">' in page
    # Curves overlaid, then depth, closures and power-zone difference maps.
    assert page.count('src="data:image/png;base64,') == 4


def test_across_seeds_the_interval_covers_the_known_mean(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    base_depths = rng.normal(0.5, 0.05, 10).clip(0.0, 1.0)
    levee_depths = rng.normal(0.3, 0.05, 10).clip(0.0, 1.0)
    folders = []
    for name, prefix, depths in (("town-flood", "b", base_depths), ("town-levee", "l", levee_depths)):
        for seed, depth in enumerate(depths):
            folders.append(make_run(tmp_path / f"{prefix}{seed}", name=name, seed=seed, depth=depth, layers=False))
    frame = compare_runs(folders, tmp_path / "out")
    base, levee = _loss(frame, "town-flood"), _loss(frame, "town-levee")
    assert base["n"] == 10 and base["seeds"] == " ".join(str(s) for s in range(10))
    assert base["ci_low"] <= 1.0 <= base["ci_high"]  # true mean loss 2 x 0.5 h
    assert levee["ci_low"] <= 0.6 <= levee["ci_high"]
    assert levee["delta_ci_low"] <= -0.4 <= levee["delta_ci_high"] and levee["real"]
    assert levee["mean"] - base["mean"] == pytest.approx(levee["delta"])


def test_runs_group_by_scenario_without_seed_or_by_patterns(tmp_path: Path) -> None:
    runs = [read_run(make_run(tmp_path / f"a{s}", name="town", seed=s, layers=False)) for s in (1, 2)]
    changed = make_run(tmp_path / "c1", name="town", seed=1, layers=False)
    scenario = json.loads((changed / "scenario.json").read_text(encoding="utf-8"))
    scenario["step"] = 600.0  # same name, another resolved scenario: another variant
    (changed / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    reseal(changed)
    runs.append(read_run(changed))
    variants = group_by_scenario(runs)
    assert [(v.label, v.seeds) for v in variants] == [("town", [1, 2]), ("town #2", [1])]
    by_pattern = group_by_patterns(runs, [f"first={tmp_path}/a*", f"second={tmp_path}/c*"])
    assert [(v.label, len(v.runs)) for v in by_pattern] == [("first", 2), ("second", 1)]


def test_compare_cli_bad_groups_and_folders_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "r", layers=False)
    assert main(["compare", str(run), "--group", "nolabel", "--group", "x=nowhere/*", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "write LABEL=PATTERN" in err and "matches no --group pattern" in err and "Traceback" not in err
    assert main(["compare", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1
    assert "no such run folder" in capsys.readouterr().err


def test_compare_cli_writes_the_three_files(tmp_path: Path) -> None:
    a, b = make_run(tmp_path / "a", name="x", layers=False), make_run(tmp_path / "b", name="y", depth=0.2)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "--lang", "zh"]) == 0
    assert "方案对比" in (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert (tmp_path / "cmp" / "compare.parquet").is_file() and (tmp_path / "cmp" / "compare.csv").is_file()


def test_seed_folders() -> None:
    assert seed_folders(Path("out"), 4, 3) == [
        (4, Path("out/seed-4")),
        (5, Path("out/seed-5")),
        (6, Path("out/seed-6")),
    ]


def test_run_seeds_rejects_a_count_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import ROOT

    assert main(["run", str(ROOT / "scenarios" / "andorra-baseline.yaml"), "--seeds", "0"]) == 1
    assert "--seeds 0: give the number of runs" in capsys.readouterr().err


@pytest.mark.slow
def test_run_seeds_writes_runs_and_their_comparison(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    scenario = ROOT / "scenarios" / "andorra-substation-outage.yaml"
    out = tmp_path / "seeds"
    assert (
        main(["run", str(scenario), "--seeds", "2", "--seed", "5", "--until", "2h", "--out", str(out), "--quiet"]) == 0
    )
    for seed in (5, 6):
        provenance = json.loads((out / f"seed-{seed}" / "provenance.json").read_text(encoding="utf-8"))
        assert provenance["seed"] == seed
        assert (out / f"seed-{seed}" / "report.html").is_file()
    frame = pd.read_parquet(out / "compare" / "compare.parquet")
    assert set(frame["variant"]) == {"andorra-substation-outage"} and set(frame["runs"]) == {2}
    assert (out / "compare" / "compare.html").is_file()


def test_runs_over_different_spans_or_maps_are_compared_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 1 h baseline (stopped with --until) against an 11 h flood on another map was compared silently: the
    # flood's loss integrates ten more hours, so the difference measured the span as much as the variant.
    base = make_run(tmp_path / "base", name="town", layers=False, hours=2)
    flood = make_run(tmp_path / "flood", name="town-flood", layers=False, hours=6, map_hash="othertown")
    same = make_run(tmp_path / "same", name="town-levee", layers=False, hours=2)
    assert comparability_warnings([read_run(base), read_run(same)]) == []
    warnings = comparability_warnings([read_run(base), read_run(flood)])
    assert [key for key, _ in warnings] == ["cmp_warn_span", "cmp_warn_maps"]
    assert warnings[0][1]["spans"] == "base 2 h, flood 6 h"
    assert main(["compare", str(base), str(flood), "--out", str(tmp_path / "cmp"), "--lang", "zh"]) == 0
    err = capsys.readouterr().err
    assert "warning: Not comparable as they stand: the runs cover different spans of simulated time (base 2 h" in err
    assert "warning: The runs are on different maps (base testville (testville), flood testville (othertown))" in err
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "各运行覆盖的模拟时长不同（base 2 h, flood 6 h）" in page
