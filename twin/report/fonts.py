"""Fonts of the report: Noto Sans CJK SC for Chinese, in the figures and embedded in the HTML.

The font comes from the ``noto-cjk-sans-otc`` package (Google's Noto Sans CJK OpenType collection, SIL Open Font
License 1.1), a dependency of twin, so a fresh install draws Chinese without system fonts. The HTML embeds a
subset holding only the characters the report uses (tens of kB instead of 19 MB), as a data URI.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

#: Family name of the Simplified Chinese face and its index in the collection (JP, KR, SC, TC, HK, ...).
CJK_FAMILY = "Noto Sans CJK SC"
CJK_FACE_INDEX = 2
#: Latin fallback after the CJK face (matplotlib's bundled font: always there).
LATIN_FAMILY = "DejaVu Sans"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK collection shipped by the ``noto-cjk-sans-otc`` package."""
    from noto_cjk_sans_otc import FONT_PATH

    return Path(str(FONT_PATH))


def font_families(lang: str) -> list[str]:
    """matplotlib's ``font.family`` list for a report language (CJK first for Chinese)."""
    return [CJK_FAMILY, LATIN_FAMILY] if lang == "zh" else [LATIN_FAMILY]


@contextlib.contextmanager
def figure_fonts(lang: str) -> Iterator[None]:
    """Draw matplotlib text in the fonts of ``lang`` inside the ``with`` block (restored afterwards).

    Text is drawn as written, never parsed as mathtext: the report's pictures carry user text (variant labels,
    scenario names), and a ``$`` in it would otherwise garble the label or fail the drawing.
    """
    import matplotlib as mpl

    if lang == "zh":
        _register_cjk()
    with mpl.rc_context(
        {"font.family": font_families(lang), "axes.unicode_minus": lang != "zh", "text.parse_math": False}
    ):
        yield


def _register_cjk() -> None:
    """Make the CJK collection known to matplotlib's font manager, once per process.

    matplotlib only looks fonts up by family through its process-wide manager, and a font file path
    (``FontProperties(fname=...)``) cannot pick a face of a collection, so the collection is added there.
    """
    from matplotlib import font_manager

    if any(entry.name == CJK_FAMILY for entry in font_manager.fontManager.ttflist):
        return
    font_manager.fontManager.addfont(str(cjk_font_path()))


def cjk_subset(text: str) -> bytes:
    """An OpenType font holding the glyphs of ``text`` from Noto Sans CJK SC (deterministic bytes).

    Parameters
    ----------
    text
        Every character the page shows; duplicates do not matter.

    Returns
    -------
    bytes
        The subset font (CFF OpenType), with the original's time stamps so that the same text gives the same bytes.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(cjk_font_path()), fontNumber=CJK_FACE_INDEX, lazy=True, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def font_face_css(text: str) -> str:
    """A CSS ``@font-face`` rule embedding the CJK subset for ``text`` as a data URI (family ``twin-cjk``)."""
    data = base64.b64encode(cjk_subset(text)).decode("ascii")
    return f'@font-face{{font-family:"twin-cjk";src:url(data:font/otf;base64,{data}) format("opentype");}}'
