"""``twin map check``: what will dominate a map's results before any run.

A short list, in five parts:

* **lacks**: what the map does not hold (buildings, hospitals, beds, shelters, fire stations, substations, named
  rivers, sirens);
* **synthesised**: the lifeline components the build made up where OSM maps none, with the people each serves, the
  sirens the warnings synthesise where OSM maps no ``emergency=siren`` (:mod:`twin.city.sirens`), and *single points*:
  one component serving more than :data:`SINGLE_POINT_SHARE` of the residents (a substation's feeder zone, a pressure
  zone's pump or tank, a cell site that is the only one in range);
* **hazard-prone**: facilities and components standing where the height above the nearest drainage (HAND)
  is below :data:`HAND_FLOOD_M`, the floodplain class of Nobre et al. (2011, "Height Above the Nearest
  Drainage - a hydrologically relevant new terrain model", J. Hydrology 404:13-29: below about 5 m the water
  table is near the surface and the ground floods), or on slopes of at least :data:`STEEP_DEG` (the shallow
  landslide threshold of the landslide model's default ``min_slope_deg``);
* **coverage gaps**: residents without a cell site in range or beyond every mapped siren's range, homes and
  facilities further than :data:`ROAD_GAP_M` from a drivable road (an access road missing from the extract);
* **DEM**: its cell size against the town's street scale (the median drivable link).

The shares and thresholds are screening rules for reading results, not model parameters: the build and runs
do not use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.city.build import City
from twin.city.sirens import SIREN_RANGE_M, SIREN_SPACING_M, hearing, sirens_of

#: A component whose failure alone would cut off more than this share of the residents is a single point.
SINGLE_POINT_SHARE = 1 / 3
#: HAND (m) below which a location is in the floodplain (Nobre et al. 2011).
HAND_FLOOD_M = 5.0
#: Slope (degrees) from which shallow landslides are possible (the landslide model's default min_slope_deg).
STEEP_DEG = 15.0
#: A home or facility further than this (m) from any drivable node has no road in the extract.
ROAD_GAP_M = 250.0
#: Kinds checked against the hazard zones (power lines, towers and signals are too many to list).
EXPOSED_KINDS = (
    "hospital",
    "clinic",
    "fire_station",
    "police",
    "shelter",
    "substation",
    "plant",
    "pumping_station",
    "water_works",
    "storage_tank",
    "water_tower",
    "reservoir_covered",
    "mast",
    "communications_tower",
)


@dataclass(frozen=True)
class Finding:
    """One line of the check: its part (lacks, synthesised, single point, hazard, coverage, dem) and text."""

    part: str
    text: str


def check_city(city: City) -> list[Finding]:
    """Every finding of :mod:`twin.city.check` for a built City, in a fixed order."""
    return [
        *_lacks(city),
        *_synthesised(city),
        *_single_points(city),
        *_hazard_prone(city),
        *_coverage(city),
        *_sirens(city),
        *_dem(city),
    ]


def format_findings(name: str, findings: list[Finding]) -> str:
    """The check as text: one block per part, one line per finding."""
    titles = {
        "lacks": "what the map lacks",
        "synthesised": "what the build synthesised (assumed)",
        "single point": "single points (one component serving over a third of the residents)",
        "hazard": f"in the hazard-prone zone (HAND below {HAND_FLOOD_M:g} m, slopes of {STEEP_DEG:g} deg or more)",
        "coverage": "coverage gaps",
        "dem": "elevation model",
    }
    lines = [f"map check: {name}"]
    for part, title in titles.items():
        items = [f.text for f in findings if f.part == part]
        lines.append(f"{title}:")
        lines += [f"  - {text}" for text in items] or ["  - none"]
    return "\n".join(lines)


def _people(count: float, total: float) -> str:
    return f"{count:,.0f} residents ({count / total:.0%})" if total else "no residents"


def _lacks(city: City) -> list[Finding]:
    kinds = city.facilities["kind"]
    out = []
    if city.buildings.empty:
        out.append("no buildings: residents are spread along streets and building damage cannot be assessed")
    if not (kinds == "hospital").any():
        out.append("no hospital: access to care cannot be measured (add extra_facilities with kind: hospital)")
    else:
        no_beds = city.facilities[(kinds == "hospital") & city.facilities["beds"].isna()]
        if len(no_beds):
            out.append(f"{len(no_beds)} of {int((kinds == 'hospital').sum())} hospitals have no beds (hospital_beds)")
    if not (kinds == "shelter").any():
        out.append("no designated shelters: evacuation to shelters cannot be modelled (shelters)")
    if not (kinds == "fire_station").any():
        out.append("no fire station")
    if not len(city.lifelines.power_sources):
        out.append(
            "no substation or transformer: power is not modelled, so Q_power is not measured and nothing loses "
            "power (pumps, cell sites, signals and hospitals run as if the grid never failed)"
        )
    if not city.waterways["name"].astype(bool).any():
        out.append("no named river or stream: floods must name a channel area (channel_min_area_km2), not rivers")
    return [Finding("lacks", text) for text in out]


def _served_by_water(city: City) -> tuple[np.ndarray, np.ndarray]:
    """Residents per water zone, and per zone its pump and tank facility rows."""
    net = city.lifelines
    zone = net.node_water_zone[city.homes["drive_node"].to_numpy()]
    per_zone = np.bincount(
        zone[zone >= 0], weights=city.homes["population"].to_numpy(float)[zone >= 0], minlength=len(net.water_pump)
    )
    return per_zone, np.stack([net.water_pump, net.water_tank])


def _site_people(city: City) -> tuple[np.ndarray, np.ndarray]:
    """Per cell site: residents in its range, and residents for whom it is the only site in range."""
    net = city.lifelines
    population = city.homes["population"].to_numpy(float)
    in_range = np.bincount(net.cover_site, weights=population[net.cover_home], minlength=len(net.site_rows))
    sites_per_home = np.bincount(net.cover_home, minlength=len(population))
    only = sites_per_home[net.cover_home] == 1
    sole = np.bincount(net.cover_site[only], weights=population[net.cover_home[only]], minlength=len(net.site_rows))
    return in_range, sole


def _synthesised(city: City) -> list[Finding]:
    table = city.facilities
    made = table["osm_type"].to_numpy(str) == "synthetic"
    total = float(city.population)
    out = []
    per_zone, pump_tank = _served_by_water(city)
    served = np.zeros(len(table))
    for rows in pump_tank:
        ok = rows >= 0
        served[rows[ok]] = per_zone[ok]
    in_range, _sole = _site_people(city)
    served[city.lifelines.site_rows] = in_range
    for kind in sorted(set(table.loc[made, "kind"])):
        rows = np.flatnonzero(made & (table["kind"].to_numpy(str) == kind))
        if kind == "traffic_signals":
            out.append(f"{len(rows)} traffic signals at junctions of main roads (OSM maps none)")
            continue
        top = rows[np.argmax(served[rows])]
        verb = "is in range of" if kind == "mast" else "serves"
        out.append(
            f"{len(rows)} {kind.replace('_', ' ')} components; the busiest, '{table.at[top, 'name']!s}', {verb} "
            f"{_people(served[top], total)}"
        )
    return [Finding("synthesised", text) for text in out]


def _single_points(city: City) -> list[Finding]:
    table, net = city.facilities, city.lifelines
    total = float(city.population)
    population = city.homes["population"].to_numpy(float)
    out = []
    zone = net.node_power_zone[city.homes["drive_node"].to_numpy()]
    if len(net.power_sources):
        per_source = np.bincount(zone[zone >= 0], weights=population[zone >= 0], minlength=len(net.power_sources))
        for i in np.flatnonzero(per_source > SINGLE_POINT_SHARE * total):
            row = net.power_sources[i]
            out.append(f"{_label(table, row)} feeds {_people(per_source[i], total)}")
    per_zone, pump_tank = _served_by_water(city)
    for z in np.flatnonzero(per_zone > SINGLE_POINT_SHARE * total):
        for row in pump_tank[:, z]:
            if row >= 0:
                out.append(f"{_label(table, row)} alone serves its pressure zone: {_people(per_zone[z], total)}")
    _in_range, sole = _site_people(city)
    for i in np.flatnonzero(sole > SINGLE_POINT_SHARE * total):
        out.append(f"{_label(table, net.site_rows[i])} is the only cell site in range of {_people(sole[i], total)}")
    return [Finding("single point", text) for text in out]


def _label(table: pd.DataFrame, row: int) -> str:
    kind = str(table.at[row, "kind"]).replace("_", " ")
    name = str(table.at[row, "name"]) or f"OSM {table.at[row, 'osm_type']!s} {table.at[row, 'osm_id']!s}"
    assumed = " (synthesised)" if table.at[row, "osm_type"] == "synthetic" else ""
    return f"{kind} '{name}'{assumed}"


def grid_values(city: City, grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Values of a working-grid array at metric points (the cell holding each point; NaN outside)."""
    inverse = ~city.terrain.transform
    col, row = inverse @ (np.asarray(x, float), np.asarray(y, float))
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    inside = (row >= 0) & (row < grid.shape[0]) & (col >= 0) & (col < grid.shape[1])
    out = np.full(len(row), np.nan)
    out[inside] = grid[row[inside], col[inside]]
    return out


def slope_deg(city: City) -> np.ndarray:
    """Slope (degrees) of each working-grid cell from central differences (Horn's simpler neighbour form)."""
    dz_dy, dz_dx = np.gradient(city.terrain.elevation_m.astype(np.float64), city.terrain.resolution_m)
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))


def _hazard_prone(city: City) -> list[Finding]:
    table = city.facilities
    rows = np.flatnonzero(table["kind"].isin(EXPOSED_KINDS).to_numpy())
    x, y = table["x"].to_numpy(float)[rows], table["y"].to_numpy(float)[rows]
    hand = grid_values(city, city.hydrology.hand_m, x, y)
    slope = grid_values(city, slope_deg(city), x, y)
    out = []
    for mask, what in (
        (hand < HAND_FLOOD_M, f"less than {HAND_FLOOD_M:g} m above the nearest drainage"),
        (slope >= STEEP_DEG, f"on slopes of {STEEP_DEG:g} deg or more"),
    ):
        if not mask.any():
            continue
        chosen = rows[mask]
        counts = table["kind"].iloc[chosen].value_counts().sort_index()
        summary = ", ".join(f"{n} {str(k).replace('_', ' ')}" for k, n in counts.items())
        named = [
            _label(table, r)
            for r in chosen
            if table.at[r, "kind"] in ("hospital", "shelter", "fire_station", "substation")
        ]
        tail = f": {'; '.join(named[:6])}{' ...' if len(named) > 6 else ''}" if named else ""
        out.append(f"{summary} {what}{tail}")
    return [Finding("hazard", text) for text in out]


def _coverage(city: City) -> list[Finding]:
    total = float(city.population)
    population = city.homes["population"].to_numpy(float)
    out = []
    covered = np.zeros(len(population), dtype=bool)
    covered[city.lifelines.cover_home] = True
    if (~covered).any():
        out.append(f"{_people(population[~covered].sum(), total)} have no cell site in range")
    far = city.homes["drive_distance_m"].to_numpy(float) > ROAD_GAP_M
    if far.any():
        out.append(
            f"{int(far.sum())} homes with {_people(population[far].sum(), total)} are over {ROAD_GAP_M:g} m from a "
            "drivable road: the extract may lack their access roads"
        )
    facilities = city.facilities[city.facilities["group"] == "facility"]
    lost = facilities[facilities["drive_distance_m"].to_numpy(float) > ROAD_GAP_M]
    for _, row in lost.iterrows():
        out.append(
            f"{str(row['kind']).replace('_', ' ')} '{row['name'] or row['osm_id']}' is "
            f"{row['drive_distance_m']:,.0f} m from a drivable road"
        )
    return [Finding("coverage", text) for text in out]


def _sirens(city: City) -> list[Finding]:
    """Synthesised sirens (lacks, synthesised) or the residents out of range of every mapped one (coverage)."""
    sirens = sirens_of(city)
    population = city.homes["population"].to_numpy(float)
    hears = hearing(sirens, np.ones(city.walk.n_nodes, dtype=bool))[city.homes["walk_node"].to_numpy(np.int64)]
    total = float(city.population)
    if sirens.assumed:
        return [
            Finding("lacks", "no outdoor warning sirens (OSM emergency=siren): the warnings synthesise them"),
            Finding(
                "synthesised",
                f"sirens: {sirens.count} on a {SIREN_SPACING_M / 1000:g} km grid over the homes, each heard within "
                f"{SIREN_RANGE_M:g} m (FEMA CPG 1-17) and sounding while its power zone has power: "
                f"{_people(population[hears].sum(), total)} within hearing",
            ),
        ]
    if hears.all():
        return []
    far = population[~hears].sum()
    text = f"{_people(far, total)} are beyond {SIREN_RANGE_M:g} m of every siren ({sirens.count} mapped)"
    return [Finding("coverage", text)]


def _dem(city: City) -> list[Finding]:
    source = city.terrain.source_resolution_m
    lengths = city.drive.links["length_m"].to_numpy(float)
    median = float(np.median(lengths)) if len(lengths) else float("nan")
    text = (
        f"DEM cells of {source:.0f} m on a {city.terrain.resolution_m:.0f} m working grid; the median street link "
        f"is {median:.0f} m"
    )
    if source > median:
        text += (
            ": the DEM is coarser than a street, so slopes, HAND and flood depths are screening-level; a 30 m "
            "(Copernicus GLO-30) or a LiDAR model resolves them"
        )
    return [Finding("dem", text)]
