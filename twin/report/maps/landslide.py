"""The landslide map: susceptibility P(FS < 1) over a grey hillshade, with a run's debris footprints and the roads
they blocked.

The probability of failure (infinite-slope factor of safety in the SINMAP form, Pack, Tarboton & Goodwin 1998,
computed in :mod:`twin.hazards.landslide.susceptibility`) is coloured per cell from 0 to 1 (cells at 0 clear); the
drivable roads are thin and grey, the footprints of the run's slides outlined in black, the links their debris
blocked blue and cased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.colors import Normalize
from matplotlib.patches import Patch

from twin.report.maps.draw import HAZARD_ROAD_STYLE, LineStyle, add_lines, draw_plain_roads, line_handle
from twin.report.maps.geometry import segments, undirected
from twin.report.maps.labels import town_labels
from twin.report.maps.sheet import Layer, Sheet, add_colorbar, finish, new_sheet
from twin.report.maps.terrain import draw_grid, draw_hillshade, no_data_handles
from twin.report.text import plain_text

if TYPE_CHECKING:
    from twin.city.build import City

SUSCEPTIBILITY_CMAP = colormaps["YlOrRd"]
SUSCEPTIBILITY_HIGH = 0.5  # the subtitle's share of the area at least this likely to fail
FOOTPRINT_STYLE = LineStyle("debris footprint", "#111111", 0.8, zorder=5.2)
BLOCKED_STYLE = LineStyle("blocked by debris", "#2166ac", 1.6, casing=0.4, zorder=5.0)


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
    sheet = new_sheet(city)
    content = _susceptibility_layer(sheet, city, grid, list(footprints), blocked, draws, recharge_mm_day, slides)
    finish(sheet, city, content, title, out)


def _susceptibility_layer(
    sheet: Sheet,
    city: City,
    probability: np.ndarray,
    footprints: list[Any],
    blocked: np.ndarray,
    draws: int,
    recharge_mm_day: float,
    slides: int | None,
) -> Layer:
    """P(fail) coloured over a grey hillshade (0 clear), roads grey, footprints outlined, blocked links blue."""
    draw_hillshade(sheet.ax, city)
    land = np.isfinite(probability)
    likely = land & (probability > 0)
    image = draw_grid(
        sheet.ax, city, np.ma.masked_where(~likely, probability), SUSCEPTIBILITY_CMAP, Normalize(0.0, 1.0), 0.8
    )
    add_colorbar(sheet, image, "probability of failure P(FS < 1)")
    handles: list[Artist] = [
        Patch(facecolor="none", edgecolor="#bbbbbb", linewidth=0.5, label="P = 0: gentle slope, bare rock, water")
    ]
    handles += draw_plain_roads(sheet.ax, city, HAZARD_ROAD_STYLE)
    if slides is not None:
        count = f"{len(blocked)} link{'' if len(blocked) == 1 else 's'}"
        style = replace(BLOCKED_STYLE, label=f"{BLOCKED_STYLE.label} ({count})")
        add_lines(sheet.ax, segments(undirected(city.drive.links.iloc[blocked])["geometry"]), style, casing=True)
        handles.append(line_handle(style))
        plural = "" if slides == 1 else "s"
        outline = replace(FOOTPRINT_STYLE, label=f"{FOOTPRINT_STYLE.label} ({slides} slide{plural})")
        add_lines(sheet.ax, segments(footprints), outline)
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
    return Layer(handles + no_data_handles(city, sheet.extent), town_labels(city), " · ".join(parts), notes)
