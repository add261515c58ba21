"""The city map a planner puts on a slide (``twin map show``).

Layer ``roads``: a hillshade with a light hypsometric tint and labelled contours, buildings, roads by class with
bridges and tunnels, rivers and streams, power lines, facilities and lifeline components by kind, town names and
the hospitals' and shelters' labels. Layers ``hand`` (:mod:`twin.report.maps.hand`) and ``lifelines``
(:mod:`twin.report.maps.lifelines`) draw other content on the same page (:mod:`twin.report.maps.sheet`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import TwinError
from twin.report.maps.features import POINT_STYLES, draw_lines, draw_points
from twin.report.maps.geometry import undirected
from twin.report.maps.hand import hand_layer
from twin.report.maps.labels import Label, short_name, town_labels
from twin.report.maps.lifelines import lifelines_layer
from twin.report.maps.sheet import Layer, Sheet, finish, new_sheet
from twin.report.maps.terrain import contour_handles, draw_terrain, no_data_handles
from twin.report.text import plain_text

if TYPE_CHECKING:
    from twin.city.build import City

LAYERS = ("roads", "hand", "lifelines")
# Kinds counted in the subtitle, in this order.
SUBTITLE_KINDS = ("hospital", "clinic", "fire_station", "police", "shelter", "substation")


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
    sheet = new_sheet(city)
    draw = {"roads": roads_layer, "hand": hand_layer, "lifelines": lifelines_layer}[layer]
    finish(sheet, city, draw(sheet, city), city.name, out)


def roads_layer(sheet: Sheet, city: City) -> Layer:
    """Tinted terrain with contours, roads, water, power lines, facilities and their labels."""
    draw_terrain(sheet.ax, city, sheet.extent)
    handles = draw_lines(sheet.ax, city)
    handles += draw_points(sheet.ax, city.facilities)
    handles += contour_handles(city) + no_data_handles(city, sheet.extent)
    assumed = bool(len(city.facilities)) and bool(city.facilities["assumed"].astype(bool).any())
    notes = ("* assumed: from city.yaml, not OSM",) if assumed else ()
    return Layer(handles, _labels(city), _subtitle(city), notes)


def _labels(city: City) -> list[Label]:
    """Town names, hospitals' names and shelters' places, most important first."""
    labels = town_labels(city)
    table = city.facilities
    for _, row in table[table["kind"] == "hospital"].iterrows():
        labels.append(Label(row["x"], row["y"], short_name(str(row["name"]) or "hospital"), 7.5, "#a50f15", "bold"))
    for _, row in table[table["kind"] == "shelter"].iterrows():
        if np.isfinite(row["capacity"]):
            labels.append(Label(row["x"], row["y"], f"{int(row['capacity']):,}", 7.0, "#0b5d1e", "bold"))
    return labels


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
