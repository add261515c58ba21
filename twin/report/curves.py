"""Service-level curves Q(t) of a run as a PNG: the figure planners compare across what-if variants."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twin.atomic import write_png_atomic
from twin.report.text import plain_text

HAZARD_CAUSES = ("flood", "landslide")
#: The file name of the curves in a run folder.
SERVICE_LEVELS_PNG = "service_levels.png"


@plain_text
def plot_service_levels(timeseries: pd.DataFrame, events: pd.DataFrame, out: Path, title: str) -> None:
    """Draw every ``Q_*`` column against simulated hours, with event times marked, to ``out`` (PNG, atomically).

    The title is the user's text (the scenario's name): it is drawn as it is written, never parsed as
    matplotlib mathtext, so a ``$`` or ``{`` in it is just a character.
    """
    figure = Figure(figsize=(10, 4.5), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    hours = timeseries["t_s"] / 3600.0
    services = [c for c in timeseries.columns if c.startswith("Q_") and timeseries[c].notna().any()]
    for column in services:
        axes.step(hours, timeseries[column], where="post", linewidth=2, label=column.removeprefix("Q_"))
    # Scenario and intervention events are marked; hazard impacts (hundreds of links closing) are not.
    marked = (events["kind"] != "message") & ~events["cause"].isin(HAZARD_CAUSES)
    for t_s in sorted(set(events.loc[marked, "t_s"].tolist())):
        axes.axvline(t_s / 3600.0, color="0.6", linewidth=0.8, linestyle=":")
    axes.set_ylim(-0.02, 1.05)
    axes.set_xlim(0, max(float(hours.iloc[-1]), 1e-6))
    axes.set_xlabel("hours since start")
    axes.set_ylabel("service level Q (served / normal)")
    axes.set_title(title, parse_math=False)
    axes.grid(True, alpha=0.3)
    if services:
        axes.legend(loc="lower right")
    figure.tight_layout()
    write_png_atomic(out, figure)
