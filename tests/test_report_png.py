"""twin.report.png: the figures' PNGs hold the pixels matplotlib's savefig draws, in fewer bytes and less time."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from twin.report.png import figure_png


def _figure(layout: str | None, facecolor: str = "white") -> Figure:
    """Two panels with text, a filled curve, dotted lines and a colour image: what the report's figures hold."""
    figure = Figure(figsize=(4.0, 3.0), layout=layout, facecolor=facecolor)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1)
    t = np.linspace(0.0, 6.0, 50)
    top.fill_between(t, np.cos(t) * 0.4 + 0.5, 1.0, alpha=0.2)
    top.plot(t, np.cos(t) * 0.4 + 0.5)
    for x in (1.0, 2.5, 4.0):
        top.axvline(x, linestyle=":", color="0.35")
    top.set_title("power", loc="left")
    bottom.imshow(np.arange(48.0).reshape(6, 8), interpolation="bilinear")
    bottom.set_xlabel("hours since the start")
    return figure


def _savefig_pixels(figure: Figure, dpi: float) -> np.ndarray:
    """RGBA pixels of matplotlib's own PNG of the figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_an_opaque_figure_is_the_savefig_picture_in_rgb(layout: str | None) -> None:
    """Drawn once (constrained layout included), the pixels are savefig's; its alpha is 255 everywhere, so RGB."""
    expected = _savefig_pixels(_figure(layout), 110)
    image = Image.open(io.BytesIO(figure_png(_figure(layout), 110)))
    assert image.mode == "RGB" and image.size == (440, 330)  # 4 x 3 in at 110 dpi
    assert (expected[..., 3] == 255).all()
    np.testing.assert_array_equal(np.asarray(image), expected[..., :3])


def test_a_figure_with_transparent_pixels_keeps_its_alpha() -> None:
    expected = _savefig_pixels(_figure(None, facecolor="none"), 80)
    image = Image.open(io.BytesIO(figure_png(_figure(None, facecolor="none"), 80)))
    assert image.mode == "RGBA" and (expected[..., 3] < 255).any()
    np.testing.assert_array_equal(np.asarray(image), expected)


def test_the_same_figure_gives_the_same_bytes_without_a_version_stamp() -> None:
    first, second = figure_png(_figure("constrained"), 100), figure_png(_figure("constrained"), 100)
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert not [key for key in image.info if key not in ("dpi",)]  # no "Software: Matplotlib version ..." chunk
    assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)  # pHYs, as savefig writes it


def test_without_a_dpi_the_figure_keeps_its_own() -> None:
    figure = _figure(None)
    figure.dpi = 50
    assert Image.open(io.BytesIO(figure_png(figure))).size == (200, 150)


def test_a_hillshade_without_gaps_draws_the_same_unmasked() -> None:
    """draw_hillshade passes a grid without NaN unmasked (one resampling less): the pixels do not change."""
    from matplotlib.colors import Normalize

    from twin.report.maps.terrain import GREY_SHADE, hillshade

    x, y = np.meshgrid(np.arange(60.0), np.arange(50.0))
    shade = hillshade(40.0 * np.sin(x / 7.0) * np.cos(y / 5.0) + 3.0 * x, 30.0)
    assert not np.isnan(shade).any()
    pictures = []
    for grid in (np.ma.masked_invalid(shade), shade):
        figure = Figure(figsize=(3.0, 2.5))
        figure.add_axes((0.0, 0.0, 1.0, 1.0)).imshow(
            grid, cmap=GREY_SHADE, norm=Normalize(0.0, 1.0), origin="upper", interpolation="bilinear"
        )
        pictures.append(np.asarray(Image.open(io.BytesIO(figure_png(figure, 150)))))
    np.testing.assert_array_equal(pictures[0], pictures[1])
