"""``twin report RUN``: the planner's report of one run, a self-contained HTML file (``report.html``).

Sections: what was run, headline figures per service, the Q(t) curves with the loss area, maps, a timeline of
events, and the resilience properties with the figure that measures each. The report reads the run folder only
(:mod:`twin.report.runfolder`); the same folder and language give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.atomic import write_text_atomic
from twin.metrics import service_names
from twin.metrics.agility import time_to_turn_s
from twin.report.interventions import interventions_html
from twin.report.page import Section, esc, facts, figure, render, table, zoomable_figure
from twin.report.runfolder import RunData, read_run, service_key, zone_hours_without_service
from twin.report.strings import tr, tr_or
from twin.results import Results

REPORT_HTML = "report.html"
#: Groups of simultaneous events of one kind shown in the timeline (the rest are counted).
TIMELINE_ROWS = 80
TARGETS_SHOWN = 3


def write_report(folder: Path, out: Path | None = None, lang: str = "en", results: Results | None = None) -> Path:
    """Write the report of a run folder.

    Parameters
    ----------
    folder
        The run folder (written by ``twin run``).
    out
        The HTML file to write; ``report.html`` in the run folder when None.
    lang
        ``"en"`` or ``"zh"``.
    results
        The run's Results when the caller holds them (the runner writes the report before it seals the
        folder, so the status it reports is the one the folder will have); read from the folder otherwise.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    RunError
        If the folder is not a readable run folder.
    """
    target = Path(out) if out is not None else Path(folder) / REPORT_HTML
    write_text_atomic(target, build_report(read_run(Path(folder), results), lang))
    return target


def build_report(run: RunData, lang: str = "en") -> str:
    """The report of a run as one HTML document."""
    from twin import __version__

    sections = [
        Section("sec-run", tr(lang, "sec_run"), run_section(run, lang)),
        Section("sec-headline", tr(lang, "sec_headline"), headline_section(run, lang)),
        Section("sec-curves", tr(lang, "sec_curves"), curves_section(run, lang)),
        Section("sec-maps", tr(lang, "sec_maps"), maps_section(run, lang)),
        Section("sec-timeline", tr(lang, "sec_timeline"), timeline_section(run, lang)),
        Section("sec-properties", tr(lang, "sec_properties"), properties_section(run, lang)),
    ]
    title = tr(lang, "title", name=run.name)
    return render(lang, title, tr(lang, "subtitle"), sections, tr(lang, "footer", version=__version__))


# --- formatting ---------------------------------------------------------------------------------------------


def fmt_duration(seconds: float, lang: str) -> str:
    """A duration in the report's words: ``2 d 3 h``, ``5 h 30 min``, ``15 min``, ``45 s``."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return tr(lang, "dur_d", d=days, h=hours)
    if hours:
        return tr(lang, "dur_h", h=hours, m=minutes) if minutes else tr(lang, "dur_h0", h=hours)
    if minutes:
        return tr(lang, "dur_min", m=minutes)
    return tr(lang, "dur_s", s=secs)


def fmt_number(value: float | None, digits: int) -> str:
    """A number with ``digits`` decimals and thousands separators; an en dash when missing."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def service_name(service: str, lang: str) -> str:
    """The service's name in the report's language (the bare name for a service the tables do not know)."""
    return tr_or(lang, f"service_{service}", service)


def services_of(run: RunData) -> list[str]:
    """The services of the run's metrics, in the usual order (access, power, water, telecom, health, others)."""
    known = service_names(run.results.metrics)
    return sorted(known, key=service_key)


def recovery_threshold(run: RunData) -> float:
    """The share of normal service that counts as recovered, from the resolved scenario (0.95 by default)."""
    metrics = run.results.scenario.get("metrics") or {}
    return float(metrics.get("recovery_threshold") or 0.95)


# --- sections -----------------------------------------------------------------------------------------------


def run_section(run: RunData, lang: str) -> str:
    """Scenario, map, seed, times, status, hazards, events, interventions, software, assumptions with counts."""
    scenario, provenance = run.results.scenario, run.results.provenance
    status = tr(lang, "status_complete")
    if provenance.get("status") != "complete":
        status = tr(lang, "status_incomplete", until=fmt_duration(float(provenance.get("stopped_at_s") or 0), lang))
    step = f"{fmt_duration(float(scenario.get('step') or 0), lang)} / "
    step += fmt_duration(float((scenario.get("outputs") or {}).get("record_every") or scenario.get("step") or 0), lang)
    items = [
        (tr(lang, "scenario"), esc(run.name)),
        (tr(lang, "description"), esc(str(scenario.get("description") or "").strip() or "–")),
        (tr(lang, "map"), esc(Path(str(scenario.get("map") or "")).name or "–")),
        (tr(lang, "seed"), esc(provenance.get("seed", scenario.get("seed", "–")))),
        (tr(lang, "start"), esc(f"{scenario.get('start', '–')} ({scenario.get('timezone', '')})")),
        (tr(lang, "duration"), esc(fmt_duration(float(scenario.get("duration") or 0), lang))),
        (tr(lang, "step"), esc(step)),
        (tr(lang, "status"), esc(status)),
        (tr(lang, "hazards"), esc(_hazards_text(scenario, lang))),
        (tr(lang, "events_scripted"), esc(_count_by(scenario.get("events") or []))),
        (tr(lang, "interventions"), esc(_count_by(scenario.get("interventions") or []))),
        (tr(lang, "run_folder"), esc(run.folder.name)),
        (tr(lang, "software"), esc(_software_text(provenance))),
    ]
    measures = interventions_html(scenario, lang)
    return facts(items) + measures + _assumptions_html(run.results.assumptions, lang)


def _hazards_text(scenario: dict[str, Any], lang: str) -> str:
    """``river_flood (valira); landslide``: each hazard entry's type and what it acts on, if it names it."""
    hazards = scenario.get("hazards") or []
    if not hazards:
        return tr(lang, "no_hazards")
    return "; ".join(_hazard_label(entry) for entry in hazards)


def _hazard_label(entry: dict[str, Any]) -> str:
    detail = entry.get("rivers") or (entry.get("target") or {}).get("name") or ""
    if isinstance(detail, list):
        detail = ", ".join(str(d) for d in detail)
    return f"{entry.get('type', '?')}" + (f" ({detail})" if detail else "")


def _count_by(entries: list[dict[str, Any]]) -> str:
    """``3: close_link × 2, message × 1``: the entries counted by their ``type`` (typed entries) or ``kind``."""
    counts: dict[str, int] = {}
    for entry in entries:
        name = str(entry.get("type") or entry.get("kind") or "?")
        counts[name] = counts.get(name, 0) + 1
    return f"{len(entries)}" + (": " + ", ".join(f"{k} × {n}" for k, n in counts.items()) if counts else "")


def _software_text(provenance: dict[str, Any]) -> str:
    """``twin 0.1.0 / 0.6 s``: the version and the engine time (``wall_time_s``, the steps alone, in older folders)."""
    version = (provenance.get("packages") or {}).get("twin") or "?"
    engine = provenance.get("engine_time_s", provenance.get("wall_time_s"))
    return f"twin {version}" + (f" / {float(engine):.1f} s" if engine is not None else "")


def _assumptions_html(assumptions: dict[str, Any], lang: str) -> str:
    groups = [
        ("assumptions_map", list(assumptions.get("map") or [])),
        ("assumptions_scenario", list(assumptions.get("scenario") or [])),
    ]
    total = sum(len(items) for _, items in groups)
    inner = "".join(
        f"<h3>{esc(tr(lang, key, n=len(items)))}</h3><ul>" + "".join(f"<li>{esc(a)}</li>" for a in items) + "</ul>"
        for key, items in groups
        if items
    )
    return f"<details><summary>{esc(tr(lang, 'assumptions', n=total))}</summary>{inner}</details>"


def headline_section(run: RunData, lang: str) -> str:
    """One row per service: robustness, loss, index, time to recover, people-hours (and equity when measured)."""
    services = services_of(run)
    if not services:
        return f"<p>{esc(tr(lang, 'no_services'))}</p>"
    metrics = run.results.metrics
    equity = any("equity" in metrics[s] for s in services)
    header = [tr(lang, k) for k in ("service", "m_robustness", "m_loss", "m_index", "m_recover", "m_people_hours")]
    rows = []
    for service in services:
        figures = metrics[service]
        row = [
            esc(service_name(service, lang)),
            fmt_number(figures.get("robustness"), 3),
            fmt_number(figures.get("resilience_loss_h"), 2),
            fmt_number(figures.get("resilience_index"), 3),
            esc(_recover_text(figures.get("time_to_recover_s"), lang)),
            fmt_number(figures.get("people_hours_without_service"), 0),
        ]
        if equity:
            row.append(fmt_number(figures.get("equity"), 3))
        rows.append(row)
    if equity:
        header.append(tr(lang, "m_equity"))
    note = tr(lang, "headline_note", threshold=recovery_threshold(run))
    return table([esc(h) for h in header], rows, numeric=(1, 2, 3, 5, 6)) + f'<p class="note">{esc(note)}</p>'


def _recover_text(seconds: float | None, lang: str) -> str:
    """Time to recover in words: None means never recovered, 0 that the service never fell below the threshold."""
    if seconds is None:
        return tr(lang, "never")
    return tr(lang, "not_lost") if seconds == 0.0 else fmt_duration(seconds, lang)


def service_curves(run: RunData) -> list[Any]:
    """The :class:`twin.report.figures.Curve` of every service of the run, with its minimum and recovery marked."""
    from twin.report.figures import Curve

    series = run.results.timeseries
    t = series["t_s"].to_numpy(dtype=np.float64)
    threshold = recovery_threshold(run)
    curves = []
    for service in services_of(run):
        column = f"Q_{service}"
        if column not in series.columns:
            continue
        q = series[column].to_numpy(dtype=np.float64)
        figures = run.results.metrics[service]
        curves.append(Curve(service, t, q, figures.get("t_min_s"), _recovered_at(t, q, figures, threshold)))
    return curves


def _recovered_at(t: np.ndarray, q: np.ndarray, figures: dict[str, Any], threshold: float) -> float | None:
    """The record time at which the service counted as recovered (disruption start + time to recover)."""
    recover = figures.get("time_to_recover_s")
    below = q < threshold * q[0]
    if recover is None or not below.any() or recover == 0.0:
        return None
    return float(t[int(np.argmax(below))] + recover)


def curves_section(run: RunData, lang: str) -> str:
    """The Q(t) panels with the loss area shaded and the scripted events marked."""
    from twin.report.figures import curves_png, marked_event_times

    curves = service_curves(run)
    if not curves:
        return f"<p>{esc(tr(lang, 'no_services'))}</p>"
    stopped_s = float(run.results.provenance.get("stopped_at_s") or 0.0)
    if len(curves[0].t_s) < 2:  # one point is no curve: say what there is instead of an empty plot
        return f"<p>{esc(tr(lang, 'one_record', stopped=fmt_duration(stopped_s, lang)))}</p>"
    png = curves_png(curves, marked_event_times(run.results.events), lang, span_s=stopped_s)
    return figure(png, tr(lang, "curves_note"))


def maps_section(run: RunData, lang: str) -> str:
    """The hazard map (depth, closures, slides) and one map of hours without service per zoned service."""
    from twin.report.figures import DPI, hazard_map_png, layers_extent, zone_map_png

    if not run.has_layers and run.debris is None:
        return f"<p>{esc(tr(lang, 'no_maps'))}</p>"
    parts = []
    outline = next(iter(run.zone_shapes.values()), None)
    hazard_layers = [run.closed_links, run.debris]
    if run.peak_depth is not None or any(layer is not None and len(layer) for layer in hazard_layers):
        extent = layers_extent([*hazard_layers, outline], run.peak_depth)
        # Drawn at 2.5 times the resolution of the other figures: the pixels its 3x zoom shows.
        png = hazard_map_png(run.peak_depth, run.closed_links, run.debris, outline, extent, lang, dpi=2.5 * DPI)
        parts.append(zoomable_figure(png, tr(lang, "map_hazard_title"), "hazard", tr(lang, "map_zoom")))
    zone_maps = []
    for service, shapes in run.zone_shapes.items():
        hours = zone_hours_without_service(run.results.zones, service)
        title = tr(lang, "map_zones_title", service=service_name(service, lang))
        zone_maps.append(figure(zone_map_png(shapes, hours, title, tr(lang, "map_zone_hours"), lang), title))
    parts.append('<div class="maps">' + "".join(zone_maps) + "</div>")
    return "".join(parts) + f'<p class="note">{esc(tr(lang, "maps_note", crs=run.crs or "?"))}</p>'


def timeline_section(run: RunData, lang: str) -> str:
    """Events grouped by time, kind and cause, in time order; the first groups shown, the rest counted."""
    events = run.results.events
    if events.empty:
        return f"<p>{esc(tr(lang, 'timeline_none'))}</p>"
    start = _start_time(run.results.scenario)
    groups = list(events.groupby(["t_s", "kind", "cause"], sort=False))
    groups.sort(key=lambda item: (item[0][0], item[1].index[0]))
    rows = [_timeline_row(key, frame, start, lang) for key, frame in groups[:TIMELINE_ROWS]]
    header = [esc(tr(lang, k)) for k in ("col_time", "col_clock", "col_what", "col_cause", "col_where")]
    html = table(header, rows, numeric=(0,), nowrap=(1,))
    if len(groups) > TIMELINE_ROWS:
        html += f'<p class="note">{esc(tr(lang, "timeline_more", n=len(groups) - TIMELINE_ROWS))}</p>'
    return html


def _start_time(scenario: dict[str, Any]) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(scenario.get("start")))
    except ValueError:
        return None


def _timeline_row(key: tuple[Any, ...], frame: pd.DataFrame, start: dt.datetime | None, lang: str) -> list[str]:
    t_s, kind, cause = float(key[0]), str(key[1]), str(key[2])
    clock = (start + dt.timedelta(seconds=t_s)).strftime("%Y-%m-%d %H:%M") if start is not None else "–"
    what = tr_or(lang, f"kind_{kind}", kind) + (f" × {len(frame)}" if len(frame) > 1 else "")
    return [
        f"{t_s / 3600.0:.2f} h",
        esc(clock),
        esc(what),
        esc(tr_or(lang, f"cause_{cause}", cause)),
        esc(_where_text(frame, kind, lang)),
    ]


def _where_text(frame: pd.DataFrame, kind: str, lang: str) -> str:
    if kind == "message":
        texts = [str(json.loads(d or "{}").get("text", "")) for d in frame["details"].tolist()]
        return "; ".join(t for t in texts if t)
    targets = [t for t in frame["target"].tolist() if t]
    shown = "; ".join(targets[:TARGETS_SHOWN])
    if len(targets) > TARGETS_SHOWN:
        shown += "; " + tr(lang, "and_more", n=len(targets) - TARGETS_SHOWN)
    return shown


def properties_section(run: RunData, lang: str) -> str:
    """Robustness, recoverability, stress resistance and agility: definition, measuring figure, this run's values."""
    threshold = recovery_threshold(run)
    values = _property_values(run, lang, threshold)
    rows = []
    for key, measure, source in (
        ("prop_robustness", tr(lang, "prop_robustness_measure"), "src_bruneau"),
        ("prop_recoverability", tr(lang, "prop_recoverability_measure", threshold=threshold), "src_bruneau"),
        ("prop_stress", tr(lang, "prop_stress_measure"), "src_cimellaro"),
        ("prop_agility", tr(lang, "prop_agility_measure"), "src_cimellaro"),
    ):
        rows.append(
            [
                f"<strong>{esc(tr(lang, key))}</strong>",
                esc(tr(lang, f"{key}_def")),
                esc(measure),
                "<br>".join(esc(v) for v in values[key]),
                esc(tr(lang, source)),
            ]
        )
    header = [esc(tr(lang, k)) for k in ("prop_name", "prop_definition", "prop_measure", "prop_values", "prop_source")]
    return table(header, rows)


def _property_values(run: RunData, lang: str, threshold: float) -> dict[str, list[str]]:
    """Per property, one ``service: value`` line per service."""
    out: dict[str, list[str]] = {
        k: [] for k in ("prop_robustness", "prop_recoverability", "prop_stress", "prop_agility")
    }
    series = run.results.timeseries
    for service in services_of(run):
        figures = run.results.metrics[service]
        name = service_name(service, lang)
        out["prop_robustness"].append(f"{name}: {fmt_number(figures.get('robustness'), 3)}")
        recover = _recover_text(figures.get("time_to_recover_s"), lang)
        out["prop_recoverability"].append(f"{name}: {recover}")
        loss = fmt_number(figures.get("resilience_loss_h"), 2)
        out["prop_stress"].append(f"{name}: R = {fmt_number(figures.get('resilience_index'), 3)}, L = {loss} h")
        out["prop_agility"].append(f"{name}: {_agility_text(series, service, threshold, lang)}")
    return out


def _agility_text(series: pd.DataFrame, service: str, threshold: float, lang: str) -> str:
    column = f"Q_{service}"
    if column not in series.columns:
        return "–"
    turn = time_to_turn_s(series["t_s"].to_numpy(np.float64), series[column].to_numpy(np.float64), threshold=threshold)
    if turn is None:
        return tr(lang, "prop_value_never")
    return tr(lang, "not_lost") if turn == 0.0 else fmt_duration(turn, lang)


# --- command ------------------------------------------------------------------------------------------------


def report_command(args: argparse.Namespace) -> int:
    """The ``twin report`` command."""
    path = write_report(args.run, args.out, args.lang)
    print(f"wrote {path}", file=sys.stderr)
    return 0
