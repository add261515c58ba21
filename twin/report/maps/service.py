"""The service-loss map of a run: the power and water zones served or not at one moment (the run's worst).

Power zones are filled green (power on) or red (power cut), water zones without water hatched in blue over them;
zone boundaries, the substations (a red cross on the source of a cut zone) and thin grey roads over a grey
hillshade; the legend counts the zones and the subtitle the residents without each service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from twin.report.maps.draw import add_lines, draw_plain_roads, fill_paths, line_handle
from twin.report.maps.features import draw_points
from twin.report.maps.geometry import zone_edges
from twin.report.maps.labels import town_labels
from twin.report.maps.lifelines import LIFELINE_ROAD_STYLE, POWER_ZONE_EDGE, WATER_ZONE_EDGE
from twin.report.maps.sheet import Layer, Sheet, finish, new_sheet
from twin.report.maps.terrain import draw_hillshade, no_data_handles
from twin.report.text import plain_text

if TYPE_CHECKING:
    from twin.city.build import City

POWER_LOST_COLOUR = "#d7301f"
POWER_ON_COLOUR = "#74c476"
WATER_LOST_COLOUR = "#08519c"
WATER_LOST_HATCH = "////"
WATER_LOST_FILL = "#6baed6"


@dataclass(frozen=True)
class ZoneService:
    """One service's zones at one moment, for :func:`draw_service_loss`.

    Attributes
    ----------
    service
        ``"power"`` or ``"water"``.
    shapes
        A shapely (multi)polygon per zone, in zone order.
    served
        Per zone: whether it had the service.
    residents
        Per zone: its residents.
    """

    service: str
    shapes: Sequence[Any]
    served: np.ndarray
    residents: np.ndarray


@plain_text
def draw_service_loss(city: City, services: Sequence[ZoneService], out: Path, title: str, moment: str) -> None:
    """Draw the power and water zones served or not at one moment to a PNG file.

    Power zones are filled green (power on) or red (power cut); water zones without water are hatched in blue;
    zone boundaries, the substations and thin grey roads over a grey hillshade; legend with the counts of zones
    and residents, scale bar and north arrow as on the city map.

    Parameters
    ----------
    city
        The compiled city.
    services
        The services to draw (``"power"`` and/or ``"water"``), each with its zones' shapes and state.
    out
        The PNG to write (written atomically; its folder is created if needed).
    title
        The map's title (name the moment in it).
    moment
        The first part of the subtitle: which moment this is and why.

    Raises
    ------
    ValueError
        For an unknown service, or shapes, states and residents of different lengths.
    """
    for item in services:
        if item.service not in ("power", "water"):
            raise ValueError(f"unknown zone service {item.service!r}; expected power or water")
        if not len(item.shapes) == len(item.served) == len(item.residents):
            raise ValueError(
                f"{item.service}: {len(item.shapes)} zone shapes, {len(item.served)} states and "
                f"{len(item.residents)} resident counts; expected one of each per zone"
            )
    sheet = new_sheet(city)
    finish(sheet, city, _service_loss_layer(sheet, city, list(services), moment), title, out)


def _service_loss_layer(sheet: Sheet, city: City, services: list[ZoneService], moment: str) -> Layer:
    """Power zones filled by state, water zones hatched where lost, boundaries, substations, roads."""
    draw_hillshade(sheet.ax, city)
    handles = draw_plain_roads(sheet.ax, city, LIFELINE_ROAD_STYLE)
    parts = [moment]
    cut_sources = np.zeros(0, dtype=np.int64)
    for item in sorted(services, key=lambda s: s.service != "power"):  # power fills first, water hatched over it
        shapes = np.asarray(item.shapes, dtype=object)
        served = np.asarray(item.served, dtype=bool)
        residents = np.asarray(item.residents, dtype=np.float64)
        lost, people = int((~served).sum()), int(residents[~served].sum())
        zones = f"{lost} of {len(served)} zone{'' if len(served) == 1 else 's'}"
        if item.service == "power":
            handles += _draw_power(sheet, shapes, served, zones)
            parts.append(f"power cut: {people:,} residents" if lost else "power on everywhere")
            cut_sources = city.lifelines.power_sources[~served]
        else:
            handles += _draw_water(sheet, shapes, served, zones)
            parts.append(f"water lost: {people:,} residents" if lost else "water everywhere")
    if not services:
        parts.append("no per-zone power or water records")
    sources = city.facilities.iloc[city.lifelines.power_sources]
    if len(sources):
        handles += draw_points(sheet.ax, sources)
    if len(cut_sources):
        handles += _mark_cut_sources(sheet, city, cut_sources)
    handles += no_data_handles(city, sheet.extent)
    notes = ("a zone is served when its source (substation; pump and tank) works",)
    return Layer(handles, town_labels(city), " · ".join(parts), notes)


def _draw_power(sheet: Sheet, shapes: np.ndarray, served: np.ndarray, zones: str) -> list[Artist]:
    """Power zones filled green (on) or red (cut), with their boundaries."""
    fill_paths(sheet.ax, shapes[served], facecolor=to_rgba(POWER_ON_COLOUR, 0.28), zorder=1.5)
    fill_paths(sheet.ax, shapes[~served], facecolor=to_rgba(POWER_LOST_COLOUR, 0.5), zorder=1.5)
    add_lines(sheet.ax, zone_edges(shapes), POWER_ZONE_EDGE)
    return [
        Patch(facecolor=POWER_LOST_COLOUR, alpha=0.5, label=f"power cut: {zones}"),
        Patch(facecolor=POWER_ON_COLOUR, alpha=0.28, label="power on"),
        line_handle(POWER_ZONE_EDGE),
    ]


def _draw_water(sheet: Sheet, shapes: np.ndarray, served: np.ndarray, zones: str) -> list[Artist]:
    """Water zones without water hatched in blue, with the boundaries of all water zones."""
    fill_paths(
        sheet.ax,
        shapes[~served],
        facecolor=to_rgba(WATER_LOST_FILL, 0.18),
        hatch=WATER_LOST_HATCH,
        hatchcolor=WATER_LOST_COLOUR,
        zorder=1.6,
    )
    add_lines(sheet.ax, zone_edges(shapes), WATER_ZONE_EDGE)
    return [
        Patch(
            facecolor=to_rgba(WATER_LOST_FILL, 0.18),
            edgecolor=WATER_LOST_COLOUR,
            hatch=WATER_LOST_HATCH,
            linewidth=0.6,
            label=f"water lost: {zones}",
        ),
        line_handle(WATER_ZONE_EDGE),
    ]


def _mark_cut_sources(sheet: Sheet, city: City, cut_sources: np.ndarray) -> list[Artist]:
    """A red cross on the substation of each zone without power."""
    cut = city.facilities.iloc[cut_sources]
    sheet.ax.scatter(
        cut["x"].to_numpy(float),
        cut["y"].to_numpy(float),
        s=11.0**2,
        marker="x",
        c=POWER_LOST_COLOUR,
        linewidths=2.2,
        zorder=9.9,
    )
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="x",
            markersize=9,
            markeredgewidth=2.2,
            color=POWER_LOST_COLOUR,
            label="source of a cut zone",
        )
    ]
