"""Service-level curves Q(t) of a run as a PNG: the figure planners compare across what-if variants.

The curves are drawn against hours since the start; with the scenario's start (a time-zone-aware date-time)
each tick also gives the local clock time, which is what a planner or a drill controller reads. The events the
scenario, its interventions and injects sent (closures, failures, repairs, messages, hazard changes) are
vertical lines labelled with what happened; the lifelines' own consequences (a component down, a backup
starting) and the hazards' impacts are not, or a flood's hundreds of closures would hide the curves. The legend
sits to the right of the plot, never over the curves. User text (the title, event targets) is never read as
mathtext.
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
from matplotlib.ticker import FuncFormatter

from twin.atomic import write_png_atomic
from twin.report.text import plain_text
from twin.units import clock_at

HAZARD_CAUSES = ("flood", "landslide")
MARKED_KINDS = ("close_link", "open_link", "fail_component", "repair_component", "message", "set_hazard_parameter")
"""Event kinds drawn as labelled lines: what was sent to the run, not what the run derived from it."""
LABEL_CHARS = 38
#: The file name of the curves in a run folder.
SERVICE_LEVELS_PNG = "service_levels.png"


@plain_text
def plot_service_levels(
    timeseries: pd.DataFrame, events: pd.DataFrame, out: Path, title: str, start: dt.datetime | None = None
) -> None:
    """Write :func:`service_levels_figure` to ``out`` (PNG, atomically: never half a file, never through a link)."""
    write_png_atomic(out, service_levels_figure(timeseries, events, title, start))


@plain_text
def service_levels_figure(
    timeseries: pd.DataFrame, events: pd.DataFrame, title: str, start: dt.datetime | None = None
) -> Figure:
    """Every ``Q_*`` column against simulated hours, with labelled event lines.

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
    """
    figure = Figure(figsize=(11, 4.8), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    hours = timeseries["t_s"] / 3600.0
    services = [c for c in timeseries.columns if c.startswith("Q_") and timeseries[c].notna().any()]
    for column in services:
        axes.step(hours, timeseries[column], where="post", linewidth=2, label=column.removeprefix("Q_"))
    _mark_events(axes, events)
    axes.set_ylim(-0.02, 1.12)  # room above Q = 1 for the event labels
    axes.set_xlim(0, max(float(hours.iloc[-1]), 1e-6))
    _time_axis(axes, start)
    axes.set_ylabel("service level Q (served / normal)")
    axes.set_title(title, parse_math=False)
    axes.grid(True, alpha=0.3)
    if services:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, title="service")
    figure.tight_layout()
    return figure


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


def _mark_events(axes: Axes, events: pd.DataFrame) -> None:
    """A dotted line at each marked event time, labelled at the top of the plot."""
    for t_s, label in event_labels(events).items():
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


def _time_axis(axes: Axes, start: dt.datetime | None) -> None:
    """Hours since the start on the x axis; with ``start``, each tick also gives the local clock time."""
    if start is None:
        axes.set_xlabel("hours since start")
        return
    span_h = axes.get_xlim()[1]
    fmt = "%H:%M" if span_h <= 24 else "%d %b %H:%M"

    def tick(hour: float, _position: int) -> str:
        return f"{hour:g} h\n{clock_at(start, hour * 3600.0).strftime(fmt)}"

    axes.xaxis.set_major_formatter(FuncFormatter(tick))
    zone = start.tzname() or ""
    axes.set_xlabel(f"hours since the start, {start.strftime('%Y-%m-%d %H:%M')} local time ({zone})")
