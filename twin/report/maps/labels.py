"""Names on the map: town names beside their centres, facility labels near their points, placed where they fit.

Placement is greedy: each label, most important first, takes the first of a few candidate positions around its
point where it stays inside the map and overlaps no label already placed; a label with no free position is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from matplotlib.transforms import Bbox

if TYPE_CHECKING:
    from twin.city.build import City

_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]
_TOWN_HALO = [patheffects.withStroke(linewidth=3.0, foreground="white")]

# Candidate offsets (points) and alignments: right, left, above, below the point.
_OFFSETS = [
    ((5, 0), "left", "center"),
    ((-5, 0), "right", "center"),
    ((0, 6), "center", "bottom"),
    ((0, -6), "center", "top"),
]
# Town names go beside their centre, not on it (the centre is the densest part of the map).
_TOWN_OFFSETS = [
    ((0, 14), "center", "bottom"),
    ((0, -14), "center", "top"),
    ((18, 0), "left", "center"),
    ((-18, 0), "right", "center"),
]


@dataclass(frozen=True)
class Label:
    """A text to place near a point, if it fits."""

    x: float
    y: float
    text: str
    size: float
    color: str = "#222222"
    weight: str = "normal"
    style: str = "normal"
    town: bool = False


def short_name(name: str, limit: int = 28) -> str:
    """The name, cut at a word boundary with an ellipsis when longer than ``limit`` characters."""
    if len(name) <= limit:
        return name
    cut = name[: limit - 1].rsplit(" ", 1)[0] if " " in name[: limit - 1] else name[: limit - 1]
    return cut.rstrip(" ,.-") + "…"


def town_labels(city: City) -> list[Label]:
    """The names of the towns in city.yaml (population areas), at their metric positions."""
    areas = city.config.population.areas
    if not areas:
        return []
    from pyproj import Transformer

    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    lon = np.array([a.centre[0] for a in areas], dtype=float)
    lat = np.array([a.centre[1] for a in areas], dtype=float)
    x, y = to_metric.transform(lon, lat)
    return [
        Label(float(xi), float(yi), a.name, 10.5, "#3a3a3a", "bold", "italic", town=True)
        for a, xi, yi in zip(areas, np.atleast_1d(x), np.atleast_1d(y), strict=True)
    ]


def place_labels(ax: Axes, canvas: FigureCanvasAgg, labels: Sequence[Label]) -> None:
    """Place each label at the first free candidate position; drop it when none is free (greedy)."""
    ax.apply_aspect()
    renderer = canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken: list[Bbox] = []
    for label in labels:
        options = _TOWN_OFFSETS if label.town else _OFFSETS
        for offset, ha, va in options:
            text = _annotate(ax, label, offset, ha, va)
            box = text.get_window_extent(renderer).expanded(1.08, 1.15)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                break
            text.remove()


def _annotate(ax: Axes, label: Label, offset: tuple[float, float], ha: str, va: str) -> Text:
    return ax.annotate(
        label.text,
        (label.x, label.y),
        xytext=offset,
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=label.size,
        color=label.color,
        fontweight=label.weight,
        fontstyle=label.style,
        zorder=10,
        path_effects=_TOWN_HALO if label.town else _HALO,
        annotation_clip=True,
    )
