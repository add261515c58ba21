"""Service-level curves Q(t) of a run as a PNG: the figure planners compare across what-if variants.

The curves are drawn against hours since the start; with the scenario's start (a time-zone-aware date-time)
each tick also gives the local clock time, which is what a planner or a drill controller reads. The events the
scenario, its interventions and injects sent (closures, failures, repairs, messages, hazard changes) are
vertical lines labelled with what happened; the lifelines' own consequences (a component down, a backup
starting) and the hazards' impacts are not, or a flood's hundreds of closures would hide the curves. The legend
sits to the right of the plot, never over the curves. User text (the title, event targets) is never read as
mathtext.

The time axis spans the whole run: to its stop time, which may fall after its last record (a drill ended, or a
run stopped with ``--until``, between two records), and to its last event, so that every marked event lies on the
plot. Before that was so, a run stopped a few minutes in drew its event labels millions of pixels to the right of
a 1e-6 h axis and FreeType refused them ("raster overflow"). The span after the last record is shaded: nothing
was recorded there. A run that stopped at its start has no time to draw over and the figure says so.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from twin.atomic import write_bytes_atomic
from twin.report.png import figure_png
from twin.report.text import plain_text
from twin.units import clock_at

HAZARD_CAUSES = ("flood", "landslide")
NOTHING_TO_DRAW = "the run stopped at its start: no simulated time to draw service levels over"
MARKED_KINDS = ("close_link", "open_link", "fail_component", "repair_component", "message", "set_hazard_parameter")
"""Event kinds drawn as labelled lines: what was sent to the run, not what the run derived from it."""
LABEL_CHARS = 38
MINUTE_STEPS = (1, 2, 5, 10, 15, 20, 30)
"""Tick spacings (min) of a run shorter than an hour, the smallest giving at most :data:`MAX_TICKS` ticks."""
MAX_TICKS = 8
#: The file name of the curves in a run folder.
SERVICE_LEVELS_PNG = "service_levels.png"


@plain_text
def plot_service_levels(
    timeseries: pd.DataFrame,
    events: pd.DataFrame,
    out: Path,
    title: str,
    start: dt.datetime | None = None,
    end_s: float | None = None,
) -> None:
    """Write :func:`service_levels_figure` to ``out`` (PNG, atomically: never half a file, never through a link)."""
    write_bytes_atomic(out, figure_png(service_levels_figure(timeseries, events, title, start, end_s)))


@plain_text
def service_levels_figure(
    timeseries: pd.DataFrame,
    events: pd.DataFrame,
    title: str,
    start: dt.datetime | None = None,
    end_s: float | None = None,
) -> Figure:
    """Every ``Q_*`` column against simulated time, with labelled event lines.

    Parameters
    ----------
    timeseries
        The run's time series (``t_s`` and ``Q_*`` columns).
    events
        The run's event log (``t_s``, ``kind``, ``target``, ``cause``, ``details``).
    title
        The figure's title (the scenario's name), drawn as plain text.
    start
        The scenario's start (aware: its time zone is the map's); ticks then show the local clock time too.
    end_s
        When the run stopped (s since the start; None: at its last record or event). The axis reaches it.
    """
    figure = Figure(figsize=(11, 4.8), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    span_s = plot_span_s(timeseries, events, end_s)
    services = [c for c in timeseries.columns if c.startswith("Q_") and timeseries[c].notna().any()]
    axes.set_ylim(-0.02, 1.12)  # room above Q = 1 for the event labels
    if span_s > 0:
        _draw_curves(axes, timeseries, services, span_s)
        _mark_events(axes, events, span_s)
    else:
        axes.text(0.5, 0.5, NOTHING_TO_DRAW, transform=axes.transAxes, ha="center", va="center", parse_math=False)
    axes.set_xlim(0, span_s / 3600.0 if span_s > 0 else 1 / 60)
    _time_axis(axes, start, span_s)
    axes.set_ylabel("service level Q (served / normal)")
    axes.set_title(title, parse_math=False)
    axes.grid(True, alpha=0.3)
    if services and span_s > 0:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, title="service")
    figure.tight_layout()
    return figure


def plot_span_s(timeseries: pd.DataFrame, events: pd.DataFrame, end_s: float | None = None) -> float:
    """The time (s) a figure of the run spans: the latest of its last record, its last event and its stop.

    Non-finite times are ignored (a damaged table must not stretch the axis to infinity).
    """
    stop = np.array([0.0 if end_s is None else end_s], np.float64)
    every = np.concatenate([timeseries["t_s"].to_numpy(np.float64), events["t_s"].to_numpy(np.float64), stop])
    every = every[np.isfinite(every)]
    return max(float(every.max()) if every.size else 0.0, 0.0)


def _draw_curves(axes: Axes, timeseries: pd.DataFrame, services: list[str], span_s: float) -> None:
    """Each service as a step curve (a dot when it has a single record), and the unrecorded tail shaded."""
    hours = timeseries["t_s"].to_numpy(np.float64) / 3600.0
    marker = "o" if len(hours) == 1 else None  # one record draws no line: a dot shows its value
    for column in services:
        values = timeseries[column].to_numpy(np.float64)
        axes.step(hours, values, where="post", linewidth=2, marker=marker, label=column.removeprefix("Q_"))
    last_h = float(hours[-1]) if len(hours) else 0.0
    if span_s / 3600.0 > last_h:
        axes.axvspan(last_h, span_s / 3600.0, color="0.92", zorder=0, label="after the last record")


def event_labels(events: pd.DataFrame) -> dict[float, str]:
    """One label per marked event time: the first event's kind and target, and how many more share the time."""
    if events.empty:
        return {}
    marked = events[events["kind"].isin(MARKED_KINDS) & ~events["cause"].isin(HAZARD_CAUSES)]
    labels: dict[float, str] = {}
    times = marked["t_s"].to_numpy(np.float64)
    for t_s in np.unique(times).tolist():
        group = marked[times == t_s]
        first = group.iloc[int(np.argmax(group["kind"].to_numpy() != "message"))]  # an action before a message
        what = str(first.get("target", "") or "") or _message_text(first)  # a log without targets: the kind alone
        text = f"{str(first['kind']).replace('_', ' ')} {what}".strip()
        if len(text) > LABEL_CHARS:
            text = text[: LABEL_CHARS - 1] + "…"
        if len(group) > 1:
            text += f" (+{len(group) - 1})"
        labels[t_s] = text
    return labels


def _message_text(row: pd.Series) -> str:
    try:
        details = json.loads(str(row.get("details") or "{}"))
    except ValueError:
        return ""
    return str(details.get("text", "")) if isinstance(details, dict) else ""


def _mark_events(axes: Axes, events: pd.DataFrame, span_s: float) -> None:
    """A dotted line at each marked event time within the plot's span, labelled at the top of the plot."""
    for t_s, label in event_labels(events).items():
        if not 0.0 <= t_s <= span_s:  # a label far off the axis is millions of pixels FreeType cannot draw
            continue
        hour = t_s / 3600.0
        axes.axvline(hour, color="0.45", linewidth=0.8, linestyle=":")
        axes.text(
            hour,
            1.11,
            label,
            rotation=90,
            ha="right",
            va="top",
            fontsize=6.5,
            color="0.25",
            parse_math=False,
            clip_on=True,
        )


def _time_axis(axes: Axes, start: dt.datetime | None, span_s: float) -> None:
    """Time since the start on the x axis (minutes for a run under an hour, else hours); with ``start``, each tick
    also gives the local clock time."""
    minutes = span_s < 3600.0
    if minutes:
        step = next((m for m in MINUTE_STEPS if span_s / 60.0 / m <= MAX_TICKS), 60)
        axes.xaxis.set_major_locator(MultipleLocator(step / 60.0))
    unit = "minutes" if minutes else "hours"
    fmt = "%H:%M" if span_s <= 24 * 3600.0 else "%d %b %H:%M"

    def tick(hour: float, _position: int) -> str:
        since = f"{round(hour * 60.0, 6):g} min" if minutes else f"{hour:g} h"
        return since if start is None else f"{since}\n{clock_at(start, hour * 3600.0).strftime(fmt)}"

    axes.xaxis.set_major_formatter(FuncFormatter(tick))
    if start is None:
        axes.set_xlabel(f"{unit} since start")
        return
    zone = start.tzname() or ""
    axes.set_xlabel(f"{unit} since the start, {start.strftime('%Y-%m-%d %H:%M')} local time ({zone})")
