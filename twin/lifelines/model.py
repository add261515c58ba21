"""Lifeline behaviour each step: power, backups, pumps and tanks, cell sites, signals, hospitals, service levels.

Phase ``lifelines``, after the hazards wrote the damage (``comp_damaged``). Each step of dt (hours h = dt/3600):

1. **Power.** A substation's zone has power while the substation is undamaged and fed: connected through
   undamaged lines and towers to a supply (scipy connected components on the OSM line graph, recomputed only when
   the damage changes). Substations the OSM lines do not connect to a supply even in the normal state are taken as
   fed (the map's lines are incomplete), so only their own damage cuts them.
2. **Backups** (data: ``dependencies`` rows needing power with backup hours): a component without grid power
   draws on its backup, ``left -= h``, and works while ``left > 0``; with power back it recharges at the same rate.
3. **Water.** A pump works while undamaged and powered. Its zone's tank, in hours of zone demand, fills at
   ``refill_per_hour`` while the pump works and empties at 1 h per hour while it does not; the zone has water while
   the tank is undamaged and not empty (a pressure zone loses service when its storage is empty; DESIGN.md).
4. **Telecom.** A site works while undamaged and powered (grid or battery); a home has signal while any site in
   range works.
5. **Signals** without power become all-way stops: the links entering their junction get ``signal_capacity_factor``
   (0.5 by default: an all-way stop discharges about one vehicle per 4 s per approach against about 2 s per lane at
   saturation under a signal; HCM 2010 chapters 18 and 20), which traffic reads from ``link_capacity_factor``.
6. **Hospitals** work while undamaged, powered (grid or generator) and watered: their zone has water, or their
   own storage (``hospital_water_hours`` of demand, drained like a backup while the mains are dry) is not empty.

Interventions (:mod:`twin.interventions.lifelines`) add hours to these stores: ``generator`` and ``pump_backup``
to the backups, ``tank`` to the zones' storage, ``hospital_water`` to the hospitals' own water.

Service levels (InfraRisk's "percentage of customers served", Sharma et al. 2020): ``Q_power`` and ``Q_water`` =
residents whose zone is served / residents served in the normal state; ``Q_telecom`` = residents with signal / those
with signal normally; ``Q_health`` = beds of working hospitals / beds normally (hospitals without a bed count
weigh as the median of those with one). Every change of a component's working state is logged with its cause:
the hazard or outage that damaged it, ``cascade`` (it lost what it needs), ``backup exhausted``; backup starts and
restorations too.

A component that goes down undamaged names the first need it lost, in the order of the dependency chain: power
(its zone's substation, or no supply reaching a substation), then water (its zone's tank, or the pump that fills
it). The cause is ``backup exhausted`` only when power is the need lost and the backup has run dry; otherwise
``cascade``. The details carry the lost need, the component upstream and the root: the damaged component at the
end of the chain and what damaged it (a hospital down for water because a flooded substation stopped its pump
names the pump upstream and the substation, flooded, as the root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twin.city.build import City
from twin.errors import ScenarioError
from twin.interventions.lifelines import LifelineMeasures, lifeline_measures
from twin.lifelines.networks import fed_sources
from twin.registry import REGISTRY
from twin.scenario import Scenario
from twin.sim.phase import LogFunction, Phase, StepContext
from twin.sim.state import SimState
from twin.sim.targets import describe_component

# Hours below which a backup or a tank counts as empty: steps of 1/6 h do not sum exactly to whole hours.
EMPTY_H = 1e-9
HAZARD_CAUSES = ("flood", "landslide")


class Lifelines(Phase):
    """The lifelines phase of a run: turns damage into service, with cascades, backups and restoration.

    Its changing state is the backups, the tanks and what fed the last step (:meth:`arrays`); which components
    work is ``SimState.comp_up``, which it writes. What it measured in its last step (levels, zones, causes) is
    kept for the record, a function of those.
    """

    name = "lifelines"
    order = "lifelines"

    def __init__(self, city: City, measures: LifelineMeasures | None = None) -> None:
        self.city = city
        net = city.lifelines
        spec = city.config.lifelines
        facilities = city.facilities
        self.n_comps = len(facilities)
        node_of = facilities["drive_node"].to_numpy()
        self.comp_power_zone = net.node_power_zone[node_of] if len(net.power_sources) else np.full(self.n_comps, -1)
        self.comp_water_zone = net.node_water_zone[node_of]
        homes = city.homes
        self.population = homes["population"].to_numpy(np.float64)
        home_node = homes["drive_node"].to_numpy()
        self.home_power_zone = net.node_power_zone[home_node] if len(net.power_sources) else np.full(len(homes), -1)
        self.home_water_zone = net.node_water_zone[home_node]
        self._customers: dict[str, np.ndarray] = {}  # residents per zone and service (zone_rows)
        self._grid_setup()
        deps = net.dependencies
        power = deps[deps["needs"] == "power"]
        self.backup_comp = power["comp"].to_numpy(np.int64)
        self.measures = measures or LifelineMeasures(
            np.zeros(self.n_comps), np.zeros(len(net.water_tank)), np.zeros(self.n_comps)
        )
        # Generators and pump backups (interventions) add fuel hours to the backups the map's rules give.
        self.backup_hours = power["backup_hours"].to_numpy(np.float64) + self.measures.backup_h[self.backup_comp]
        self.backup_left = self.backup_hours.copy()
        self._has_backup = np.zeros(self.n_comps, dtype=bool)  # components with a backup of some hours
        self._has_backup[self.backup_comp[self.backup_hours > 0]] = True
        self._on_grid = np.ones(len(self.backup_comp), dtype=bool)
        self.needs_power = np.zeros(self.n_comps, dtype=bool)
        self.needs_power[self.backup_comp] = True
        water = deps[deps["needs"] == "water"]
        self.needs_water = np.zeros(self.n_comps, dtype=bool)
        self.needs_water[water["comp"].to_numpy(np.int64)] = True
        # Own water storage (hospitals): hours of the component's demand, drained while its zone's mains are dry;
        # a hospital_water intervention adds hours to it.
        self.store_comp = water["comp"].to_numpy(np.int64)
        self.store_hours = water["backup_hours"].to_numpy(np.float64) + self.measures.hospital_water_h[self.store_comp]
        self.store_left = self.store_hours.copy()
        self._on_mains = np.ones(len(self.store_comp), dtype=bool)
        self.tank_capacity_h = spec.water.tank_hours + self.measures.tank_h  # tank interventions add storage
        self.tank_hours = self.tank_capacity_h.copy()
        self._pump_up = np.ones(len(net.water_tank), dtype=bool)
        self.refill_per_hour = spec.water.refill_per_hour
        self.signal_factor = spec.signal_capacity_factor
        links = city.drive.links
        # (signal, link entering its junction) pairs, found by one lookup from node to signal
        signal_of_node = np.full(city.drive.n_nodes, -1, dtype=np.int64)
        signal_of_node[net.signal_node] = np.arange(len(net.signal_node))
        entering = signal_of_node[links["dst"].to_numpy()]
        self.signal_link = np.flatnonzero(entering >= 0)
        self.signal_of_link = net.signal_rows[entering[self.signal_link]]
        self.hospitals = np.flatnonzero(facilities["kind"].to_numpy(str) == "hospital")
        beds = facilities["beds"].to_numpy(np.float64)[self.hospitals]
        known = np.isfinite(beds) & (beds > 0)
        self.hospital_beds = np.where(known, beds, np.median(beds[known]) if known.any() else 1.0)
        self._damage_key = b""
        self._fed = np.ones(len(net.power_sources), dtype=bool)
        self.normal: dict[str, float] = {}
        self._up = np.ones(self.n_comps, dtype=bool)
        self._evaluate(SimState.normal(city), 0.0, first=True)
        self.normal = self._levels_raw()

    # --- power grid ----------------------------------------------------------------------------------------

    def _grid_setup(self) -> None:
        supplied = fed_sources(self.city.lifelines, np.zeros(self.n_comps, dtype=bool))
        # Substations the OSM lines leave unconnected even when nothing is damaged: fed by lines OSM lacks.
        self.always_fed = ~supplied

    def _zone_power(self, damaged: np.ndarray) -> np.ndarray:
        key = np.flatnonzero(damaged).tobytes()
        if key != self._damage_key:
            self._damage_key = key
            fed = fed_sources(self.city.lifelines, damaged)
            self._fed = fed | self.always_fed
        return ~damaged[self.city.lifelines.power_sources] & self._fed

    # --- one step ----------------------------------------------------------------------------------------

    def _evaluate(self, state: SimState, hours: float, first: bool = False) -> np.ndarray:
        """Compute every component's working state after ``hours`` (returned, and kept for the record).

        Backups and tanks drain (or refill) by what held during the last step, so a supply lost in the step
        ending at T empties a 6 h tank exactly at T + 6 h.
        """
        net = self.city.lifelines
        damaged = state.comp_damaged
        if not first:
            self.backup_left = np.where(
                self._on_grid,
                np.minimum(self.backup_left + hours, self.backup_hours),
                np.maximum(self.backup_left - hours, 0.0),
            )
            self.tank_hours = np.where(
                self._pump_up,
                np.minimum(self.tank_hours + self.refill_per_hour * hours, self.tank_capacity_h),
                np.maximum(self.tank_hours - hours, 0.0),
            )
            self.store_left = np.where(
                self._on_mains,
                np.minimum(self.store_left + hours, self.store_hours),
                np.maximum(self.store_left - hours, 0.0),
            )
        zone_power = self._zone_power(damaged)
        grid_power = np.ones(self.n_comps, dtype=bool)
        has_zone = self.comp_power_zone >= 0
        grid_power[has_zone] = zone_power[self.comp_power_zone[has_zone]]
        powered = grid_power.copy()
        on_grid = grid_power[self.backup_comp]
        powered[self.backup_comp] = on_grid | (self.backup_left > EMPTY_H)
        self.powered = powered
        up = ~damaged & (~self.needs_power | powered)
        up[net.power_sources] &= self._fed  # a substation cut off from every supply delivers nothing
        pump_up = (net.water_pump < 0) | up[np.maximum(net.water_pump, 0)]
        tank_ok = (net.water_tank < 0) | ~damaged[np.maximum(net.water_tank, 0)]
        zone_water = tank_ok & (self.tank_hours > EMPTY_H)
        tanks = net.water_tank >= 0
        up[net.water_tank[tanks]] &= zone_water[tanks]
        on_mains = zone_water[self.comp_water_zone[self.store_comp]]
        watered = np.ones(self.n_comps, dtype=bool)
        watered[self.store_comp] = on_mains | (self.store_left > EMPTY_H)
        up &= watered
        self._up = up
        self.store_started = self._on_mains & ~on_mains & (self.store_hours > 0)
        self._on_mains = on_mains
        self._damaged, self._cause = damaged.copy(), state.comp_cause.copy()
        self.backup_started = self._on_grid & ~on_grid & (self.backup_hours > 0)
        self._on_grid, self._pump_up = on_grid, pump_up
        self.grid_power, self.zone_power, self.zone_water = grid_power, zone_power, zone_water
        return up

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Advance the lifelines by one step and write comp_up, capacity factors and the event log."""
        state = ctx.state
        previous = state.comp_up.copy()
        up = self._evaluate(state, dt_s / 3600.0)
        state.comp_up[:] = up
        self._signals(state, up)
        self._log(ctx.log, ctx.clock_s + dt_s, previous, state)

    def _signals(self, state: SimState, up: np.ndarray) -> None:
        factor = np.ones(len(state.link_capacity_factor))
        factor[self.signal_link[~up[self.signal_of_link]]] = self.signal_factor
        state.link_capacity_factor[:] = factor

    def _log(self, log: LogFunction, t_s: float, previous: np.ndarray, state: SimState) -> None:
        for row in np.flatnonzero(previous != state.comp_up).tolist():
            if state.comp_up[row]:
                log(t_s, "restore_component", describe_component(self.city, row), "restoration", {"component": row})
                continue
            details: dict[str, object] = {"component": row}
            if state.comp_damaged[row]:
                cause = str(state.comp_cause[row])
            else:
                cause, chain = self._cascade_cause(row, state)
                details.update(chain)
            log(t_s, "component_down", describe_component(self.city, row), cause, details)
        for row in self.backup_comp[self.backup_started].tolist():
            log(t_s, "backup_start", describe_component(self.city, row), "cascade", {"component": row})
        for row in self.store_comp[self.store_started].tolist():
            log(
                t_s, "backup_start", describe_component(self.city, row), "cascade", {"component": row, "needs": "water"}
            )

    def _cascade_cause(self, row: int, state: SimState) -> tuple[str, dict[str, object]]:
        """Why an undamaged component is down: the cause and the chain's details (lost, upstream, root)."""
        lost, upstream = self._lost_need(row)
        cause = "cascade"
        if lost == "power" and self.needs_power[row] and self._backup_hours_of(row) > 0:
            cause = "backup exhausted"
        details: dict[str, object] = {"lost": lost}
        store = np.flatnonzero(self.store_comp == row)
        if lost == "water" and len(store):
            details["own_water_h"] = float(self.store_hours[store[0]])  # it ran on its own store that long
        if upstream >= 0:
            details.update(upstream=describe_component(self.city, upstream), upstream_component=upstream)
            root = self._root(upstream)
            details.update(root=describe_component(self.city, root), root_cause=str(state.comp_cause[root]) or "")
        return cause, details

    def _lost_need(self, row: int) -> tuple[str, int]:
        """The first need ``row`` lacks in the chain (power, then water) and the component upstream (-1: none)."""
        net = self.city.lifelines
        power_zone = self.comp_power_zone[row]
        if self.needs_power[row] and not self.powered[row]:
            return "power", int(net.power_sources[power_zone]) if power_zone >= 0 else -1
        if row in net.power_sources and not self._fed[np.flatnonzero(net.power_sources == row)[0]]:
            return "power", -1  # no supply reaches the substation: the lines and towers between are down
        zone = self._water_zone_of(row)
        if zone >= 0 and not self.zone_water[zone]:
            tank, pump = int(net.water_tank[zone]), int(net.water_pump[zone])
            if tank >= 0 and tank != row and self._damaged[tank]:
                return "water", tank
            return "water", pump if pump >= 0 else tank
        return "cascade", -1

    def _water_zone_of(self, row: int) -> int:
        """The pressure zone a component draws water from (a tank: the zone it stores for); -1 when none."""
        tanks = np.flatnonzero(self.city.lifelines.water_tank == row)
        if len(tanks):
            return int(tanks[0])
        return int(self.comp_water_zone[row]) if self.needs_water[row] else -1

    def _root(self, row: int) -> int:
        """Follow the chain up from ``row`` to the first damaged component (or the last one reached)."""
        for _ in range(8):  # chains are short: power -> pump -> tank -> consumer
            if self._damaged[row] or self._up[row]:
                return row
            _, upstream = self._lost_need(row)
            if upstream < 0 or upstream == row:
                return row
            row = upstream
        return row

    def _backup_hours_of(self, row: int) -> float:
        index = np.flatnonzero(self.backup_comp == row)
        return float(self.backup_hours[index[0]]) if len(index) else 0.0

    # --- service levels ----------------------------------------------------------------------------------

    def _levels_raw(self) -> dict[str, float]:
        net = self.city.lifelines
        levels: dict[str, float] = {}
        if len(net.power_sources):
            has = self.home_power_zone >= 0
            levels["power"] = float(self.population[has][self.zone_power[self.home_power_zone[has]]].sum())
        levels["water"] = float(self.population[self.zone_water[self.home_water_zone]].sum())
        if len(net.site_rows):
            covered = np.zeros(len(self.population), dtype=bool)
            covered[net.cover_home[self._up[net.site_rows[net.cover_site]]]] = True
            levels["telecom"] = float(self.population[covered].sum())
        if len(self.hospitals):
            levels["health"] = float(self.hospital_beds[self._up[self.hospitals]].sum())
        return levels

    def services(self) -> dict[str, Any]:
        """``service_levels``: a function giving ``Q_<service>`` now (the crews' medical-call surge reads it)."""
        return {"service_levels": self.service_levels}

    def service_levels(self) -> dict[str, float]:
        """``Q_<service>`` now (served now / served normally)."""
        return {k: v for k, v in self.series().items() if k.startswith("Q_")}

    def series(self) -> dict[str, float]:
        """``Q_<service>`` for the services this map has (served now / served normally), ``people_out_<service>``
        (residents served normally and not now; power, water, telecom), and the components down by cause:
        ``components_down_hazard`` (flood, landslide), ``_outage``, ``_cascade`` (lost what they need) and
        ``_backup`` (backup exhausted)."""
        now = self._levels_raw()
        levels = {f"Q_{k}": (now[k] / self.normal[k] if self.normal.get(k) else float("nan")) for k in now}
        # Residents served normally and not now (health counts beds, not people: its people come from access).
        people = {f"people_out_{k}": max(0.0, self.normal[k] - now[k]) for k in now if k != "health"}
        return {**levels, **people, **self._down_by_cause()}

    def _down_by_cause(self) -> dict[str, float]:
        damaged = self._damaged
        hazard = damaged.copy()
        hazard[damaged] = np.isin(self._cause[damaged], HAZARD_CAUSES)  # the causes of damaged components only
        undamaged_down = ~self._up & ~damaged
        backup = undamaged_down & self._has_backup & ~self.powered  # down for power once the backup ran dry, not water
        return {
            "components_down_hazard": float(hazard.sum()),
            "components_down_outage": float((damaged & ~hazard).sum()),
            "components_down_cascade": float((undamaged_down & ~backup).sum()),
            "components_down_backup": float(backup.sum()),
        }

    def zone_rows(self, t_s: float) -> list[dict[str, object]]:
        """Per zone and service: the zone's service level q (1 served, 0 not) and its residents (``zones.parquet``)."""
        rows: list[dict[str, object]] = []
        for service, zone_of_home, served in (
            ("power", self.home_power_zone, getattr(self, "zone_power", None)),
            ("water", self.home_water_zone, self.zone_water),
        ):
            if served is None or not len(served):
                continue
            customers = self._customers.get(service)
            if customers is None:  # the residents per zone do not change during a run: counted once
                has = zone_of_home >= 0
                customers = np.bincount(zone_of_home[has], weights=self.population[has], minlength=len(served))
                self._customers[service] = customers
            rows.extend(
                {"t_s": t_s, "zone": z, "service": service, "q": float(q), "customers": float(c)}
                for z, (q, c) in enumerate(zip(served.tolist(), customers.tolist(), strict=True))
            )
        return rows

    def arrays(self) -> dict[str, np.ndarray]:
        """State to checkpoint: backups, tanks, own water stores, and whether backups were on the grid, pumps up
        and stores on the mains last step."""
        arrays = {
            "backup_left": self.backup_left,
            "tank_hours": self.tank_hours,
            "on_grid": self._on_grid,
            "pump_up": self._pump_up,
            "store_left": self.store_left,
            "on_mains": self._on_mains,
        }
        return arrays

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.backup_left = np.array(arrays["backup_left"], dtype=np.float64)
        self.tank_hours = np.array(arrays["tank_hours"], dtype=np.float64)
        self._on_grid = np.array(arrays["on_grid"], dtype=bool)
        self._pump_up = np.array(arrays["pump_up"], dtype=bool)
        self.store_left = np.array(arrays["store_left"], dtype=np.float64)
        self._on_mains = np.array(arrays["on_mains"], dtype=bool)
        self._damage_key = b"restored"  # recompute the grid at the next step

    def assumptions(self) -> list[str]:
        """What the lifelines model assumed."""
        net, spec = self.city.lifelines, self.city.config.lifelines
        notes = [
            f"power: {len(net.power_sources)} feeder zones by network Voronoi over the roads from each substation; "
            f"{int(self.always_fed.sum())} substations the OSM lines do not connect to a supply are taken as fed",
            f"water: {len(net.water_pump)} pressure zones by {spec.water.zone_band_m:g} m elevation bands, tanks of "
            f"{spec.water.tank_hours:g} h of demand refilling at {spec.water.refill_per_hour:g} h per hour",
            f"telecom: {len(net.site_rows)} cell sites covering {spec.telecom.radius_m:g} m with "
            f"{spec.telecom.battery_hours:g} h batteries; hospitals have {spec.hospital_generator_hours:g} h "
            f"generators and {spec.hospital_water_hours:g} h of water storage (assumed); unpowered signals cut "
            f"their junction's capacity to {spec.signal_capacity_factor:g}",
        ]
        if not len(net.power_sources):
            notes.append("the map has no substations: power service (Q_power) is not measured")
        notes.extend(self._measure_notes())
        return notes

    def _measure_notes(self) -> list[str]:
        """The lifeline interventions in force, for the assumptions."""
        m, notes = self.measures, []
        if m.backup_h.any():
            notes.append(
                f"generators (interventions): {int((m.backup_h > 0).sum())} components get {m.backup_h.sum():g} h of "
                "fuel in all, on top of their own backup"
            )
        if m.tank_h.any():
            notes.append(
                f"tanks (interventions): {int((m.tank_h > 0).sum())} water zones store more, up to "
                f"{m.tank_h.max():g} h of demand added"
            )
        if m.hospital_water_h.any():
            notes.append(
                f"hospital water (interventions): {int((m.hospital_water_h > 0).sum())} hospitals store up "
                f"to {m.hospital_water_h.max():g} h of water"
            )
        return notes

    def outputs(self, folder: Path) -> list[Path]:
        """``lifelines.gpkg`` (with ``up`` at the end of the run) and ``service_loss.png``."""
        from twin.lifelines.outputs import write_lifeline_outputs  # geopandas and matplotlib only when writing

        run = self.attached()
        names = write_lifeline_outputs(
            folder, self.city, run.state.comp_up, run.zones_table(), run.timeseries(), run.title, start=run.start
        )
        return [folder / name for name in names]


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The lifelines phase: every run has one (it turns damage into service), with the scenario's lifeline
    interventions (generators, pump backups, tanks, hospital water)."""
    needs_power = np.zeros(len(city.facilities), dtype=bool)
    deps = city.lifelines.dependencies
    needs_power[deps.loc[deps["needs"] == "power", "comp"].to_numpy(np.int64)] = True
    measures, problems = lifeline_measures(city, spec.measures, needs_power)
    if problems:
        raise ScenarioError("the scenario's lifeline interventions do not fit the map", problems)
    return [Lifelines(city, measures)]


REGISTRY.add_phase("lifelines", build)
