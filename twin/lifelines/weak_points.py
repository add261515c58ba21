"""Weak points of a City's lifelines, reported by ``twin map build`` and ``twin map info``.

Two rules, each a ``warning:`` line in the City's assumptions:

* **Synthesised components in flood-prone land.** Pumps, tanks or cell sites the build synthesised (the map has
  none) whose cell stands less than ``lifelines.water.site_min_hand_m`` above the nearest drainage (HAND; below
  about 5 m is the flood-prone class of Rennó et al. 2008 and Nobre et al. 2011), or off the elevation grid.
  Such a component decides a flood's outcome on an assumption, so the user is told to map the real one (one
  line per kind, naming the first few).
* **Single points of failure.** A component whose loss alone cuts a service to at least
  :data:`SPOF_SHARE` of the residents: a pump or tank (its pressure zone's residents), a substation (its feeder
  zone's) or a power line or tower that alone links substations to a supply (their zones'), listed with the
  people it serves (the N-1 criterion of network planning applied to one component at a time).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from twin.city.city import WARNING_PREFIX
from twin.city.config import LifelinesSpec
from twin.city.terrain import Terrain
from twin.hazards.gridindex import point_cells
from twin.hydrology.conditioning import Hydrology
from twin.lifelines.networks import LifelineNetworks

SPOF_SHARE: Final = 0.5
"""Share of the residents a single component must serve to be listed as a single point of failure (assumed)."""


class HandAt:
    """HAND (m) at the cells of points of a table with ``x``, ``y`` columns; NaN off the grid."""

    def __init__(self, terrain: Terrain, hydrology: Hydrology) -> None:
        self._terrain = terrain
        self._hand = hydrology.hand_m.reshape(-1).astype(np.float64)

    def of(self, table: pd.DataFrame) -> np.ndarray:
        """HAND at each row's cell."""
        shape = (int(self._terrain.elevation_m.shape[0]), int(self._terrain.elevation_m.shape[1]))
        cells = point_cells(self._terrain.transform, shape, table["x"].to_numpy(float), table["y"].to_numpy(float))
        return np.where(cells >= 0, self._hand[np.maximum(cells, 0)], np.nan)


def _label(facilities: pd.DataFrame, row: int) -> str:
    item = facilities.iloc[row]
    name = f" '{item['name']}'" if item["name"] else ""
    where = "synthesised" if item["osm_type"] == "synthetic" else f"OSM {item['osm_type']} {item['osm_id']}"
    return f"{item['kind']}{name} ({where})"


#: How a warning names each synthesised kind, and the service a flood there cuts.
KIND_WORDS: Final[dict[str, tuple[str, str]]] = {
    "pumping_station": ("water pumps", "water"),
    "storage_tank": ("water tanks", "water"),
    "mast": ("cell sites", "telecom"),
}
LISTED: Final = 8
"""Components named in one warning line; the rest are counted."""


def _names(facilities: pd.DataFrame, rows: list[int], heights: np.ndarray | None) -> str:
    """``cell site 22 (2.3 m), cell site 24 (2.1 m) and 16 more``: the first :data:`LISTED` by name."""
    names = [str(facilities.iloc[row]["name"] or f"{facilities.iloc[row]['kind']} {row}") for row in rows]
    if heights is not None:
        names = [f"{name} ({heights[row]:.1f} m)" for name, row in zip(names, rows, strict=True)]
    shown = ", ".join(names[:LISTED])
    return shown if len(names) <= LISTED else f"{shown} and {len(names) - LISTED} more"


def flood_prone_syntheses(facilities: pd.DataFrame, comp_hand_m: np.ndarray, min_hand_m: float) -> list[str]:
    """Warnings about synthesised pumps, tanks and cell sites in flood-prone land, one line per kind.

    A synthesised component (``osm_type`` ``synthetic``: the map had none, twin placed it) warns when its cell
    stands less than ``min_hand_m`` above the nearest drainage (HAND), or off the elevation grid (its exposure
    is unknown). Each line names up to :data:`LISTED` of them with their height above the drainage.
    """
    made = (facilities["osm_type"] == "synthetic").to_numpy() & facilities["kind"].isin(list(KIND_WORDS)).to_numpy()
    hand = np.asarray(comp_hand_m, dtype=np.float64)
    kinds = facilities["kind"].to_numpy(str)
    warnings = []
    for kind, (words, service) in KIND_WORDS.items():
        own = made & (kinds == kind)
        low = np.flatnonzero(own & np.isfinite(hand) & (np.nan_to_num(hand, nan=np.inf) < min_hand_m)).tolist()
        off = np.flatnonzero(own & ~np.isfinite(hand)).tolist()
        if low:
            warnings.append(
                f"{WARNING_PREFIX}{len(low)} {words} that twin placed itself (the map has none) stand less than "
                f"{min_hand_m:g} m above the nearest stream or river, where floods reach first: "
                f"{_names(facilities, low, hand)}. A flood there cuts {service} on an assumption; map the real "
                "ones in the OSM extract"
            )
        if off:
            warnings.append(
                f"{WARNING_PREFIX}{len(off)} {words} that twin placed itself stand outside the elevation model "
                f"(DEM), so floods cannot reach them in a run: {_names(facilities, off, None)}. Extend the DEM or "
                "map the real ones in the OSM extract"
            )
    return warnings


def single_points_of_failure(
    facilities: pd.DataFrame, homes: pd.DataFrame, net: LifelineNetworks
) -> list[tuple[int, str, float]]:
    """(component row, service, residents it alone serves) for every component serving >= SPOF_SHARE of them."""
    population = homes["population"].to_numpy(np.float64)
    total = float(population.sum())
    home_node = homes["drive_node"].to_numpy()
    water = np.bincount(net.node_water_zone[home_node], weights=population, minlength=len(net.water_pump))
    found: list[tuple[int, str, float]] = []
    for zone, people in enumerate(water.tolist()):
        found += [(int(c), "water", people) for c in (net.water_pump[zone], net.water_tank[zone]) if c >= 0]
    if len(net.power_sources):
        zone_of_home = net.node_power_zone[home_node]
        has = zone_of_home >= 0
        power = np.bincount(zone_of_home[has], weights=population[has], minlength=len(net.power_sources))
        found += [(int(c), "power", float(power[z])) for z, c in enumerate(net.power_sources.tolist())]
        for comp in np.unique(net.feeds_comp).tolist():
            found.append((int(comp), "power", float(power[net.feeds_zone[net.feeds_comp == comp]].sum())))
    return [item for item in found if total > 0 and item[2] >= SPOF_SHARE * total]


def weak_points(
    facilities: pd.DataFrame,
    homes: pd.DataFrame,
    net: LifelineNetworks,
    comp_hand_m: np.ndarray,
    spec: LifelinesSpec,
) -> list[str]:
    """Every warning of this module, for the City's assumptions."""
    total = float(homes["population"].sum())
    spofs = [
        f"{WARNING_PREFIX}single point of failure: {_label(facilities, row)} alone serves {service} to "
        f"{people:,.0f} of {total:,.0f} residents ({people / total:.0%}): if it fails, they all lose {service}"
        for row, service, people in single_points_of_failure(facilities, homes, net)
    ]
    return flood_prone_syntheses(facilities, comp_hand_m, spec.water.site_min_hand_m) + spofs
