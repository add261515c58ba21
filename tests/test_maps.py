"""The maps (twin.report.maps): hillshade on planes with known answers, helpers, real renders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.colors import to_rgb

from twin.city.build import City
from twin.errors import TwinError
from twin.report.maps.city import draw_city
from twin.report.maps.flood import depth_scale
from twin.report.maps.geometry import segments, undirected
from twin.report.maps.hand import DRAINAGE_COLOUR
from twin.report.maps.sheet import DPI, map_extent, page_layout, scale_length
from twin.report.maps.terrain import contour_interval, hillshade

SIN45 = np.sin(np.radians(45.0))


def plane(dzdx: float, dzdy: float, cell: float = 30.0, shape: tuple[int, int] = (8, 9)) -> np.ndarray:
    """Elevations of a plane with the given east and north gradients, rows north to south."""
    rows, cols = np.indices(shape)
    x, y = cols * cell, -rows * cell
    return 1000.0 + dzdx * x + dzdy * y


# --- hillshade ------------------------------------------------------------------------------------------


def test_flat_ground_is_lit_at_sin_altitude() -> None:
    shade = hillshade(np.full((6, 7), 123.0), 30.0)
    assert shade.shape == (6, 7)
    np.testing.assert_allclose(shade, SIN45)
    np.testing.assert_allclose(hillshade(np.zeros((4, 4)), 10.0, altitude_deg=30.0), 0.5)


def test_east_facing_slope_is_darker_than_west_facing_under_a_north_west_sun() -> None:
    # 45 degree planes: (sin h -/+ cos h sin 45) / sqrt(2) = 0.1464 (facing east) and 0.8536 (facing west).
    east = hillshade(plane(-1.0, 0.0), 30.0)[1:-1, 1:-1]
    west = hillshade(plane(1.0, 0.0), 30.0)[1:-1, 1:-1]
    np.testing.assert_allclose(east, (SIN45 - 0.5) / np.sqrt(2))
    np.testing.assert_allclose(west, (SIN45 + 0.5) / np.sqrt(2))
    assert east.max() < SIN45 < west.min()


def test_slope_facing_the_sun_at_its_zenith_angle_is_fully_lit_and_the_opposite_one_dark() -> None:
    g = 1 / np.sqrt(2)  # a 45 degree slope descending to the north-west: its normal points at the sun
    np.testing.assert_allclose(hillshade(plane(g, -g), 30.0)[1:-1, 1:-1], 1.0)
    np.testing.assert_allclose(hillshade(plane(-g, g), 30.0)[1:-1, 1:-1], 0.0, atol=1e-12)


def test_north_and_south_facing_slopes_under_a_north_west_sun() -> None:
    north = hillshade(plane(0.0, -0.5), 30.0)[1:-1, 1:-1]  # descends to the north
    south = hillshade(plane(0.0, 0.5), 30.0)[1:-1, 1:-1]
    assert north.min() > SIN45 > south.max()


def test_cell_size_scales_the_gradient() -> None:
    z = plane(1.0, 0.0, cell=30.0)
    np.testing.assert_allclose(hillshade(z, 60.0)[1:-1, 1:-1], hillshade(plane(0.5, 0.0), 30.0)[1:-1, 1:-1])


def test_nan_cells_stay_nan_and_do_not_spread() -> None:
    z = plane(0.2, 0.1)
    z[0, :3] = np.nan
    shade = hillshade(z, 30.0)
    assert np.isnan(shade[0, :3]).all()
    assert np.isfinite(shade[1:]).all() and np.isfinite(shade[0, 3:]).all()
    assert np.isnan(hillshade(np.full((3, 3), np.nan), 30.0)).all()


# --- helpers --------------------------------------------------------------------------------------------


def test_round_scale_lengths_and_contour_intervals() -> None:
    assert scale_length(13_000.0) == 2000.0
    assert scale_length(4_000.0) == 1000.0
    assert scale_length(2_400.0) == 500.0
    assert contour_interval(1850.0) == 100.0
    assert contour_interval(254.0) == 20.0
    assert contour_interval(0.5) == 1.0


def test_depth_scale_is_a_round_top_at_or_above_the_deepest_water() -> None:
    assert [depth_scale(d) for d in (0.0, 0.3, 0.5, 0.51, 1.7, 2.5, 4.0, 7.0, 12.0, 60.0)] == [
        0.5,
        0.5,
        0.5,
        1.0,
        2.0,
        3.0,
        5.0,
        10.0,
        20.0,
        100.0,
    ]


def test_segments_explode_multilines_and_outline_polygons() -> None:
    geoms = [
        shapely.to_wkb(shapely.LineString([(0, 0), (1, 1), (2, 0)])),
        shapely.to_wkb(shapely.MultiLineString([[(0, 0), (0, 1)], [(5, 5), (6, 6)]])),
        shapely.box(0, 0, 1, 1),
        shapely.Point(3, 3),
    ]
    parts = segments(geoms)
    assert [len(p) for p in parts] == [3, 2, 2, 5]
    np.testing.assert_allclose(parts[2], [[5, 5], [6, 6]])
    assert segments([]) == []


def test_two_way_streets_are_drawn_once() -> None:
    links = pd.DataFrame({"src": [0, 1, 1, 2], "dst": [1, 0, 2, 1], "osm_way": [7, 7, 8, 9]})
    assert undirected(links).index.tolist() == [0, 2, 3]


# --- real maps --------------------------------------------------------------------------------------------


def test_andorra_map_is_a_full_size_colourful_png(andorra_city: City, tmp_path: Path) -> None:
    out = tmp_path / "maps" / "andorra.png"
    draw_city(andorra_city, out)
    image = mpimg.imread(out)
    width_in, height_in = page_layout(map_extent(andorra_city)).size_in
    assert image.shape == (round(height_in * DPI), round(width_in * DPI), 3)  # opaque: RGB (twin.report.png)
    assert 1600 <= image.shape[0] <= 1800 and image.shape[1] == 1800  # about 10 x 9 in
    rgb = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 5000  # hillshade, tints, roads, markers: far from blank
    assert (rgb.min(axis=1) < 200).mean() > 0.3  # most of the page is drawn on, not white
    assert not list(tmp_path.glob("maps/*.tmp"))  # written atomically


def test_same_city_gives_the_same_bytes(andorra_city: City, tmp_path: Path) -> None:
    draw_city(andorra_city, tmp_path / "a.png")
    draw_city(andorra_city, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_map_extent_is_the_walk_network_within_the_terrain(andorra_city: City) -> None:
    x0, x1, y0, y1 = map_extent(andorra_city)
    nodes = andorra_city.walk.nodes
    inside = nodes["x"].between(x0, x1) & nodes["y"].between(y0, y1)
    assert inside.mean() > 0.97
    t = andorra_city.terrain.transform
    rows, cols = andorra_city.terrain.elevation_m.shape
    assert t.c <= x0 < x1 <= t.c + t.a * cols and t.f + t.e * rows <= y0 < y1 <= t.f


def test_roads_only_map_draws(porto_alegre_city: City, tmp_path: Path) -> None:
    out = tmp_path / "poa.png"
    draw_city(porto_alegre_city, out)
    assert mpimg.imread(out).shape[1] == 1800


def test_unknown_layer_is_a_user_error(andorra_city: City, tmp_path: Path) -> None:
    with pytest.raises(TwinError, match="unknown map layer 'floods'; choose one of: roads"):
        draw_city(andorra_city, tmp_path / "x.png", layer="floods")
    assert not (tmp_path / "x.png").exists()


# --- hand layer ---------------------------------------------------------------------------------------------


def _share_of(image: np.ndarray, colour: str, tolerance: int = 12) -> float:
    """Share of the page's pixels within ``tolerance`` (0..255 per channel) of ``colour``."""
    rgb = (image[..., :3] * 255).astype(int)
    target = np.array([round(c * 255) for c in to_rgb(colour)])
    return float((np.abs(rgb - target) <= tolerance).all(axis=-1).mean())


def test_hand_layer_draws_the_real_drainage_in_blue(andorra_city: City, tmp_path: Path) -> None:
    out = tmp_path / "hand.png"
    draw_city(andorra_city, out, layer="hand")
    image = mpimg.imread(out)
    assert image.shape[1] == 1800 and out.stat().st_size > 200_000
    assert _share_of(image, DRAINAGE_COLOUR) > 0.01  # the valley's channels
    draw_city(andorra_city, tmp_path / "again.png", layer="hand")
    assert out.read_bytes() == (tmp_path / "again.png").read_bytes()


def test_hand_layer_of_a_synthetic_hydrology(andorra_city: City, tmp_path: Path) -> None:
    """HAND growing west to east from a drainage band on the western third: blue there, not elsewhere."""
    rows, cols = andorra_city.terrain.elevation_m.shape
    drainage = np.zeros((rows, cols), dtype=bool)
    drainage[:, : cols // 3] = True
    hand = np.broadcast_to(np.linspace(-10.0, 60.0, cols, dtype=np.float32), (rows, cols)).copy()
    hand[drainage] = 0.0
    hand[: rows // 4, -cols // 4 :] = np.nan  # no drainage reached
    hydrology = replace(andorra_city.hydrology, drainage=drainage, hand_m=hand)
    city = replace(andorra_city, hydrology=hydrology)
    draw_city(city, tmp_path / "synthetic.png", layer="hand")
    image = mpimg.imread(tmp_path / "synthetic.png")
    x0, y0, w, h = page_layout(map_extent(city)).map_box
    height, width = image.shape[:2]
    top, bottom = round((1 - y0 - h) * height) + 5, round((1 - y0) * height) - 5
    left, right = round(x0 * width) + 5, round((x0 + w) * width) - 5
    ext = map_extent(city)
    t = city.terrain.transform
    split = left + (t.c + t.a * (cols // 3) - ext[0]) / (ext[1] - ext[0]) * (right - left)
    west = image[top:bottom, left : int(split) - 10]
    east = image[top:bottom, int(split) + 10 : right]
    assert _share_of(west, DRAINAGE_COLOUR) > 0.6
    assert _share_of(east, DRAINAGE_COLOUR) < 0.02
