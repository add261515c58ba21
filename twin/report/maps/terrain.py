"""The ground under every map: hillshade, hypsometric tint, contours, and value grids on the terrain grid.

The terrain grid is north-up; everything drawn on it takes its extent from the grid's affine transform and one flat
colour per cell (value grids) or bilinear shading (the relief).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.ndimage as ndi
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, LinearSegmentedColormap, Normalize, to_rgba
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

if TYPE_CHECKING:
    from twin.city.build import City

SUN_AZIMUTH_DEG = 315.0
SUN_ALTITUDE_DEG = 45.0
NO_DATA_COLOUR = "#ececec"
#: The base of the hazard layers: a grey hillshade under a value grid.
GREY_SHADE = LinearSegmentedColormap.from_list("twin_grey_shade", ["#6e6e6e", "#ffffff"])
CONTOUR_COLOUR = "#8a7660"
_TINT = LinearSegmentedColormap.from_list("twin_hypsometric", ["#dfe9d3", "#eef0d6", "#efe4cc", "#e4d8c8", "#f4f2ef"])


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


def grid_extent(city: City) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of the terrain grid."""
    t = city.terrain.transform
    rows, cols = city.terrain.elevation_m.shape
    return t.c, t.c + t.a * cols, t.f + t.e * rows, t.f


def draw_terrain(ax: Axes, city: City, extent: tuple[float, float, float, float]) -> None:
    """The tinted, shaded relief with its contours: the base of the city map."""
    elevation = city.terrain.elevation_m.astype(np.float64)
    shade = hillshade(elevation, city.terrain.resolution_m)
    ax.imshow(
        terrain_rgb(elevation, shade), extent=grid_extent(city), origin="upper", interpolation="bilinear", zorder=0
    )
    _draw_contours(ax, city, extent)


def draw_hillshade(ax: Axes, city: City) -> None:
    """A plain grey hillshade (no tint, no contours): the base of the hazard layers."""
    shade = hillshade(city.terrain.elevation_m.astype(np.float64), city.terrain.resolution_m)
    # A mask only where cells lack elevation: a masked grid makes matplotlib resample its mask as well (the same
    # pixels when nothing is masked, at the cost of a second resampling of the whole map).
    ax.imshow(
        np.ma.masked_invalid(shade) if np.isnan(shade).any() else shade,
        cmap=GREY_SHADE,
        norm=Normalize(0.0, 1.0),
        extent=grid_extent(city),
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
    style: dict[str, Any] = {"colors": CONTOUR_COLOUR, "zorder": 1.0}
    if len(minor):
        ax.contour(x, y, z, levels=minor, linewidths=0.3, alpha=0.45, **style)
    if len(index):
        major = ax.contour(x, y, z, levels=index, linewidths=0.6, alpha=0.7, **style)
        labels = ax.clabel(major, fmt=lambda v: f"{v:.0f}", fontsize=6, inline=True, inline_spacing=2)
        for label in labels:
            label.set_color("#6b5a45")


def contour_handles(city: City) -> list[Artist]:
    """The legend entry for the contours, when the terrain has any."""
    z = city.terrain.elevation_m
    if not np.isfinite(z).any() or np.nanmax(z) - np.nanmin(z) < 1.0:
        return []
    interval = contour_interval(float(np.nanmax(z) - np.nanmin(z)))
    return [Line2D([], [], color=CONTOUR_COLOUR, linewidth=0.6, label=f"contour, every {interval:g} m")]


def no_data_handles(city: City, extent: tuple[float, float, float, float]) -> list[Artist]:
    """The legend entry for cells without elevation, when the map shows some."""
    z = city.terrain.elevation_m
    handles: list[Artist] = []
    grid = grid_extent(city)
    uncovered = extent[0] < grid[0] or extent[1] > grid[1] or extent[2] < grid[2] or extent[3] > grid[3]
    if uncovered or not np.isfinite(z).all():
        handles.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#bbbbbb", linewidth=0.5, label="no elevation data"))
    return handles


def draw_grid(ax: Axes, city: City, values: np.ndarray, cmap: Colormap, norm: Normalize, alpha: float) -> AxesImage:
    """A value grid on the terrain grid, one flat colour per cell (masked cells clear)."""
    return ax.imshow(
        values,
        cmap=cmap,
        norm=norm,
        alpha=alpha,
        extent=grid_extent(city),
        origin="upper",
        interpolation="nearest",
        zorder=1.0,
    )


def draw_cells(ax: Axes, city: City, mask: np.ndarray, colour: str, alpha: float, zorder: float) -> None:
    """Cells of the terrain grid where ``mask`` is set, in one colour (the others clear)."""
    if not mask.any():
        return
    rgba = np.zeros((*mask.shape, 4))
    rgba[mask] = to_rgba(colour, alpha)
    ax.imshow(rgba, extent=grid_extent(city), origin="upper", interpolation="nearest", zorder=zorder)
