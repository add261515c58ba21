"""Utilities' restoration order: a class per lifeline component and the people it serves (``critical_first``).

Classes, restored in this order (after the usual utility practice of restoring first what restores the most and
what life safety depends on: Edison Electric Institute, "Understanding the Electric Power Industry's Response
and Restoration Process", 2016; the order is issue 17's):

0. transmission and supply: power plants, substations, lines, towers, cables, portals;
1. components a hospital depends on: the power components whose zones hold a hospital (the substation's feeder
   zone, and the zones a line or tower alone keeps supplied) and the water pump and tank of a hospital's pressure
   zone (:mod:`twin.lifelines.networks`);
2. water pumping and storage;
3. telecom (masts, communication towers);
4. components a designated shelter depends on (as for hospitals);
5. everything else (distribution: transformers, poles, minor lines).

Within a class ``critical_first`` takes the most customers per crew-hour first: the residents a component
serves (its power zone's, its water zone's, or those its cell site covers) over the expected hours of work.
"""

from __future__ import annotations

import numpy as np

from twin.city.build import City

TRANSMISSION, HOSPITALS, WATER, TELECOM, SHELTERS, OTHER = range(6)
KIND_CLASS = {
    "plant": TRANSMISSION,
    "substation": TRANSMISSION,
    "line": TRANSMISSION,
    "tower": TRANSMISSION,
    "cable": TRANSMISSION,
    "portal": TRANSMISSION,
    "water_works": WATER,
    "pumping_station": WATER,
    "storage_tank": WATER,
    "water_tower": WATER,
    "reservoir_covered": WATER,
    "wastewater_plant": WATER,
    "mast": TELECOM,
    "communications_tower": TELECOM,
}
"""Class of a component by its kind alone (before hospitals and shelters are looked at)."""


def restoration_classes(city: City) -> tuple[np.ndarray, np.ndarray]:
    """Per facility row: its restoration class (above) and the residents it serves.

    Returns
    -------
    classes
        int64, one of :data:`TRANSMISSION` ... :data:`OTHER`.
    customers
        float64, residents served (0 for components that serve no zone or home).
    """
    facilities = city.facilities
    kind = facilities["kind"].to_numpy().astype(str)
    node = facilities["drive_node"].to_numpy().astype(np.int64)
    net = city.lifelines
    comp, zone_power, zone_water = _zone_pairs(city)
    home_node = city.homes["drive_node"].to_numpy().astype(np.int64)
    population = city.homes["population"].to_numpy(np.float64)
    customers = np.zeros(len(facilities))
    served_zones = (
        (zone_power, net.node_power_zone, len(net.power_sources)),
        (zone_water, net.node_water_zone, len(net.water_pump)),
    )
    for zones, node_zone, size in served_zones:
        people = _zone_people(np.asarray(node_zone)[home_node], population, size)
        served = zones >= 0
        np.add.at(customers, comp[served], people[zones[served]])
    np.add.at(customers, net.site_rows[net.cover_site], population[net.cover_home])
    classes = np.array([KIND_CLASS.get(k, OTHER) for k in kind], dtype=np.int64)
    for facility_kind, klass in (("hospital", HOSPITALS), ("shelter", SHELTERS)):
        at = node[kind == facility_kind]
        feeds = _feeds(comp, zone_power, zone_water, net.node_power_zone[at], net.node_water_zone[at])
        rows = np.zeros(len(facilities), dtype=bool)
        rows[comp[feeds]] = True
        classes[rows & (classes > klass)] = klass
    return classes, customers


def _zone_pairs(city: City) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(component, power zone, water zone) rows: each component with a zone it serves (-1 in the other)."""
    net = city.lifelines
    sources = np.asarray(net.power_sources, dtype=np.int64)
    power_comp = np.concatenate([sources, np.asarray(net.feeds_comp, dtype=np.int64)])
    power_zone = np.concatenate([np.arange(len(sources)), np.asarray(net.feeds_zone, dtype=np.int64)])
    pumps, tanks = np.asarray(net.water_pump, dtype=np.int64), np.asarray(net.water_tank, dtype=np.int64)
    water_comp = np.concatenate([pumps, tanks])
    water_zone = np.concatenate([np.arange(len(pumps)), np.arange(len(tanks))])
    keep = water_comp >= 0
    comp = np.concatenate([power_comp, water_comp[keep]])
    none_power, none_water = np.full(int(keep.sum()), -1), np.full(len(power_comp), -1)
    return comp, np.concatenate([power_zone, none_power]), np.concatenate([none_water, water_zone[keep]])


def _zone_people(home_zone: np.ndarray, population: np.ndarray, zones: int) -> np.ndarray:
    """Residents in each of ``zones`` zones (homes outside every zone, -1, left out)."""
    inside = (home_zone >= 0) & (home_zone < zones)
    return np.bincount(home_zone[inside], weights=population[inside], minlength=zones)


def _feeds(
    comp: np.ndarray, zone_power: np.ndarray, zone_water: np.ndarray, power_at: np.ndarray, water_at: np.ndarray
) -> np.ndarray:
    """Which (component, zone) rows serve a zone holding one of the places (their power and water zones)."""
    power = (zone_power >= 0) & np.isin(zone_power, power_at[power_at >= 0])
    water = (zone_water >= 0) & np.isin(zone_water, water_at[water_at >= 0])
    return np.asarray(power | water) & (comp >= 0)
