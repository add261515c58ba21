"""The City: the compiled, read-only twin of a place, as every run, phase and report sees it.

Its parts come from a cold build (:mod:`twin.city.compile`) or from the cache (:mod:`twin.city.build`); this
module holds only the container, so that a run loading a cached City never imports the build's readers
(rasterio's GeoTIFF reading, the OSM features, people and facilities).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

    from twin.city.config import CityConfig
    from twin.city.roads import Network
    from twin.city.terrain import Terrain
    from twin.hydrology.conditioning import Hydrology
    from twin.lifelines.networks import LifelineNetworks

Progress = Callable[[str], None]
"""Called with a short message at each stage of a cold build."""
WARNING_PREFIX: Final = "warning: "
"""How a warning line of the City's assumptions starts (:attr:`City.warnings` picks them out)."""


@dataclass(frozen=True)
class City:
    """The compiled, read-only twin of a place.

    Attributes
    ----------
    name, crs
        The city's name and metric CRS (from city.yaml).
    map_hash
        SHA-256 of the inputs and the build version: the cache key, recorded in every run's provenance.
    drive, walk
        The drivable and walkable road networks (see :mod:`twin.city.roads`).
    buildings
        Building footprints with use, levels and floor area.
    homes
        Where residents live (building or walkable node), with their nearest drivable and walkable nodes.
    facilities
        Facilities and lifeline components from OSM and city.yaml (see :mod:`twin.city.facilities`).
    waterways
        Rivers and streams with all their names.
    terrain
        The working elevation grid.
    hydrology
        Depression-filled surface, D8 directions, accumulation, drainage, HAND and land cover on the
        working grid (see :mod:`twin.hydrology`).
    lifelines
        Power zones and grid, water zones, cell sites, signals and dependencies over the facilities table
        (see :mod:`twin.lifelines.networks`).
    dem_coverage
        Share of road nodes on valid cells of the raw DEM.
    assumptions
        Every assumption the build made, for the run folder and the report.
    """

    name: str
    crs: str
    map_hash: str
    drive: Network
    walk: Network
    buildings: pd.DataFrame
    homes: pd.DataFrame
    facilities: pd.DataFrame
    waterways: pd.DataFrame
    terrain: Terrain
    hydrology: Hydrology
    lifelines: LifelineNetworks
    dem_coverage: float
    assumptions: list[str]
    bounds_lonlat: tuple[float, float, float, float]
    config: CityConfig = field(repr=False)

    @property
    def population(self) -> int:
        """Residents in the city."""
        return int(self.homes["population"].sum())

    def counts(self, group: str | None = None) -> dict[str, int]:
        """Facilities or lifeline components per kind (``group="facility"`` for facilities only)."""
        table = self.facilities
        if group == "facility":
            table = table[table["group"] == "facility"]
        elif group == "lifeline":
            table = table[table["group"] != "facility"]
        return {str(k): int(v) for k, v in table["kind"].value_counts().sort_index().items()}

    def warnings(self) -> list[str]:
        """The map's warnings: the assumptions that start with ``warning:`` (``twin map build`` prints them)."""
        return [line for line in self.assumptions if line.startswith(WARNING_PREFIX)]

    def info(self) -> dict[str, Any]:
        """The summary that ``twin map info --json`` prints."""
        elevation = self.walk.nodes["elevation_m"]
        return {
            "name": self.name,
            "crs": self.crs,
            "map_hash": self.map_hash,
            "nodes": self.walk.n_nodes,
            "links": self.walk.n_links,
            "drivable_nodes": self.drive.n_nodes,
            "drivable_links": self.drive.n_links,
            "buildings": len(self.buildings),
            "population": self.population,
            "dem_coverage": round(self.dem_coverage, 4),
            "elevation_m": [round(float(elevation.min()), 1), round(float(elevation.max()), 1)],
            "working_grid_m": self.terrain.resolution_m,
            "facilities": self.counts("facility"),
            "lifeline_components": self.counts("lifeline"),
            "assumptions": list(self.assumptions),
        }
