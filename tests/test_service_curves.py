"""The service-level curves of runs of any length: a drill ended a few minutes in, a run stopped between two
records or at its start, events after the last record. Such runs once crashed the drawing (FreeType's "raster
overflow": event labels millions of pixels right of a 1e-6 h axis)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.report.curves import NOTHING_TO_DRAW, plot_span_s, service_levels_figure
from twin.report.figures import png_bytes

CLOSE = {"t_s": [240.0], "kind": ["close_link"], "target": ["Avinguda de Salou"], "cause": ["command"]}


def _one_record() -> pd.DataFrame:
    return pd.DataFrame({"t_s": [0.0], "Q_access": [1.0], "Q_shelter": [1.0]})


def _texts(figure: object) -> list[str]:
    return [t.get_text() for t in figure.axes[0].texts]  # type: ignore[attr-defined]


def test_the_span_is_the_latest_of_last_record_last_event_and_stop() -> None:
    events = pd.DataFrame(CLOSE)
    assert plot_span_s(_one_record(), events) == 240.0  # the event, after the only record
    assert plot_span_s(_one_record(), events, end_s=270.0) == 270.0  # the stop, after the event
    assert plot_span_s(_one_record(), events.iloc[:0], end_s=0.0) == 0.0  # stopped at its start
    inf = pd.DataFrame({**CLOSE, "t_s": [float("inf")]})
    assert plot_span_s(_one_record(), inf, end_s=60.0) == 60.0  # a damaged time never stretches the axis


def test_a_drill_ended_before_its_second_record_draws_its_events() -> None:
    figure = service_levels_figure(_one_record(), pd.DataFrame(CLOSE), "short drill", end_s=240.0)
    assert figure.axes[0].get_xlim() == (0.0, 240.0 / 3600.0)  # 4 min, in hours
    assert _texts(figure) == ["close link Avinguda de Salou"]
    assert figure.axes[0].get_xlabel() == "minutes since start"
    shown = [t.get_text() for t in figure.axes[0].get_xticklabels() if 0 <= t.get_position()[0] <= 240 / 3600]
    assert shown == ["0 min", "1 min", "2 min", "3 min", "4 min"]  # 4 min: a tick a minute (<= 8 ticks)
    assert len(png_bytes(figure)) > 1000  # drawn: this raised "raster overflow" before


def test_an_event_outside_the_run_is_not_drawn() -> None:
    events = pd.DataFrame({**CLOSE, "t_s": [-60.0]})
    figure = service_levels_figure(_one_record(), events, "x", end_s=120.0)
    assert _texts(figure) == []
    assert len(png_bytes(figure)) > 1000


def test_a_run_stopped_at_its_start_says_there_is_nothing_to_draw() -> None:
    figure = service_levels_figure(_one_record(), pd.DataFrame(CLOSE).iloc[:0], "x", end_s=0.0)
    assert _texts(figure) == [NOTHING_TO_DRAW]
    assert len(png_bytes(figure)) > 1000


def test_a_one_step_run_writes_its_curves_and_report(andorra_city: City, tmp_path: Path) -> None:
    from twin.report.html_report import write_report
    from twin.run import run_model
    from twin.sim.model import CityModel

    scenario = {
        "name": "one step",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "1h",
        "step": "60s",
        "seed": 3,
        "outputs": {"record_every": "5min"},
        "events": [{"kind": "close_link", "at": "1min", "target": {"bridges_over": "valira"}}],
    }
    model = CityModel(andorra_city, scenario_of(tmp_path, scenario))
    run_model(model, out=tmp_path / "run", until_s=60.0)
    assert (tmp_path / "run" / "service_levels.png").stat().st_size > 1000
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "The run stopped after 1 min, before its second record of the service levels" in page


@pytest.mark.slow
def test_a_short_drill_with_residents_finishes_replays_and_reports(andorra_city: City, tmp_path: Path) -> None:
    from tests.test_drill_session import CLOSE_SALOU, ROLES, SCENARIO, FakeWall, _run_for
    from twin.drill.report import write_after_action
    from twin.drill.session import RUN_FOLDER, DrillSession, DrillSetup, replay_drill

    wall, folder = FakeWall(), tmp_path / "drill"
    session = DrillSession.start(folder, DrillSetup(SCENARIO, speed=60), now=wall, city=andorra_city)
    assert session.model.spec.residents is not None
    session.control(ROLES["controller"], {"action": "start"})
    _run_for(session, wall, 2)  # 2 min
    session.submit(ROLES["police"], CLOSE_SALOU)
    _run_for(session, wall, 2)  # 4 min: before the second record (every 5 min)
    session.control(ROLES["controller"], {"action": "end"})
    drill = session.finish()
    assert drill.timeseries["t_s"].tolist() == [0.0]
    assert (folder / RUN_FOLDER / "service_levels.png").stat().st_size > 1000
    replay = replay_drill(folder, tmp_path / "replay", city=andorra_city)
    pd.testing.assert_frame_equal(drill.events, replay.events, check_exact=True)
    assert write_after_action(folder, city=andorra_city).exists()
