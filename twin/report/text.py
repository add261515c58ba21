"""User text in figures stays text: scenario, map and place names are never read as matplotlib markup.

Matplotlib reads ``$...$`` in any label as mathtext, so a scenario named ``Flood $5M`` or ``{draft}`` either draws
something else or fails while the run's pictures are written, after the engine has run. The figures of twin use
no mathtext of their own, so their drawing functions run with mathtext off.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


def plain_text[**P, R](draw: Callable[P, R]) -> Callable[P, R]:
    """Decorate a drawing function: every text it creates is drawn as written (``text.parse_math`` off)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib  # only where figures are drawn

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper
