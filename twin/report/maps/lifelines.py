"""The ``lifelines`` layer of the city map: power and water zones, the grid and the lifeline components.

Power feeder zones are filled in translucent qualitative colours (water pressure zones when the city has no power
zones), water zone boundaries dashed, power lines thin black, substations, pumps, tanks, cell sites, signals and
hospitals by kind; components synthesised from city.yaml rules are drawn hollow. The zones are those of
:mod:`twin.lifelines.zones` (network Voronoi over the roads).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from twin.report.maps.draw import LineStyle, add_lines, draw_plain_roads, fill_paths, line_handle
from twin.report.maps.features import LINE_KINDS, point_kinds, point_style
from twin.report.maps.geometry import segments, zone_edges
from twin.report.maps.labels import Label, short_name, town_labels
from twin.report.maps.sheet import Layer, Sheet
from twin.report.maps.terrain import draw_hillshade, no_data_handles

if TYPE_CHECKING:
    from twin.city.build import City

#: Qualitative zone colours (tab10 without its purple, kept for the substations, and its grey).
ZONE_COLOURS = tuple(colormaps["tab10"](i) for i in (0, 1, 2, 3, 5, 6, 8, 9))
ZONE_ALPHA = 0.32
ZONE_LEGEND_MAX = 8  # more zones than this get one legend entry, not one each
GRID_LINE_STYLE = LineStyle("power line / cable", "#111111", 0.55, zorder=6.0)
POWER_ZONE_EDGE = LineStyle("power zone boundary", "#4d4d4d", 1.5, alpha=0.85, zorder=5.6)
WATER_ZONE_EDGE = LineStyle("water zone boundary", "#1f63b5", 0.7, dashes=(3.0, 2.0), alpha=0.85, zorder=5.5)
#: Shorter legend labels of the lifelines layer (its column also says "(assumed)").
LIFELINE_LABELS: dict[str, str] = {
    "water_works": "pumping station",
    "pumping_station": "pumping station",
    "water_tower": "water tank / tower",
    "storage_tank": "water tank / tower",
    "reservoir_covered": "water tank / tower",
    "mast": "cell mast",
}
LIFELINE_ROAD_STYLE = LineStyle("road", "#9a9a9a", 0.35, zorder=4.0)
#: Point kinds too many and too small for the lifelines layer (the lines show where they run).
LIFELINE_SKIPPED_KINDS = frozenset({"tower", "pole", "portal"})


def lifelines_layer(sheet: Sheet, city: City) -> Layer:
    """Power zones in translucent colours (water zones when the map has no power zones), water zone boundaries,
    power lines, and the lifeline components by kind; synthesised ones hollow."""
    from twin.lifelines.zones import lifeline_rows, zone_polygons  # geopandas only for this map

    net = city.lifelines
    facilities = city.facilities
    draw_hillshade(sheet.ax, city)
    shapes = zone_polygons(city)
    power, water = shapes["power"].geometry.to_numpy(), shapes["water"].geometry.to_numpy()
    handles = draw_plain_roads(sheet.ax, city, LIFELINE_ROAD_STYLE)
    if len(power):
        names = [_zone_source_name(facilities, int(row)) for row in net.power_sources.tolist()]
        handles += _draw_zone_colours(sheet.ax, power, [f"zone {i}: {n}" for i, n in enumerate(names)], "power zones")
        add_lines(sheet.ax, zone_edges(power), POWER_ZONE_EDGE)
        handles.append(line_handle(POWER_ZONE_EDGE))
        if len(water):
            add_lines(sheet.ax, zone_edges(water), WATER_ZONE_EDGE)
            handles.append(line_handle(WATER_ZONE_EDGE))
    elif len(water):
        bands = [f"water zone {i}: ≥ {low:,.0f} m" for i, low in enumerate(net.water_band_low_m.tolist())]
        handles += _draw_zone_colours(sheet.ax, water, bands, "water zones")
        add_lines(sheet.ax, zone_edges(water), replace(WATER_ZONE_EDGE, dashes=None))
    lines = facilities[facilities["kind"].isin(LINE_KINDS)]
    if len(lines):
        add_lines(sheet.ax, segments(lines["geometry"]), GRID_LINE_STYLE)
        handles.append(line_handle(GRID_LINE_STYLE))
    rows = lifeline_rows(city)
    table = facilities.iloc[rows]
    points = table[~table["kind"].isin(LINE_KINDS | LIFELINE_SKIPPED_KINDS)]
    handles += _draw_lifeline_points(sheet.ax, points)
    handles += no_data_handles(city, sheet.extent)
    labels = town_labels(city) + [
        Label(float(facilities["x"].iloc[row]), float(facilities["y"].iloc[row]), f"zone {i}", 7.5, "#3b1550", "bold")
        for i, row in enumerate(net.power_sources.tolist())
    ]
    kinds = facilities["kind"].to_numpy(str)
    assumed = int(table["assumed"].astype(bool).sum())
    parts = [
        f"{len(power)} power feeder zone{'' if len(power) == 1 else 's'}"
        if len(power)
        else "no substations: no power zones",
        f"{len(water)} water pressure zones",
        f"{len(net.site_rows)} cell sites",
        f"{len(net.signal_rows):,} traffic signals",
        f"{int((kinds == 'hospital').sum())} hospitals",
        f"{assumed:,} of {len(table):,} components assumed",
    ]
    notes = (
        "zones: network Voronoi over the roads, drawn as the Voronoi cells of their road nodes",
        "hollow marker: assumed (city.yaml lifelines rules), not OSM",
    )
    return Layer(handles, labels, " · ".join(parts), notes)


def _zone_source_name(facilities: pd.DataFrame, row: int) -> str:
    """A power source's name for the legend (its kind when it has none)."""
    name = str(facilities["name"].iloc[row])
    return short_name(name, 18) if name else str(facilities["kind"].iloc[row]).replace("_", " ")


def _draw_zone_colours(ax: Axes, shapes: np.ndarray, labels: list[str], plural: str) -> list[Artist]:
    """Each zone filled in a translucent qualitative colour; one legend entry each, or one for all when many."""
    colours = [ZONE_COLOURS[i % len(ZONE_COLOURS)] for i in range(len(shapes))]
    for shape, colour in zip(shapes, colours, strict=True):
        fill_paths(ax, np.array([shape], dtype=object), facecolor=to_rgba(colour, ZONE_ALPHA), zorder=1.5)
    if len(shapes) > ZONE_LEGEND_MAX:
        return [Patch(facecolor=ZONE_COLOURS[0], alpha=ZONE_ALPHA, label=f"{plural} ({len(shapes)}, a colour each)")]
    return [Patch(facecolor=c, alpha=ZONE_ALPHA, label=label) for c, label in zip(colours, labels, strict=True)]


def _draw_lifeline_points(ax: Axes, table: pd.DataFrame) -> list[Artist]:
    """One scatter per kind and origin: OSM components filled, assumed (synthesised) ones hollow."""
    handles: list[Artist] = []
    labels: set[str] = set()
    assumed = table["assumed"].to_numpy(bool)
    for kind, group in point_kinds(table):
        chosen = ((table["kind"] == kind) & (table["group"] == group)).to_numpy()
        style = point_style(kind, group)
        for hollow in (False, True):
            rows = table[chosen & (assumed == hollow)]
            if rows.empty:
                continue
            marker = "o" if hollow and style.marker == "." else style.marker
            size = max(style.size, 4.0) if hollow else style.size
            ax.scatter(
                rows["x"].to_numpy(float),
                rows["y"].to_numpy(float),
                s=size**2,
                marker=marker,
                c="none" if hollow else style.color,
                edgecolors=style.color if hollow else style.edge,
                linewidths=1.1 if hollow else (0.7 if style.edge != "none" else 0.0),
                zorder=style.zorder,
            )
            name = LIFELINE_LABELS.get(kind, style.label)
            label = f"{name} (assumed)" if hollow else name
            if label in labels:
                continue
            labels.add(label)
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker=marker,
                    markersize=size * 0.85,
                    markerfacecolor="none" if hollow else style.color,
                    markeredgecolor=style.color if hollow else style.edge,
                    markeredgewidth=1.1 if hollow else 0.7,
                    label=label,
                )
            )
    return handles
