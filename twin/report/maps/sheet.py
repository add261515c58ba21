"""The page every map is drawn on, and writing it out.

A page is 10 in wide (1800 px at 180 dpi) and as tall as the map needs (about 9 in for a square city): a title band
(title and subtitle), the map with a column to its right for colour bars and the legend (which therefore never
covers the city), and an attribution band (data sources, the layer's notes, the CRS). The map's extent is the
walkable network's within the terrain grid; a scale bar and a north arrow go in the emptiest corners.

A map module draws with :func:`new_sheet`, its own layer (returning a :class:`Layer`) and :func:`finish`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from twin.atomic import write_bytes_atomic
from twin.report.maps.labels import Label, place_labels
from twin.report.maps.terrain import NO_DATA_COLOUR, grid_extent
from twin.report.png import figure_png

if TYPE_CHECKING:
    from twin.city.build import City

#: Resolution and page geometry (inches): 10 in wide (1800 px), as tall as the map needs (about 9 in for a
#: square city): title band, map with the legend in a column to its right, attribution band.
DPI = 180
FIG_WIDTH_IN = 10.0
MARGIN_IN = 0.15
MAP_MAX_WIDTH_IN = 7.5
MAP_MAX_HEIGHT_IN = 8.6
MAP_MIN_BOX_HEIGHT_IN = 6.6  # room for the longest legend beside a wide, short map
TOP_BAND_IN = 0.95
BOTTOM_BAND_IN = 0.45
COLORBAR_HEIGHT_IN = 2.4
LEGEND_LABEL_CHARS = 30  # characters of a legend label per line: what the legend column holds at 8 pt
DEFAULT_ATTRIBUTION = "OSM data (c) OpenStreetMap contributors, ODbL; elevation SRTM public domain"


@dataclass(frozen=True)
class PageLayout:
    """Where things go on the page.

    Attributes
    ----------
    size_in
        Figure (width, height) in inches; the height is a multiple of 0.05 in, so whole pixels at DPI.
    map_box
        The map axes (left, bottom, width, height) in figure fraction; its shape is the extent's.
    legend_x
        Left edge of the legend column (figure fraction).
    """

    size_in: tuple[float, float]
    map_box: tuple[float, float, float, float]
    legend_x: float


@dataclass
class Sheet:
    """A map page being drawn; ``column_top`` is where the free part of the legend column starts (figure
    fraction), lowered by each colour bar placed in it."""

    fig: Figure
    canvas: FigureCanvasAgg
    ax: Axes
    page: PageLayout
    extent: tuple[float, float, float, float]
    column_top: float


@dataclass(frozen=True)
class Layer:
    """What a map's layer drew: legend entries, labels to place, the subtitle and notes under the map."""

    handles: list[Artist]
    labels: list[Label]
    subtitle: str
    notes: tuple[str, ...] = ()


def new_sheet(city: City) -> Sheet:
    """An empty page with the map axes framed on the city."""
    extent = map_extent(city)
    page = page_layout(extent)
    fig = Figure(figsize=page.size_in, dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes(page.map_box)
    _setup_axes(ax, extent)
    return Sheet(fig, canvas, ax, page, extent, page.map_box[1] + page.map_box[3])


def finish(sheet: Sheet, city: City, content: Layer, title: str, out: Path) -> None:
    """Scale bar, north arrow, labels, legend, title and notes; then write the PNG atomically."""
    density = _corner_density(city, sheet.extent)
    _draw_scale_bar(sheet.ax, sheet.extent, right=density["lower right"] < density["lower left"])
    _draw_north_arrow(sheet.ax, right=density["upper right"] <= density["upper left"])
    place_labels(sheet.ax, sheet.canvas, content.labels)
    draw_legend(sheet, content.handles)
    _draw_text(sheet.fig, sheet.page, city, title, content.subtitle, content.notes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, figure_png(sheet.fig, DPI))


def add_colorbar(sheet: Sheet, image: AxesImage, label: str, extend: str = "neither") -> None:
    """A vertical colour bar at the top of the legend column; the legend then starts below it."""
    width_in, height_in = sheet.page.size_in
    top = sheet.column_top - 0.1 / height_in
    box = (sheet.page.legend_x, top - COLORBAR_HEIGHT_IN / height_in, 0.16 / width_in, COLORBAR_HEIGHT_IN / height_in)
    cax = sheet.fig.add_axes(box)
    bar = sheet.fig.colorbar(image, cax=cax, orientation="vertical", extend=extend)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7.5)
    sheet.column_top = box[1] - 0.3 / height_in


def map_extent(city: City, margin: float = 0.02, tail: float = 0.002) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the walkable network plus a margin, within the terrain grid.

    Parameters
    ----------
    city
        The city.
    margin
        Added on every side, as a share of the larger side.
    tail
        Share of the nodes left out at each end of x and y: a lone trail running kilometres out of the
        extract does not shrink the city to a corner of the map.

    Notes
    -----
    Ways that cross the edge of the OSM extract run on beyond it, and beyond the terrain grid (which
    covers the extract): the map stops at the grid, so roads never run over a blank margin.
    """
    grid = grid_extent(city)
    nodes = city.walk.nodes if city.walk.n_nodes else city.drive.nodes
    if len(nodes) == 0:
        return grid
    x0, x1 = np.quantile(nodes["x"].to_numpy(float), [tail, 1 - tail])
    y0, y1 = np.quantile(nodes["y"].to_numpy(float), [tail, 1 - tail])
    pad = margin * max(float(x1 - x0), float(y1 - y0), 100.0)
    box = (
        max(float(x0) - pad, grid[0]),
        min(float(x1) + pad, grid[1]),
        max(float(y0) - pad, grid[2]),
        min(float(y1) + pad, grid[3]),
    )
    return box if box[0] < box[1] and box[2] < box[3] else grid


def page_layout(extent: tuple[float, float, float, float]) -> PageLayout:
    """The page for a map extent: the map as large as fits, the legend beside it, the page as tall as needed.

    Parameters
    ----------
    extent
        (xmin, xmax, ymin, ymax) of the map in metres.
    """
    ratio = (extent[3] - extent[2]) / (extent[1] - extent[0])
    map_w, map_h = MAP_MAX_WIDTH_IN, MAP_MAX_WIDTH_IN * ratio
    if map_h > MAP_MAX_HEIGHT_IN:
        map_w, map_h = MAP_MAX_HEIGHT_IN / ratio, MAP_MAX_HEIGHT_IN
    box_h = max(map_h, MAP_MIN_BOX_HEIGHT_IN)
    height = math.ceil((TOP_BAND_IN + box_h + BOTTOM_BAND_IN) * 20 - 1e-9) / 20
    bottom = height - TOP_BAND_IN - map_h
    return PageLayout(
        size_in=(FIG_WIDTH_IN, height),
        map_box=(MARGIN_IN / FIG_WIDTH_IN, bottom / height, map_w / FIG_WIDTH_IN, map_h / height),
        legend_x=(MARGIN_IN + map_w + 0.2) / FIG_WIDTH_IN,
    )


def scale_length(width_m: float) -> float:
    """A round length (1, 2 or 5 x 10^k m) closest to a fifth of the map's width."""
    target = width_m / 5.0
    exponent = math.floor(math.log10(target))
    candidates = [m * 10.0**e for e in (exponent, exponent + 1) for m in (1.0, 2.0, 5.0)]
    return min(candidates, key=lambda c: (abs(math.log(c / target)), c))


def draw_legend(sheet: Sheet, handles: list[Artist]) -> None:
    """The legend in the column right of the map, under any colour bar (it never hides part of the city).

    Labels are wrapped to the column's width (:data:`LEGEND_LABEL_CHARS`), so a long one is never cut at the page's
    edge.
    """
    labels = [textwrap.fill(str(handle.get_label()), LEGEND_LABEL_CHARS) for handle in handles]
    legend = sheet.fig.legend(
        handles=handles,
        labels=labels,
        loc="upper left",
        bbox_to_anchor=(sheet.page.legend_x, sheet.column_top),
        frameon=False,
        fontsize=8,
        title="Legend",
        title_fontsize=9.5,
        alignment="left",
        handlelength=2.6,
        borderaxespad=0.0,
        labelspacing=0.7,
    )
    legend.get_title().set_fontweight("bold")


def _setup_axes(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor(NO_DATA_COLOUR)
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
        spine.set_color("#444444")


def _corner_density(city: City, extent: tuple[float, float, float, float]) -> dict[str, int]:
    """Road nodes in each corner box (30% x 18% of the map): where the scale bar and arrow hide least."""
    x0, x1, y0, y1 = extent
    nodes = city.walk.nodes if city.walk.n_nodes else city.drive.nodes
    x, y = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
    left, right = x < x0 + 0.3 * (x1 - x0), x > x1 - 0.3 * (x1 - x0)
    low, high = y < y0 + 0.18 * (y1 - y0), y > y1 - 0.18 * (y1 - y0)
    return {
        "lower left": int((left & low).sum()),
        "lower right": int((right & low).sum()),
        "upper left": int((left & high).sum()),
        "upper right": int((right & high).sum()),
    }


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _draw_scale_bar(ax: Axes, extent: tuple[float, float, float, float], right: bool) -> None:
    """A two-part black and white bar of a round length in a corner, on a white panel."""
    x0, x1, y0, y1 = extent
    width, height = x1 - x0, y1 - y0
    length = scale_length(width)
    bar_h = 0.009 * height
    left = x1 - 0.04 * width - length if right else x0 + 0.04 * width
    bottom = y0 + 0.035 * height
    ax.add_patch(
        Rectangle(
            (left - 0.02 * width, bottom - 0.022 * height),
            length + 0.04 * width,
            0.068 * height,
            facecolor="white",
            edgecolor="#888888",
            linewidth=0.5,
            alpha=0.85,
            zorder=11,
        )
    )
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (left + i * length / 2, bottom),
                length / 2,
                bar_h,
                facecolor=colour,
                edgecolor="black",
                linewidth=0.7,
                zorder=12,
            )
        )
    for frac in (0.0, 0.5, 1.0):
        text = _distance_text(frac * length) if frac == 1.0 else f"{frac * length / (1000 if length >= 1000 else 1):g}"
        ax.text(
            left + frac * length,
            bottom + bar_h + 0.006 * height,
            text,
            ha="center",
            va="bottom",
            fontsize=7.5,
            zorder=12,
        )


def _draw_north_arrow(ax: Axes, right: bool) -> None:
    """An arrow pointing to grid north (the top of the map) with an N."""
    x = 0.955 if right else 0.045
    ax.annotate(
        "N",
        xy=(x, 0.975),
        xytext=(x, 0.895),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="top",
        fontsize=12,
        fontweight="bold",
        zorder=12,
        arrowprops={
            "facecolor": "black",
            "edgecolor": "white",
            "width": 4,
            "headwidth": 12,
            "headlength": 12,
            "linewidth": 0.8,
        },
        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
    )


def _draw_text(fig: Figure, page: PageLayout, city: City, title: str, subtitle: str, notes: Sequence[str]) -> None:
    """Title, subtitle, and under the map the attribution and notes (the layer's, then the CRS)."""
    height = page.size_in[1]
    left = page.map_box[0]
    fig.text(left, 1 - 0.18 / height, title, fontsize=19, fontweight="bold", va="top", ha="left", parse_math=False)
    fig.text(left, 1 - 0.6 / height, subtitle, fontsize=9.5, color="#333333", va="top", ha="left", parse_math=False)
    attribution = city.config.attribution or DEFAULT_ATTRIBUTION
    below = page.map_box[1] - 0.07 / height
    fig.text(left, below, attribution, fontsize=7, color="#444444", ha="left", va="top", parse_math=False)
    below -= 0.15 / height
    lines = [*notes, f"{city.crs}, metres; north up"]
    fig.text(left, below, "   ".join(lines), fontsize=7, color="#444444", ha="left", va="top", parse_math=False)
