"""The crews phase: incidents in, dispatch, travel, work through the engine's repair path, return to base.

Each step, at its end time ``t``:

1. crews back at their post become idle (in a run with traffic: the traffic model's reports of the crews'
   vehicles since the last step are taken: arrivals at incidents start the work, arrivals at posts end the
   drive back, strandings end the drive where it stopped, :mod:`twin.crews.driving`);
2. new incidents are taken from the state (damaged components, debris on roads), drawn (medical calls) and
   taken from the desk other phases report to (:class:`~twin.crews.incidents.IncidentDesk`); waiting incidents
   whose cause is gone (a scripted repair) are closed as resolved otherwise;
3. drill commands queued this step are applied (``dispatch`` forces a pair);
   with ``crews.shifts``, jobs at a scene whose team's shift ended are handed over there or suspended
   (:mod:`twin.crews.handover`), teams whose shift ended hand over at their post, or rest, and rested teams come
   back (:mod:`twin.crews.shifts`); only crews on duty within their shift are dispatched;
4. repairs of components moved to the front of the queue (``prioritise_repair``, the power and water desks'
   command) are served first, the most recently moved first, each by the nearest available crew of its kind
   (:func:`~twin.crews.policies.greedy_nearest`); then the dispatch policy assigns the other available crews to
   the other waiting incidents, with response times from Dijkstra over the current network, from the crews'
   positions or back from the incidents, whichever are fewer (:mod:`twin.crews.travel`); an assigned crew leaves
   after its kind's dispatch delay, arrives after the travel time and works for the time on scene
   (:mod:`twin.crews.restoration`); a ``crew_done`` event is queued at the end of the work; a component under
   more than 0.3 m of water waits for the water to go down;
5. idle crews away from their post drive back.

How a crew travels depends on the run. With a traffic phase (a ``traffic`` section, or residents), every drive
is a trip of the traffic model (:mod:`twin.crews.driving`): the path times above, which then include each link's
current queue delay as the traffic model's route choice sees it (:class:`~twin.crews.travel.Roads`), only choose
the crew, and the arrival, slowed by queues and stopped by closures like everyone's, is the traffic model's; the
``crew_done`` event is queued when the arrival is reported (at most one step later, at the arrival's own time).
Without one, a crew arrives after its path time (no congestion). ``assumptions.json`` says which.

The ``crew_done`` event fires in the step that reaches its time, before the phases, so the lifelines phase sees
the repaired component in that same step: the engine's :meth:`~twin.sim.model.CityModel.repair` clears the damage
(as scripted ``repair_component`` events do) and a cleared road reopens (``link_closed_debris``, which the
landslide phase and road crews share: DESIGN.md's contract). Decisions are taken at step ends: an incident
created within a step waits until its end (at most one step).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from twin.atomic import write_json_atomic, write_parquet_atomic
from twin.city.build import City
from twin.crews import incidents as inc
from twin.crews.agents import ASSIGNED, CREW_FIELDS, IDLE, RETURNING, Crew, Roster
from twin.crews.bases import Base, depot_bases, station_bases
from twin.crews.criticality import restoration_classes
from twin.crews.driving import CrewTrips
from twin.crews.handover import at_shift_end
from twin.crews.outputs import crews_table, incidents_table
from twin.crews.policies import (
    DispatchPolicy,
    DispatchView,
    check_pairs,
    greedy_nearest,
    make_policy,
)
from twin.crews.restoration import MEDICAL_SOURCE, clearance_s, draw_truncated_normal, restoration_s
from twin.crews.shifts import Shifts, finish_table, shift_table
from twin.crews.travel import EMERGENCY_SPEED_FACTOR, RoadGraph, Roads, class_factor
from twin.crews.water import WaterLimits, WaterTeams
from twin.errors import ScenarioError
from twin.hazards.gridindex import point_cells
from twin.metrics.response import response_metrics
from twin.registry import REGISTRY, EventKindInfo
from twin.results import to_jsonable
from twin.scenario import Scenario
from twin.scenario.crews import CREW_KINDS, CrewsSpec
from twin.sim.events import Event
from twin.sim.phase import Phase, StepContext
from twin.sim.targets import describe_component, describe_link

if TYPE_CHECKING:
    from twin.sim.model import CityModel
    from twin.traffic.service import TrafficService

INCIDENTS_PARQUET = "incidents.parquet"
CREWS_PARQUET = "crews.parquet"
CREWS_METRICS = "crews_metrics.json"
DEFAULT_DELAY_S = {"fire": 140.0, "ems": 120.0, "police": 120.0, "power": 1800.0, "water": 1800.0}
"""Dispatch delay per crew kind (s): call processing 60 s plus turnout, 80 s for fire and 60 s for EMS and police
(NFPA 1710, 2020: alarm handling and turnout time objectives); 30 min for utility and road crews (assumed)."""
DEFAULT_STANDARDS_S = {"rescue": 240.0, "medical": 480.0}
"""Travel-time standards (s): NFPA 1710 (2020), 240 s for the first engine, 480 s for an ALS unit."""
UTILITY_DELAY_S = 1800.0
UNDER_WATER_M = 0.3
"""A component under more water than this waits for it to go down before a crew works it (the depth at which the
flood phase damages components by default: working it sooner would only see it damaged again)."""


class CrewsPhase(Phase):
    """Emergency and repair crews (see the module docstring).

    Parameters
    ----------
    city
        The City.
    spec
        The scenario's ``crews`` section.
    bases
        Stations and depots, each with its crew count.
    notes
        Assumptions made while placing the bases.
    source
        Where the section was written, for messages.
    """

    name = "crews"
    order = "crews"

    def __init__(self, city: City, spec: CrewsSpec, bases: list[Base], notes: list[str], source: str) -> None:
        self.city, self.spec, self.bases, self.notes, self.source = city, spec, bases, notes, source
        self.graph = RoadGraph.from_links(city.drive.n_nodes, city.drive.links)
        links = city.drive.links
        self.segment = inc.segment_keys(links["src"].to_numpy(), links["dst"].to_numpy(), city.drive.n_nodes)
        facilities = city.facilities
        self.comp_group = facilities["group"].to_numpy().astype(str)
        self.comp_kind = facilities["kind"].to_numpy().astype(str)
        self.comp_node = facilities["drive_node"].to_numpy().astype(np.int64)
        overrides = {kind: (t.mean_s, t.sd_s) for kind, t in spec.repair.items()}
        times = [restoration_s(kind, spec.damage_state, overrides) for kind in self.comp_kind]
        self.comp_mean_s = np.array([t[0] for t in times])
        self.comp_sd_s = np.array([t[1] for t in times])
        self.comp_class, self.comp_customers = restoration_classes(city)
        shape = city.terrain.elevation_m.shape
        self.comp_cell = point_cells(
            city.terrain.transform, shape, facilities["x"].to_numpy(), facilities["y"].to_numpy()
        )
        self.home_node = city.homes["drive_node"].to_numpy().astype(np.int64)
        population = city.homes["population"].to_numpy(np.float64)
        self.population = float(population.sum())
        self.home_weight = population / self.population if self.population > 0 else population
        self.delay_s: dict[str, float] = {**DEFAULT_DELAY_S, "telecom": UTILITY_DELAY_S, "road": UTILITY_DELAY_S}
        self.delay_s.update({str(k): v for k, v in spec.dispatch_delay_s.items()})
        self.standards_s = {**DEFAULT_STANDARDS_S, **spec.standards_s}
        self.roster = Roster()
        self.crews: list[Crew] = []
        teams = spec.flood_rescue.teams_per_station
        for base in bases:
            for i in range(base.crews):
                boat = base.kind == "fire" and i < teams
                self.crews.append(Crew(self.roster, len(self.crews), base.kind, base.name, base.node, boat))
        self.water = WaterTeams(city, WaterLimits.of(spec.flood_rescue))
        table = shift_table(spec)
        keys = [(crew.kind, crew.home) for crew in self.crews]  # a base: kind and node (names may repeat)
        kinds = [c.kind for c in self.crews]
        self.shifts = None if table is None else Shifts(kinds, keys, table, finish_table(spec))
        """The crews' shifts (``crews.shifts``); None: units staffed round the clock, as without shifts."""
        self.incidents = inc.Incidents()
        self.desk = inc.IncidentDesk(city.drive.n_nodes)
        self.policy: DispatchPolicy = make_policy(spec.policy)
        self.commands: list[Event] = []
        self.first = np.zeros(len(facilities), dtype=np.int64)
        """Per component: 0, or the rank of the ``prioritise_repair`` that moved it to the front (higher: later)."""
        self.first_rank = 0
        self.repairs_done = 0
        self.links_cleared = 0
        self.end_s = 0.0
        self._ends = np.zeros((0, 0), dtype=np.int64)
        self._by_water = np.zeros((0, 0), dtype=bool)
        self.trips = CrewTrips()
        self.hospital_rows = np.flatnonzero(self.comp_kind == "hospital")
        self.carry: list[tuple[int, float]] = []
        """Medical incidents whose time on scene ended this step, and when: their patients go to hospital (decided
        in the step the ``crew_done`` event fired in, so never held across a checkpoint)."""
        self.by_traffic = False
        self.service: TrafficService | None = None
        """Whether the crews drove in the traffic model (a traffic phase in the run) or by path times."""

    def services(self) -> dict[str, Any]:
        """``ctx.services["crews"]``: the desk other phases report incidents to."""
        return {"crews": self.desk}

    # --- one step ------------------------------------------------------------------------------------------

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """See the module docstring."""
        now = ctx.clock_s + dt_s
        self.end_s = now
        traffic = self._traffic(ctx)
        if traffic is not None:
            self._driven(ctx, traffic)
        # Drives back by path time: every return without traffic, and flood rescue teams' through water with it
        # (a return the traffic model drives has no back time until it arrives).
        for crew in self.roster.agents.select(lambda c: c.status == RETURNING and c.back_s <= now + 1e-9):
            crew.back_at_post()
        self._new_incidents(ctx, now, dt_s)
        self._carry(ctx, traffic)
        commands, self.commands = self.commands, []
        for command in commands:  # recalls, and the crews and incidents a forced dispatch takes
            self._release_for(command, now, traffic)
        if self.shifts is not None:
            self._shift_end(ctx, now, traffic)
            self.shifts.change(now, self.crews, ctx.log)
        self._decide(ctx, now, [c for c in commands if c.kind == "dispatch"], traffic)
        if traffic is not None:
            for crew_id, vehicle in self.trips.flush(traffic).items():
                self.crews[crew_id].vehicle = vehicle

    def _shift_end(self, ctx: StepContext, now: float, traffic: TrafficService | None) -> None:
        """Jobs whose team's shift ended: relieved at the scene, suspended or finished (:mod:`twin.crews.handover`)."""
        assert self.shifts is not None
        factors = np.array([class_factor(crew.kind) for crew in self.crews])

        def travel(origins: np.ndarray, targets: np.ndarray, factor: np.ndarray) -> np.ndarray:
            net = self._roads(ctx, traffic)  # only in a step where a job is handed over
            return np.diagonal(net.pair_times(origins, targets, factor)).copy()

        debris = (ctx.state, self.segment)
        at_shift_end(now, self.crews, self.incidents, self.shifts, travel, factors, debris, ctx.log)

    def _traffic(self, ctx: StepContext) -> TrafficService | None:
        """The traffic service crews drive in, or None (no traffic phase: travel times from shortest paths)."""
        service = ctx.services.get("traffic")
        self.by_traffic = service is not None
        self.service = cast("TrafficService | None", service)
        return self.service

    def _roads(self, ctx: StepContext, traffic: TrafficService | None) -> Roads:
        """The network now, for one decision round: hazards' speed factors and closures from the state and, in a
        run with traffic, each link's current queue delay from the traffic model (its route choice's link times,
        :meth:`~twin.traffic.service.TrafficService.link_times_s`), so a crew behind a jam is not taken for near."""
        state = ctx.state
        congested = None if traffic is None else traffic.link_times_s()
        return Roads(self.graph, state.link_speed_factor, state.link_closed(), congested)

    def _decide(self, ctx: StepContext, now: float, forced: list[Event], traffic: TrafficService | None) -> None:
        """Forced dispatches, the policy's dispatch, and idle crews away from their post sent back."""
        available = self._available()
        table = self.incidents
        needed = {inc.SERVED_BY[inc.KINDS[k]] for k in np.unique(table.kind[table.status == inc.OPEN]).tolist()}
        moving = [crew for crew in available if crew.kind in needed] + [c for c in self._idle() if c.node != c.post]
        moving += self._forced(forced)
        if not moving:
            return  # nobody to route: skip the Dijkstra
        net = self._roads(ctx, traffic)
        for command in forced:
            self._force(ctx, command, now, net, traffic)
        self._dispatch(ctx, now, net, traffic)
        away = [crew for crew in self._idle() if crew.node != crew.post]
        if away:
            factors = np.array([class_factor(c.kind) for c in away])
            origins = np.array([c.node for c in away])
            posts = np.array([c.post for c in away])
            travel = np.diagonal(net.pair_times(origins, posts, factors)).copy()
            boats = self._boats(away)
            travel, by_water = self.water.faster(ctx.state, net, boats, origins, travel, posts, diagonal=True)
            for crew, time_s, wet in zip(away, travel.tolist(), by_water.tolist(), strict=True):
                if not np.isfinite(time_s):
                    continue  # no open way back now: it waits where it is
                if traffic is None or wet:
                    crew.start_return(now, time_s)
                else:
                    crew.start_return(now, math.nan)  # back when the traffic model says so
                    self.trips.drive(crew.crew_id, crew.kind, crew.node, crew.post, now)

    # --- driving in the traffic model --------------------------------------------------------------------------

    def _driven(self, ctx: StepContext, traffic: TrafficService) -> None:
        """Take what the traffic model did with the crews' vehicles since the last step: a crew that reached its
        incident starts work there (its ``crew_done`` queued at arrival + time on scene); one that reached its post
        is back; one stranded by a closure gives up the trip where it stopped (its vehicle parked there) and is
        free again, the incident waiting for whichever crew can reach it."""
        driving = {crew.crew_id: crew.vehicle for crew in self.crews if crew.vehicle >= 0}
        out = CrewTrips.take(traffic, driving)
        for crew_id, t_s in zip(out.arrived_crew, out.arrived_s, strict=True):
            crew = self.crews[int(crew_id)]
            crew.vehicle = -1
            if crew.status == ASSIGNED:
                self._on_scene(ctx, crew, float(t_s))
            elif crew.status == RETURNING:
                crew.back_s = float(t_s)
                crew.back_at_post()
        parked = []
        for crew_id, t_s, node in zip(out.stranded_crew, out.stranded_s, out.stranded_node, strict=True):
            crew = self.crews[int(crew_id)]
            parked.append((crew.vehicle, int(node)))
            crew.vehicle = -1
            if crew.status == ASSIGNED:
                ctx.log(float(t_s), "crew_stranded", f"crew {crew.crew_id}", "crews", {"incident": crew.incident})
                self._reopen(crew.incident)
            crew.stop_at(int(node), float(t_s))
        if parked:  # off the road where they stopped, so the traffic model does not drive them on
            vehicles, nodes = zip(*parked, strict=True)
            traffic.redirect(np.array(vehicles, dtype=np.int64), np.array(nodes, dtype=np.int64))

    def _on_scene(self, ctx: StepContext, crew: Crew, t_s: float) -> None:
        """``crew`` reached its incident at ``t_s`` (the traffic model's time): it works there, done at
        ``t_s + work``; or it reached the hospital it carries the patient to, and hands the patient over."""
        table, incident = self.incidents, crew.incident
        if table.hospital[incident] >= 0:
            table.at_hospital_s[incident] = t_s
            self._schedule_done(ctx, crew, incident, t_s + self.spec.medical.at_hospital_s)
            return
        done = t_s + float(table.work_s[incident])
        crew.arrive_s, crew.done_s = t_s, done
        table.arrived_s[incident], table.travel_s[incident] = t_s, t_s - crew.depart_s
        self._schedule_done(ctx, crew, incident, done)

    def vehicle_points(self) -> dict[int, tuple[float, float]]:
        """Where the crews driving in the traffic model are now, by crew id: ``(x, y)`` in the City's CRS, on
        the straight line between the ends of the link they are on by the share of it driven (the traffic model's
        :meth:`~twin.traffic.service.TrafficService.vehicle_positions`), or at the node they wait at. Empty
        without traffic, or before the first step after a restore."""
        driving = {crew.crew_id: crew.vehicle for crew in self.crews if crew.vehicle >= 0}
        if self.service is None or not driving:
            return {}
        where = self.service.vehicle_positions(np.array(list(driving.values()), dtype=np.int64))
        nodes = self.city.drive.nodes
        xs, ys = nodes["x"].to_numpy(np.float64), nodes["y"].to_numpy(np.float64)
        link = where["link"].to_numpy()
        on = link >= 0
        safe = np.where(on, link, 0)
        share = np.where(on, where["offset_m"].to_numpy() / self.graph.length_m[safe], 0.0)
        start = np.where(on, self.graph.src[safe], where["node"].to_numpy())
        end = np.where(on, self.graph.dst[safe], start)
        x = xs[start] + share * (xs[end] - xs[start])
        y = ys[start] + share * (ys[end] - ys[start])
        return {crew: (float(x[i]), float(y[i])) for i, crew in enumerate(driving)}

    # --- transport to hospital ---------------------------------------------------------------------------------

    def _carry(self, ctx: StepContext, traffic: TrafficService | None) -> None:
        """The EMS crews whose time on scene ended carry their patients to the nearest working hospital (by
        shortest path time now, from the scene; one search back from the hospitals for all): they leave the scene
        when the work ended, and hand the patient over ``medical.at_hospital`` after arriving. With no working
        hospital within reach, the patient is treated on scene and the incident done there."""
        carry, self.carry = self.carry, []
        table = self.incidents
        carry = [(i, t) for i, t in carry if table.crew[i] >= 0 and self.crews[int(table.crew[i])].incident == i]
        if not carry:
            return
        state = ctx.state
        rows = self.hospital_rows
        working = rows[state.comp_up[rows] & ~state.comp_damaged[rows]]
        net = self._roads(ctx, traffic)
        scenes = np.array([table.node[i] for i, _ in carry], dtype=np.int64)
        factors = np.array([class_factor(self.crews[int(table.crew[i])].kind) for i, _ in carry])
        times = net.pair_times(scenes, self.comp_node[working], factors)
        for (incident, t_s), row in zip(carry, times, strict=True):
            crew = self.crews[int(table.crew[incident])]
            if not len(row) or not np.isfinite(row.min()):
                ctx.log(t_s, "treated_on_scene", f"crew {crew.crew_id}", "crews", {"incident": incident})
                self._complete(crew, incident, t_s)
                continue
            hospital = int(working[int(np.argmin(row))])
            table.hospital[incident] = hospital
            if traffic is None:
                arrive = t_s + float(row.min())
                table.at_hospital_s[incident] = arrive
                self._schedule_done(ctx, crew, incident, arrive + self.spec.medical.at_hospital_s)
            else:
                self.trips.drive(crew.crew_id, crew.kind, int(table.node[incident]), int(self.comp_node[hospital]), t_s)

    def _reopen(self, incident: int) -> None:
        """An assigned incident waits for a crew again."""
        table = self.incidents
        table.status[incident], table.crew[incident] = inc.OPEN, -1
        table.assigned_s[incident] = table.arrived_s[incident] = table.travel_s[incident] = math.nan
        table.hospital[incident], table.at_hospital_s[incident] = -1, math.nan
        table.by_water[incident] = False

    def _idle(self) -> list[Crew]:
        """Idle crews on duty (with shifts: a team past its shift's end too, as it drives back to hand over)."""
        idle = sorted(self.roster.agents.select(lambda c: c.status == IDLE), key=lambda c: c.crew_id)
        return idle if self.shifts is None else [c for c in idle if self.shifts.on[c.crew_id]]

    def _available(self) -> list[Crew]:
        """Idle crews that may take a job (with shifts: on duty, their shift not over)."""
        idle = self._idle()
        if self.shifts is None:
            return idle
        ready = self.shifts.ready(self.end_s)
        return [c for c in idle if ready[c.crew_id]]

    def _forced(self, commands: list[Event]) -> list[Crew]:
        return [self.crews[int(c.params["crew"])] for c in commands if c.kind == "dispatch"]

    # --- incidents -----------------------------------------------------------------------------------------

    def _new_incidents(self, ctx: StepContext, now: float, dt_s: float) -> None:
        state, table = ctx.state, self.incidents
        self._close_resolved(state, now)
        waiting = table.status <= inc.ASSIGNED
        is_comp = np.isin(table.kind, [inc.KINDS.index(k) for k in inc.COMPONENT_KINDS])
        covered = np.zeros(len(state.comp_damaged), dtype=bool)
        covered[table.target[waiting & is_comp]] = True
        for kind in inc.COMPONENT_KINDS:
            rows = np.flatnonzero(state.comp_damaged & ~covered & (self.comp_group == kind))
            if len(rows):
                work = draw_truncated_normal(ctx.rng, self.comp_mean_s[rows], self.comp_sd_s[rows])
                table.add(kind, self.comp_node[rows], now, target=rows, work_s=work)
        self._new_debris(state, now)
        self._new_medical(ctx, now, dt_s)
        for report in self.desk.take():
            table.add(
                report.kind,
                report.nodes,
                report.t_s,
                work_s=report.work_s,
                priority=report.priority,
                ref=report.refs,
                people=report.people,
                deadline_s=report.deadline_s,
            )
        for told in self.desk.take_deadlines():  # the first time a reported place turned life-threatening counts
            ids = table.of_refs(told.kind, told.refs)
            table.deadline_s[ids] = np.fmin(table.deadline_s[ids], told.t_s[0])
        for told in self.desk.take_withdrawn():  # nobody there needs a crew now: close those still waiting
            ids = table.of_refs(told.kind, told.refs)
            ids = ids[table.status[ids] == inc.OPEN]
            table.status[ids], table.done_s[ids] = inc.RESOLVED, told.t_s[0]

    def _close_resolved(self, state: Any, now: float) -> None:
        """Waiting incidents whose cause is gone (repaired by an event, debris gone) close as resolved otherwise."""
        table = self.incidents
        waiting = np.flatnonzero(table.status == inc.OPEN)
        kinds = table.kind[waiting]
        targets = table.target[waiting]
        comp = np.isin(kinds, [inc.KINDS.index(k) for k in inc.COMPONENT_KINDS])
        gone = np.zeros(len(waiting), dtype=bool)
        gone[comp] = ~state.comp_damaged[targets[comp]]
        debris = kinds == inc.KINDS.index("debris")
        gone[debris] = ~state.link_closed_debris[targets[debris]]
        table.status[waiting[gone]] = inc.RESOLVED
        table.done_s[waiting[gone]] = now

    def _new_debris(self, state: Any, now: float) -> None:
        """One clearing incident per blocked road segment without one (at its first blocked link's start)."""
        table = self.incidents
        blocked = np.flatnonzero(state.link_closed_debris)
        if not len(blocked):
            return
        open_debris = table.open_of("debris")
        known = self.segment[table.target[open_debris]]
        fresh = blocked[~np.isin(self.segment[blocked], known)]
        _, first = np.unique(self.segment[fresh], return_index=True)
        links = fresh[np.sort(first)]
        if len(links):
            table.add("debris", self.graph.src[links], now, target=links, node2=self.graph.dst[links])

    def _new_medical(self, ctx: StepContext, now: float, dt_s: float) -> None:
        medical = self.spec.medical
        if medical.rate_per_1000_day <= 0 or self.population <= 0:
            return
        lifelines = ctx.services.get("service_levels")
        q_power = lifelines().get("Q_power", 1.0) if lifelines is not None else 1.0
        affected = min(max(1.0 - float(q_power), 0.0), 1.0) if np.isfinite(q_power) else 0.0
        rate = inc.medical_rate_per_s(medical.rate_per_1000_day, self.population, medical.surge, affected)
        count = int(ctx.rng.poisson(rate * dt_s))
        if not count:
            return
        homes = ctx.rng.choice(len(self.home_node), size=count, p=self.home_weight)
        work = draw_truncated_normal(ctx.rng, np.full(count, medical.on_scene_s), np.full(count, medical.on_scene_sd_s))
        self.incidents.add("medical", self.home_node[homes], now, work_s=work)

    # --- dispatch ------------------------------------------------------------------------------------------

    def _dispatch(self, ctx: StepContext, now: float, net: Roads, traffic: TrafficService | None) -> None:
        table = self.incidents
        waiting = np.flatnonzero(table.status == inc.OPEN)
        needed = {inc.SERVED_BY[inc.KINDS[k]] for k in np.unique(table.kind[waiting]).tolist()}
        available = [crew for crew in self._available() if crew.kind in needed]
        if not len(waiting) or not available:
            return
        view = self._view(ctx, now, available, waiting, net, self._under_water(ctx, waiting))
        pairs = self._front_pairs(view, waiting)
        crews_left = np.setdiff1d(np.arange(len(available)), [c for c, _ in pairs])
        incidents_left = np.flatnonzero(self._front_rank(waiting) == 0)
        rest = _sub_view(view, crews_left, incidents_left)
        chosen = self.policy.assign(rest)
        problems = check_pairs(rest, chosen)
        if problems:
            raise RuntimeError(f"dispatch policy {self.policy.name!r} answered wrongly: {'; '.join(problems)}")
        pairs += [(int(crews_left[c]), int(incidents_left[i])) for c, i in chosen]
        for crew_pos, incident_pos in pairs:
            crew, incident = available[crew_pos], int(waiting[incident_pos])
            end = int(self._ends[crew_pos, incident_pos])
            wet = bool(self._by_water[crew_pos, incident_pos])
            self._assign(ctx, crew, incident, now, float(view.response_s[crew_pos, incident_pos]), end, traffic, wet)

    def _front_rank(self, incidents: np.ndarray) -> np.ndarray:
        """Per incident: the rank of the ``prioritise_repair`` that moved its component to the front (0: none)."""
        table = self.incidents
        is_comp = np.isin(table.kind[incidents], [inc.KINDS.index(k) for k in inc.COMPONENT_KINDS])
        return np.where(is_comp, self.first[np.where(is_comp, table.target[incidents], 0)], 0)

    def _front_pairs(self, view: DispatchView, waiting: np.ndarray) -> list[tuple[int, int]]:
        """The front of the queue: repairs moved there, the latest moved first (then by incident id), each to
        the nearest available crew that can reach it; whatever policy is in force."""
        rank = self._front_rank(waiting)
        front = np.flatnonzero(rank > 0)
        if not len(front):
            return []
        order = front[np.lexsort((waiting[front], -rank[front]))]
        return greedy_nearest(view, order)

    def _under_water(self, ctx: StepContext, incidents: np.ndarray) -> np.ndarray:
        """Which of ``incidents`` are repairs of a component under more than :data:`UNDER_WATER_M` of water now."""
        table = self.incidents
        is_comp = np.isin(table.kind[incidents], [inc.KINDS.index(k) for k in inc.COMPONENT_KINDS])
        cell = self.comp_cell[np.where(is_comp, table.target[incidents], 0)]
        depth = ctx.state.water_depth_m.ravel()[np.maximum(cell, 0)]
        return np.asarray(is_comp & (cell >= 0) & (depth > UNDER_WATER_M))

    def _view(
        self,
        ctx: StepContext,
        now: float,
        crews: list[Crew],
        waiting: np.ndarray,
        net: Roads,
        blocked: np.ndarray,
    ) -> DispatchView:
        table = self.incidents
        crew_kind = np.array([crew.kind for crew in crews])
        incident_kind = np.array(inc.KINDS)[table.kind[waiting]]
        served_by = np.array([inc.SERVED_BY[k] for k in incident_kind])
        factor = np.array([class_factor(crew.kind) for crew in crews])
        delay = np.array([self.delay_s[crew.kind] for crew in crews])
        travel, self._ends, self._by_water = self._travel(ctx, net, crews, waiting, factor)
        can = (crew_kind[:, None] == served_by[None, :]) & ~blocked[None, :]
        response = np.where(can, delay[:, None] + travel, np.inf)
        target = table.target[waiting]
        is_comp = np.isin(incident_kind, inc.COMPONENT_KINDS)
        component = np.where(is_comp, target, 0)
        criticality = np.where(is_comp, self.comp_class[component], 0)
        return DispatchView(
            now_s=now,
            crew_id=np.array([crew.crew_id for crew in crews]),
            crew_kind=crew_kind,
            incident_id=waiting,
            incident_kind=incident_kind,
            priority=table.priority[waiting],
            created_s=table.created_s[waiting],
            criticality=criticality,
            work_s=np.nan_to_num(table.work_s[waiting], nan=0.0),
            response_s=response,
            customers=np.where(is_comp, self.comp_customers[component], 0.0),
        )

    def _travel(
        self, ctx: StepContext, net: Roads, crews: list[Crew], incidents: np.ndarray, factor: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Travel times ``(crews, incidents)`` from the crews' nodes (of class speed ``factor``, over the current
        link times, :class:`~twin.crews.travel.Roads`) to each incident, the node each reaches (debris: the nearer
        end of the road) and whether a flood rescue team goes by water there (:mod:`twin.crews.water`: where that
        is faster than the road, or the road is closed)."""
        table = self.incidents
        origins = np.array([crew.node for crew in crews], dtype=np.int64)
        node, node2 = table.node[incidents], table.node2[incidents]
        two = node2 >= 0
        times = net.pair_times(origins, np.concatenate([node, node2[two]]), factor)
        travel = times[:, : len(node)]
        ends = np.broadcast_to(node, travel.shape).copy()
        if two.any():
            other = np.full(travel.shape, np.inf)
            other[:, two] = times[:, len(node) :]
            nearer = other < travel
            travel = np.where(nearer, other, travel)
            ends[nearer] = np.broadcast_to(node2, travel.shape)[nearer]
        travel, by_water = self.water.faster(ctx.state, net, self._boats(crews), origins, travel, node)
        ends[by_water] = np.broadcast_to(node, travel.shape)[by_water]
        return travel, ends, by_water

    def _boats(self, crews: list[Crew]) -> np.ndarray:
        """Which of ``crews`` may go by water: flood rescue teams not driving in the traffic model now."""
        return np.array([crew.boat and crew.vehicle < 0 for crew in crews], dtype=bool)

    def _assign(
        self,
        ctx: StepContext,
        crew: Crew,
        incident: int,
        now: float,
        response_s: float,
        end: int,
        traffic: TrafficService | None,
        by_water: bool = False,
    ) -> None:
        """Send ``crew`` to ``incident`` at node ``end`` now. Without traffic, or through water (a flood rescue
        team, ``by_water``), it arrives after ``response_s`` (dispatch delay + path time) and its completion is
        queued now; otherwise it drives there as a trip of the traffic model (already on the road: redirected at
        once; else leaving after its dispatch delay) and the completion is queued when the traffic model reports
        the arrival."""
        table = self.incidents
        table.node[incident] = end
        table.by_water[incident] = by_water
        delay = self.delay_s[crew.kind]
        if table.kind[incident] == inc.KINDS.index("debris"):
            table.work_s[incident] = float(self._debris_work_s(ctx, int(table.target[incident])))
        table.status[incident], table.crew[incident], table.assigned_s[incident] = inc.ASSIGNED, crew.crew_id, now
        if traffic is not None and not by_water:
            rolling = crew.vehicle >= 0
            crew.dispatch(incident, now, now if rolling else now + delay, math.nan, math.nan)
            table.arrived_s[incident] = table.travel_s[incident] = math.nan
            if rolling:
                traffic.redirect(np.array([crew.vehicle]), np.array([end]))
            else:
                self.trips.drive(crew.crew_id, crew.kind, crew.node, end, now + delay)
            return
        arrive = now + response_s
        done = arrive + float(table.work_s[incident])
        crew.dispatch(incident, now, now + delay, arrive, done)
        table.arrived_s[incident], table.travel_s[incident] = arrive, response_s - delay
        self._schedule_done(ctx, crew, incident, done)

    def _schedule_done(self, ctx: StepContext, crew: Crew, incident: int, done_s: float) -> None:
        """Queue the ``crew_done`` event of ``crew``'s current job at ``done_s`` (it fires in the first step that
        reaches that time; a time already past fires in the next step, at its own time)."""
        ctx.schedule(
            Event(
                t_s=done_s,
                kind="crew_done",
                params={"crew": crew.crew_id, "incident": incident, "job": crew.job},
                cause="crews",
                source=f"crew {crew.crew_id}",
            )
        )

    def _debris_work_s(self, ctx: StepContext, link: int) -> float:
        links = np.flatnonzero(self.segment == self.segment[link])
        volume = float(ctx.state.link_debris_m3[links].max())
        return float(clearance_s(max(volume, 1.0), self.spec.debris_m3_per_h))

    # --- commands (drill) and completion (engine handlers) ---------------------------------------------------

    def command(self, model: CityModel, event: Event) -> None:
        """Apply a drill command now (``set_policy``, ``stage``, ``recall``) or at this step's dispatch."""
        problem = self._check_command(event)
        if problem:
            model.log(event.t_s, event.kind, "", event.cause, {"refused": problem, "source": event.source})
            return
        params = event.params
        if event.kind == "prioritise_repair":
            self.first_rank += 1
            self.first[model.components_of(event)] = self.first_rank
        elif event.kind == "set_policy":
            self.policy = make_policy(str(params["policy"]))
        elif event.kind == "stage":
            self.crews[int(params["crew"])].post = int(params["node"])
        elif event.kind == "recall" and model.services.get("traffic") is None:
            self._recall(self.crews[int(params["crew"])], event.t_s, None)
        else:  # a dispatch, or a recall of a crew driving in traffic: at this step's end, once its reports are in
            self.commands.append(event)
        target = describe_targets(model, event) if event.kind == "prioritise_repair" else _describe(params)
        model.log(event.t_s, event.kind, target, event.cause, {"source": event.source})

    def _check_command(self, event: Event) -> str | None:
        params = event.params
        if event.kind == "prioritise_repair":
            return None  # its target was resolved on the map when the engine scheduled it
        if event.kind == "set_policy":
            names = REGISTRY.dispatch_policies()
            policy = params.get("policy")
            return None if policy in names else f"policy must be one of {', '.join(sorted(names))}, got {policy!r}"
        crew = params.get("crew")
        if not isinstance(crew, int) or not 0 <= crew < len(self.crews):
            return f"crew must be a crew id from 0 to {len(self.crews) - 1}, got {crew!r}"
        if event.kind == "stage":
            node = params.get("node")
            if not isinstance(node, int) or not 0 <= node < self.graph.n_nodes:
                return f"node must be a drivable node id from 0 to {self.graph.n_nodes - 1}, got {node!r}"
        if event.kind == "dispatch" and self.shifts is not None and not self.shifts.on[crew]:
            return f"crew {crew} is off duty (resting) until {self.shifts.due_s[crew] / 3600:g} h into the run"
        if event.kind == "dispatch":
            incident = params.get("incident")
            if not isinstance(incident, int) or not 0 <= incident < len(self.incidents):
                return f"incident must be an incident id from 0 to {len(self.incidents) - 1}, got {incident!r}"
            if self.incidents.status[incident] > inc.ASSIGNED:
                return f"incident {incident} is already {inc.STATUS_NAMES[self.incidents.status[incident]]}"
            kind = inc.KINDS[self.incidents.kind[incident]]
            if inc.SERVED_BY[kind] != self.crews[crew].kind:
                needs = inc.SERVED_BY[kind]
                return f"crew {crew} is a {self.crews[crew].kind} crew; a {kind} incident needs a {needs} crew"
        return None

    def _recall(self, crew: Crew, now: float, traffic: TrafficService | None) -> None:
        """Take the crew off its job (the incident waits again) and send it back to its home base; in traffic, a
        crew still on the road turns for home at once (its vehicle redirected)."""
        driving = traffic is not None and crew.vehicle >= 0
        if crew.status == ASSIGNED:
            incident = crew.incident
            self._reopen(incident)
            if driving:
                crew.turn_home()
            else:
                crew.recall(now, int(self.incidents.node[incident]))
        else:
            crew.post = crew.home
        if driving and traffic is not None:
            traffic.redirect(np.array([crew.vehicle]), np.array([crew.home]))

    def _release_for(self, command: Event, now: float, traffic: TrafficService | None) -> None:
        """A recall; or before a forced dispatch: recall the crew from its job and whoever has the incident."""
        crew = self.crews[int(command.params["crew"])]
        if command.kind == "recall":
            self._recall(crew, now, traffic)
            return
        incident = int(command.params["incident"])
        if self.incidents.status[incident] == inc.ASSIGNED:
            self._recall(self.crews[int(self.incidents.crew[incident])], now, traffic)
        if crew.status == ASSIGNED:
            self._recall(crew, now, traffic)

    def _force(self, ctx: StepContext, command: Event, now: float, net: Roads, traffic: TrafficService | None) -> None:
        crew = self.crews[int(command.params["crew"])]
        incident = int(command.params["incident"])
        factor = np.array([class_factor(crew.kind)])
        travel, ends, by_water = self._travel(ctx, net, [crew], np.array([incident]), factor)
        if not np.isfinite(travel[0, 0]):
            ctx.log(now, "dispatch", f"crew {crew.crew_id}", command.cause, {"refused": "no open road to the incident"})
            return
        crew.status = IDLE
        response = self.delay_s[crew.kind] + float(travel[0, 0])
        self._assign(ctx, crew, incident, now, response, int(ends[0, 0]), traffic, bool(by_water[0, 0]))

    def finish(self, model: CityModel, event: Event) -> None:
        """A crew's work ends (the ``crew_done`` event): repair or clear through the engine, tell the desk when the
        incident was reported with a number (the residents then bring the people out), free the crew."""
        crew = self.crews[int(event.params["crew"])]
        incident = int(event.params["incident"])
        if crew.incident != incident or crew.job != int(event.params["job"]):
            return  # recalled or reassigned since: this completion is void
        table = self.incidents
        kind = inc.KINDS[table.kind[incident]]
        if kind == "medical" and self.spec.medical.transport and table.hospital[incident] < 0:
            crew.node = int(table.node[incident])
            self.carry.append((incident, event.t_s))  # on scene done: the patient is carried in this step
            return
        target = int(table.target[incident])
        details: dict[str, Any] = {"crew": crew.crew_id, "incident": incident, "source": event.source}
        if kind in inc.COMPONENT_KINDS and model.state.comp_damaged[target]:
            details["cause"] = str(model.state.comp_cause[target])
            model.repair(np.array([target]))
            self.repairs_done += 1
            self.first[target] = 0  # back at the policy's place in the queue if it is damaged again
            model.log(event.t_s, "repair_component", describe_component(model.city, target), "crews", details)
        elif kind == "debris":
            self._clear(model, target, event.t_s, details)
        self._complete(crew, incident, event.t_s)

    def _complete(self, crew: Crew, incident: int, t_s: float) -> None:
        """The incident is done at ``t_s``: the reporter hears back, the crew is free where it is (the scene, or
        the hospital it carried the patient to)."""
        table = self.incidents
        table.status[incident], table.done_s[incident] = inc.DONE, t_s
        if table.ref[incident] >= 0:  # the reporter hears back (the residents: the people there are rescued)
            self.desk.finished(inc.KINDS[table.kind[incident]], int(table.ref[incident]), t_s)
        hospital = int(table.hospital[incident])
        crew.finish(int(self.comp_node[hospital] if hospital >= 0 else table.node[incident]), t_s)

    def _clear(self, model: CityModel, link: int, t_s: float, details: dict[str, Any]) -> None:
        """Clear the debris of a road segment (both directions) and reopen its links."""
        state = model.state
        links = np.flatnonzero((self.segment == self.segment[link]) & state.link_closed_debris)
        state.link_closed_debris[links] = False
        state.link_debris_m3[links] = 0.0
        model.recorder.network_changed()
        self.links_cleared += len(links)
        for each in links.tolist():
            model.log(t_s, "open_link", describe_link(model.city, each), "crews", {**details, "link": each})

    # --- record, checkpoint, outputs ---------------------------------------------------------------------------

    def series(self) -> dict[str, float]:
        """``incidents_open`` (waiting or being worked) in all and by kind, ``crews_busy`` by crew kind,
        ``repairs_done`` and ``links_cleared`` so far."""
        table = self.incidents
        waiting = table.status <= inc.ASSIGNED
        counts = np.bincount(table.kind[waiting], minlength=len(inc.KINDS))
        row: dict[str, float] = {"incidents_open": float(waiting.sum())}
        row.update({f"incidents_open_{kind}": float(counts[i]) for i, kind in enumerate(inc.KINDS)})
        busy = {kind: 0 for kind in CREW_KINDS}
        for crew in self.roster.agents.select(lambda c: c.status != IDLE):
            busy[crew.kind] += 1
        row["crews_busy"] = float(sum(busy.values()))
        row.update({f"crews_busy_{kind}": float(n) for kind, n in busy.items()})
        row["repairs_done"] = float(self.repairs_done)
        row["links_cleared"] = float(self.links_cleared)
        return row if self.shifts is None else {**row, **self.shifts.series()}

    def arrays(self) -> dict[str, np.ndarray]:
        """Incidents, crews, counters and the policy's name."""
        out = {f"incident_{k}": v for k, v in self.incidents.arrays().items()}
        out["crew_state"] = np.array([crew.values() for crew in self.crews], dtype=np.float64).reshape(
            -1, len(CREW_FIELDS)
        )
        out["counters"] = np.array([self.repairs_done, self.links_cleared], dtype=np.int64)
        out["policy"] = np.array([self.policy.name])
        out["repair_first"] = self.first
        out["repair_first_rank"] = np.array([self.first_rank], dtype=np.int64)
        out["end_s"] = np.array([self.end_s])
        if self.shifts is not None:
            out.update(self.shifts.arrays())
        return {**out, **self.desk.arrays()}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        self.incidents = inc.Incidents.from_arrays(
            {k.removeprefix("incident_"): v for k, v in arrays.items() if k.startswith("incident_")}
        )
        for crew, values in zip(self.crews, np.asarray(arrays["crew_state"]), strict=True):
            crew.load(values)
        self.repairs_done, self.links_cleared = (int(v) for v in arrays["counters"])
        self.policy = make_policy(str(arrays["policy"][0]))
        self.end_s = float(arrays["end_s"][0])
        self.desk.load_arrays(arrays)
        if "repair_first" in arrays:  # checkpoints before prioritise_repair existed have none
            self.first = np.array(arrays["repair_first"], dtype=np.int64)
            self.first_rank = int(arrays["repair_first_rank"][0])
        if self.shifts is not None:
            self.shifts.load_arrays(arrays, self.crews)

    def incidents_frame(self) -> pd.DataFrame:
        """One row per incident (``incidents.parquet``)."""
        return incidents_table(self.incidents, self.city, self.end_s)

    def crews_frame(self) -> pd.DataFrame:
        """One row per crew (``crews.parquet``), busy time counted to the last step's end; with shifts, the time
        on duty and overtime (:meth:`~twin.crews.shifts.Shifts.columns`)."""
        frame = crews_table(self.crews, self.end_s)
        return frame if self.shifts is None else frame.assign(**self.shifts.columns(self.end_s))

    def metrics(self) -> dict[str, Any]:
        """Response times by incident kind, shares within standard, utilisation by crew kind
        (:func:`twin.metrics.response.response_metrics`)."""
        return response_metrics(self.incidents_frame(), self.crews_frame(), self.standards_s, self.end_s)

    def outputs(self, folder: Path) -> list[Path]:
        """``incidents.parquet``, ``crews.parquet`` and ``crews_metrics.json`` (beside ``metrics.json``, whose
        keys are services)."""
        paths = [folder / INCIDENTS_PARQUET, folder / CREWS_PARQUET, folder / CREWS_METRICS]
        write_parquet_atomic(paths[0], self.incidents_frame())
        write_parquet_atomic(paths[1], self.crews_frame())
        write_json_atomic(paths[2], to_jsonable(self.metrics()))
        return paths

    def _transport_assumption(self) -> str:
        """How medical patients reached hospital in this run."""
        medical = self.spec.medical
        if not medical.transport:
            return "patients not carried to hospital (crews.medical.transport is off)"
        return (
            "every medical patient carried by the EMS crew to the nearest working hospital (shortest path time "
            f"from the scene) and handed over in {medical.at_hospital_s / 60:g} min (assumed; NSW ambulance crews "
            "waited 32 min on average to hand a patient over, Audit Office of New South Wales 2013); no patient "
            "is treated and left at home unless no working hospital can be reached; the people rescued by fire "
            "crews are not carried (which of them are hurt needs an injury model)"
        )

    def _travel_assumption(self) -> str:
        """How the crews travelled in this run (in the traffic model, or by path times)."""
        common = (
            f"fire, EMS and police drive as emergency vehicles at {EMERGENCY_SPEED_FACTOR:g} x each link's "
            "current speed (assumed, within the time saved by lights and sirens in Ho and Lindquist 2001 and "
            "Petzäll et al. 2011), utility and road crews at the speed of traffic; a crew driving back to its "
            "base takes no call until it is there"
        )
        if self.by_traffic:
            return (
                "crews: drive as vehicles in the traffic model (chosen by shortest path times on the current "
                "network with each link's current queue delay as the traffic model's route choice sees it at the "
                "start of the step, the class speed factor not applied to the delay; arrival times from the "
                "traffic model, with its queues and closures; emergency vehicles go first at merges); "
                f"{common}; a crew stranded by a closure on the way stops there and its "
                "incident waits for a crew again"
            )
        return (
            "crews: no traffic model in this run: travel times are shortest paths on current link times "
            f"(hazards' speed factors, closed links left out), congestion not included; {common}; a crew "
            "recalled on the road is put back where it started"
        )

    def assumptions(self) -> list[str]:
        """Bases, delays, time-on-scene sources and the model's simplifications."""
        counts = {kind: sum(1 for c in self.crews if c.kind == kind) for kind in CREW_KINDS}
        medical = self.spec.medical
        return [
            *self.notes,
            f"crews: {len(self.crews)} crews ({', '.join(f'{k} {n}' for k, n in counts.items() if n)}) at "
            f"{len(self.bases)} bases; dispatch policy {self.policy.name!r}; decisions at step ends",
            "crews: lifeline repair times from the Hazus-MH 2.1 earthquake restoration functions at damage state "
            f"{self.spec.damage_state!r} (normal, truncated at a tenth of the mean), used as one crew's time on site"
            + (f"; overridden for {', '.join(sorted(self.spec.repair))}" if self.spec.repair else ""),
            f"crews: debris cleared at {self.spec.debris_m3_per_h:g} m3/h per road crew (assumed)",
            f"crews: medical calls at {medical.rate_per_1000_day:g} per 1,000 residents per day, +"
            f"{medical.surge:.0%} when every resident is without power (Cooper et al. 2012, Hurricane Ike); "
            f"on scene {medical.on_scene_s / 60:g} min mean ({MEDICAL_SOURCE}); {self._transport_assumption()}",
            self._travel_assumption(),
            *self._water_assumption(),
            *([] if self.shifts is None else [self.shifts.assumption()]),
        ]

    def _water_assumption(self) -> list[str]:
        """The flood rescue teams and their limits (none without teams)."""
        teams = sum(1 for crew in self.crews if crew.boat)
        if not teams:
            return []
        w = self.water.limits
        return [
            f"crews: {teams} flood rescue teams (the first {self.spec.flood_rescue.teams_per_station} fire crews of "
            "each fire station; assumed) drive to the water's edge, then go through roads closed by water alone "
            f"by boat ({w.boat_mps * 3.6:g} km/h where at least {w.boat_min_depth_m:g} m deep and at most "
            f"{w.boat_max_velocity_mps:g} m/s; assumed) or wading (at the residents' adult pace, where at most "
            f"{w.wade_max_depth_m:g} m deep and depth x velocity at most {w.wade_max_dv_m2s:g} m2/s: ARR 2019 H2, "
            f"FD2321, Abt et al. 1989), {w.launch_s / 60:g} min to launch or recover the boat (assumed); velocity "
            "by Manning on the water-surface slope; no bridge under water or tunnel; a journey through water is "
            "not driven in the traffic model (path times)"
        ]


def describe_targets(model: CityModel, event: Event) -> str:
    """The components an event's target selects, named (at most five, then how many more)."""
    rows = model.components_of(event).tolist()
    names = [describe_component(model.city, row) for row in rows[:5]]
    return ", ".join(names) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def _sub_view(view: DispatchView, crews: np.ndarray, incidents: np.ndarray) -> DispatchView:
    """The view restricted to some crews and incidents (positions in ``view``)."""
    return DispatchView(
        now_s=view.now_s,
        crew_id=view.crew_id[crews],
        crew_kind=view.crew_kind[crews],
        incident_id=view.incident_id[incidents],
        incident_kind=view.incident_kind[incidents],
        priority=view.priority[incidents],
        created_s=view.created_s[incidents],
        criticality=view.criticality[incidents],
        work_s=view.work_s[incidents],
        response_s=view.response_s[np.ix_(crews, incidents)],
        customers=None if view.customers is None else view.customers[incidents],
    )


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The crews phase of a scenario with a ``crews`` section (none without); misfits raise ScenarioError."""
    section: CrewsSpec | None = getattr(spec, "crews", None)
    if section is None:
        return []
    source = "crews"
    problems = []
    if section.policy not in REGISTRY.dispatch_policies():
        known = ", ".join(sorted(REGISTRY.dispatch_policies()))
        problems.append(f"{source}.policy: unknown dispatch policy {section.policy!r}; known: {known}")
    bounds = city.bounds_lonlat
    for i, depot in enumerate(section.depots):
        lon, lat = depot.at
        if not (bounds[0] <= lon <= bounds[2] and bounds[1] <= lat <= bounds[3]):
            problems.append(
                f"{source}.depots[{i}].at: {list(depot.at)} is outside {city.name} (bounds {list(bounds)}); "
                "give the depot's [longitude, latitude] inside the map"
            )
    if problems:
        raise ScenarioError("the scenario's crews do not fit the map", problems)
    depots, notes = depot_bases(city, section)
    return [CrewsPhase(city, section, station_bases(city, section) + depots, notes, source)]


REGISTRY.add_phase("crews", build)
for _kind in ("crew_done", "dispatch", "stage", "set_policy", "recall"):
    REGISTRY.add_event_kind(EventKindInfo(_kind, None, f"twin.crews.commands:{_kind}"))
REGISTRY.add_event_kind(EventKindInfo("prioritise_repair", "component", "twin.crews.commands:prioritise_repair"))
