"""Facilities (hospitals, fire stations, shelters, ...) and lifeline components (substations, towers,
masts, pumps, traffic signals, ...) from OSM tags, plus the designated shelters and hospital beds that
city.yaml adds. Each row is keyed by the singular OSM value (``hospital``, ``substation``, ...).

Nothing the map lacks is invented: a hospital without a bed count keeps ``beds`` empty and the build
lists it as an assumption to fix; designated shelters come only from city.yaml (OSM ``amenity=shelter``
marks mountain huts and bus shelters) and are labelled assumed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

from twin.city.config import CityConfig
from twin.city.features import Feature, representative_xy
from twin.city.osm import Tags
from twin.city.people import nearest_nodes
from twin.city.roads import Network
from twin.errors import MapError

Rule = tuple[str, str, Callable[[Tags], bool]]


def _is(key: str, *values: str) -> Callable[[Tags], bool]:
    return lambda tags: tags.get(key) in values


def _communication_tower(tags: Tags) -> bool:
    return tags.get("man_made") == "communications_tower" or (
        tags.get("man_made") == "tower" and tags.get("tower:type") == "communication"
    )


# Names that contradict a hospital tag (OSM mappers tag pharmacies and sports-medicine centres amenity=hospital):
# English, French, Catalan, Spanish, Portuguese and German, the languages of the shipped maps and their neighbours.
_PHARMACY_NAME = re.compile(r"pharmac|farmac|apothek|drugstore", re.IGNORECASE)
_SPORTS_MEDICINE = re.compile(  # matched against the name without accents
    r"medecine du sport|sports? medicine|medicina (de l'|de la |del |do |de )?(e)?sport|sportmedizin", re.IGNORECASE
)


def _health_kind(tags: Tags) -> str | None:
    """``hospital``, ``clinic`` or None for an element tagged as health care.

    A hospital is ``amenity=hospital`` or ``healthcare=hospital`` (OSM wiki, Key:healthcare), unless its other tags
    say otherwise: a ``healthcare`` value that is not ``hospital`` is the more specific tag and wins; a name that
    says pharmacy is not a facility twin uses; a sports-medicine centre (by name or ``healthcare:speciality``) is a
    clinic; so is a bare point with neither a name nor a bed count (decided in :func:`_rows`, which sees the
    geometry), too little to weigh as a hospital. Clinics stay on the map but have no beds to weigh in Q_health
    and are not where access is measured: only hospitals are (:mod:`twin.lifelines.model`, :mod:`twin.sim.access`).
    """
    amenity, healthcare = tags.get("amenity"), tags.get("healthcare")
    name = "".join(c for c in unicodedata.normalize("NFKD", tags.get("name", "")) if not unicodedata.combining(c))
    if amenity != "hospital" and healthcare != "hospital":
        return "clinic" if "clinic" in (amenity, healthcare) else None
    if healthcare not in (None, "hospital"):
        return "clinic" if healthcare == "clinic" else None
    if _PHARMACY_NAME.search(name):
        return None
    if _SPORTS_MEDICINE.search(name) or "sport" in tags.get("healthcare:speciality", ""):
        return "clinic"
    return "hospital"


def _hospital_tags(tags: Tags) -> bool:
    return _health_kind(tags) == "hospital"


def _clinic_tags(tags: Tags) -> bool:
    return _health_kind(tags) == "clinic"


# (kind, group, predicate). The first matching rule wins, so an element is counted once.
RULES: list[Rule] = [
    ("hospital", "facility", _hospital_tags),
    ("clinic", "facility", _clinic_tags),
    ("fire_station", "facility", _is("amenity", "fire_station")),
    ("police", "facility", _is("amenity", "police")),
    ("school", "facility", _is("amenity", "school")),
    ("sports_hall", "facility", lambda t: t.get("leisure") == "sports_hall" or t.get("building") == "sports_hall"),
    ("sports_centre", "facility", _is("leisure", "sports_centre")),
    ("siren", "facility", _is("emergency", "siren")),  # outdoor warning sirens (twin.city.sirens)
    ("plant", "power", _is("power", "plant")),
    ("substation", "power", _is("power", "substation")),
    ("transformer", "power", _is("power", "transformer")),
    ("tower", "power", _is("power", "tower")),
    ("pole", "power", _is("power", "pole")),
    ("portal", "power", _is("power", "portal")),
    ("line", "power", _is("power", "line")),
    ("minor_line", "power", _is("power", "minor_line")),
    ("cable", "power", _is("power", "cable")),
    ("water_works", "water", _is("man_made", "water_works")),
    ("water_tower", "water", _is("man_made", "water_tower")),
    ("pumping_station", "water", _is("man_made", "pumping_station")),
    ("wastewater_plant", "water", _is("man_made", "wastewater_plant")),
    ("reservoir_covered", "water", _is("man_made", "reservoir_covered")),
    ("storage_tank", "water", lambda t: t.get("man_made") == "storage_tank" and t.get("content") == "water"),
    ("mast", "telecom", _is("man_made", "mast")),
    ("communications_tower", "telecom", _communication_tower),
    ("traffic_signals", "traffic", _is("highway", "traffic_signals")),
]
FACILITY_GROUP = "facility"
COLUMNS = ["kind", "group", "osm_type", "osm_id", "name", "x", "y", "beds", "capacity", "source", "assumed", "geometry"]


def classify(tags: Tags) -> tuple[str, str] | None:
    """(kind, group) of an OSM element, or None when twin does not use it."""
    for kind, group, predicate in RULES:
        if predicate(tags):
            return kind, group
    return None


def _beds(tags: Tags) -> float:
    try:
        return float(tags["beds"])
    except (KeyError, ValueError):
        return np.nan


def _rows(features: list[Feature]) -> pd.DataFrame:
    rows = []
    for f in features:
        kind_group = classify(f.tags)
        if kind_group is None:
            continue
        kind = kind_group[0]
        if kind == "hospital" and f.osm_type == "node" and not f.tags.get("name") and np.isnan(_beds(f.tags)):
            kind = "clinic"  # a bare hospital point: too little to weigh as a hospital (see _health_kind)
        x, y = representative_xy(f.geometry)
        rows.append(
            {
                "kind": kind,
                "group": kind_group[1],
                "osm_type": f.osm_type,
                "osm_id": f.osm_id,
                "name": f.tags.get("name", ""),
                "x": x,
                "y": y,
                "beds": _beds(f.tags),
                "capacity": np.nan,
                "source": "osm",
                "assumed": False,
                "geometry": f.geometry,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _drop_double_mapping(table: pd.DataFrame) -> pd.DataFrame:
    """Drop a node that lies inside an area of the same kind: one facility mapped twice (node + outline)."""
    areas = table[table["geometry"].map(lambda g: g.geom_type in ("Polygon", "MultiPolygon"))]
    drop = []
    for i, row in table[table["osm_type"] == "node"].iterrows():
        same = areas[areas["kind"] == row["kind"]]
        if len(same) and any(g.covers(row["geometry"]) for g in same["geometry"]):
            drop.append(i)
    return table.drop(index=drop)


def _element_xy(features_by_id: dict[int, Feature], osm_id: int) -> tuple[float, float] | None:
    feature = features_by_id.get(osm_id)
    return None if feature is None else representative_xy(feature.geometry)


def _from_config(config: CityConfig, located: dict[int, Feature], to_metric: Callable[..., tuple]) -> pd.DataFrame:
    rows, problems = [], []
    for i, shelter in enumerate(config.shelters):
        if shelter.osm_id is not None:
            xy = _element_xy(located, shelter.osm_id)
            if xy is None:
                problems.append(f"shelters[{i}] ({shelter.name}): OSM element {shelter.osm_id} is not in the extract")
                continue
        else:
            assert shelter.at is not None
            x, y = to_metric(*shelter.at)
            xy = (float(x), float(y))
        rows.append(
            {
                "kind": "shelter",
                "group": FACILITY_GROUP,
                "osm_type": "",
                "osm_id": shelter.osm_id or 0,
                "name": shelter.name,
                "x": xy[0],
                "y": xy[1],
                "beds": np.nan,
                "capacity": float(shelter.capacity),
                "source": "city.yaml",
                "assumed": True,
                "geometry": shapely.Point(xy),
            }
        )
    for extra in config.extra_facilities:
        x, y = to_metric(*extra.at)
        rows.append(
            {
                "kind": extra.kind,
                "group": FACILITY_GROUP,
                "osm_type": "",
                "osm_id": 0,
                "name": extra.name,
                "x": float(x),
                "y": float(y),
                "beds": float(extra.beds) if extra.beds else np.nan,
                "capacity": np.nan,
                "source": f"city.yaml ({extra.source})",
                "assumed": True,
                "geometry": shapely.Point(float(x), float(y)),
            }
        )
    if problems:
        raise MapError("city.yaml: designated shelters cannot be placed", problems)
    return pd.DataFrame(rows, columns=COLUMNS)


def _apply_beds(table: pd.DataFrame, config: CityConfig) -> list[str]:
    problems = []
    for i, entry in enumerate(config.hospital_beds):
        match = (table["osm_id"] == entry.osm_id) & table["kind"].isin(["hospital", "clinic"])
        if not match.any():
            problems.append(f"hospital_beds[{i}]: no hospital or clinic with OSM id {entry.osm_id} in the extract")
        table.loc[match, "beds"] = float(entry.beds)
        table.loc[match, "source"] = "osm+city.yaml"
    return problems


def facilities_table(
    features: list[Feature],
    located: dict[int, Feature],
    config: CityConfig,
    drive: Network,
    walk: Network,
    to_metric: Callable[..., tuple],
) -> pd.DataFrame:
    """Every facility and lifeline component, snapped to its nearest drivable and walkable node.

    Columns: kind, group (facility, power, water, telecom, traffic), osm_type, osm_id, name, x, y (metric),
    beds, capacity, source (osm or city.yaml), assumed, drive_node, drive_distance_m, walk_node, geometry
    (WKB).
    """
    table = _drop_double_mapping(_rows(features))
    parts = [t for t in (table, _from_config(config, located, to_metric)) if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else table
    problems = _apply_beds(table, config)
    if problems:
        raise MapError("city.yaml: hospital beds cannot be applied", problems)
    table = table.sort_values(["group", "kind", "osm_type", "osm_id", "name"], kind="stable").reset_index(drop=True)
    x, y = table["x"].to_numpy(float), table["y"].to_numpy(float)
    table["drive_node"], table["drive_distance_m"] = nearest_nodes(drive, x, y)
    table["walk_node"], _ = nearest_nodes(walk, x, y)
    table["geometry"] = shapely.to_wkb(np.asarray(table["geometry"]))
    return table


def wanted(tags: Tags) -> bool:
    """Whether an OSM element is a facility, a lifeline component or a possible shelter location."""
    return classify(tags) is not None


WATERWAYS = ("river", "stream", "canal", "drain", "ditch")


def waterways_table(features: list[Feature]) -> pd.DataFrame:
    """River and stream lines with every name they carry (``name`` and ``name:*``), for floods and maps."""
    rows = []
    for f in features:
        if f.tags.get("waterway") not in WATERWAYS or f.geometry.geom_type != "LineString":
            continue
        names = sorted({v for k, v in f.tags.items() if k == "name" or k.startswith("name:")})
        rows.append(
            {
                "osm_id": f.osm_id,
                "kind": f.tags["waterway"],
                "name": f.tags.get("name", ""),
                "names": "|".join(names),
                "tunnel": f.tags.get("tunnel", "no") != "no",
                "geometry": shapely.to_wkb(f.geometry),
            }
        )
    return pd.DataFrame(rows, columns=["osm_id", "kind", "name", "names", "tunnel", "geometry"])
