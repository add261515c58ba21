"""Line and point styles, and the drawing primitives every map shares: lines, fills, legend entries, roads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch

from twin.report.maps.geometry import Segments, polygon_paths, segments, undirected

if TYPE_CHECKING:
    from twin.city.build import City


@dataclass(frozen=True)
class LineStyle:
    """How one group of lines is drawn and named in the legend."""

    label: str
    color: str
    width: float
    casing: float = 0.0
    dashes: tuple[float, float] | None = None
    alpha: float = 1.0
    zorder: float = 4.0


@dataclass(frozen=True)
class PointStyle:
    """How one kind of facility or lifeline component is marked and named."""

    label: str
    marker: str
    color: str
    size: float
    edge: str = "white"
    zorder: float = 8.0
    plural: str = ""


#: The drivable roads under a hazard's value grid (flood, landslide): thin and grey, so the hazard stands out.
HAZARD_ROAD_STYLE = LineStyle("road", "#8c8c8c", 0.4, zorder=4.0)


def add_lines(ax: Axes, lines: Segments, style: LineStyle, *, casing: bool = False) -> None:
    """One LineCollection (and one white casing under it when the style has one)."""
    if not lines:
        return
    dashes = None if style.dashes is None else (0.0, style.dashes)
    if casing and style.casing > 0:
        ax.add_collection(
            LineCollection(
                lines,
                colors="white",
                linewidths=style.width + 2 * style.casing,
                alpha=0.85,
                zorder=style.zorder - 0.05,
                capstyle="round",
                joinstyle="round",
            ),
            autolim=False,
        )
    ax.add_collection(
        LineCollection(
            lines,
            colors=style.color,
            linewidths=style.width,
            linestyles=[dashes] if dashes else "solid",
            alpha=style.alpha,
            zorder=style.zorder,
            capstyle="butt" if dashes else "round",
            joinstyle="round",
        ),
        autolim=False,
    )


def line_handle(style: LineStyle) -> Line2D:
    """A legend entry for a line style."""
    return Line2D(
        [],
        [],
        color=style.color,
        linewidth=style.width,
        alpha=style.alpha,
        label=style.label,
        dashes=style.dashes if style.dashes else (),
        solid_capstyle="butt",
    )


def fill_paths(
    ax: Axes,
    shapes: np.ndarray,
    *,
    facecolor: Any,
    zorder: float,
    hatch: str | None = None,
    hatchcolor: str | None = None,
) -> None:
    """Fill (multi)polygons in one colour, or hatch them, without outlines."""
    paths = polygon_paths(shapes)
    if not paths:
        return
    collection = PatchCollection(
        [PathPatch(p) for p in paths],
        facecolors=facecolor,
        linewidths=0.0,
        edgecolors=hatchcolor or "none",
        hatch=hatch,
        zorder=zorder,
    )
    if hatchcolor is not None and hasattr(collection, "set_hatchcolor"):  # matplotlib >= 3.10
        collection.set_hatchcolor(hatchcolor)
    ax.add_collection(collection, autolim=False)


def draw_plain_roads(ax: Axes, city: City, style: LineStyle) -> list[Artist]:
    """Every drivable street in one style; its legend entry when there are any."""
    lines = segments(undirected(city.drive.links)["geometry"])
    add_lines(ax, lines, style)
    return [line_handle(style)] if lines else []
