"""Turn a scenario's link selector into drivable link ids of the City.

Selectors are plain data so events stay data: ``links`` (twin link ids), ``osm_ways`` (OSM way ids),
``street`` (case-insensitive substring of street names) and ``bridges_over`` (bridges crossing a river
or stream whose ``name`` or ``name:*`` contains the text, case-insensitively). Every given key narrows the
selection (``street: Avinguda Meritxell, bridges_over: valira`` is the Meritxell bridge over the Valira).
A selector that matches nothing is an error that says what the map has instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from twin.city.build import City

# Bridges are drawn across the river's centre line; allow for a few metres of digitising offset.
BRIDGE_SNAP_M = 10.0


class TargetError(ValueError):
    """A selector matches nothing; the message says what exists."""


def _by_ids(city: City, ids: list[int]) -> np.ndarray:
    ids_array = np.asarray(ids, dtype=np.int64)
    bad = ids_array[(ids_array < 0) | (ids_array >= city.drive.n_links)]
    if len(bad):
        raise TargetError(
            f"links {bad.tolist()} do not exist: drivable link ids run from 0 to {city.drive.n_links - 1}"
        )
    return ids_array


def _by_osm_ways(city: City, ways: list[int]) -> np.ndarray:
    osm_way = city.drive.links["osm_way"].to_numpy()
    missing = sorted(set(ways) - set(osm_way.tolist()))
    if missing:
        raise TargetError(f"OSM ways {missing} are not drivable links of this map (check `twin map info`)")
    return np.flatnonzero(np.isin(osm_way, ways))


def _by_street(city: City, street: str) -> np.ndarray:
    names = city.drive.links["name"].fillna("").str.casefold()
    found = np.flatnonzero(names.str.contains(street.casefold(), regex=False).to_numpy())
    if not len(found):
        raise TargetError(f"no drivable street name contains {street!r}")
    return found


def _by_bridges_over(city: City, river: str) -> np.ndarray:
    waterways = city.waterways
    match = waterways["names"].str.casefold().str.contains(river.casefold(), regex=False)
    if not match.any():
        # Rivers first: they are what people mean; streams and canals after.
        ranked = waterways.sort_values("kind", key=lambda k: k != "river", kind="stable")
        known = list(dict.fromkeys(n for names in ranked["names"] for n in names.split("|") if n))
        raise TargetError(
            f"no river or stream is named like {river!r}; the map has: {', '.join(known[:40])}"
            + (f" and {len(known) - 40} more" if len(known) > 40 else "")
        )
    river_lines = shapely.from_wkb(waterways.loc[match, "geometry"].to_numpy())
    river_zone = shapely.buffer(shapely.union_all(river_lines), BRIDGE_SNAP_M)
    bridges = np.flatnonzero(city.drive.links["bridge"].to_numpy())
    crossing = shapely.intersects(shapely.from_wkb(city.drive.links["geometry"].to_numpy()[bridges]), river_zone)
    if not crossing.any():
        raise TargetError(f"no drivable bridge crosses a river named like {river!r}")
    return bridges[crossing]


def resolve_links(city: City, selector: dict[str, Any]) -> np.ndarray:
    """Sorted unique drivable link ids selected by every key of ``selector``.

    Raises
    ------
    TargetError
        When the selector is empty or any of its keys matches nothing.
    """
    parts = []
    if selector.get("links"):
        parts.append(_by_ids(city, selector["links"]))
    if selector.get("osm_ways"):
        parts.append(_by_osm_ways(city, selector["osm_ways"]))
    if selector.get("street"):
        parts.append(_by_street(city, selector["street"]))
    if selector.get("bridges_over"):
        parts.append(_by_bridges_over(city, selector["bridges_over"]))
    if not parts:
        raise TargetError("the target selects no link: give links, osm_ways, street or bridges_over")
    selected = parts[0]
    for part in parts[1:]:
        selected = np.intersect1d(selected, part)
    if not len(selected):
        raise TargetError(f"each part of {selector} matches links, but no link matches all of them together")
    return np.unique(selected)
