"""The planner's report (twin report): strings, the figures it adds, the HTML it writes from a run folder."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.report_runs import HOUR, dip_series, make_run, reseal, zone_table
from twin.cli import main
from twin.metrics.agility import time_to_turn_s
from twin.report.html_report import build_report, fmt_duration, write_report
from twin.report.runfolder import read_run, zone_hours_without_service
from twin.report.strings import EN, TABLES, ZH

SECTIONS = ("sec-run", "sec-headline", "sec-curves", "sec-maps", "sec-timeline", "sec-properties")
#: Anything that would make a browser fetch: an http(s) URL, a src/href that is not a data URI or an anchor,
#: a CSS url() that is not a data URI, a protocol-relative URL.
EXTERNAL = re.compile(r"https?://|(?:src|href)\s*=\s*[\"'](?!data:|#)|url\((?!data:)|[\"']//")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_string_tables_have_the_same_keys_and_fields() -> None:
    assert set(EN) == set(ZH)
    for key in EN:
        assert _fields(EN[key]) == _fields(ZH[key]), key
    assert all(value.strip() for table in TABLES.values() for value in table.values())


def test_time_to_turn_hand_computed() -> None:
    t = np.arange(6) * HOUR
    # Below 0.95 from 2 h; lowest (0.3) first at 3 h; first rise above it at 5 h: 5 h - 2 h.
    assert time_to_turn_s(t, [1.0, 1.0, 0.5, 0.3, 0.3, 0.6]) == 3 * HOUR
    assert time_to_turn_s(t, [1.0, 0.99, 0.96, 1.0, 1.0, 1.0]) == 0.0
    assert time_to_turn_s(t, [1.0, 0.8, 0.5, 0.5, 0.5, 0.5]) is None
    with pytest.raises(ValueError, match="threshold"):
        time_to_turn_s(t, np.ones(6), threshold=1.5)


def test_zone_hours_without_service_hand_computed() -> None:
    zones = zone_table(dip_series(0.5))
    hours = zone_hours_without_service(zones, "power")
    # Zone 0: 1 - q ramps 0 -> 0.5 between 1 h and 2 h (0.25 h), then 0.5 for 4 h (2 h). Zone 1 always served.
    assert hours.to_dict() == pytest.approx({0: 2.25, 1: 0.0})
    assert zone_hours_without_service(zones, "water").empty
    assert zone_hours_without_service(None, "power").empty


def test_durations_in_both_languages() -> None:
    assert fmt_duration(90061, "en") == "1 d 1 h"
    assert fmt_duration(5400, "en") == "1 h 30 min"
    assert fmt_duration(7200, "en") == "2 h"
    assert fmt_duration(45, "en") == "45 s"
    assert fmt_duration(5400, "zh") == "1 小时 30 分钟"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "flood")


def test_report_has_every_section_and_picture_and_nothing_external(run_folder: Path) -> None:
    page = build_report(read_run(run_folder), "en")
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    # The curves, the hazard map and the power zones' map.
    assert page.count('src="data:image/png;base64,') == 3
    assert EXTERNAL.search(page) is None
    assert "<script" not in page
    assert "Main Street" in page and "river rising" in page  # timeline: the target and the message's text
    assert "Assumptions (3)" in page
    assert "river_flood (test)" in page and "1: close_link × 1" in page


def test_report_headline_figures_match_the_metrics(run_folder: Path) -> None:
    page = build_report(read_run(run_folder), "en")
    # Q_access dips to 0.5 for 1 h .. 2 h: loss = 0.25 + 0.5 + 0.25 = 1.00 h; recovered at 3 h, 2 h after 1 h.
    row = re.search(r"<td>Access to hospitals</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["0.500", "1.00", "0.833", "2 h", "1,000"]


def test_report_is_deterministic_and_chinese_is_whole(run_folder: Path) -> None:
    run = read_run(run_folder)
    assert build_report(run, "en") == build_report(run, "en")
    chinese = build_report(run, "zh")
    assert chinese == build_report(run, "zh")
    assert '<html lang="zh-CN">' in chinese and "韧性报告" in chinese and "事件时间线" in chinese
    assert '@font-face{font-family:"twin-cjk";src:url(data:font/otf;base64,' in chinese
    english_headings = [EN[k] for k in ("sec_run", "sec_headline", "sec_timeline", "m_recover", "axis_hours")]
    assert not [h for h in english_headings if h in chinese]
    assert EXTERNAL.search(chinese) is None


def test_cli_report_writes_into_the_run_folder_and_elsewhere(run_folder: Path, tmp_path: Path) -> None:
    assert main(["report", str(run_folder)]) == 0
    assert (run_folder / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    out = tmp_path / "zh.html"
    assert main(["report", str(run_folder), "--lang", "zh", "--out", str(out)]) == 0
    assert "韧性报告" in out.read_text(encoding="utf-8")


def test_cli_report_on_a_folder_that_is_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no such run folder" in err and "is this a twin run folder?" in err
    assert "Traceback" not in err


def test_incomplete_run_without_layers_says_so(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "bare", layers=False)
    reseal(folder, "incomplete", stopped_at_s=7200)
    page = write_report(folder).read_text(encoding="utf-8")
    assert "incomplete: the run stopped early, figures cover 2 h only" in page
    assert "no map to draw" in page


def test_report_without_service_levels(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "none", layers=False)
    series = pd.read_parquet(folder / "timeseries.parquet")[["t_s", "links_closed"]]
    series.to_parquet(folder / "timeseries.parquet")
    (folder / "metrics.json").write_text("{}", encoding="utf-8")
    reseal(folder)
    page = build_report(read_run(folder), "en")
    assert page.count("This run recorded no service levels.") == 2


def _draw_text(lang: str, text: str) -> list[str]:
    """Draw ``text`` in the figure fonts of ``lang``; the missing-glyph warnings matplotlib gave."""
    import warnings

    from matplotlib.figure import Figure

    from twin.report.figures import png_bytes
    from twin.report.fonts import figure_fonts

    with warnings.catch_warnings(record=True) as caught, figure_fonts(lang):
        warnings.simplefilter("always")
        figure = Figure(figsize=(2, 1))
        figure.text(0.1, 0.5, text)
        png_bytes(figure)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_figures_draw_every_glyph_with_the_cjk_font() -> None:
    text = ZH["axis_hours"] + ZH["map_depth"] + ZH["service_water"]
    assert _draw_text("zh", text) == []
    assert _draw_text("en", text)  # the Latin font alone lacks them: the check can fail


def test_cjk_subset_is_small_and_deterministic() -> None:
    import io

    from fontTools.ttLib import TTFont

    from twin.report.fonts import cjk_subset

    data = cjk_subset("韧性报告 Q 1.0")
    assert data == cjk_subset("韧性报告 Q 1.0")
    assert len(data) < 100_000
    cmap = TTFont(io.BytesIO(data)).getBestCmap()
    assert {ord(c) for c in "韧性报告Q"} <= set(cmap) and ord("洪") not in cmap
