"""The report's pictures as PNG bytes: Q(t) curves with the loss area, and maps from a run folder's layers.

Drawn with matplotlib's object API (no pyplot state) in the fonts of the report's language
(:func:`twin.report.fonts.figure_fonts`), so that Chinese labels are drawn with the embedded CJK font.
The same inputs give the same bytes (no time stamp in the PNG).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch

from twin.report.fonts import figure_fonts
from twin.report.maps.flood import depth_scale
from twin.report.maps.geometry import polygon_paths, segments
from twin.report.png import figure_png
from twin.report.runfolder import Raster, service_key
from twin.report.strings import tr, tr_or

DPI = 130
#: Causes of events the engine logs by itself (hazard impacts, cascades): not marked on the curves,
#: where hundreds of lines would hide the scripted events and interventions a planner looks for.
AUTOMATIC_CAUSES = frozenset({"flood", "landslide", "cascade", "backup exhausted", "restoration", "gridlock"})
SERVICE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


@dataclass(frozen=True)
class Curve:
    """One service's Q(t) with the marks the report draws on it."""

    service: str
    t_s: np.ndarray
    q: np.ndarray
    t_min_s: float | None
    t_recovered_s: float | None


def png_bytes(figure: Figure, dpi: float = DPI) -> bytes:
    """The figure as PNG bytes (:func:`twin.report.png.figure_png`: drawn once, no version stamp, same figure,
    same bytes)."""
    return figure_png(figure, dpi)


def marked_event_times(events: pd.DataFrame) -> list[float]:
    """Times (s) of the scripted events and interventions: every event not logged by a hazard or cascade."""
    if events.empty:
        return []
    keep = ~events["cause"].isin(AUTOMATIC_CAUSES)
    return sorted({float(t) for t in events.loc[keep, "t_s"].tolist()})


def curves_png(curves: Sequence[Curve], event_times: Sequence[float], lang: str, span_s: float = 0.0) -> bytes:
    """One panel per service, stacked: Q(t) (linear between records, as the metrics integrate it), the loss
    area 1 - Q shaded, scripted event times dotted, the lowest level and the recovery marked.

    The time axis reaches ``span_s`` (the run's stop, after its last record when it stopped between two) or the
    last record, whichever is later; events beyond it are not drawn. Each curve needs two records or more.
    """
    span_s = max([span_s, *(float(c.t_s[-1]) for c in curves)])
    event_times = [t for t in event_times if 0.0 <= t <= span_s]
    with figure_fonts(lang):
        figure = Figure(figsize=(8.0, 1.25 + 1.45 * len(curves)), layout="constrained")
        axes = figure.subplots(len(curves), 1, sharex=True, squeeze=False)[:, 0]
        for index, (ax, item) in enumerate(zip(axes, curves, strict=True)):
            _curve_panel(ax, item, event_times, SERVICE_COLOURS[index % len(SERVICE_COLOURS)], lang, span_s)
        axes[-1].set_xlabel(tr(lang, "axis_hours"))
        axes[0].legend(handles=_curve_legend(lang), loc="lower left", fontsize=7, ncols=4, framealpha=0.9)
        return png_bytes(figure)


def _curve_panel(ax: Axes, item: Curve, event_times: Sequence[float], colour: str, lang: str, span_s: float) -> None:
    hours = item.t_s / 3600.0
    ax.fill_between(hours, item.q, 1.0, color=colour, alpha=0.22, linewidth=0)
    ax.plot(hours, item.q, color=colour, linewidth=1.8)
    for t_s in event_times:
        ax.axvline(t_s / 3600.0, color="0.35", linewidth=0.8, linestyle=":")
    if item.t_min_s is not None:
        ax.plot([item.t_min_s / 3600.0], [np.interp(item.t_min_s, item.t_s, item.q)], "o", color=colour, ms=5)
    if item.t_recovered_s is not None:
        y = np.interp(item.t_recovered_s, item.t_s, item.q)
        ax.plot([item.t_recovered_s / 3600.0], [y], "^", color="black", ms=6)
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlim(0.0, span_s / 3600.0)
    ax.set_ylabel(tr(lang, "axis_q"))
    ax.set_title(tr_or(lang, f"service_{item.service}", item.service), loc="left", fontsize=9)
    ax.grid(True, alpha=0.3)


def _curve_legend(lang: str) -> list[Any]:
    return [
        Patch(color="0.5", alpha=0.3, label=tr(lang, "legend_loss")),
        Line2D([], [], color="0.35", linestyle=":", label=tr(lang, "legend_event")),
        Line2D([], [], marker="o", color="0.3", linestyle="none", label=tr(lang, "legend_min")),
        Line2D([], [], marker="^", color="black", linestyle="none", label=tr(lang, "legend_recovered")),
    ]


def overlay_png(groups: Sequence[tuple[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]], lang: str) -> bytes:
    """Q(t) of several variants overlaid, one panel per service: the mean over seeds, and the seeds' range shaded.

    Parameters
    ----------
    groups
        ``(label, {service: (t_s, mean_q, (low, high) stacked as a 2 x n array)})`` per variant.
    lang
        Language of the labels.
    """
    services = sorted({s for _, curves in groups for s in curves}, key=service_key)
    with figure_fonts(lang):
        figure = Figure(figsize=(8.0, 1.25 + 1.45 * max(len(services), 1)), layout="constrained")
        axes = figure.subplots(max(len(services), 1), 1, sharex=True, squeeze=False)[:, 0]
        for ax, service in zip(axes, services, strict=False):
            for index, (label, curves) in enumerate(groups):
                if service not in curves:
                    continue
                t_s, mean, band = curves[service]
                colour = SERVICE_COLOURS[index % len(SERVICE_COLOURS)]
                ax.fill_between(t_s / 3600.0, band[0], band[1], color=colour, alpha=0.18, linewidth=0)
                ax.plot(t_s / 3600.0, mean, color=colour, linewidth=1.6, label=label)
            ax.set_ylim(-0.03, 1.05)
            ax.set_ylabel(tr(lang, "axis_q"))
            ax.set_title(tr_or(lang, f"service_{service}", service), loc="left", fontsize=9)
            ax.grid(True, alpha=0.3)
        axes[-1].set_xlabel(tr(lang, "axis_hours"))
        axes[0].legend(loc="lower left", fontsize=7, framealpha=0.9)
        return png_bytes(figure)


# --- maps ---------------------------------------------------------------------------------------------------


def _map_figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(7.0, 6.4), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    return figure, ax


def _km_axes(ax: Axes, extent: tuple[float, float, float, float], lang: str) -> None:
    """Axes in km of the run's metric CRS, limited to ``extent`` (left, right, bottom, top in m)."""
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v / 1000:.0f}")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v / 1000:.0f}")
    ax.set_xlabel(tr(lang, "map_easting"), fontsize=8)
    ax.set_ylabel(tr(lang, "map_northing"), fontsize=8)
    ax.tick_params(labelsize=7)


def _outline(ax: Axes, shapes: Any) -> None:
    """Zone boundaries in grey: the city's outline and its service areas, for orientation."""
    if shapes is None or not len(shapes):
        return
    ax.add_collection(LineCollection(segments(shapes.geometry), colors="0.55", linewidths=0.6, zorder=1))


def hazard_map_png(
    peak_depth: Raster | None, closed_links: Any, debris: Any, outline: Any, extent: Any, lang: str, dpi: float = DPI
) -> bytes:
    """Peak flood depth (blue, m), roads closed by a hazard (red) and landslide debris (brown) over zone outlines.

    ``dpi`` above :data:`DPI` gives the pixels a zoomed view shows (the report's pan-and-zoom map)."""
    with figure_fonts(lang):
        figure, ax = _map_figure(tr(lang, "map_hazard_title"))
        handles: list[Any] = [Line2D([], [], color="0.55", linewidth=0.8, label=tr(lang, "map_zone_outline"))]
        _outline(ax, outline)
        if peak_depth is not None:
            _depth_layer(figure, ax, peak_depth, lang)
        if closed_links is not None and len(closed_links):
            ax.add_collection(LineCollection(segments(closed_links.geometry), colors="#d00000", linewidths=1.1))
            handles.append(Line2D([], [], color="#d00000", linewidth=1.5, label=tr(lang, "map_closed")))
        if debris is not None and len(debris):
            _fill(ax, debris.geometry, "#8b4513", 0.85)
            handles.append(Patch(color="#8b4513", label=tr(lang, "map_slide")))
        _km_axes(ax, extent, lang)
        ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
        return png_bytes(figure, dpi)


def _depth_layer(figure: Figure, ax: Axes, raster: Raster, lang: str) -> None:
    depth = np.where(np.isfinite(raster.values) & (raster.values > 0), raster.values, np.nan)
    deepest = float(np.nanmax(depth)) if np.isfinite(depth).any() else 0.5
    image = ax.imshow(
        depth,
        extent=raster.extent,
        cmap="Blues",
        norm=Normalize(0.0, depth_scale(deepest)),
        interpolation="nearest",
        zorder=2,
    )
    bar = figure.colorbar(image, ax=ax, shrink=0.6)
    bar.set_label(tr(lang, "map_depth"), fontsize=8)


def _fill(ax: Axes, geometries: Any, colour: str, alpha: float) -> None:
    paths = polygon_paths(geometries)
    if paths:
        patches = [PathPatch(p) for p in paths]
        ax.add_collection(PatchCollection(patches, facecolors=colour, edgecolors="none", alpha=alpha, zorder=3))


def zone_map_png(shapes: Any, values: pd.Series, title: str, label: str, lang: str, diverging: bool = False) -> bytes:
    """A choropleth of one value per zone (hours without service, or a difference of them when ``diverging``)."""
    with figure_fonts(lang):
        figure, ax = _map_figure(title)
        value = shapes["zone"].map(values).fillna(0.0).to_numpy(dtype=np.float64)
        top = max(float(np.abs(value).max()), 1e-9)
        norm: Normalize = TwoSlopeNorm(0.0, -top, top) if diverging else Normalize(0.0, top)
        cmap = "RdBu_r" if diverging else "OrRd"
        paths = polygon_paths(shapes.geometry)
        # polygon_paths yields one path per polygon part: repeat each zone's value over its parts.
        parts = [len(polygon_paths([g])) for g in shapes.geometry]
        collection = PatchCollection([PathPatch(p) for p in paths], cmap=cmap, norm=norm, edgecolors="0.3")
        collection.set_array(np.repeat(value, parts))
        collection.set_linewidth(0.5)
        ax.add_collection(collection)
        bar = figure.colorbar(collection, ax=ax, shrink=0.6)
        bar.set_label(label, fontsize=8)
        left, bottom, right, top_y = shapes.total_bounds
        _km_axes(ax, (left, right, bottom, top_y), lang)
        return png_bytes(figure)


def layers_extent(data_layers: Sequence[Any], raster: Raster | None) -> tuple[float, float, float, float] | None:
    """The smallest box (left, right, bottom, top) around every layer given, with a 3 % margin."""
    boxes = [np.asarray(layer.total_bounds) for layer in data_layers if layer is not None and len(layer)]
    if raster is not None and (wet := _wet_box(raster)) is not None:
        boxes.append(wet)
    if not boxes:
        return None
    stack = np.vstack(boxes)
    left, bottom = stack[:, 0].min(), stack[:, 1].min()
    right, top = stack[:, 2].max(), stack[:, 3].max()
    pad = 0.03 * max(right - left, top - bottom)
    return (float(left - pad), float(right + pad), float(bottom - pad), float(top + pad))


def _wet_box(raster: Raster) -> np.ndarray | None:
    """(left, bottom, right, top) of the cells with water in them, None when the grid is dry."""
    rows, cols = np.nonzero(np.isfinite(raster.values) & (raster.values > 0))
    if rows.size == 0:
        return None
    left, right, bottom, top = raster.extent
    height, width = raster.values.shape
    dx, dy = (right - left) / width, (top - bottom) / height
    return np.array(
        [left + cols.min() * dx, top - (rows.max() + 1) * dy, left + (cols.max() + 1) * dx, top - rows.min() * dy]
    )


def depth_difference_png(a: Raster, b: Raster, outline: Any, extent: Any, title: str, lang: str) -> bytes:
    """Peak depth of variant b minus baseline a (m), cell by cell; dry or no-data cells count as 0 m."""
    diff = np.nan_to_num(b.values, nan=0.0) - np.nan_to_num(a.values, nan=0.0)
    shown = np.where(diff != 0.0, diff, np.nan)
    top = max(float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 0.0, 0.01)
    with figure_fonts(lang):
        figure, ax = _map_figure(title)
        _outline(ax, outline)
        image = ax.imshow(
            shown, extent=a.extent, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -top, top), interpolation="nearest", zorder=2
        )
        bar = figure.colorbar(image, ax=ax, shrink=0.6)
        bar.set_label(tr(lang, "map_depth"), fontsize=8)
        _km_axes(ax, extent, lang)
        return png_bytes(figure)


def closures_difference_png(a: Any, b: Any, names: tuple[str, str], outline: Any, extent: Any, lang: str) -> bytes:
    """Roads closed in the baseline only (blue), in the variant only (red) and in both (grey), by link id."""
    a_ids = set() if a is None else set(a["link"].tolist())
    b_ids = set() if b is None else set(b["link"].tolist())
    layers = [
        (a, a_ids - b_ids, "#1f5fbf", tr(lang, "cmp_closed_a", a=names[0])),
        (b, b_ids - a_ids, "#d00000", tr(lang, "cmp_closed_b", b=names[1])),
        (a, a_ids & b_ids, "0.45", tr(lang, "cmp_closed_both")),
    ]
    with figure_fonts(lang):
        figure, ax = _map_figure(tr(lang, "cmp_closed_diff", a=names[0], b=names[1]))
        _outline(ax, outline)
        handles = []
        for frame, ids, colour, label in layers:
            if frame is not None and ids:
                rows = frame[frame["link"].isin(sorted(ids))]
                ax.add_collection(LineCollection(segments(rows.geometry), colors=colour, linewidths=1.2, zorder=3))
            handles.append(Line2D([], [], color=colour, linewidth=1.5, label=f"{label} ({len(ids)})"))
        _km_axes(ax, extent, lang)
        ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
        return png_bytes(figure)
