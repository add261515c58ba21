"""The ``hand`` layer of the city map: height above nearest drainage (HAND) over a grey hillshade.

HAND is the height of a cell above the drainage cell its flow path reaches (Rennó et al. 2008, computed in
:mod:`twin.hydrology.conditioning`); low HAND marks the ground a river floods first. Drainage cells are blue, cells
whose flow reaches no drainage grey, the drivable roads thin on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.colors import Normalize
from matplotlib.patches import Patch

from twin.report.maps.draw import LineStyle, draw_plain_roads
from twin.report.maps.labels import town_labels
from twin.report.maps.sheet import Layer, Sheet, add_colorbar
from twin.report.maps.terrain import draw_cells, draw_grid, draw_hillshade, no_data_handles

if TYPE_CHECKING:
    from twin.city.build import City

HAND_MAX_M = 30.0  # the HAND colour scale is clipped at 0..30 m (higher ground takes the top colour)
HAND_LOW_M = 5.0  # the subtitle's share of the area this close above its drainage
HAND_CMAP = colormaps["YlOrRd_r"]
DRAINAGE_COLOUR = "#1f63b5"
UNREACHED_COLOUR = "#cfcfcf"
HAND_ROAD_STYLE = LineStyle("road", "#2b2b2b", 0.35, alpha=0.8, zorder=4.0)


def hand_layer(sheet: Sheet, city: City) -> Layer:
    """HAND coloured over a grey hillshade, drainage cells in blue, thin roads on top."""
    hydrology = city.hydrology
    draw_hillshade(sheet.ax, city)
    hand = np.ma.masked_invalid(np.asarray(hydrology.hand_m, dtype=np.float64))
    image = draw_grid(sheet.ax, city, hand, HAND_CMAP, Normalize(0.0, HAND_MAX_M), 0.7)
    add_colorbar(sheet, image, "height above nearest drainage (m)", extend="max")
    land = np.isfinite(city.terrain.elevation_m)
    unreached = land & np.ma.getmaskarray(hand)
    drainage = np.asarray(hydrology.drainage, dtype=bool)
    draw_cells(sheet.ax, city, unreached, UNREACHED_COLOUR, 0.75, zorder=1.1)
    draw_cells(sheet.ax, city, drainage, DRAINAGE_COLOUR, 1.0, zorder=1.2)
    handles: list[Artist] = [Patch(facecolor=DRAINAGE_COLOUR, label="drainage (channel cells)")]
    handles += draw_plain_roads(sheet.ax, city, HAND_ROAD_STYLE)
    if unreached.any():
        handles.append(Patch(facecolor=UNREACHED_COLOUR, alpha=0.75, label="no drainage reached"))
    handles += no_data_handles(city, sheet.extent)
    low = float((hand.filled(np.inf)[land] <= HAND_LOW_M).mean()) if land.any() else 0.0
    subtitle = (
        f"height above nearest drainage (HAND), {city.terrain.resolution_m:g} m grid · "
        f"{low:.0%} of the area within {HAND_LOW_M:g} m of its drainage · {int(drainage.sum()):,} "
        "drainage cells"
    )
    return Layer(handles, town_labels(city), subtitle)
