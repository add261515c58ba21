"""The record phase: service levels and counts measured from the state, one row per record time.

Columns (DESIGN.md "Results"): ``t_s``; ``Q_access`` (and ``access_share``, residents within tau of care
over all residents); ``links_closed``, ``people_exposed``, ``people_need_rescue``, ``buildings_damaged``,
``components_down``, ``flooded_area_m2``. Each count is read from the SimState arrays the other phases
write, so it moves as soon as a hazard or lifeline model writes them. Service levels of systems this
version does not model yet (power, water, telecom, health) are not written: a missing column is honest,
a constant 1 would not be.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.city.build import City
from twin.hazards.gridindex import point_cells, residents_in_water
from twin.hydrology.landcover import LANDCOVER_CLASSES
from twin.results import events_frame
from twin.scenario import Scenario
from twin.sim.access import CareAccess

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twin.sim.phase import Phase
    from twin.sim.state import SimState

# Depth thresholds for people in buildings (DESIGN.md "Buildings in water").
EXPOSED_DEPTH_M = 0.5
RESCUE_DEPTH_M = 1.5


class Recorder:
    """Measures the state at record times and keeps the time series and the event log."""

    def __init__(self, city: City, spec: Scenario) -> None:
        self.city = city
        self.tau_s = float(spec.metrics.access_tau_s)
        self.access_every_s = float(spec.metrics.access_every_s)
        record_every = spec.outputs.record_every_s or spec.step_s
        self.record_every_steps = max(1, round(float(record_every) / float(spec.step_s)))
        self.rows: list[dict[str, float]] = []
        self.events: list[tuple[float, str, str, str, str]] = []
        self.access_normal = 0
        self.access_now = 0
        self.access_at_s = -np.inf
        self.network_dirty = True
        self._care = CareAccess(city)  # the city's links, hospitals and homes, read once
        self._population = max(1, city.population)
        homes = city.homes
        cells = point_cells(city.terrain.transform, city.terrain.elevation_m.shape, homes["x"], homes["y"])
        self._home_cell = cells[cells >= 0]
        self._home_population = homes["population"].to_numpy()[cells >= 0]
        # People are exposed by the water above their ground floor (city.yaml first_floor_height_m).
        self._floor_m = float(city.config.first_floor_height_m)
        self._cell_area_m2 = city.terrain.resolution_m**2
        # A mapped river's or stream's own cells are not flooded land: on maps without water polygons (which the
        # flood plain leaves out already) they are wet as soon as the river rises above its bed. Open water (OSM
        # water areas and the sea, land cover ``water``) is not land either, whatever a hazard writes on it.
        land = city.hydrology.landcover.ravel() != LANDCOVER_CLASSES.index("water")
        land[city.hydrology.channel_cells["cell"].to_numpy()] = False
        self._land = land.reshape(city.terrain.elevation_m.shape)
        self._hospital_rows = np.flatnonzero((city.facilities["kind"] == "hospital").to_numpy())
        self._hospitals_working = b""
        self.zone_rows: list[dict[str, object]] = []

    def network_changed(self) -> None:
        """Mark the road network as changed, so access is measured again at the next record."""
        self.network_dirty = True

    def _access(self, clock_s: float, state: SimState) -> float:
        due = clock_s - self.access_at_s >= self.access_every_s - 1e-9
        working = state.comp_up[self._hospital_rows].tobytes()
        if working != self._hospitals_working:  # a hospital stopped or came back: access changes now
            self._hospitals_working = working
            self.network_dirty = True
        if self.network_dirty or due:
            self.access_now = self._care.measure(state, self.tau_s).residents_within
            self.access_at_s = clock_s
            self.network_dirty = False
            if not self.rows:
                self.access_normal = self.access_now
        if self.access_normal == 0:
            return float("nan")  # no hospital reachable even in the normal state: not measurable
        return min(1.0, self.access_now / self.access_normal)

    def _people_in_water(self, state: SimState, depth_m: float) -> int:
        """Residents whose home (building, or walkable node on roads-only maps) has more water than ``depth_m``
        above its ground floor."""
        water = state.water_depth_m
        return residents_in_water(water, self._home_cell, self._home_population, depth_m + self._floor_m)

    def record(
        self, clock_s: float, step_count: int, state: SimState, phases: Sequence[Phase], force: bool = False
    ) -> None:
        """Measure the state and append a row, at record times (every ``record_every``) or when forced.

        Each phase adds its ``series()`` columns to the row and its ``zone_rows()`` to the zones table.
        """
        if not force and step_count % self.record_every_steps:
            return
        q_access = self._access(clock_s, state)
        columns: dict[str, float] = {}
        for phase in phases:
            columns.update(phase.series())
        self.rows.append(
            {
                "t_s": float(clock_s),
                "Q_access": q_access,
                "access_share": self.access_now / self._population,
                # Residents within reach of care normally and not now: the people of Q_access and Q_health.
                "people_out_access": float(max(0, self.access_normal - self.access_now)),
                "links_closed": int(np.count_nonzero(state.link_closed())),
                "people_exposed": self._people_in_water(state, EXPOSED_DEPTH_M),
                "people_need_rescue": self._people_in_water(state, RESCUE_DEPTH_M),
                "buildings_damaged": int(np.count_nonzero(state.building_damage > 0)),
                # A damaged component is down whatever the lifelines phase (if any) says about the rest.
                "components_down": int(np.count_nonzero(~state.comp_up | state.comp_damaged)),
                "flooded_area_m2": float(np.count_nonzero((state.water_depth_m > 0) & self._land) * self._cell_area_m2),
                **columns,
            }
        )
        for phase in phases:
            self.zone_rows.extend(phase.zone_rows(float(clock_s)))

    def latest(self, column: str) -> float:
        """The last recorded value of a column (NaN when the column is not recorded)."""
        return float(self.rows[-1].get(column, np.nan)) if self.rows else float("nan")

    def log_event(self, t_s: float, kind: str, target: str, cause: str, details: dict[str, Any]) -> None:
        """Append a row to the event log (details as JSON text)."""
        self.events.append((float(t_s), kind, target, cause, json.dumps(details, sort_keys=True)))

    def timeseries(self) -> pd.DataFrame:
        """The time series, one row per record, ``t_s`` first."""
        table = pd.DataFrame(self.rows)
        int_columns = ["links_closed", "people_exposed", "people_need_rescue", "buildings_damaged", "components_down"]
        return table.astype({c: "int64" for c in int_columns})

    def zones_table(self) -> pd.DataFrame | None:
        """Per-zone service rows (``t_s``, ``zone``, ``service``, ``q``, ``customers``), or None."""
        return pd.DataFrame(self.zone_rows) if self.zone_rows else None

    def events_table(self) -> pd.DataFrame:
        """The event log."""
        return events_frame(self.events)

    def to_dict(self) -> dict[str, Any]:
        """Everything recorded so far, as JSON-able data (for checkpoints)."""
        return {
            "rows": self.rows,
            "events": [list(e) for e in self.events],
            "access_normal": self.access_normal,
            "access_now": self.access_now,
            "access_at_s": self.access_at_s if np.isfinite(self.access_at_s) else None,
            "network_dirty": self.network_dirty,
            "zone_rows": self.zone_rows,
            "hospitals_working": self._hospitals_working.hex(),
        }

    def load_dict(self, data: dict[str, Any]) -> None:
        """Inverse of :meth:`to_dict`."""
        self.rows = [dict(row) for row in data["rows"]]
        self.events = [tuple(e) for e in data["events"]]
        self.access_normal, self.access_now = data["access_normal"], data["access_now"]
        self.access_at_s = -np.inf if data["access_at_s"] is None else data["access_at_s"]
        self.network_dirty = data["network_dirty"]
        self.zone_rows = [dict(row) for row in data["zone_rows"]]
        self._hospitals_working = bytes.fromhex(data["hospitals_working"])
