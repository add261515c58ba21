"""The city's features by kind, as the maps draw them: roads by class with bridges and tunnels, paths, rivers and
streams, buildings, power lines, and facilities and lifeline components as markers.

The city map draws all of them; the lifelines and service-loss maps draw the markers of their components.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from twin.report.maps.draw import LineStyle, PointStyle, add_lines, line_handle
from twin.report.maps.geometry import segments, undirected

if TYPE_CHECKING:
    from twin.city.build import City

# Road classes, drawn in this order (minor first). Links of a class not listed take the first style.
ROAD_STYLES: list[tuple[tuple[str, ...], LineStyle]] = [
    (
        ("residential", "living_street", "unclassified", "road", "busway", "service"),
        LineStyle("residential / service", "#5e5e5e", 0.4, zorder=4.0),
    ),
    (
        ("secondary", "secondary_link", "tertiary", "tertiary_link"),
        LineStyle("secondary / tertiary", "#d49a1c", 0.95, casing=0.45, zorder=4.4),
    ),
    (("primary", "primary_link"), LineStyle("primary", "#e8641b", 1.35, casing=0.5, zorder=4.6)),
    (
        ("motorway", "motorway_link", "trunk", "trunk_link"),
        LineStyle("motorway / trunk", "#9e1b1b", 1.8, casing=0.55, zorder=4.8),
    ),
]
PATH_STYLE = LineStyle("footway / path", "#7d6b5a", 0.5, dashes=(1.0, 1.6), alpha=0.75, zorder=3.5)
BRIDGE_STYLE = LineStyle("bridge", "#111111", 2.0, zorder=4.9)
TUNNEL_STYLE = LineStyle("tunnel", "#555555", 1.2, dashes=(2.0, 1.5), alpha=0.6, zorder=4.9)
WATER_STYLES: dict[str, LineStyle] = {
    "river": LineStyle("river", "#1f63b5", 1.6, zorder=4.3),
    "canal": LineStyle("canal", "#1f63b5", 1.1, zorder=4.3),
    "stream": LineStyle("stream", "#5a9bd8", 0.55, zorder=3.0),
}
MINOR_WATER_STYLE = LineStyle("ditch / drain", "#7ab0e0", 0.4, zorder=3.0)
BUILDING_COLOUR = "#a89888"
POWER_LINE_STYLES: dict[str, LineStyle] = {
    "line": LineStyle("power line", "#7b3294", 0.8, dashes=(4.0, 2.0), zorder=6.0),
    "minor_line": LineStyle("minor power line / cable", "#7b3294", 0.5, dashes=(2.0, 2.0), alpha=0.8, zorder=6.0),
    "cable": LineStyle("minor power line / cable", "#7b3294", 0.5, dashes=(2.0, 2.0), alpha=0.8, zorder=6.0),
}
#: Facility kinds that are lines, not points.
LINE_KINDS = frozenset(POWER_LINE_STYLES)

# Facility and lifeline kinds, in legend order. Kinds not listed get their group's fallback.
POINT_STYLES: dict[str, PointStyle] = {
    "hospital": PointStyle("hospital", "P", "#d7191c", 11.0, zorder=9.5),
    "clinic": PointStyle("clinic", "P", "#f28e8e", 7.0, edge="#a01010", zorder=9.2),
    "fire_station": PointStyle("fire station", "^", "#f46d00", 9.0, zorder=9.3),
    "police": PointStyle("police", "s", "#1f4e9c", 7.0, zorder=9.1, plural="police stations"),
    "shelter": PointStyle("designated shelter (places)", "o", "#1a9641", 9.0, zorder=9.0),
    "school": PointStyle("school", "p", "#c9b23a", 5.0, edge="#6b5c10", zorder=8.5),
    "sports_hall": PointStyle("sports hall / centre", "h", "#8fbf7f", 5.0, edge="#3d6b30", zorder=8.4),
    "sports_centre": PointStyle("sports hall / centre", "h", "#8fbf7f", 5.0, edge="#3d6b30", zorder=8.4),
    "siren": PointStyle("warning siren", "X", "#e6ab02", 6.0, edge="black", zorder=8.9),
    "plant": PointStyle("power plant", "*", "#7b3294", 11.0, edge="black", zorder=8.8),
    "substation": PointStyle("substation", "s", "#7b3294", 7.5, edge="black", zorder=8.8),
    "transformer": PointStyle("transformer", "D", "#b07cc6", 4.5, edge="#4a1a5e", zorder=8.6),
    "tower": PointStyle("power tower / pole", ".", "#7b3294", 2.5, edge="none", zorder=6.5),
    "pole": PointStyle("power tower / pole", ".", "#7b3294", 2.5, edge="none", zorder=6.5),
    "portal": PointStyle("power tower / pole", ".", "#7b3294", 2.5, edge="none", zorder=6.5),
    "communications_tower": PointStyle("communication tower", "^", "#00777a", 8.0, edge="black", zorder=8.7),
    "mast": PointStyle("telecom mast", "^", "#35b0ad", 5.5, edge="#004d4f", zorder=8.6),
    "water_works": PointStyle("water works / pumping", "v", "#2b6cb0", 7.0, edge="black", zorder=8.5),
    "pumping_station": PointStyle("water works / pumping", "v", "#2b6cb0", 7.0, edge="black", zorder=8.5),
    "wastewater_plant": PointStyle("wastewater plant", "v", "#8c6d31", 7.0, edge="black", zorder=8.5),
    "water_tower": PointStyle("water tower / tank", "d", "#6baed6", 5.5, edge="#08519c", zorder=8.5),
    "storage_tank": PointStyle("water tower / tank", "d", "#6baed6", 5.5, edge="#08519c", zorder=8.5),
    "reservoir_covered": PointStyle("water tower / tank", "d", "#6baed6", 5.5, edge="#08519c", zorder=8.5),
    "traffic_signals": PointStyle("traffic signals", ".", "#222222", 2.2, edge="none", zorder=7.0),
}
GROUP_FALLBACK: dict[str, PointStyle] = {
    "facility": PointStyle("other facility", "o", "#999999", 4.5, edge="black"),
    "power": PointStyle("other power", "o", "#7b3294", 3.0, edge="none"),
    "water": PointStyle("other water", "o", "#2b6cb0", 3.0, edge="none"),
    "telecom": PointStyle("other telecom", "o", "#00777a", 3.0, edge="none"),
    "traffic": PointStyle("other traffic", "o", "#222222", 2.0, edge="none"),
}


# --- lines --------------------------------------------------------------------------------------------


def draw_lines(ax: Axes, city: City) -> list[Artist]:
    """Buildings, water, paths, roads by class, bridges, tunnels and power lines; returns their legend entries."""
    handles: list[Artist] = _draw_buildings(ax, city.buildings)
    handles += _draw_water(ax, city.waterways)
    walk_only = city.walk.links[~city.walk.links["drivable"].astype(bool)]
    paths = segments(undirected(walk_only)["geometry"])
    add_lines(ax, paths, PATH_STYLE)
    roads = undirected(city.drive.links)
    handles += _draw_roads(ax, roads)
    if paths:
        handles.append(line_handle(PATH_STYLE))
    handles += _draw_power_lines(ax, city.facilities)
    return handles


def _draw_buildings(ax: Axes, buildings: pd.DataFrame) -> list[Artist]:
    """Building footprints as one flat-coloured PolyCollection (they show where the city is built up)."""
    outlines = segments(buildings["geometry"]) if len(buildings) else []
    if not outlines:
        return []
    ax.add_collection(
        PolyCollection(outlines, facecolors=BUILDING_COLOUR, edgecolors="none", alpha=0.8, zorder=2.5), autolim=False
    )
    return [Patch(facecolor=BUILDING_COLOUR, alpha=0.8, label="building")]


def _road_group(highway: pd.Series) -> np.ndarray:
    """Index into ROAD_STYLES of each link's class (unknown classes: 0, the minor roads)."""
    lookup = {cls: i for i, (classes, _style) in enumerate(ROAD_STYLES) for cls in classes}
    return highway.map(lookup).fillna(0).to_numpy(int)


def _draw_roads(ax: Axes, roads: pd.DataFrame) -> list[Artist]:
    """Roads by class (major ones on top, cased), tunnels dashed, bridges on a dark casing."""
    handles: list[Artist] = []
    if roads.empty:
        return handles
    group = _road_group(roads["highway"])
    tunnel = roads["tunnel"].astype(bool).to_numpy()
    bridge = roads["bridge"].astype(bool).to_numpy()
    for i, (_classes, style) in enumerate(ROAD_STYLES):
        chosen = (group == i) & ~tunnel
        if chosen.any():
            add_lines(ax, segments(roads["geometry"][chosen]), style, casing=True)
            handles.append(line_handle(style))
        under = (group == i) & tunnel
        if under.any():
            tunnel_style = LineStyle(
                TUNNEL_STYLE.label,
                style.color,
                max(style.width * 0.8, 0.5),
                dashes=TUNNEL_STYLE.dashes,
                alpha=TUNNEL_STYLE.alpha,
                zorder=style.zorder,
            )
            add_lines(ax, segments(roads["geometry"][under]), tunnel_style)
        over = (group == i) & bridge & ~tunnel
        if over.any():
            casing = LineStyle("", BRIDGE_STYLE.color, style.width + 1.3, zorder=BRIDGE_STYLE.zorder - 0.1 + 0.01 * i)
            deck = LineStyle("", style.color, style.width, zorder=BRIDGE_STYLE.zorder + 0.01 * i)
            lines = segments(roads["geometry"][over])
            add_lines(ax, lines, casing)
            add_lines(ax, lines, deck)
    handles.reverse()  # major roads first in the legend
    if (bridge & ~tunnel).any():
        handles.append(_bridge_handle())
    if tunnel.any():
        handles.append(line_handle(TUNNEL_STYLE))
    return handles


def _bridge_handle() -> Line2D:
    """A legend entry for bridges: a primary road in the bridges' dark casing."""
    primary = ROAD_STYLES[2][1]
    casing = patheffects.Stroke(linewidth=primary.width + 1.3, foreground=BRIDGE_STYLE.color)
    return Line2D(
        [],
        [],
        color=primary.color,
        linewidth=primary.width,
        label=BRIDGE_STYLE.label,
        path_effects=[casing, patheffects.Normal()],
    )


def _draw_water(ax: Axes, waterways: pd.DataFrame) -> list[Artist]:
    """Rivers, canals, streams and minor water by kind; culverts thinner and dashed."""
    handles: list[Artist] = []
    if waterways.empty:
        return handles
    kinds = waterways["kind"].to_numpy()
    culvert = waterways["tunnel"].astype(bool).to_numpy() if "tunnel" in waterways else np.zeros(len(kinds), bool)
    minor = ~np.isin(kinds, list(WATER_STYLES))
    groups = [(kinds == k, s) for k, s in WATER_STYLES.items()] + [(minor, MINOR_WATER_STYLE)]
    for chosen, style in groups:
        if not chosen.any():
            continue
        add_lines(ax, segments(waterways["geometry"][chosen & ~culvert]), style)
        hidden = LineStyle(
            style.label, style.color, style.width * 0.7, dashes=(1.5, 1.5), alpha=0.6, zorder=style.zorder
        )
        add_lines(ax, segments(waterways["geometry"][chosen & culvert]), hidden)
        handles.append(line_handle(style))
    return handles


def _draw_power_lines(ax: Axes, facilities: pd.DataFrame) -> list[Artist]:
    """Power lines and cables by kind, one legend entry per label."""
    handles: list[Artist] = []
    if facilities.empty:
        return handles
    seen: set[str] = set()
    for kind, style in POWER_LINE_STYLES.items():
        rows = facilities[facilities["kind"] == kind]
        if rows.empty:
            continue
        add_lines(ax, segments(rows["geometry"]), style)
        if style.label not in seen:
            seen.add(style.label)
            handles.append(line_handle(style))
    return handles


# --- points -------------------------------------------------------------------------------------------


def point_style(kind: str, group: str) -> PointStyle:
    """The marker of a facility or lifeline kind (its group's fallback when the kind has none)."""
    return POINT_STYLES.get(kind, GROUP_FALLBACK.get(group, GROUP_FALLBACK["facility"]))


def point_kinds(facilities: pd.DataFrame) -> list[tuple[str, str]]:
    """(kind, group) of every point kind present, in legend order (styled kinds first, then the rest)."""
    present = facilities[~facilities["kind"].isin(LINE_KINDS)]
    pairs = sorted({(str(k), str(g)) for k, g in zip(present["kind"], present["group"], strict=True)})
    order = {kind: i for i, kind in enumerate(POINT_STYLES)}
    return sorted(pairs, key=lambda p: (order.get(p[0], len(order)), p))


def _shelter_sizes(capacity: pd.Series, base: float) -> np.ndarray:
    """Shelter marker areas (pt^2) growing with the square root of the places (base size at 500)."""
    places = capacity.fillna(500.0).clip(lower=50.0).to_numpy(float)
    return (base * np.sqrt(places / 500.0)) ** 2


def draw_points(ax: Axes, facilities: pd.DataFrame) -> list[Artist]:
    """One scatter per kind; returns one legend entry per label (marked `` *`` when all of a kind are assumed)."""
    handles: list[Artist] = []
    if facilities.empty:
        return handles
    labels: set[str] = set()
    for kind, group in point_kinds(facilities):
        rows = facilities[(facilities["kind"] == kind) & (facilities["group"] == group)]
        style = point_style(kind, group)
        sizes = _shelter_sizes(rows["capacity"], style.size) if kind == "shelter" else style.size**2
        ax.scatter(
            rows["x"].to_numpy(float),
            rows["y"].to_numpy(float),
            s=sizes,
            marker=style.marker,
            c=style.color,
            edgecolors=style.edge,
            linewidths=0.7 if style.edge != "none" else 0.0,
            zorder=style.zorder,
        )
        if style.label in labels:
            continue
        labels.add(style.label)
        label = style.label + (" *" if rows["assumed"].astype(bool).all() else "")
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker=style.marker,
                markersize=style.size * 0.85,
                markerfacecolor=style.color,
                markeredgecolor=style.edge,
                markeredgewidth=0.7,
                label=label,
            )
        )
    return handles
