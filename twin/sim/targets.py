"""Turn a scenario's selectors into ids of the City: drivable links, and facilities or lifeline components.

Selectors are plain data so events stay data. A link selector has ``links`` (twin link ids), ``osm_ways``
(OSM way ids), ``street`` (case-insensitive substring of street names) and ``bridges_over`` (bridges crossing
a river or stream whose ``name`` or ``name:*`` contains the text, case-insensitively). A component selector
has ``components`` (rows of ``City.facilities``), ``osm_ids``, ``name`` (case-insensitive substring),
``kinds`` and ``groups``. Every given key narrows the selection (``street: Avinguda Meritxell, bridges_over:
valira`` is the Meritxell bridge over the Valira). A selector that matches nothing is an error that says what
the map has instead; a key of the other kind of selector is an error that says which events take it.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from twin.city.build import City
from twin.city.rivers import match_rivers

# Bridges are drawn across the river's centre line; allow for a few metres of digitising offset.
BRIDGE_SNAP_M = 10.0


LINK_KEYS: tuple[str, ...] = ("links", "osm_ways", "street", "bridges_over")
COMPONENT_KEYS: tuple[str, ...] = ("components", "osm_ids", "name", "kinds", "groups")
LISTED = 20
"""Names or kinds quoted in a message about a selector that matches nothing."""


class TargetError(ValueError):
    """A selector matches nothing; the message says what exists."""


def _check_keys(selector: dict[str, Any], own: tuple[str, ...], other: tuple[str, ...], what: str) -> None:
    """Refuse keys that are not ``own``: the other selector's keys with a hint, anything else with the list."""
    foreign = [key for key in selector if key in other]
    if foreign:
        events = "fail_component or repair_component" if what == "link" else "close_link or open_link"
        raise TargetError(
            f"{', '.join(map(repr, foreign))} select{'s' if len(foreign) == 1 else ''} "
            f"{'components' if what == 'link' else 'road links'}, not {what}s: use them with {events} events; "
            f"a {what} target takes {', '.join(own)}"
        )
    unknown = [key for key in selector if key not in own]
    if unknown:
        raise TargetError(f"unknown target keys {unknown}: a {what} target takes {', '.join(own)}")


def _by_ids(city: City, ids: list[int]) -> np.ndarray:
    bad = [i for i in ids if not 0 <= i < city.drive.n_links]  # before numpy: an id past int64 cannot convert
    ids_array = np.asarray([i for i in ids if 0 <= i < city.drive.n_links], dtype=np.int64)
    if len(bad):
        raise TargetError(f"links {bad[:10]} do not exist: drivable link ids run from 0 to {city.drive.n_links - 1}")
    return ids_array


def _by_osm_ways(city: City, ways: list[int]) -> np.ndarray:
    osm_way = city.drive.links["osm_way"].to_numpy()
    missing = sorted(set(ways) - set(osm_way.tolist()))
    if missing:
        raise TargetError(
            f"OSM ways {missing} are not drivable links of this map; select by street instead, or list the "
            "drivable ways in Python: `twin.city.build.load_city(MAP).drive.links['osm_way']`"
        )
    return np.flatnonzero(np.isin(osm_way, ways))


def _by_street(city: City, street: str) -> np.ndarray:
    names = city.drive.links["name"].fillna("").str.casefold()
    found = np.flatnonzero(names.str.contains(street.casefold(), regex=False).to_numpy())
    if not len(found):
        raise TargetError(f"no drivable street name contains {street!r}")
    return found


def _by_bridges_over(city: City, river: str) -> np.ndarray:
    waterways = city.waterways
    rows, unmatched = match_rivers(waterways, [river])
    if unmatched:
        # Rivers first: they are what people mean; streams and canals after.
        ranked = waterways.sort_values("kind", key=lambda k: k != "river", kind="stable")
        known = list(dict.fromkeys(n for names in ranked["names"] for n in names.split("|") if n))
        if not known:
            raise TargetError(
                f"no river or stream is named like {river!r}: the map has no named rivers or streams; select the "
                "bridges by street or osm_ways instead"
            )
        raise TargetError(
            f"no river or stream is named like {river!r}; the map has: {', '.join(known[:40])}"
            + (f" and {len(known) - 40} more" if len(known) > 40 else "")
        )
    river_lines = shapely.from_wkb(waterways["geometry"].to_numpy()[rows])
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
    _check_keys(selector, LINK_KEYS, COMPONENT_KEYS, "link")
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


# --- components ---------------------------------------------------------------------------------------------


_APOSTROPHES = str.maketrans("\u2019\u2018\u02bc`\u00b4", "'" * 5)


def fold_name(text: str) -> str:
    """Text for matching names: NFKC, case-folded, typographic apostrophes as ``'`` (``l’ETR`` = ``l'etr``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.translate(_APOSTROPHES)


def _listed(values: list[str]) -> str:
    more = f" and {len(values) - LISTED} more" if len(values) > LISTED else ""
    return ", ".join(values[:LISTED]) + more


def _kind_counts(table: pd.DataFrame) -> str:
    counts = table.groupby("kind", sort=True).size()
    return ", ".join(f"{kind} ({count})" for kind, count in counts.items())


def _values(selector: dict[str, Any], key: str, kind: type) -> list[Any]:
    """A list-valued key as a list (a single value is a list of one); wrong types are a TargetError."""
    value = selector[key]
    values = value if isinstance(value, list | tuple) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, kind) for v in values):
        word = "whole numbers" if kind is int else "text"
        raise TargetError(f"{key} must be a non-empty list of {word}, got {value!r}")
    return list(values)


def _comp_by_ids(table: pd.DataFrame, selector: dict[str, Any]) -> np.ndarray:
    ids = np.asarray(_values(selector, "components", int), dtype=np.int64)
    bad = ids[(ids < 0) | (ids >= len(table))]
    if len(bad):
        raise TargetError(f"components {bad.tolist()} do not exist: component ids run from 0 to {len(table) - 1}")
    return np.unique(ids)


def _comp_by_osm_ids(table: pd.DataFrame, selector: dict[str, Any]) -> np.ndarray:
    wanted = _values(selector, "osm_ids", int)
    osm_ids = table["osm_id"].to_numpy()
    missing = sorted(set(wanted) - set(osm_ids.tolist()))
    if missing:
        raise TargetError(
            f"OSM ids {missing} are not facilities or lifeline components of this map "
            "(`twin map info` lists the kinds it has)"
        )
    return np.flatnonzero(np.isin(osm_ids, wanted))


def _comp_by_name(table: pd.DataFrame, selector: dict[str, Any]) -> np.ndarray:
    name = selector["name"]
    if not isinstance(name, str) or not name.strip():
        raise TargetError(f"name must be text, got {name!r}")
    names = table["name"].fillna("").astype(str)
    found = np.flatnonzero(names.map(fold_name).str.contains(fold_name(name.strip()), regex=False).to_numpy())
    if not len(found):
        named = table[names != ""]
        lifelines_first = zip(
            named["group"] == "facility", named["name"].map(fold_name), named["name"], named["kind"], strict=True
        )
        known = list(dict.fromkeys(f"{name} ({kind})" for *_, name, kind in sorted(lifelines_first)))
        raise TargetError(
            f"no component name contains {name!r}; named components: {_listed(known) or 'none'}"
            + (". Or select by kinds" if known else "")
        )
    return found


def _comp_by_kinds(table: pd.DataFrame, selector: dict[str, Any]) -> np.ndarray:
    kinds = _values(selector, "kinds", str)
    present = sorted(set(table["kind"].tolist()))
    missing = [k for k in kinds if k not in present]
    if missing:
        close = [c for k in missing for c in difflib.get_close_matches(k, present, n=1, cutoff=0.6)]
        hints = f"did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TargetError(
            f"no component of kind {', '.join(map(repr, missing))}; {hints + ' ' if hints else ''}"
            f"kinds here: {_kind_counts(table)}"
        )
    return np.flatnonzero(table["kind"].isin(kinds).to_numpy())


def _comp_by_groups(table: pd.DataFrame, selector: dict[str, Any]) -> np.ndarray:
    groups = _values(selector, "groups", str)
    present = sorted(set(table["group"].tolist()))
    missing = [g for g in groups if g not in present]
    if missing:
        raise TargetError(f"no component in group {', '.join(map(repr, missing))}; groups here: {', '.join(present)}")
    return np.flatnonzero(table["group"].isin(groups).to_numpy())


_COMPONENT_PARTS = {
    "components": _comp_by_ids,
    "osm_ids": _comp_by_osm_ids,
    "name": _comp_by_name,
    "kinds": _comp_by_kinds,
    "groups": _comp_by_groups,
}


def _describe_part(table: pd.DataFrame, key: str, value: Any, rows: np.ndarray) -> str:
    return f"{key} {value!r} matches {len(rows)} ({_kind_counts(table.iloc[rows])})"


def resolve_components(city: City, selector: dict[str, Any]) -> np.ndarray:
    """Sorted unique rows of ``city.facilities`` selected by every key of ``selector``.

    Parameters
    ----------
    city
        The City; only its facilities table is read.
    selector
        Plain data with any of ``components`` (rows), ``osm_ids``, ``name`` (case-insensitive substring;
        typographic and straight apostrophes match), ``kinds`` and ``groups``; given keys combine with AND.

    Raises
    ------
    TargetError
        When the selector is empty, has keys of a link selector or unknown keys, or any of its keys (or all
        of them together) matches nothing; the message lists the names or kinds the map has.
    """
    _check_keys(selector, COMPONENT_KEYS, LINK_KEYS, "component")
    table = city.facilities
    parts = {key: _COMPONENT_PARTS[key](table, selector) for key in COMPONENT_KEYS if selector.get(key) is not None}
    if not parts:
        raise TargetError(f"the target selects no component: give {', '.join(COMPONENT_KEYS)}")
    selected = np.arange(len(table), dtype=np.int64)
    for rows in parts.values():
        selected = np.intersect1d(selected, rows)
    if not len(selected):
        each = "; ".join(_describe_part(table, key, selector[key], rows) for key, rows in parts.items())
        raise TargetError(f"each part of the target matches components, but none matches all of them: {each}")
    return selected.astype(np.int64)


#: ``osm_type`` of the elements of an OSM extract (``synthetic`` marks a component twin placed by a city.yaml rule,
#: ``""`` one placed from a city.yaml entry).
OSM_TYPES = frozenset({"node", "way", "relation"})


def describe_component(city: City, row: int) -> str:
    """The one label of a component in the event log, whoever logs it (hazards, events, lifelines, crews).

    ``{kind} {name} (component {row}, {origin})``, the name left out when the component has none, where the
    origin says where the component comes from:

    - an OSM element: ``OSM {osm_type} {osm_id}``:
      ``substation l’ETR d’Escaldes (component 94, OSM way 386898986)``;
    - synthesised by a city.yaml rule (``osm_type`` ``synthetic``): ``synthesised from`` the rule's section:
      ``pumping_station pump, water zone 1 (895 m+) (component 448, synthesised from city.yaml lifelines.water)``;
    - placed from a city.yaml entry: its source: ``shelter Pavello Joan Alay (component 31, city.yaml)``.

    The row (``component``) is what a scenario's ``components:`` selector takes and what the log's ``details``
    carry; the rest is for people.
    """
    record = city.facilities.iloc[row]
    name = str(record.get("name") or "")
    origin = _origin(record)
    return f"{record['kind']}{' ' + name if name else ''} (component {row}{', ' + origin if origin else ''})"


def _origin(record: pd.Series) -> str:
    """Where a component comes from: its OSM element, the city.yaml rule that synthesised it, or its source."""
    osm_type, source = str(record.get("osm_type") or ""), str(record.get("source") or "")
    if osm_type in OSM_TYPES:
        return f"OSM {osm_type} {record['osm_id']}"
    if osm_type == "synthetic":
        rule = source.split(" (", 1)[0]  # "city.yaml lifelines.water (synthesised: ...)": the section
        return f"synthesised from {rule}" if rule else "synthesised"
    return source


def describe_link(city: City, link: int) -> str:
    """The one label of a drivable link in the event log: ``link 812 (Avinguda Meritxell, way 4224562)``.

    The street's name (its OSM ``highway`` class when it has none) and its OSM way; the id is what a scenario's
    ``links:`` selector takes.
    """
    return describe_links(city, [link])[0][0]


def describe_links(city: City, links: list[int]) -> tuple[list[str], list[int]]:
    """:func:`describe_link`'s labels of many links and their OSM ways, reading each column once.

    A flood closes and reopens thousands of links in a run; a row lookup per link (``links.iloc[link]``) costs
    about a tenth of a millisecond, as much as the rest of the step's work on that link.
    """
    if not links:
        return [], []
    table = city.drive.links
    names = table["name"].to_numpy(dtype=object)[links]
    kinds = table["highway"].to_numpy(dtype=object)[links]
    ways = table["osm_way"].to_numpy()[links].tolist()
    rows = zip(links, names, kinds, ways, strict=True)
    return [f"link {link} ({name or kind}, way {way})" for link, name, kind, way in rows], ways
