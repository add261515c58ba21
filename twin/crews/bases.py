"""Where crews are based: the map's stations (fire stations, hospitals for EMS, police) and the utility and road
depots (from the scenario's ``crews.depots``, else synthesised and listed as assumed). A kind of station the map
lacks (no fire station, hospital or police station in OSM) is not synthesised: its crews would answer from a place
nobody chose, so the run says instead that this kind's incidents have no crew, and how to give a station.

A synthesised depot of a service stands at the drivable node of that service's component nearest the
residents' centre (population-weighted mean of the homes), so that it lies on the service's own ground and in
the city; a road depot at the drivable node nearest that centre. Maps without the service get no depot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import Transformer

from twin.city.build import City
from twin.city.people import nearest_nodes
from twin.scenario.crews import CrewsSpec

STATION_CREW = {"fire_station": "fire", "hospital": "ems", "police": "police"}
"""The crew kind each kind of station bases."""
DEFAULT_PER_STATION = {"fire_station": 2, "hospital": 2, "police": 1}
"""Crews per station when the scenario does not say (a two-engine station, two ambulances, one patrol)."""
DEFAULT_PER_DEPOT = {"power": 2, "water": 2, "telecom": 1, "road": 2}
"""Crews per synthesised depot when the scenario does not say (assumed)."""
SERVICE_GROUP = {"power": "power", "water": "water", "telecom": "telecom"}


@dataclass(frozen=True)
class Base:
    """A station or depot: its name, the crew kind it bases, its drivable node and how many crews."""

    name: str
    kind: str
    node: int
    crews: int
    assumed: bool


def station_bases(city: City, spec: CrewsSpec) -> list[Base]:
    """One base per fire station, hospital and police station of the map, in the facilities' order."""
    per_station = _per_station(spec)
    facilities = city.facilities
    bases = []
    for row in np.flatnonzero(facilities["kind"].isin(list(STATION_CREW)).to_numpy()).tolist():
        record = facilities.iloc[row]
        count = per_station[str(record["kind"])]
        if count:
            name = f"{record['kind']} {record['name'] or record['osm_id']}"
            bases.append(Base(name, STATION_CREW[str(record["kind"])], int(record["drive_node"]), count, False))
    return bases


def _per_station(spec: CrewsSpec) -> dict[str, int]:
    """Crews per station kind: the scenario's, else :data:`DEFAULT_PER_STATION`."""
    return {**DEFAULT_PER_STATION, **{str(k): v for k, v in spec.per_station.items()}}


def depot_bases(city: City, spec: CrewsSpec) -> tuple[list[Base], list[str]]:
    """The scenario's depots, plus one synthesised depot per kind it does not give; and the assumptions."""
    to_metric = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    bases = []
    for depot in spec.depots:
        x, y = to_metric.transform(depot.at[0], depot.at[1])
        node = int(nearest_nodes(city.drive, np.array([x]), np.array([y]))[0][0])
        bases.append(Base(depot.name or f"{depot.kind} depot", depot.kind, node, depot.crews, False))
    given = {depot.kind for depot in spec.depots}
    per_depot = dict(DEFAULT_PER_DEPOT)
    per_depot.update({str(k): v for k, v in spec.depot_crews.items()})
    notes = []
    for kind in ("power", "water", "telecom", "road"):
        if kind in given or not per_depot[kind]:
            continue
        found = _synthesised_node(city, kind)
        if found is None:
            continue
        node = found
        bases.append(Base(f"{kind} depot (synthesised)", kind, node, per_depot[kind], True))
        notes.append(
            f"crews: no {kind} depot given, so one was placed at drivable node {node} (the {kind} component "
            f"nearest the residents' centre) with {per_depot[kind]} crews; give crews.depots to place it"
            if kind != "road"
            else f"crews: no road depot given, so one was placed at drivable node {node} (nearest the residents' "
            f"centre) with {per_depot[kind]} crews; give crews.depots to place it"
        )
    return bases, notes + missing_station_notes(city, spec)


STATION_NEEDED_FOR = {
    "fire_station": "rescues",
    "hospital": "medical calls (and no hospital takes patients)",
    "police": "door-to-door warnings",
}
"""What goes unanswered when a map has no station of a kind (see :data:`STATION_CREW`)."""


def missing_station_notes(city: City, spec: CrewsSpec) -> list[str]:
    """A note per kind of station that bases no crew: not in the map (or 0 crews per station) and no depot given."""
    per_station = _per_station(spec)
    mapped = set(city.facilities["kind"].astype(str))
    given = {depot.kind for depot in spec.depots if depot.crews}
    notes = []
    for station, crew in STATION_CREW.items():
        if crew in given or (station in mapped and per_station[station]):
            continue
        why = "the map has no " + station.replace("_", " ") if station not in mapped else "per_station is 0"
        notes.append(
            f"crews: {why} and no {crew} depot is given, so no {crew} crew answers "
            f"{STATION_NEEDED_FOR[station]}: those incidents stay open; give one in crews.depots, "
            f"e.g. {{kind: {crew}, at: [longitude, latitude], crews: 2}}"
        )
    return notes


def _synthesised_node(city: City, kind: str) -> int | None:
    """The drivable node of a synthesised depot (see the module docstring); None when the map lacks the service."""
    homes = city.homes
    weights = homes["population"].to_numpy(np.float64)
    centre = np.array(
        [np.average(homes["x"].to_numpy(), weights=weights), np.average(homes["y"].to_numpy(), weights=weights)]
    )
    if kind == "road":
        return int(nearest_nodes(city.drive, centre[:1], centre[1:])[0][0])
    facilities = city.facilities
    rows = np.flatnonzero((facilities["group"] == SERVICE_GROUP[kind]).to_numpy())
    if not len(rows):
        return None
    xy = facilities[["x", "y"]].to_numpy()[rows]
    nearest = rows[int(np.argmin(np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1])))]
    return int(facilities["drive_node"].iloc[nearest])
