"""Buildings and the people who live in them.

Residents are placed from the totals in city.yaml, per area (a town or district; each building belongs
to the nearest area centre):

* maps with buildings: spread over residential buildings in proportion to residential floor area
  (footprint area x levels);
* maps without buildings: spread over walkable nodes in proportion to the length of the residential and
  through streets that meet there (half of each street to each end).

Counts are integers that add up exactly to each area's total (largest-remainder rounding, ties broken by
index, so the result is deterministic). The result is the ``homes`` table: where people live, how many,
and their nearest drivable and walkable nodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from twin.city.config import PopulationSpec
from twin.city.features import Feature
from twin.city.roads import Network
from twin.errors import MapError

# OSM building values that are homes (OSM wiki "Key:building", accommodation group).
RESIDENTIAL_BUILDINGS = frozenset(
    [
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "cabin",
        "farm",
        "static_caravan",
        "houseboat",
    ]
)
# Tags that make a generic ``building=yes`` something other than a home.
NON_RESIDENTIAL_KEYS = ("amenity", "shop", "office", "tourism", "craft", "industrial", "leisure", "man_made")
# Streets people live along, for maps without buildings.
RESIDENTIAL_STREETS = frozenset(
    [
        "residential",
        "living_street",
        "unclassified",
        "tertiary",
        "secondary",
        "primary",
        "tertiary_link",
        "secondary_link",
    ]
)


def _levels(tags: dict[str, str], default: int) -> tuple[float, bool]:
    """Levels above ground from ``building:levels``; the default when missing (second value True)."""
    try:
        levels = float(tags["building:levels"].split(";")[0])
        return (levels, False) if levels >= 1 else (float(default), True)
    except (KeyError, ValueError):
        return float(default), True


def _is_residential(tags: dict[str, str]) -> bool:
    value = tags.get("building", "yes")
    if value in RESIDENTIAL_BUILDINGS:
        return True
    return value == "yes" and not any(k in tags for k in NON_RESIDENTIAL_KEYS)


def buildings_table(features: list[Feature], default_levels: int) -> pd.DataFrame:
    """One row per building footprint: OSM id, use, area, levels, floor area, residential, centroid."""
    rows = []
    for f in features:
        if f.geometry.geom_type not in ("Polygon", "MultiPolygon") or f.geometry.area <= 0:
            continue
        levels, assumed = _levels(f.tags, default_levels)
        centroid = f.geometry.centroid
        rows.append(
            {
                "osm_type": f.osm_type,
                "osm_id": f.osm_id,
                "use": f.tags.get("building", "yes"),
                "name": f.tags.get("name", ""),
                "residential": _is_residential(f.tags),
                "footprint_m2": f.geometry.area,
                "levels": levels,
                "levels_assumed": assumed,
                "x": centroid.x,
                "y": centroid.y,
                "geometry": shapely.to_wkb(f.geometry),
            }
        )
    columns = [
        "osm_type",
        "osm_id",
        "use",
        "name",
        "residential",
        "footprint_m2",
        "levels",
        "levels_assumed",
        "x",
        "y",
        "geometry",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["floor_area_m2"] = table["footprint_m2"] * table["levels"]
    return table


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total`` (Hamilton's method).

    Ties in the remainders go to the lower index, so the allocation is deterministic.
    """
    weights = np.asarray(weights, dtype=float)
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = total * weights / weights.sum()
    counts = np.floor(quota).astype(np.int64)
    short = total - int(counts.sum())
    order = np.lexsort((np.arange(len(weights)), -(quota - counts)))
    counts[order[:short]] += 1
    return counts


def _area_of(x: np.ndarray, y: np.ndarray, centres_xy: np.ndarray) -> np.ndarray:
    """Index of the nearest area centre for each point."""
    return cKDTree(centres_xy).query(np.column_stack([x, y]))[1].astype(np.int32)


def allocate(
    spec: PopulationSpec, x: np.ndarray, y: np.ndarray, weight: np.ndarray, centres_xy: np.ndarray, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Residents per place: each area's total split over its places by weight.

    Returns
    -------
    population, area
        Integer residents per place and the index of its area.

    Raises
    ------
    MapError
        When an area with residents has no place with weight to put them in.
    """
    area = _area_of(x, y, centres_xy)
    population = np.zeros(len(x), dtype=np.int64)
    problems = []
    for i, spec_area in enumerate(spec.areas):
        members = np.flatnonzero(area == i)
        if spec_area.population > 0 and weight[members].sum() <= 0:
            problems.append(
                f"population.areas[{i}] ({spec_area.name}): {spec_area.population} residents but no {what} "
                "is nearer to its centre than to another area's; move the centre or merge the area"
            )
            continue
        population[members] = largest_remainder(spec_area.population, weight[members])
    if problems:
        raise MapError("city.yaml: residents cannot be placed", problems)
    return population, area


def road_length_weights(walk: Network) -> np.ndarray:
    """Per walkable node, half the length of each residential or through street that meets it.

    Each street is counted once whatever its number of directed links (two-way streets have two); bridges
    and tunnels are left out (nobody lives on them).
    """
    links = walk.links
    street = links["highway"].isin(RESIDENTIAL_STREETS).to_numpy()
    street = street & ~links["bridge"].to_numpy(bool) & ~links["tunnel"].to_numpy(bool)
    src, dst = links["src"].to_numpy(), links["dst"].to_numpy()
    a = np.minimum(src, dst)[street]
    b = np.maximum(src, dst)[street]
    length = links["length_m"].to_numpy()[street]
    pairs = pd.DataFrame({"a": a, "b": b, "length": length}).drop_duplicates(["a", "b"])
    weight = np.zeros(walk.n_nodes)
    np.add.at(weight, pairs["a"].to_numpy(), pairs["length"].to_numpy() / 2)
    np.add.at(weight, pairs["b"].to_numpy(), pairs["length"].to_numpy() / 2)
    return weight


def nearest_nodes(network: Network, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node of a network to each point, and the straight-line distance to it (m)."""
    tree = cKDTree(network.nodes[["x", "y"]].to_numpy())
    distance, index = tree.query(np.column_stack([x, y]))
    return index.astype(np.int32), distance


def homes_table(
    spec: PopulationSpec, buildings: pd.DataFrame, drive: Network, walk: Network, centres_xy: np.ndarray
) -> pd.DataFrame:
    """Where residents live: one row per inhabited building, or per walkable node on roads-only maps."""
    if spec.method == "buildings":
        residential = buildings[buildings["residential"]]
        x, y = residential["x"].to_numpy(), residential["y"].to_numpy()
        population, area = allocate(
            spec, x, y, residential["floor_area_m2"].to_numpy(), centres_xy, "residential building"
        )
        building = residential.index.to_numpy()
    else:
        x, y = walk.nodes["x"].to_numpy(), walk.nodes["y"].to_numpy()
        population, area = allocate(spec, x, y, road_length_weights(walk), centres_xy, "street")
        building = np.full(len(x), -1)
    inhabited = population > 0
    drive_node, drive_distance = nearest_nodes(drive, x[inhabited], y[inhabited])
    walk_node, _ = nearest_nodes(walk, x[inhabited], y[inhabited])
    return pd.DataFrame(
        {
            "building": building[inhabited].astype(np.int32),
            "x": x[inhabited],
            "y": y[inhabited],
            "population": population[inhabited],
            "area": area[inhabited],
            "drive_node": drive_node,
            "drive_distance_m": drive_distance,
            "walk_node": walk_node,
        }
    )
