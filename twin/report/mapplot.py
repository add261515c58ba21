"""The city map a planner puts on a slide (``twin map show``).

One PNG, drawn with matplotlib's object API (:class:`~matplotlib.figure.Figure` and the Agg canvas; no
pyplot state): a hillshade with a light hypsometric tint and labelled contours, roads by class with
bridges and tunnels, rivers and streams, power lines, facilities and lifeline components by kind, town
names, a scale bar, a north arrow, a legend beside the map (it never covers the city), title, subtitle
and the map's attribution. Everything is in the city's metric CRS, so distances on the map are metres.
The same City gives the same PNG, byte for byte.

Layers of :func:`draw_city`: ``roads`` (the above), ``hand`` (height above nearest drainage over a grey
hillshade, the drainage cells in blue, roads thin on top) and ``lifelines`` (power feeder zones in translucent
colours, water pressure zone boundaries, power lines, substations, pumps, tanks, cell sites, signals and
hospitals; synthesised components hollow). :func:`draw_flood` draws a run's peak water depth
and the roads water closed, :func:`draw_susceptibility` a landslide susceptibility map (probability of failure)
with a run's debris footprints and the roads they blocked, :func:`draw_service_loss` the power and water zones
served or not at a run's worst moment, on the same page layout. Value grids get a colour bar
at the top of the legend column; they are drawn cell by cell on the terrain grid (north-up, extent from its
transform).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.ndimage as ndi
import shapely
from matplotlib import colormaps, patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection, PolyCollection
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.geometry.polygon import orient

from twin.atomic import atomic_path
from twin.errors import TwinError
from twin.report.text import plain_text

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
LAYERS = ("roads", "hand", "lifelines")
COLORBAR_HEIGHT_IN = 2.4
SUN_AZIMUTH_DEG = 315.0
SUN_ALTITUDE_DEG = 45.0
DEFAULT_ATTRIBUTION = "OSM data (c) OpenStreetMap contributors, ODbL; elevation SRTM public domain"

Segments = list[np.ndarray]
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


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
NO_DATA_COLOUR = "#ececec"
POWER_LINE_STYLES: dict[str, LineStyle] = {
    "line": LineStyle("power line", "#7b3294", 0.8, dashes=(4.0, 2.0), zorder=6.0),
    "minor_line": LineStyle("minor power line / cable", "#7b3294", 0.5, dashes=(2.0, 2.0), alpha=0.8, zorder=6.0),
    "cable": LineStyle("minor power line / cable", "#7b3294", 0.5, dashes=(2.0, 2.0), alpha=0.8, zorder=6.0),
}

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
# Kinds counted in the subtitle, in this order.
SUBTITLE_KINDS = ("hospital", "clinic", "fire_station", "police", "shelter", "substation")
LINE_KINDS = frozenset(POWER_LINE_STYLES)

# The hazard layers: a value grid over a grey hillshade, roads thin on top.
GREY_SHADE = LinearSegmentedColormap.from_list("twin_grey_shade", ["#6e6e6e", "#ffffff"])
HAND_MAX_M = 30.0  # the HAND colour scale is clipped at 0..30 m (higher ground takes the top colour)
HAND_LOW_M = 5.0  # the subtitle's share of the area this close above its drainage
HAND_CMAP = colormaps["YlOrRd_r"]
DRAINAGE_COLOUR = "#1f63b5"
UNREACHED_COLOUR = "#cfcfcf"
HAND_ROAD_STYLE = LineStyle("road", "#2b2b2b", 0.35, alpha=0.8, zorder=4.0)
DEPTH_CMAP = LinearSegmentedColormap.from_list("twin_depth", colormaps["Blues"](np.linspace(0.3, 1.0, 256)))
FLOOD_ROAD_STYLE = LineStyle("road", "#8c8c8c", 0.4, zorder=4.0)
CLOSED_STYLE = LineStyle("closed by water", "#d7191c", 1.6, casing=0.4, zorder=5.0)
SUSCEPTIBILITY_CMAP = colormaps["YlOrRd"]
SUSCEPTIBILITY_HIGH = 0.5  # the subtitle's share of the area at least this likely to fail
FOOTPRINT_STYLE = LineStyle("debris footprint", "#111111", 0.8, zorder=5.2)
BLOCKED_STYLE = LineStyle("blocked by debris", "#2166ac", 1.6, casing=0.4, zorder=5.0)

# The lifelines layer and the service-loss map.
#: Qualitative zone colours (tab10 without its purple, kept for the substations, and its grey).
ZONE_COLOURS = tuple(colormaps["tab10"](i) for i in (0, 1, 2, 3, 5, 6, 8, 9))
ZONE_ALPHA = 0.32
LEGEND_LABEL_CHARS = 30  # characters of a legend label per line: what the legend column holds at 8 pt
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
def draw_city(city: City, out: Path, layer: str = "roads") -> None:
    """Draw the city's map to a PNG file.

    Parameters
    ----------
    city
        The compiled city.
    out
        The PNG to write (written atomically; its folder is created if needed).
    layer
        What to draw over the terrain: ``"roads"`` (road network, water, lifelines, facilities),
        ``"hand"`` (height above nearest drainage, with the drainage cells and the roads) or ``"lifelines"``
        (power and water zones, the grid, pumps, tanks, cell sites, signals and hospitals).

    Raises
    ------
    TwinError
        For an unknown layer.
    """
    if layer not in LAYERS:
        raise TwinError(f"unknown map layer {layer!r}; choose one of: {', '.join(LAYERS)}")
    sheet = _new_sheet(city)
    draw = {"roads": _roads_layer, "hand": _hand_layer, "lifelines": _lifelines_layer}[layer]
    _finish(sheet, city, draw(sheet, city), city.name, out)


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
    sheet = _new_sheet(city)
    _finish(sheet, city, _flood_layer(sheet, city, depth, closed), title, out)


@plain_text
def draw_susceptibility(
    city: City,
    probability: np.ndarray,
    out: Path,
    title: str,
    *,
    draws: int,
    recharge_mm_day: float,
    footprints: Sequence[Any] = (),
    blocked_links: np.ndarray | None = None,
    slides: int | None = None,
) -> None:
    """Draw a landslide susceptibility map (P(FS < 1)) with a run's debris footprints to a PNG file.

    The probability of failure is coloured from 0 to 1 over a grey hillshade (cells at 0 stay clear), the
    drivable roads are thin and grey, the footprints of the run's slides outlined in black and the links
    their debris blocked in blue; legend, colour bar, scale bar and north arrow as on the city map.

    Parameters
    ----------
    city
        The compiled city.
    probability
        P(FS < 1) on the terrain grid (``city.terrain.elevation_m.shape``), NaN outside the DEM.
    out
        The PNG to write (written atomically; its folder is created if needed).
    title
        The map's title (e.g. the scenario's name).
    draws, recharge_mm_day
        How the probability was computed (draws per cell, recharge in mm/day), for the subtitle.
    footprints
        Shapely (multi)polygons of the slides' debris footprints (outlined), one per slide.
    blocked_links
        Ids of the drivable links the debris blocked (rows of ``city.drive.links``).
    slides
        Number of slides of the run, or None for a map made without a run (the subtitle then says nothing
        of slides).

    Raises
    ------
    ValueError
        If the grid is not the terrain's shape, a probability is outside [0, 1] or a link id is not a link.
    """
    grid = np.asarray(probability, dtype=np.float64)
    if grid.shape != city.terrain.elevation_m.shape:
        raise ValueError(f"probability grid {grid.shape} is not the terrain grid {city.terrain.elevation_m.shape}")
    finite = grid[np.isfinite(grid)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
        raise ValueError(f"probabilities must lie in [0, 1], got {finite.min():g}..{finite.max():g}")
    blocked = np.unique(np.asarray(blocked_links if blocked_links is not None else [], dtype=np.int64))
    if blocked.size and (blocked[0] < 0 or blocked[-1] >= city.drive.n_links):
        raise ValueError(f"blocked link ids must be in [0, {city.drive.n_links}), got {blocked[0]}..{blocked[-1]}")
    sheet = _new_sheet(city)
    content = _susceptibility_layer(sheet, city, grid, list(footprints), blocked, draws, recharge_mm_day, slides)
    _finish(sheet, city, content, title, out)


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
    sheet = _new_sheet(city)
    _finish(sheet, city, _service_loss_layer(sheet, city, list(services), moment), title, out)


def depth_scale(deepest_m: float) -> float:
    """Top of the depth colour scale: the smallest of 0.5, 1, 2, 3, 5, 10, 20, 50, 100, ... m >= ``deepest_m``."""
    steps = [0.5, 1.0, 2.0, 3.0, 5.0]
    exponent = 1
    while steps[-1] < deepest_m:
        steps += [mantissa * 10.0**exponent for mantissa in (1.0, 2.0, 5.0)]
        exponent += 1
    return next(step for step in steps if step >= deepest_m)


# --- one sheet: page, layers, finishing ------------------------------------------------------------------


@dataclass
class _Sheet:
    """A map page being drawn; ``column_top`` is where the free part of the legend column starts (figure
    fraction), lowered by each colour bar placed in it."""

    fig: Figure
    canvas: FigureCanvasAgg
    ax: Axes
    page: PageLayout
    extent: tuple[float, float, float, float]
    column_top: float


@dataclass(frozen=True)
class _Layer:
    """What a layer drew: legend entries, labels to place, the subtitle and notes under the map."""

    handles: list[Artist]
    labels: list[Label]
    subtitle: str
    notes: tuple[str, ...] = ()


def _new_sheet(city: City) -> _Sheet:
    """An empty page with the map axes framed on the city."""
    extent = map_extent(city)
    page = page_layout(extent)
    fig = Figure(figsize=page.size_in, dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes(page.map_box)
    _setup_axes(ax, extent)
    return _Sheet(fig, canvas, ax, page, extent, page.map_box[1] + page.map_box[3])


def _finish(sheet: _Sheet, city: City, content: _Layer, title: str, out: Path) -> None:
    """Scale bar, north arrow, labels, legend, title and notes; then write the PNG atomically."""
    density = _corner_density(city, sheet.extent)
    _draw_scale_bar(sheet.ax, sheet.extent, right=density["lower right"] < density["lower left"])
    _draw_north_arrow(sheet.ax, right=density["upper right"] <= density["upper left"])
    _place_labels(sheet.ax, sheet.canvas, content.labels)
    _draw_legend(sheet, content.handles)
    _draw_text(sheet.fig, sheet.page, city, title, content.subtitle, content.notes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        sheet.fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})


def _roads_layer(sheet: _Sheet, city: City) -> _Layer:
    """Tinted terrain with contours, roads, water, power lines, facilities and their labels."""
    _draw_terrain(sheet.ax, city, sheet.extent)
    handles = _draw_lines(sheet.ax, city)
    handles += _draw_points(sheet.ax, city.facilities)
    handles += _contour_handles(city) + _no_data_handles(city, sheet.extent)
    assumed = bool(len(city.facilities)) and bool(city.facilities["assumed"].astype(bool).any())
    return _Layer(handles, _labels(city), _subtitle(city), ("* assumed: from city.yaml, not OSM",) if assumed else ())


def _hand_layer(sheet: _Sheet, city: City) -> _Layer:
    """HAND coloured over a grey hillshade, drainage cells in blue, thin roads on top."""
    hydrology = city.hydrology
    _draw_hillshade(sheet.ax, city)
    hand = np.ma.masked_invalid(np.asarray(hydrology.hand_m, dtype=np.float64))
    image = _draw_grid(sheet.ax, city, hand, HAND_CMAP, Normalize(0.0, HAND_MAX_M), 0.7)
    _add_colorbar(sheet, image, "height above nearest drainage (m)", extend="max")
    land = np.isfinite(city.terrain.elevation_m)
    unreached = land & np.ma.getmaskarray(hand)
    drainage = np.asarray(hydrology.drainage, dtype=bool)
    _draw_cells(sheet.ax, city, unreached, UNREACHED_COLOUR, 0.75, zorder=1.1)
    _draw_cells(sheet.ax, city, drainage, DRAINAGE_COLOUR, 1.0, zorder=1.2)
    handles: list[Artist] = [Patch(facecolor=DRAINAGE_COLOUR, label="drainage (channel cells)")]
    handles += _draw_plain_roads(sheet.ax, city, HAND_ROAD_STYLE)
    if unreached.any():
        handles.append(Patch(facecolor=UNREACHED_COLOUR, alpha=0.75, label="no drainage reached"))
    handles += _no_data_handles(city, sheet.extent)
    low = float((hand.filled(np.inf)[land] <= HAND_LOW_M).mean()) if land.any() else 0.0
    subtitle = (
        f"height above nearest drainage (HAND), {city.terrain.resolution_m:g} m grid · "
        f"{low:.0%} of the area within {HAND_LOW_M:g} m of its drainage · {int(drainage.sum()):,} "
        "drainage cells"
    )
    return _Layer(handles, _town_labels(city), subtitle)


def _flood_layer(sheet: _Sheet, city: City, depth: np.ndarray, closed: np.ndarray) -> _Layer:
    """Peak depth coloured over a grey hillshade (dry cells clear), roads grey, closed links red on top."""
    _draw_hillshade(sheet.ax, city)
    wet = np.isfinite(depth) & (depth > 0)
    deepest = float(depth[wet].max()) if wet.any() else 0.0
    image = _draw_grid(
        sheet.ax, city, np.ma.masked_where(~wet, depth), DEPTH_CMAP, Normalize(0.0, depth_scale(deepest)), 0.85
    )
    _add_colorbar(sheet, image, "peak water depth (m)")
    handles = _draw_plain_roads(sheet.ax, city, FLOOD_ROAD_STYLE)
    count = f"{len(closed)} link{'' if len(closed) == 1 else 's'}"
    style = replace(CLOSED_STYLE, label=f"{CLOSED_STYLE.label} ({count})")
    _add_lines(sheet.ax, segments(undirected(city.drive.links.iloc[closed])["geometry"]), style, casing=True)
    handles.append(_handle(style))
    area_km2 = wet.sum() * city.terrain.resolution_m**2 / 1e6
    water = f"deepest {deepest:.2f} m" if wet.any() else "no water"
    subtitle = f"peak flooded area {area_km2:,.2f} km² · {water} · {count} closed by water"
    return _Layer(handles + _no_data_handles(city, sheet.extent), _town_labels(city), subtitle)


def _susceptibility_layer(
    sheet: _Sheet,
    city: City,
    probability: np.ndarray,
    footprints: list[Any],
    blocked: np.ndarray,
    draws: int,
    recharge_mm_day: float,
    slides: int | None,
) -> _Layer:
    """P(fail) coloured over a grey hillshade (0 clear), roads grey, footprints outlined, blocked links blue."""
    _draw_hillshade(sheet.ax, city)
    land = np.isfinite(probability)
    likely = land & (probability > 0)
    image = _draw_grid(
        sheet.ax, city, np.ma.masked_where(~likely, probability), SUSCEPTIBILITY_CMAP, Normalize(0.0, 1.0), 0.8
    )
    _add_colorbar(sheet, image, "probability of failure P(FS < 1)")
    handles: list[Artist] = [
        Patch(facecolor="none", edgecolor="#bbbbbb", linewidth=0.5, label="P = 0: gentle slope, bare rock, water")
    ]
    handles += _draw_plain_roads(sheet.ax, city, FLOOD_ROAD_STYLE)
    if slides is not None:
        count = f"{len(blocked)} link{'' if len(blocked) == 1 else 's'}"
        style = replace(BLOCKED_STYLE, label=f"{BLOCKED_STYLE.label} ({count})")
        _add_lines(sheet.ax, segments(undirected(city.drive.links.iloc[blocked])["geometry"]), style, casing=True)
        handles.append(_handle(style))
        plural = "" if slides == 1 else "s"
        outline = replace(FOOTPRINT_STYLE, label=f"{FOOTPRINT_STYLE.label} ({slides} slide{plural})")
        _add_lines(sheet.ax, segments(footprints), outline)
        handles.append(Patch(facecolor="none", edgecolor=outline.color, linewidth=outline.width, label=outline.label))
    share = float((probability[land] >= SUSCEPTIBILITY_HIGH).mean()) if land.any() else 0.0
    parts = [
        f"P(FS < 1) over {draws} soil draws at a recharge of {recharge_mm_day:g} mm/day",
        f"{share:.1%} of the area at P ≥ {SUSCEPTIBILITY_HIGH:g}",
    ]
    if slides is not None:
        parts.append(
            f"{slides} slide{'' if slides == 1 else 's'}, {len(blocked)} link{'' if len(blocked) == 1 else 's'} blocked"
        )
    notes = ("infinite-slope factor of safety (SINMAP form), soil parameters drawn uniformly in their ranges",)
    return _Layer(handles + _no_data_handles(city, sheet.extent), _town_labels(city), " · ".join(parts), notes)


def _lifelines_layer(sheet: _Sheet, city: City) -> _Layer:
    """Power zones in translucent colours (water zones when the map has no power zones), water zone boundaries,
    power lines, and the lifeline components by kind; synthesised ones hollow."""
    from twin.lifelines.zones import lifeline_rows, zone_polygons  # geopandas only for this map

    net = city.lifelines
    facilities = city.facilities
    _draw_hillshade(sheet.ax, city)
    shapes = zone_polygons(city)
    power, water = shapes["power"].geometry.to_numpy(), shapes["water"].geometry.to_numpy()
    handles = _draw_plain_roads(sheet.ax, city, LIFELINE_ROAD_STYLE)
    if len(power):
        names = [_zone_source_name(facilities, int(row)) for row in net.power_sources.tolist()]
        handles += _draw_zone_colours(sheet.ax, power, [f"zone {i}: {n}" for i, n in enumerate(names)], "power zones")
        _add_lines(sheet.ax, zone_edges(power), POWER_ZONE_EDGE)
        handles.append(_handle(POWER_ZONE_EDGE))
        if len(water):
            _add_lines(sheet.ax, zone_edges(water), WATER_ZONE_EDGE)
            handles.append(_handle(WATER_ZONE_EDGE))
    elif len(water):
        bands = [f"water zone {i}: ≥ {low:,.0f} m" for i, low in enumerate(net.water_band_low_m.tolist())]
        handles += _draw_zone_colours(sheet.ax, water, bands, "water zones")
        _add_lines(sheet.ax, zone_edges(water), replace(WATER_ZONE_EDGE, dashes=None))
    lines = facilities[facilities["kind"].isin(LINE_KINDS)]
    if len(lines):
        _add_lines(sheet.ax, segments(lines["geometry"]), GRID_LINE_STYLE)
        handles.append(_handle(GRID_LINE_STYLE))
    rows = lifeline_rows(city)
    table = facilities.iloc[rows]
    points = table[~table["kind"].isin(LINE_KINDS | LIFELINE_SKIPPED_KINDS)]
    handles += _draw_lifeline_points(sheet.ax, points)
    handles += _no_data_handles(city, sheet.extent)
    labels = _town_labels(city) + [
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
    return _Layer(handles, labels, " · ".join(parts), notes)


def _service_loss_layer(sheet: _Sheet, city: City, services: list[ZoneService], moment: str) -> _Layer:
    """Power zones filled by state, water zones hatched where lost, boundaries, substations, roads."""
    _draw_hillshade(sheet.ax, city)
    handles = _draw_plain_roads(sheet.ax, city, LIFELINE_ROAD_STYLE)
    parts = [moment]
    cut_sources = np.zeros(0, dtype=np.int64)
    for item in sorted(services, key=lambda s: s.service != "power"):  # power fills first, water hatched over it
        shapes = np.asarray(item.shapes, dtype=object)
        served = np.asarray(item.served, dtype=bool)
        residents = np.asarray(item.residents, dtype=np.float64)
        lost, people = int((~served).sum()), int(residents[~served].sum())
        zones = f"{lost} of {len(served)} zone{'' if len(served) == 1 else 's'}"
        if item.service == "power":
            _fill_paths(sheet.ax, shapes[served], facecolor=to_rgba(POWER_ON_COLOUR, 0.28), zorder=1.5)
            _fill_paths(sheet.ax, shapes[~served], facecolor=to_rgba(POWER_LOST_COLOUR, 0.5), zorder=1.5)
            _add_lines(sheet.ax, zone_edges(shapes), POWER_ZONE_EDGE)
            handles += [
                Patch(facecolor=POWER_LOST_COLOUR, alpha=0.5, label=f"power cut: {zones}"),
                Patch(facecolor=POWER_ON_COLOUR, alpha=0.28, label="power on"),
                _handle(POWER_ZONE_EDGE),
            ]
            parts.append(f"power cut: {people:,} residents" if lost else "power on everywhere")
            cut_sources = city.lifelines.power_sources[~served]
        else:
            _fill_paths(
                sheet.ax,
                shapes[~served],
                facecolor=to_rgba(WATER_LOST_FILL, 0.18),
                hatch=WATER_LOST_HATCH,
                hatchcolor=WATER_LOST_COLOUR,
                zorder=1.6,
            )
            _add_lines(sheet.ax, zone_edges(shapes), WATER_ZONE_EDGE)
            handles += [
                Patch(
                    facecolor=to_rgba(WATER_LOST_FILL, 0.18),
                    edgecolor=WATER_LOST_COLOUR,
                    hatch=WATER_LOST_HATCH,
                    linewidth=0.6,
                    label=f"water lost: {zones}",
                ),
                _handle(WATER_ZONE_EDGE),
            ]
            parts.append(f"water lost: {people:,} residents" if lost else "water everywhere")
    if not services:
        parts.append("no per-zone power or water records")
    sources = city.facilities.iloc[city.lifelines.power_sources]
    if len(sources):
        handles += _draw_points(sheet.ax, sources)
    if len(cut_sources):
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
        handles.append(
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
        )
    handles += _no_data_handles(city, sheet.extent)
    notes = ("a zone is served when its source (substation; pump and tank) works",)
    return _Layer(handles, _town_labels(city), " · ".join(parts), notes)


def _zone_source_name(facilities: pd.DataFrame, row: int) -> str:
    """A power source's name for the legend (its kind when it has none)."""
    name = str(facilities["name"].iloc[row])
    return _short(name, 18) if name else str(facilities["kind"].iloc[row]).replace("_", " ")


def _draw_zone_colours(ax: Axes, shapes: np.ndarray, labels: list[str], plural: str) -> list[Artist]:
    """Each zone filled in a translucent qualitative colour; one legend entry each, or one for all when many."""
    colours = [ZONE_COLOURS[i % len(ZONE_COLOURS)] for i in range(len(shapes))]
    for shape, colour in zip(shapes, colours, strict=True):
        _fill_paths(ax, np.array([shape], dtype=object), facecolor=to_rgba(colour, ZONE_ALPHA), zorder=1.5)
    if len(shapes) > ZONE_LEGEND_MAX:
        return [Patch(facecolor=ZONE_COLOURS[0], alpha=ZONE_ALPHA, label=f"{plural} ({len(shapes)}, a colour each)")]
    return [Patch(facecolor=c, alpha=ZONE_ALPHA, label=label) for c, label in zip(colours, labels, strict=True)]


def zone_edges(shapes: Iterable[Any]) -> Segments:
    """The boundaries of adjacent zones, each shared edge once (so that dashes do not overlap)."""
    items = [g for g in shapes if g is not None and not shapely.is_empty(g)]
    if not items:
        return []
    merged = shapely.line_merge(shapely.union_all(shapely.boundary(np.asarray(items, dtype=object))))
    return segments([merged])


def polygon_paths(geometries: Iterable[Any]) -> list[MplPath]:
    """Matplotlib paths of (multi)polygons, holes included (exterior anticlockwise, holes clockwise).

    Parameters
    ----------
    geometries
        Shapely geometries; their polygon parts are drawn, anything else is skipped.
    """
    items = np.asarray(list(geometries), dtype=object)
    if not len(items):
        return []
    parts = shapely.get_parts(items)
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
    paths = []
    for part in parts:
        polygon = orient(part, sign=1.0)
        rings = [polygon.exterior, *polygon.interiors]
        paths.append(MplPath.make_compound_path(*[MplPath(np.asarray(r.coords), closed=True) for r in rings]))
    return paths


def _fill_paths(
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


def _draw_lifeline_points(ax: Axes, table: pd.DataFrame) -> list[Artist]:
    """One scatter per kind and origin: OSM components filled, assumed (synthesised) ones hollow."""
    handles: list[Artist] = []
    labels: set[str] = set()
    assumed = table["assumed"].to_numpy(bool)
    for kind, group in _point_kinds(table):
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


def _town_labels(city: City) -> list[Label]:
    """Only the town names (for the hazard layers, which draw no facilities)."""
    return [label for label in _labels(city) if label.town]


def _draw_plain_roads(ax: Axes, city: City, style: LineStyle) -> list[Artist]:
    """Every drivable street in one style; its legend entry when there are any."""
    lines = segments(undirected(city.drive.links)["geometry"])
    _add_lines(ax, lines, style)
    return [_handle(style)] if lines else []


def _draw_grid(ax: Axes, city: City, values: np.ndarray, cmap: Colormap, norm: Normalize, alpha: float) -> AxesImage:
    """A value grid on the terrain grid, one flat colour per cell (masked cells clear)."""
    return ax.imshow(
        values,
        cmap=cmap,
        norm=norm,
        alpha=alpha,
        extent=_grid_extent(city),
        origin="upper",
        interpolation="nearest",
        zorder=1.0,
    )


def _draw_cells(ax: Axes, city: City, mask: np.ndarray, colour: str, alpha: float, zorder: float) -> None:
    """Cells of the terrain grid where ``mask`` is set, in one colour (the others clear)."""
    if not mask.any():
        return
    rgba = np.zeros((*mask.shape, 4))
    rgba[mask] = to_rgba(colour, alpha)
    ax.imshow(rgba, extent=_grid_extent(city), origin="upper", interpolation="nearest", zorder=zorder)


def _add_colorbar(sheet: _Sheet, image: AxesImage, label: str, extend: str = "neither") -> None:
    """A vertical colour bar at the top of the legend column; the legend then starts below it."""
    width_in, height_in = sheet.page.size_in
    top = sheet.column_top - 0.1 / height_in
    box = (sheet.page.legend_x, top - COLORBAR_HEIGHT_IN / height_in, 0.16 / width_in, COLORBAR_HEIGHT_IN / height_in)
    cax = sheet.fig.add_axes(box)
    bar = sheet.fig.colorbar(image, cax=cax, orientation="vertical", extend=extend)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7.5)
    sheet.column_top = box[1] - 0.3 / height_in


# --- terrain ------------------------------------------------------------------------------------------


def hillshade(
    elevation: np.ndarray,
    cell_m: float,
    azimuth_deg: float = SUN_AZIMUTH_DEG,
    altitude_deg: float = SUN_ALTITUDE_DEG,
    z_factor: float = 1.0,
) -> np.ndarray:
    """Illumination of a north-up elevation grid by a distant sun, in [0, 1].

    Slopes by Horn's (1981) 3 x 3 weighted differences, with the neighbours of cell ``e``
    laid out ``a b c / d e f / g h i`` (row 0 is north)::

        dz/dx (east)  = ((c + 2f + i) - (a + 2d + g)) / (8 * cell)
        dz/dy (north) = ((a + 2b + c) - (g + 2h + i)) / (8 * cell)

    and the cosine of the angle between the surface normal ``(-dz/dx, -dz/dy, 1)`` and the unit vector
    to the sun ``(sin A cos h, cos A cos h, sin h)`` (azimuth A clockwise from north, altitude h)::

        shade = (sin h - cos h (sin A dz/dx + cos A dz/dy)) / sqrt(1 + (dz/dx)^2 + (dz/dy)^2)

    which is Burrough & McDonnell's (1998) ``cos(zenith) cos(slope) + sin(zenith) sin(slope)
    cos(azimuth - aspect)``, clipped at 0 (faces turned away from the sun). A flat cell gives ``sin h``.

    Parameters
    ----------
    elevation
        Elevations (m), rows north to south; NaN cells are filled from their nearest valid cell for the
        differences and stay NaN in the result.
    cell_m
        Cell size (m).
    azimuth_deg, altitude_deg
        Sun direction: azimuth clockwise from north, altitude above the horizon (degrees).
    z_factor
        Vertical exaggeration.

    Returns
    -------
    numpy.ndarray
        float64 grid of the same shape, NaN where ``elevation`` is NaN.
    """
    z = np.asarray(elevation, dtype=np.float64)
    invalid = ~np.isfinite(z)
    if invalid.all():
        return np.full(z.shape, np.nan)
    if invalid.any():
        nearest = ndi.distance_transform_edt(invalid, return_distances=False, return_indices=True)
        z = z[tuple(nearest)]
    p = np.pad(z * z_factor, 1, mode="edge")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * cell_m)
    dzdy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * cell_m)
    azimuth, altitude = np.radians(azimuth_deg), np.radians(altitude_deg)
    shade = (np.sin(altitude) - np.cos(altitude) * (np.sin(azimuth) * dzdx + np.cos(azimuth) * dzdy)) / np.sqrt(
        1 + dzdx**2 + dzdy**2
    )
    shade = np.clip(shade, 0.0, 1.0)
    shade[invalid] = np.nan
    return shade


_TINT = LinearSegmentedColormap.from_list("twin_hypsometric", ["#dfe9d3", "#eef0d6", "#efe4cc", "#e4d8c8", "#f4f2ef"])


def terrain_rgb(elevation: np.ndarray, shade: np.ndarray, altitude_deg: float = SUN_ALTITUDE_DEG) -> np.ndarray:
    """A light hypsometric tint darkened in grey by the hillshade (RGB in [0, 1], NaN cells pale grey).

    Slopes facing away from the sun darken the tint (multiply), slopes facing it lighten it towards
    white, flat ground keeps the tint; the tint spans the 2nd to 98th percentile of elevation.
    """
    valid = np.isfinite(elevation)
    rgb = np.full((*elevation.shape, 3), 236 / 255)
    if not valid.any():
        return rgb
    low, high = np.percentile(elevation[valid], [2, 98])
    tint = _TINT(Normalize(low, max(high, low + 1.0), clip=True)(elevation))[..., :3]
    relative = np.where(valid, shade, np.sin(np.radians(altitude_deg))) / np.sin(np.radians(altitude_deg))
    dark = np.clip(1.0 - relative, 0.0, 1.0)[..., None]
    light = np.clip(relative - 1.0, 0.0, 1.0)[..., None]
    shaded = tint * (1.0 - 0.45 * dark)
    shaded = shaded + (1.0 - shaded) * 0.5 * light
    rgb[valid] = shaded[valid]
    return rgb


def contour_interval(span_m: float, max_levels: int = 25) -> float:
    """The smallest round contour interval (1, 2, 2.5 or 5 x 10^k m) giving at most ``max_levels`` levels."""
    for exponent in range(0, 5):
        for step in (1.0, 2.0, 2.5, 5.0):
            interval = step * 10.0**exponent
            if span_m / interval <= max_levels:
                return interval
    return 10_000.0


def _grid_extent(city: City) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of the terrain grid."""
    t = city.terrain.transform
    rows, cols = city.terrain.elevation_m.shape
    return t.c, t.c + t.a * cols, t.f + t.e * rows, t.f


def _draw_terrain(ax: Axes, city: City, extent: tuple[float, float, float, float]) -> None:
    elevation = city.terrain.elevation_m.astype(np.float64)
    shade = hillshade(elevation, city.terrain.resolution_m)
    ax.imshow(
        terrain_rgb(elevation, shade), extent=_grid_extent(city), origin="upper", interpolation="bilinear", zorder=0
    )
    _draw_contours(ax, city, extent)


def _draw_hillshade(ax: Axes, city: City) -> None:
    """A plain grey hillshade (no tint, no contours): the base of the hazard layers."""
    shade = hillshade(city.terrain.elevation_m.astype(np.float64), city.terrain.resolution_m)
    ax.imshow(
        np.ma.masked_invalid(shade),
        cmap=GREY_SHADE,
        norm=Normalize(0.0, 1.0),
        extent=_grid_extent(city),
        origin="upper",
        interpolation="bilinear",
        zorder=0,
    )


def _draw_contours(ax: Axes, city: City, extent: tuple[float, float, float, float]) -> None:
    """Contours every round interval, every fifth one heavier and labelled sparsely."""
    z = city.terrain.elevation_m.astype(np.float64)
    if not np.isfinite(z).any() or np.nanmax(z) - np.nanmin(z) < 1.0:
        return
    t = city.terrain.transform
    x = t.c + t.a * (np.arange(z.shape[1]) + 0.5)
    y = t.f + t.e * (np.arange(z.shape[0]) + 0.5)
    interval = contour_interval(float(np.nanmax(z) - np.nanmin(z)))
    levels = np.arange(math.ceil(np.nanmin(z) / interval), math.floor(np.nanmax(z) / interval) + 1) * interval
    index = levels[np.isclose(np.mod(levels, 5 * interval), 0.0)]
    minor = levels[~np.isin(levels, index)]
    style: dict[str, Any] = {"colors": "#8a7660", "zorder": 1.0}
    if len(minor):
        ax.contour(x, y, z, levels=minor, linewidths=0.3, alpha=0.45, **style)
    if len(index):
        major = ax.contour(x, y, z, levels=index, linewidths=0.6, alpha=0.7, **style)
        labels = ax.clabel(major, fmt=lambda v: f"{v:.0f}", fontsize=6, inline=True, inline_spacing=2)
        for label in labels:
            label.set_color("#6b5a45")


# --- lines --------------------------------------------------------------------------------------------


def segments(geometries: Iterable[Any]) -> Segments:
    """Coordinate arrays of every line in WKB or shapely geometries (polygons give their outline).

    Parameters
    ----------
    geometries
        WKB bytes or shapely geometries (LineString, MultiLineString, Polygon, ...); points are skipped.

    Returns
    -------
    list of numpy.ndarray
        One (n, 2) array per line part, ready for :class:`~matplotlib.collections.LineCollection`.
    """
    items = list(geometries)
    if not items:
        return []
    geoms = np.asarray([shapely.from_wkb(g) if isinstance(g, bytes | bytearray) else g for g in items], dtype=object)
    parts = shapely.get_parts(geoms)
    polygons = shapely.get_type_id(parts) == 3
    parts[polygons] = shapely.get_exterior_ring(parts[polygons])
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if not len(parts):
        return []
    coords, index = shapely.get_coordinates(parts, return_index=True)
    return [s for s in np.split(coords, np.flatnonzero(np.diff(index)) + 1) if len(s) > 1]


def undirected(links: pd.DataFrame) -> pd.DataFrame:
    """One row per street: the two directed links of a two-way street drawn once."""
    if links.empty:
        return links
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    key = pd.DataFrame({"way": links["osm_way"].to_numpy(), "a": np.minimum(src, dst), "b": np.maximum(src, dst)})
    return links[~key.duplicated().to_numpy()]


def _add_lines(ax: Axes, lines: Segments, style: LineStyle, *, casing: bool = False) -> None:
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


def _handle(style: LineStyle) -> Line2D:
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


def _draw_lines(ax: Axes, city: City) -> list[Artist]:
    """Water, paths, roads by class, bridges, tunnels and power lines; returns their legend entries."""
    handles: list[Artist] = _draw_buildings(ax, city.buildings)
    handles += _draw_water(ax, city.waterways)
    walk_only = city.walk.links[~city.walk.links["drivable"].astype(bool)]
    paths = segments(undirected(walk_only)["geometry"])
    _add_lines(ax, paths, PATH_STYLE)
    roads = undirected(city.drive.links)
    handles += _draw_roads(ax, roads)
    if paths:
        handles.append(_handle(PATH_STYLE))
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
    handles: list[Artist] = []
    if roads.empty:
        return handles
    group = _road_group(roads["highway"])
    tunnel = roads["tunnel"].astype(bool).to_numpy()
    bridge = roads["bridge"].astype(bool).to_numpy()
    for i, (_classes, style) in enumerate(ROAD_STYLES):
        chosen = (group == i) & ~tunnel
        if chosen.any():
            _add_lines(ax, segments(roads["geometry"][chosen]), style, casing=True)
            handles.append(_handle(style))
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
            _add_lines(ax, segments(roads["geometry"][under]), tunnel_style)
        over = (group == i) & bridge & ~tunnel
        if over.any():
            casing = LineStyle("", BRIDGE_STYLE.color, style.width + 1.3, zorder=BRIDGE_STYLE.zorder - 0.1 + 0.01 * i)
            deck = LineStyle("", style.color, style.width, zorder=BRIDGE_STYLE.zorder + 0.01 * i)
            lines = segments(roads["geometry"][over])
            _add_lines(ax, lines, casing)
            _add_lines(ax, lines, deck)
    handles.reverse()  # major roads first in the legend
    if (bridge & ~tunnel).any():
        handles.append(_bridge_handle())
    if tunnel.any():
        handles.append(_handle(TUNNEL_STYLE))
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
        _add_lines(ax, segments(waterways["geometry"][chosen & ~culvert]), style)
        hidden = LineStyle(
            style.label, style.color, style.width * 0.7, dashes=(1.5, 1.5), alpha=0.6, zorder=style.zorder
        )
        _add_lines(ax, segments(waterways["geometry"][chosen & culvert]), hidden)
        handles.append(_handle(style))
    return handles


def _draw_power_lines(ax: Axes, facilities: pd.DataFrame) -> list[Artist]:
    handles: list[Artist] = []
    if facilities.empty:
        return handles
    seen: set[str] = set()
    for kind, style in POWER_LINE_STYLES.items():
        rows = facilities[facilities["kind"] == kind]
        if rows.empty:
            continue
        _add_lines(ax, segments(rows["geometry"]), style)
        if style.label not in seen:
            seen.add(style.label)
            handles.append(_handle(style))
    return handles


# --- points -------------------------------------------------------------------------------------------


def point_style(kind: str, group: str) -> PointStyle:
    """The marker of a facility or lifeline kind (its group's fallback when the kind has none)."""
    return POINT_STYLES.get(kind, GROUP_FALLBACK.get(group, GROUP_FALLBACK["facility"]))


def _point_kinds(facilities: pd.DataFrame) -> list[tuple[str, str]]:
    """(kind, group) of every point kind present, in legend order (styled kinds first, then the rest)."""
    present = facilities[~facilities["kind"].isin(LINE_KINDS)]
    pairs = sorted({(str(k), str(g)) for k, g in zip(present["kind"], present["group"], strict=True)})
    order = {kind: i for i, kind in enumerate(POINT_STYLES)}
    return sorted(pairs, key=lambda p: (order.get(p[0], len(order)), p))


def _shelter_sizes(capacity: pd.Series, base: float) -> np.ndarray:
    """Shelter marker areas (pt^2) growing with the square root of the places (base size at 500)."""
    places = capacity.fillna(500.0).clip(lower=50.0).to_numpy(float)
    return (base * np.sqrt(places / 500.0)) ** 2


def _draw_points(ax: Axes, facilities: pd.DataFrame) -> list[Artist]:
    """One scatter per kind; returns one legend entry per label."""
    handles: list[Artist] = []
    if facilities.empty:
        return handles
    labels: set[str] = set()
    for kind, group in _point_kinds(facilities):
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


# --- labels -------------------------------------------------------------------------------------------


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


def _short(name: str, limit: int = 28) -> str:
    """The name, cut at a word boundary with an ellipsis when longer than ``limit`` characters."""
    if len(name) <= limit:
        return name
    cut = name[: limit - 1].rsplit(" ", 1)[0] if " " in name[: limit - 1] else name[: limit - 1]
    return cut.rstrip(" ,.-") + "…"


def _labels(city: City) -> list[Label]:
    """Town names, hospitals' names and shelters' places, most important first."""
    labels = [Label(x, y, name, 10.5, "#3a3a3a", "bold", "italic", town=True) for name, x, y in _towns(city)]
    table = city.facilities
    for _, row in table[table["kind"] == "hospital"].iterrows():
        labels.append(Label(row["x"], row["y"], _short(str(row["name"]) or "hospital"), 7.5, "#a50f15", "bold"))
    for _, row in table[table["kind"] == "shelter"].iterrows():
        if np.isfinite(row["capacity"]):
            labels.append(Label(row["x"], row["y"], f"{int(row['capacity']):,}", 7.0, "#0b5d1e", "bold"))
    return labels


def _towns(city: City) -> list[tuple[str, float, float]]:
    """Names and metric positions of the towns in city.yaml (population areas)."""
    areas = city.config.population.areas
    if not areas:
        return []
    from pyproj import Transformer

    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    lon = np.array([a.centre[0] for a in areas], dtype=float)
    lat = np.array([a.centre[1] for a in areas], dtype=float)
    x, y = to_metric.transform(lon, lat)
    return [(a.name, float(xi), float(yi)) for a, xi, yi in zip(areas, np.atleast_1d(x), np.atleast_1d(y), strict=True)]


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


def _place_labels(ax: Axes, canvas: FigureCanvasAgg, labels: Sequence[Label]) -> None:
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
        path_effects=_HALO if not label.town else [patheffects.withStroke(linewidth=3.0, foreground="white")],
        annotation_clip=True,
    )


# --- frame, scale bar, north arrow, legend, text --------------------------------------------------------


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
    grid = _grid_extent(city)
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


def scale_length(width_m: float) -> float:
    """A round length (1, 2 or 5 x 10^k m) closest to a fifth of the map's width."""
    target = width_m / 5.0
    exponent = math.floor(math.log10(target))
    candidates = [m * 10.0**e for e in (exponent, exponent + 1) for m in (1.0, 2.0, 5.0)]
    return min(candidates, key=lambda c: (abs(math.log(c / target)), c))


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


def _contour_handles(city: City) -> list[Artist]:
    """The legend entry for the contours, when the terrain has any."""
    z = city.terrain.elevation_m
    if not np.isfinite(z).any() or np.nanmax(z) - np.nanmin(z) < 1.0:
        return []
    interval = contour_interval(float(np.nanmax(z) - np.nanmin(z)))
    return [Line2D([], [], color="#8a7660", linewidth=0.6, label=f"contour, every {interval:g} m")]


def _no_data_handles(city: City, extent: tuple[float, float, float, float]) -> list[Artist]:
    """The legend entry for cells without elevation, when the map shows some."""
    z = city.terrain.elevation_m
    handles: list[Artist] = []
    grid = _grid_extent(city)
    uncovered = extent[0] < grid[0] or extent[1] > grid[1] or extent[2] < grid[2] or extent[3] > grid[3]
    if uncovered or not np.isfinite(z).all():
        handles.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#bbbbbb", linewidth=0.5, label="no elevation data"))
    return handles


def _draw_legend(sheet: _Sheet, handles: list[Artist]) -> None:
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


def _subtitle(city: City) -> str:
    """Residents, road length and the key facilities."""
    parts = [f"{city.population:,} residents"]
    roads = undirected(city.drive.links)
    if "length_m" in roads and len(roads):
        parts.append(f"{roads['length_m'].sum() / 1000:,.0f} km of roads")
    counts = city.counts()
    for kind in SUBTITLE_KINDS:
        n = counts.get(kind, 0)
        if n == 0 and kind != "hospital":
            continue
        style = POINT_STYLES[kind]
        noun = kind.replace("_", " ") if kind != "police" else "police station"
        text = f"{n} {noun if n == 1 else (style.plural or noun + 's')}"
        if kind == "shelter":
            places = city.facilities.loc[city.facilities["kind"] == "shelter", "capacity"].sum()
            text += f" ({int(places):,} places)"
        parts.append(text)
    return " · ".join(parts)


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
