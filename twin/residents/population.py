"""Households and persons from the City's homes, and where each person is at the scenario's start.

Synthesis (seeded, vectorised; one row per person, persons ordered by home):

* **Households.** Within each home (building, or walkable node on roads-only maps) every person after the first
  starts a new household with probability 1/m, m the mean household size: household sizes are then geometric
  with mean m (truncated by the home's residents), the simplest law with the census mean.
* **Age group.** The first member of a household (its head) is elderly with the elderly share, else an adult;
  the other members are children with the children's share rescaled over the non-heads (so the city-wide child
  share equals the census share), elderly with the elderly share, else adults.
* **Cars** per household and **mobility impairment** per person, with the shares of city.yaml.
* **Floor.** Each household lives on a floor drawn uniformly over its building's levels (0 = ground).

Where people are at the start (local time of the scenario's start): on weekdays from 08:00 to 17:00 (assumed
working and school hours) a share of the adults (not elderly, not impaired) is at work, in a non-residential
building drawn by floor area, and a share of the children at the school building nearest to their home; everyone
else is at home. Work places are buildings that are not homes, without sheds, roofs, ruins, garages, huts,
carports or construction sites (``building=yes`` with an amenity, shop, office, tourism, craft, industrial,
leisure or man_made tag counts as non-residential; untagged ``building=yes`` is a home, see
:mod:`twin.city.people`). Maps without buildings keep everyone at home.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin.city.build import City
from twin.city.config import DemographicsSpec
from twin.city.people import nearest_nodes

CHILD, ADULT, ELDERLY = 0, 1, 2
GROUPS = ("child", "adult", "elderly")
AT_HOME, AT_WORK, AT_SCHOOL = 0, 1, 2
START_PLACES = ("home", "work", "school")
NOT_WORK_PLACES = frozenset(["shed", "roof", "ruins", "garage", "garages", "hut", "carport", "construction"])
SCHOOL_USES = frozenset(["school", "kindergarten", "college", "university"])
FLOOR_HEIGHT_M = 3.0
DAY_HOURS = (8, 17)


@dataclass(frozen=True)
class Population:
    """The persons of a city, one array entry per person (never changed during a run).

    Attributes
    ----------
    household, home
        Household id and the row of ``City.homes`` the person lives in.
    group, impaired
        Age group (0 child, 1 adult, 2 elderly; :data:`GROUPS`) and mobility impairment.
    car
        The person's household has a car.
    floor
        Floor of the dwelling (0 = ground), the same for a household.
    home_node, home_building
        Walkable node and building row of the home (building -1 on roads-only maps).
    start_place, start_node, start_building
        Where the person is at the start (:data:`START_PLACES`), its walkable node and building row.
    """

    household: np.ndarray
    home: np.ndarray
    group: np.ndarray
    impaired: np.ndarray
    car: np.ndarray
    floor: np.ndarray
    home_node: np.ndarray
    home_building: np.ndarray
    start_place: np.ndarray
    start_node: np.ndarray
    start_building: np.ndarray

    @property
    def size(self) -> int:
        """Number of persons."""
        return len(self.home)

    def table(self) -> pd.DataFrame:
        """The persons as a table (one row each)."""
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})


def households(counts: np.ndarray, mean_size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Household id and head flag of each person, persons laid out home by home (``counts`` per home).

    Every home's first person heads a household; each later one starts a new household with probability
    1 / ``mean_size`` (geometric household sizes with that mean).
    """
    n = int(counts.sum())
    first = np.zeros(n, dtype=bool)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first[starts[counts > 0]] = True
    head = first | (rng.random(n) < 1.0 / mean_size)
    return (np.cumsum(head) - 1).astype(np.int32), head


def age_groups(head: np.ndarray, spec: DemographicsSpec, rng: np.random.Generator) -> np.ndarray:
    """Age group per person: heads are elderly or adults; others children (rescaled share), elderly or adults."""
    n, heads = len(head), int(head.sum())
    others = max(1, n - heads)
    child_share = min(1.0, spec.share_children * n / others)
    elderly_share = min(spec.share_elderly, 1.0 - child_share)
    u = rng.random(n)
    group = np.full(n, ADULT, dtype=np.uint8)
    group[u < spec.share_elderly] = ELDERLY
    rest = ~head
    group[rest & (u < child_share)] = CHILD
    group[rest & (u >= child_share) & (u < child_share + elderly_share)] = ELDERLY
    group[rest & (u >= child_share + elderly_share)] = ADULT
    return group


def is_daytime(start: dt.datetime) -> bool:
    """Weekday working and school hours (08:00-17:00 local), when people may be away from home."""
    return start.weekday() < 5 and DAY_HOURS[0] <= start.hour < DAY_HOURS[1]


def synthesise(city: City, start: dt.datetime, rng: np.random.Generator) -> Population:
    """The persons of ``city`` and where they are at ``start`` (a local date-time), drawn from ``rng``."""
    spec = city.config.population.demographics
    homes = city.homes
    counts = homes["population"].to_numpy(np.int64)
    home = np.repeat(np.arange(len(homes), dtype=np.int32), counts)
    household, head = households(counts, spec.household_size, rng)
    group = age_groups(head, spec, rng)
    impaired = rng.random(len(home)) < spec.mobility_impaired
    car = (rng.random(int(household[-1]) + 1 if len(home) else 0) < spec.car_households)[household]
    home_building = homes["building"].to_numpy(np.int32)[home]
    levels = np.ones(len(home))
    has_building = home_building >= 0
    levels[has_building] = city.buildings["levels"].to_numpy(float)[home_building[has_building]]
    floor_u = rng.random(int(household[-1]) + 1 if len(home) else 0)[household]
    floor = np.floor(floor_u * np.maximum(np.floor(levels), 1)).astype(np.int8)
    home_node = homes["walk_node"].to_numpy(np.int32)[home]
    place = np.full(len(home), AT_HOME, dtype=np.uint8)
    node, building = home_node.copy(), home_building.copy()
    if is_daytime(start) and len(city.buildings):
        _send_to_work(city, spec, rng, group, impaired, place, node, building)
        _send_to_school(city, spec, rng, homes, home, group, place, node, building)
    return Population(
        household=household,
        home=home,
        group=group,
        impaired=impaired,
        car=car,
        floor=floor,
        home_node=home_node,
        home_building=home_building,
        start_place=place,
        start_node=node,
        start_building=building,
    )


def work_buildings(buildings: pd.DataFrame) -> np.ndarray:
    """Rows of the buildings people work in: not homes, not sheds, roofs, ruins, garages, huts, carports."""
    use = buildings["use"].to_numpy(str)
    keep = ~buildings["residential"].to_numpy(bool) & ~np.isin(use, list(NOT_WORK_PLACES))
    return np.flatnonzero(keep & (buildings["floor_area_m2"].to_numpy(float) > 0))


def _building_nodes(city: City, rows: np.ndarray) -> np.ndarray:
    table = city.buildings
    nodes, _ = nearest_nodes(city.walk, table["x"].to_numpy(float)[rows], table["y"].to_numpy(float)[rows])
    return nodes.astype(np.int32)


def _send_to_work(
    city: City,
    spec: DemographicsSpec,
    rng: np.random.Generator,
    group: np.ndarray,
    impaired: np.ndarray,
    place: np.ndarray,
    node: np.ndarray,
    building: np.ndarray,
) -> None:
    rows = work_buildings(city.buildings)
    if not len(rows):
        return
    workers = np.flatnonzero((group == ADULT) & ~impaired & (rng.random(len(group)) < spec.day_at_work))
    area = city.buildings["floor_area_m2"].to_numpy(float)[rows]
    pick = rng.choice(len(rows), size=len(workers), p=area / area.sum())
    place[workers] = AT_WORK
    building[workers] = rows[pick]
    node[workers] = _building_nodes(city, rows)[pick]


def _send_to_school(
    city: City,
    spec: DemographicsSpec,
    rng: np.random.Generator,
    homes: pd.DataFrame,
    home: np.ndarray,
    group: np.ndarray,
    place: np.ndarray,
    node: np.ndarray,
    building: np.ndarray,
) -> None:
    rows = np.flatnonzero(city.buildings["use"].isin(list(SCHOOL_USES)).to_numpy())
    if not len(rows):
        return
    pupils = np.flatnonzero((group == CHILD) & (rng.random(len(group)) < spec.day_at_school))
    xy = city.buildings[["x", "y"]].to_numpy(float)[rows]
    _, nearest = cKDTree(xy).query(homes[["x", "y"]].to_numpy(float)[home[pupils]])
    place[pupils] = AT_SCHOOL
    building[pupils] = rows[nearest]
    node[pupils] = _building_nodes(city, rows)[nearest]
