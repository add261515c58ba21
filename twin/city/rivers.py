"""Waterways by name: the one matcher of river names, for river floods (``rivers: [valira]``) and event targets
(``bridges_over: valira``).

A name matches a pattern when the pattern, stripped, is a substring of it after Unicode normalisation (NFKC) and
case folding (``ß`` = ``ss``); each of a waterway's names (``name`` and every ``name:*``) is matched on its own, so
a pattern never spans two names.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

RIVER_KINDS: tuple[str, ...] = ("river", "stream", "canal")
"""Waterway kinds whose names :func:`river_names` lists."""


def _fold(text: str) -> str:
    """Text for comparing names: Unicode-normalised (NFKC) and case-folded (``ß`` = ``ss``)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _all_names(waterways: pd.DataFrame) -> pd.Series:
    """One row per (waterway position, name): ``name`` and every ``name:*`` joined in ``names``."""
    n = len(waterways)
    parts = [
        pd.Series(waterways[c].fillna("").astype(str).to_numpy(), index=np.arange(n))
        for c in ("name", "names")
        if c in waterways.columns
    ]
    if not parts:
        return pd.Series([], dtype=object)
    exploded = pd.concat([p.str.split("|").explode() for p in parts])
    exploded = exploded[exploded.str.strip() != ""]
    return exploded


def match_rivers(waterways: pd.DataFrame, patterns: list[str]) -> tuple[np.ndarray, list[str]]:
    """Waterways whose names contain any of ``patterns`` (case-insensitive substrings).

    Parameters
    ----------
    waterways
        The City's waterways table (``osm_id``, ``kind``, ``name``, ``names`` with every name joined by ``|``,
        ``tunnel``, ``geometry``). Each name is matched on its own, so a pattern never spans two names.
    patterns
        Substrings such as ``["valira"]``: in Andorra no way is named exactly "Gran Valira" (ways say "riu
        Valira", "Valira del Nord", "Riu Gran Valira"), hence substrings over ``name`` and ``name:*``.

    Returns
    -------
    rows, unmatched
        Sorted positions (``iloc``, int64) of the matching rows, of any kind; and the patterns that matched
        no row, in the given order (the engine reports them with :func:`river_names`).
    """
    folded = _all_names(waterways).map(_fold)
    hit = np.zeros(len(waterways), dtype=bool)
    unmatched: list[str] = []
    for pattern in patterns:
        needle = _fold(pattern.strip())
        found = folded.str.contains(needle, regex=False).to_numpy(dtype=bool)
        if needle and found.any():
            hit[np.asarray(folded.index[found], dtype=np.int64)] = True
        else:
            unmatched.append(pattern)
    return np.flatnonzero(hit).astype(np.int64), unmatched


def river_names(waterways: pd.DataFrame) -> list[str]:
    """The distinct names (``name`` and ``name:*``) of rivers, streams and canals, sorted case-insensitively."""
    if "kind" not in waterways.columns or not len(waterways):
        return []
    keep = waterways["kind"].isin(RIVER_KINDS).to_numpy(dtype=bool)
    names = _all_names(waterways[keep])
    distinct = {str(n).strip() for n in names}
    return sorted((n for n in distinct if n), key=lambda n: (_fold(n), n))
