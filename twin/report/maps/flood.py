"""The flood map of a run: peak water depth over a grey hillshade and the roads water closed.

Depth is coloured per cell of the terrain grid (dry cells clear) on a scale topped at a round depth
(:func:`depth_scale`); the drivable roads are thin and grey, the links closed by water red and cased.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LinearSegmentedColormap, Normalize

from twin.report.maps.draw import HAZARD_ROAD_STYLE, LineStyle, add_lines, draw_plain_roads, line_handle
from twin.report.maps.geometry import segments, undirected
from twin.report.maps.labels import town_labels
from twin.report.maps.sheet import Layer, Sheet, add_colorbar, finish, new_sheet
from twin.report.maps.terrain import draw_grid, draw_hillshade, no_data_handles
from twin.report.text import plain_text

if TYPE_CHECKING:
    from twin.city.build import City

DEPTH_CMAP = LinearSegmentedColormap.from_list("twin_depth", colormaps["Blues"](np.linspace(0.3, 1.0, 256)))
CLOSED_STYLE = LineStyle("closed by water", "#d7191c", 1.6, casing=0.4, zorder=5.0)


@plain_text
def draw_flood(city: City, peak_depth_m: np.ndarray, closed_links: np.ndarray, out: Path, title: str) -> None:
    """Draw a flood's peak water depth and the roads it closed to a PNG file.

    Water deeper than 0 is coloured by depth over a grey hillshade (dry cells stay clear), the drivable
    roads are thin and grey, the links closed by water red; legend, colour bar, scale bar and north arrow
    as on the city map.

    Parameters
    ----------
    city
        The compiled city.
    peak_depth_m
        Peak water depth (m) on the terrain grid (``city.terrain.elevation_m.shape``); NaN or 0 is dry.
    closed_links
        Ids of the drivable links that water closed (rows of ``city.drive.links``).
    out
        The PNG to write (written atomically; its folder is created if needed).
    title
        The map's title (e.g. the scenario's name).

    Raises
    ------
    ValueError
        If the depth grid is not the terrain's shape or a link id is not a drivable link.
    """
    depth = np.asarray(peak_depth_m, dtype=np.float64)
    if depth.shape != city.terrain.elevation_m.shape:
        raise ValueError(f"peak depth grid {depth.shape} is not the terrain grid {city.terrain.elevation_m.shape}")
    closed = np.unique(np.asarray(closed_links, dtype=np.int64))
    if closed.size and (closed[0] < 0 or closed[-1] >= city.drive.n_links):
        raise ValueError(f"closed link ids must be in [0, {city.drive.n_links}), got {closed[0]}..{closed[-1]}")
    sheet = new_sheet(city)
    finish(sheet, city, _flood_layer(sheet, city, depth, closed), title, out)


def depth_scale(deepest_m: float) -> float:
    """Top of the depth colour scale: the smallest of 0.5, 1, 2, 3, 5, 10, 20, 50, 100, ... m >= ``deepest_m``."""
    steps = [0.5, 1.0, 2.0, 3.0, 5.0]
    exponent = 1
    while steps[-1] < deepest_m:
        steps += [mantissa * 10.0**exponent for mantissa in (1.0, 2.0, 5.0)]
        exponent += 1
    return next(step for step in steps if step >= deepest_m)


def _flood_layer(sheet: Sheet, city: City, depth: np.ndarray, closed: np.ndarray) -> Layer:
    """Peak depth coloured over a grey hillshade (dry cells clear), roads grey, closed links red on top."""
    draw_hillshade(sheet.ax, city)
    wet = np.isfinite(depth) & (depth > 0)
    deepest = float(depth[wet].max()) if wet.any() else 0.0
    image = draw_grid(
        sheet.ax, city, np.ma.masked_where(~wet, depth), DEPTH_CMAP, Normalize(0.0, depth_scale(deepest)), 0.85
    )
    add_colorbar(sheet, image, "peak water depth (m)")
    handles = draw_plain_roads(sheet.ax, city, HAZARD_ROAD_STYLE)
    count = f"{len(closed)} link{'' if len(closed) == 1 else 's'}"
    style = replace(CLOSED_STYLE, label=f"{CLOSED_STYLE.label} ({count})")
    add_lines(sheet.ax, segments(undirected(city.drive.links.iloc[closed])["geometry"]), style, casing=True)
    handles.append(line_handle(style))
    area_km2 = wet.sum() * city.terrain.resolution_m**2 / 1e6
    water = f"deepest {deepest:.2f} m" if wet.any() else "no water"
    subtitle = f"peak flooded area {area_km2:,.2f} km² · {water} · {count} closed by water"
    return Layer(handles + no_data_handles(city, sheet.extent), town_labels(city), subtitle)
