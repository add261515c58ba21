"""The residents phase: every person warned, deciding, leaving on foot or by car, sheltering, and exposed.

One step of dt, after the hazards and lifelines of the step (all arrays, no loop over people):

1. warnings due are sent (a time, or water at a home of their area), then each person receives each channel
   that reaches them (:mod:`twin.residents.warnings`), and word of mouth spreads;
2. warned people and people who see water decide (:mod:`twin.residents.decision`); those whose delay is over
   leave for a shelter with room or for the nearest place to stay beyond the hazard area
   (:mod:`twin.residents.shelters`), by car when their household has one and their street is passable, else on
   foot;
3. walkers move on the walk network around unsafe water (:mod:`twin.residents.walking`); cars are handed to
   the traffic model through ``ctx.services["traffic"]`` and leave when their household's delay is over; the
   traffic model's reports say which arrived and which were stranded (:mod:`twin.residents.cars`); people in a
   shelter a command closed leave it for the next shelter with room, or elsewhere
   (:meth:`ResidentsPhase._leave_closed`);
4. exposure, rescue needs and services gone without are counted (:mod:`twin.residents.needs`); who needs
   rescue is :mod:`twin.residents.trigger`'s rule (indoors in water with no safe way out, walkers in unsafe water
   or trapped for a while); people newly needing rescue make requests, reported to the crews when the scenario
   has them, and the people of requests a crew has worked are brought out (:mod:`twin.residents.rescues`).

People ready to leave on foot with no walk route safe for their group stay in until one opens
(:func:`twin.residents.trigger.way_out`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin.atomic import write_json_atomic, write_parquet_atomic
from twin.city.build import City
from twin.city.sirens import hearing, sirens_of
from twin.registry import REGISTRY, EventKindInfo
from twin.residents import cars, decision, door, needs, rescues, trigger
from twin.residents.areas import WarningAreas
from twin.residents.changes import DrillChanges
from twin.residents.metrics import residents_metrics
from twin.residents.notes import residents_assumptions
from twin.residents.people import DRIVING, ELSEWHERE, HOME, SHELTER, STATUSES, WALKING, WORK, PeopleState
from twin.residents.places import Places, ServiceReader
from twin.residents.population import ADULT, CHILD, ELDERLY, FLOOR_HEIGHT_M, GROUPS, START_PLACES, synthesise
from twin.residents.shelters import Shelters, allocate, elsewhere_nodes, preference_order, shelter_capacity
from twin.residents.view import WaterView
from twin.residents.walking import (
    ADULTS,
    GROUP_FACTOR,
    VULNERABLE,
    WALK_SPEED_MPS,
    Routes,
    Walkers,
    WalkGraph,
    advance,
    hazard_class,
)
from twin.residents.warnings import CURVES, DOOR, WORD, door_to_door_share, logistic_share, receive, word_of_mouth
from twin.scenario.residents import CHANNELS, ResidentsSpec, WarningSpec, wants_residents
from twin.sim.phase import Phase, StepContext
from twin.sim.state import SimState

if TYPE_CHECKING:
    from twin.scenario import Scenario
    from twin.traffic.service import TrafficService

PEOPLE_PARQUET = "people.parquet"
RESIDENTS_JSON = "residents.json"
CUE_DEPTH_M = 0.05
"""Water a person notices at their building or street (an environmental cue)."""
NIGHT_HOURS = (22, 7)
"""Local hours when people are taken as asleep: sirens and TV/radio reach their night shares."""


class ResidentsPhase(Phase):
    """The people of the city as one vectorised population (see the module docstring)."""

    name = "residents"
    order = "residents"

    def __init__(self, city: City, spec: Scenario, rng: np.random.Generator) -> None:
        self.city = city
        self.start = spec.start
        self.options = spec.residents or ResidentsSpec.model_validate({})
        self.warnings = list(spec.warnings)
        self.population = synthesise(city, spec.start, rng)
        self.places = Places.of(city)
        tau, every = float(spec.metrics.access_tau_s), float(spec.metrics.access_every_s)
        self.reader = ServiceReader(city, self.places, tau, every)
        self.graph = WalkGraph.of(city)
        self.areas = WarningAreas.resolve(city, self.places, self.warnings)
        self.sirens = sirens_of(city)
        self.shelters = _shelters(city, self.places)
        self.zone_xy = _zone_xy(city)
        self.shelter_xy = _shelter_rows(city)[["x", "y"]].to_numpy(float)
        self._draw(rng)
        self._static()
        self.people = PeopleState.start(self.population)
        self.walkers = Walkers(self.people.node, self.people.nxt, self.people.left_m)
        self.issued_s = np.full(len(self.warnings), np.nan)
        self.room = self.shelters.capacity.copy()
        self.q_shelter = np.array([1.0 if self.shelters.count else np.nan])
        self._routes: Routes | None = None
        self._routes_key = b""
        self.view = WaterView(self.graph, self.places, self.population, *self._ground())
        self._issued_cache: dict[tuple[object, ...], np.ndarray] = {}
        self._cue = np.zeros(self.population.size, dtype=bool)
        self.changes = DrillChanges(held=np.full(self.shelters.count, -1, dtype=np.int64))
        self._door_blocks: dict[int, door.Blocks] = {}

    def _draw(self, rng: np.random.Generator) -> None:
        """Every random number the phase uses, drawn once now (a person's quantile on each curve)."""
        n, households = self.population.size, int(self.population.household.max(initial=-1)) + 1
        self.u_channel = rng.random((len(CHANNELS), n), dtype=np.float32)
        self.wom_threshold = rng.exponential(size=n).astype(np.float32)
        household_u = rng.random((3, households), dtype=np.float32)
        self.u_decide, self.u_shelter = household_u[0], household_u[2]
        onset_tau, onset_sigma = decision.DELAY_DEFAULTS_S[self.options.onset]
        tau = self.options.departure_tau_s or onset_tau
        sigma = self.options.departure_sigma_s or onset_sigma
        self.delay_s = decision.rayleigh_delay(household_u[1], tau, sigma).astype(np.float32)

    def _static(self) -> None:
        """Per-person constants: walking speed and safety group; per drivable node its nearest walkable node."""
        pop = self.population
        factor = np.select(
            [pop.impaired, pop.group == CHILD, pop.group == ELDERLY],
            [GROUP_FACTOR["impaired"], GROUP_FACTOR["child"], GROUP_FACTOR["elderly"]],
            GROUP_FACTOR["adult"],
        )
        self.speed_mps = (WALK_SPEED_MPS * factor).astype(np.float32)
        self.safety = np.where(pop.impaired | (pop.group != ADULT), VULNERABLE, ADULTS).astype(np.int64)
        self.home_area = self.city.homes["area"].to_numpy(np.int64)[pop.home]
        walk_xy = self.city.walk.nodes[["x", "y"]].to_numpy(float)
        drive_xy = self.city.drive.nodes[["x", "y"]].to_numpy(float)
        self.drive_to_walk = cKDTree(walk_xy).query(drive_xy)[1].astype(np.int32)
        self.walk_xy = walk_xy
        self.lodging = np.zeros(self.graph.n_nodes, dtype=bool)
        self.lodging[self.city.homes["walk_node"].to_numpy(np.int64)] = True
        self.home_drive = self.city.homes["drive_node"].to_numpy(np.int64)

    # --- one step ------------------------------------------------------------------------------------------

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Advance every person by ``dt_s`` seconds (see the module docstring)."""
        t = ctx.clock_s + dt_s
        state = ctx.state
        view = self.view
        water_changed = view.update(state)
        served = self.reader.served(state, t)
        self._rescued(ctx)
        sent = self._issue(ctx, t, view.node_depth)
        self._knock(ctx)
        touched = self._receive(t, dt_s, served)
        self._decide(t, touched, everyone=water_changed or sent)
        turned_out = self._turned_out()
        if self._anyone_moves(t) or len(turned_out):  # route trees only when someone leaves or walks
            routes = self._routes_now(view.node_depth, view.unsafe)
            self._leave_closed(ctx, turned_out, routes, state)
            self._depart(ctx, t, routes, state)
            self._walk(t, dt_s, routes, view.edge_depth, view.unsafe)
        else:
            self.people.trapped[:] = False
        self._drive(ctx)
        self._needs(ctx, t, dt_s, water_changed, served)

    def _issue(self, ctx: StepContext, t: float, node_depth: np.ndarray) -> bool:
        """Send the warnings due; return whether any was sent."""
        home_nodes = self.city.homes["walk_node"].to_numpy()
        sent_any = False
        for w, spec in enumerate(self.warnings):  # a few warnings, not people
            if np.isfinite(self.issued_s[w]):
                continue
            if spec.at_s is not None:
                due = spec.at_s <= t + 1e-9
                sent = float(spec.at_s)
            else:
                in_area = self.areas.mask[w][home_nodes]
                due = bool((node_depth[home_nodes[in_area]] > float(spec.when_water_above_m or 0)).any())
                sent = t
            if due:
                self.issued_s[w] = sent
                people = int(self.areas.mask[w][self.people.node].sum())
                details = {"channels": list(spec.channels), "evacuate": spec.evacuate, "people_in_area": people}
                ctx.log(sent, "warning", spec.text or f"warnings[{w}]", "scenario", details)
                sent_any = True
        if sent_any:
            self._issued_cache.clear()
        return sent_any

    def _night(self, t: float) -> bool:
        hour = (self.start + dt.timedelta(seconds=t)).hour
        return hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1]

    def reachable(self, served: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per channel and walkable node: whether the channel can reach someone there now."""
        everywhere = np.ones(self.graph.n_nodes, dtype=bool)
        return {
            "cell_broadcast": served["telecom"],
            "siren": hearing(self.sirens, served["power"]),
            "tv_radio": served["power"],
            "door_to_door": everywhere,
            "word_of_mouth": everywhere,
        }

    def _receive(self, t: float, dt_s: float, served: dict[str, np.ndarray]) -> np.ndarray:
        """Channels, then word of mouth; return who was newly warned or newly ordered to leave this step.

        Only people a warning can still change are looked at (not yet warned, or not yet ordered by an order):
        receiving a warning again changes nothing, so the work shrinks as the warning spreads.
        """
        p = self.people
        present = p.status != ELSEWHERE
        reach = self.reachable(served)
        night = self._night(t)
        touched = np.zeros(len(present), dtype=bool)
        unwarned = np.isnan(p.warned_s)
        for w in np.flatnonzero(np.isfinite(self.issued_s)):  # a few warnings, each vectorised over its people
            spec = self.warnings[w]
            elapsed = t - float(self.issued_s[w])
            mask = self.areas.mask[w]
            in_area = 0
            if "door_to_door" in spec.channels:  # its share is of everyone in the area
                in_area = int(np.count_nonzero(mask[p.node[present]]))
            idx = np.flatnonzero(present & (unwarned | (~p.ordered if spec.evacuate else False)))
            idx = idx[mask[p.node[idx]]]
            got = np.zeros(len(idx), dtype=bool)
            first = np.full(len(idx), -1, dtype=np.int8)
            node = p.node[idx]
            knocked = self._knocked(int(w))
            for name in spec.channels:
                c = CHANNELS.index(name)
                if c == WORD:
                    continue
                share = 1.0 if knocked is not None and c == DOOR else self._share(spec, name, elapsed, in_area, night)
                if share <= 0:
                    continue
                can = reach[name][node] if knocked is None or c != DOOR else knocked[idx]  # crews: the blocks done
                now = receive(self.u_channel[c, idx], can, share)
                first[now & (first < 0)] = c
                got |= now
            who = idx[got]
            fresh = unwarned[who]
            newly = fresh | (spec.evacuate & ~p.ordered[who])
            touched[who[newly]] = True
            p.ordered[who] |= spec.evacuate
            p.warned_s[who[fresh]], p.warned_by[who[fresh]] = t, first[got][fresh]
            unwarned[who] = False
        touched |= self._word_of_mouth(t, dt_s, present, unwarned)
        return touched

    def _knock(self, ctx: StepContext) -> None:
        """Door-to-door requests (:mod:`twin.residents.door`): blocks of a request sent now go to the crews as
        ``police`` incidents; the blocks the crews finished since the last step are marked knocked."""
        desk = ctx.services.get("crews")
        if not self.changes.door or desk is None:
            return
        for d, request in enumerate(self.changes.door):  # a few requests, each vectorised over its blocks
            w = int(request["warning"])
            if request["reported"] or not np.isfinite(self.issued_s[w]):
                continue
            blocks = self._blocks(d)
            some = np.flatnonzero(blocks.people > 0)
            work = door.work_s(blocks.people[some], float(request["per_crew_h"]))
            refs = d * door.REF_STRIDE + some
            desk.report("police", blocks.drive_node[some], float(self.issued_s[w]), work, refs=refs,
                        people=blocks.people[some])  # fmt: skip
            request["reported"] = True
        done = desk.take_done("police")
        for ref in done.refs.tolist():  # blocks, not people
            d, block = divmod(int(ref), door.REF_STRIDE)
            self.changes.door[d]["knocked"].append(block)

    def _blocks(self, d: int) -> door.Blocks:
        """The blocks of door-to-door request ``d`` (cached: the homes do not change)."""
        if d not in self._door_blocks:
            homes = self.city.homes
            people = np.bincount(self.population.home, minlength=len(homes))
            zones = np.asarray(self.changes.door[d]["zones"], dtype=np.int64)
            area, drive = homes["area"].to_numpy(np.int64), self.home_drive
            self._door_blocks[d] = door.blocks_of(area, drive, people, zones)
        return self._door_blocks[d]

    def _knocked(self, w: int) -> np.ndarray | None:
        """For a warning crews carry door to door: per person, at home in a block they finished (None: another
        warning)."""
        for d, request in enumerate(self.changes.door):
            if int(request["warning"]) == w:
                at_home = self.people.status == HOME
                return door.knocked_people(self._blocks(d), request["knocked"], self.population.home, at_home)
        return None

    def _share(self, spec: WarningSpec, name: str, elapsed: float, in_area: int, night: bool) -> float:
        if name == "door_to_door":
            return door_to_door_share(elapsed, spec.door_to_door_per_h, in_area)
        curve = CURVES[name]
        default = curve.reach_night if night else curve.reach_day
        reach = {str(k): v for k, v in spec.reach.items()}.get(name, default)
        return float(logistic_share(elapsed, reach, curve.half_s))

    def _word_of_mouth(self, t: float, dt_s: float, present: np.ndarray, unwarned: np.ndarray) -> np.ndarray:
        issued = np.flatnonzero(np.isfinite(self.issued_s))
        if not any("word_of_mouth" in self.warnings[w].channels for w in issued):
            return np.zeros(len(present), dtype=bool)
        p = self.people
        heard = word_of_mouth(p.node, ~unwarned, present, p.wom_hazard, self.wom_threshold, self.graph.n_nodes, dt_s)
        p.warned_s[heard], p.warned_by[heard] = t, WORD
        ordered_area = self._issued_mask(evacuate_only=True)
        p.ordered[heard] |= ordered_area[p.node[heard]] | ordered_area[self.population.home_node[heard]]
        fresh = np.zeros(len(present), dtype=bool)
        fresh[heard] = True
        return fresh

    def _issued_mask(self, evacuate_only: bool = False, without_whole: bool = False) -> np.ndarray:
        """Nodes in the areas of the warnings sent so far (cached until another is sent)."""
        key = ("mask", evacuate_only, without_whole)
        if key not in self._issued_cache:
            mask = np.zeros(self.graph.n_nodes, dtype=bool)
            for w in np.flatnonzero(np.isfinite(self.issued_s)):
                if (evacuate_only and not self.warnings[w].evacuate) or (without_whole and self.areas.whole[w]):
                    continue
                mask |= self.areas.mask[w]
            self._issued_cache[key] = mask
        return self._issued_cache[key]

    def _forecast_now(self) -> np.ndarray:
        """Deepest forecast depth per node of the warnings sent so far (cached until another is sent)."""
        if ("forecast",) not in self._issued_cache:
            depth = np.zeros(self.graph.n_nodes)
            for w in np.flatnonzero(np.isfinite(self.issued_s)):
                forecast = self.areas.forecast_m[w]
                if forecast is not None:
                    np.maximum(depth, forecast, out=depth)
            self._issued_cache[("forecast",)] = depth
        return self._issued_cache[("forecast",)]

    def _decide(self, t: float, touched: np.ndarray, everyone: bool) -> None:
        """Who decides to leave now: everyone who stays when the water or the warnings sent changed (their
        predictors changed), else only those ``touched`` (newly warned or ordered): p cannot change otherwise."""
        p, pop = self.people, self.population
        staying = np.isnan(p.decided_s) & ((p.status == HOME) | (p.status == WORK))
        if everyone:
            self._cue = self._cues()
            idx = np.flatnonzero(staying & (~np.isnan(p.warned_s) | self._cue))
        else:
            idx = np.flatnonzero(staying & touched)
        if not len(idx):
            return
        home_node = pop.home_node[idx]
        risk = self._issued_mask()[home_node]
        impact = self._forecast_now()[home_node] > FLOOR_HEIGHT_M * pop.floor[idx]
        vulnerable = (pop.group[idx] == ELDERLY) | pop.impaired[idx]
        cue = self._cue[idx]
        prob = decision.leave_probability(self.options.decision, p.ordered[idx], risk, cue, impact, vulnerable)
        go = idx[decision.decides(self.u_decide[pop.household[idx]], prob)]
        p.decided_s[go] = t
        p.depart_s[go] = t + self.delay_s[pop.household[go]]

    def _cues(self) -> np.ndarray:
        """Water seen now at each person's building (at home) or street (elsewhere)."""
        view, pop = self.view, self.population
        if view.dry:
            return np.zeros(pop.size, dtype=bool)
        cue = view.node_depth[self.people.node] > CUE_DEPTH_M
        at_home = (self.people.status == HOME) & (pop.home_building >= 0)
        cue[at_home] |= view.home_ground[at_home] > CUE_DEPTH_M
        return cue

    def _anyone_moves(self, t: float) -> bool:
        p = self.people
        ready = ((p.status == HOME) | (p.status == WORK)) & (p.depart_s <= t)
        return bool((p.status == WALKING).any() or ready.any())

    def _routes_now(self, node_depth: np.ndarray, unsafe: np.ndarray) -> Routes:
        """Route trees to the shelters and to the places to stay outside the hazard area (warned areas but the
        whole city's, and wet nodes), rebuilt only when the unsafe links or the hazard area change."""
        hazard = self._issued_mask(without_whole=True) | (node_depth > 0)
        key = unsafe.tobytes() + hazard.tobytes()
        if self._routes is None or key != self._routes_key:
            beyond = self.options.elsewhere_beyond_m
            safe = elsewhere_nodes(self.walk_xy, self.lodging, hazard, beyond)
            self._routes = Routes.build(self.graph, unsafe, self.shelters.node, safe)
            self._routes_key = key
        return self._routes

    def _depart(self, ctx: StepContext, t: float, routes: Routes, state: SimState) -> None:
        p, pop = self.people, self.population
        ready = ((p.status == HOME) | (p.status == WORK)) & (p.depart_s <= t)
        idx = np.flatnonzero(ready)
        if not len(idx):
            return
        idx = idx[self._can_leave(idx, routes, state)]
        if not len(idx):
            return
        s = self.shelters.count
        target = np.full(len(idx), s, dtype=np.int64)
        sheltering = (self.u_shelter[pop.household[idx]] < self.options.shelter_share) & (s > 0)
        if sheltering.any():
            target[sheltering] = self._shelter_for(idx[sheltering])
        p.left_s[idx] = np.maximum(p.depart_s[idx], ctx.clock_s)  # within this step, when their delay is over
        self._set_off(ctx, idx, target, pop.car[idx], routes, state)

    def _shelter_for(self, idx: np.ndarray) -> np.ndarray:
        """Each person's shelter by their zone's order, the first with room (:func:`allocate`, which takes the
        places from ``room``); S (elsewhere) when every shelter is full."""
        choice = allocate(self.shelters.preference, self.home_area[idx], self.room)
        return np.where(choice >= 0, choice, self.shelters.count)

    def _set_off(
        self, ctx: StepContext, idx: np.ndarray, target: np.ndarray, car: np.ndarray, routes: Routes, state: SimState
    ) -> None:
        """Send people ``idx`` to ``target`` (a shelter, or S: the nearest place to stay beyond the hazard area):
        by car where ``car`` and their street is passable, else on foot."""
        p, s = self.people, self.shelters.count
        p.target[idx] = target
        end_node = routes.nearest_safe[p.node[idx]]
        if s:
            to_shelter = target < s
            end_node[to_shelter] = self.shelters.node[target[to_shelter]]
        by_car = car & (end_node >= 0)
        by_car &= cars.passable(self.city, state, self.places.drive_node[p.node[idx]])
        by_car &= end_node != p.node[idx]
        self._start_cars(ctx, idx[by_car], end_node[by_car])
        walk = idx[p.status[idx] != DRIVING]
        p.status[walk], p.mode[walk], p.nxt[walk], p.left_m[walk] = WALKING, 0, -1, 0.0

    def _turned_out(self) -> np.ndarray:
        """People in a shelter that is closed now: inside when a command closed it, or arrived after."""
        p = self.people
        if not (self.changes.held >= 0).any():
            return np.zeros(0, dtype=np.int64)
        inside = np.flatnonzero(p.status == SHELTER)
        return inside[self.changes.held[p.target[inside]] >= 0]

    def _leave_closed(self, ctx: StepContext, idx: np.ndarray, routes: Routes, state: SimState) -> None:
        """People in closed shelters leave now for the next shelter with room by their zone's order, or
        elsewhere when all are full (the rule of :meth:`_depart`); by car those who came by car, else on foot.

        Their places go back to the closed shelter's held places (it opens again with them). They keep the time
        they left home (``left_s``); ``arrived_s`` is their arrival where they go now. Moving them first, before
        this step's new departures, is a choice: they are out on the street already.
        """
        if not len(idx):
            return
        p = self.people
        closed = p.target[idx].copy()
        np.add.at(self.changes.held, closed, 1)
        target = self._shelter_for(idx)
        came_by_car = p.mode[idx] == 1
        left = p.left_s[idx].copy()
        p.arrived_s[idx] = np.nan
        p.depart_s[idx] = ctx.clock_s  # their cars leave now (_start_cars)
        self._set_off(ctx, idx, target, came_by_car, routes, state)
        p.left_s[idx] = left
        self._log_moves(ctx, idx, closed, target)

    def _log_moves(self, ctx: StepContext, idx: np.ndarray, closed: np.ndarray, target: np.ndarray) -> None:
        """One ``leave_shelter`` event per closed shelter: how many left, where to, on foot or by car."""
        names = [*self.shelters.name.tolist(), "elsewhere"]
        driving = self.people.status[idx] == DRIVING
        for k in np.unique(closed).tolist():  # a few closed shelters, not people
            mine = closed == k
            to, counts = np.unique(target[mine], return_counts=True)
            details = {
                "people": int(mine.sum()),
                "to": {names[j]: int(c) for j, c in zip(to.tolist(), counts.tolist(), strict=True)},
                "by_car": int((mine & driving).sum()),
                "on_foot": int((mine & ~driving).sum()),
            }
            ctx.log(ctx.clock_s, "leave_shelter", str(names[k]), "shelter closed", details)

    def _can_leave(self, idx: np.ndarray, routes: Routes, state: SimState) -> np.ndarray:
        """Of the people ``idx`` ready to leave, those who can: by car (their household has one and their street is
        passable) or on foot by a route safe for their group; the others stay in (mask over ``idx``)."""
        p = self.people
        drive = self.population.car[idx] & cars.passable(self.city, state, self.places.drive_node[p.node[idx]])
        return np.asarray(drive | trigger.way_out(routes, p.node[idx], self.safety[idx], p.status[idx] == SHELTER))

    def _start_cars(self, ctx: StepContext, idx: np.ndarray, end_node: np.ndarray) -> None:
        """Hand one car per household and origin to traffic; it leaves when the household's delay is over (at the
        earliest now: the traffic phase drives it within this step)."""
        if not len(idx):
            return
        p = self.people
        origin = self.places.drive_node[p.node[idx]]
        destination = self.places.drive_node[end_node]
        first, vehicle_of = cars.vehicles_of(self.population.household[idx], p.node[idx])
        leave = np.maximum(p.depart_s[idx].astype(np.float64), ctx.clock_s)
        frame = cars.trip_frame(origin[first], destination[first], leave[first])
        ids = np.asarray(_traffic(ctx).add_trips(frame, cars.OWNER), dtype=np.int64)
        p.vehicle[idx] = ids[vehicle_of]
        p.left_s[idx] = leave[first][vehicle_of]
        p.status[idx], p.mode[idx] = DRIVING, 1

    def _walk(self, t: float, dt_s: float, routes: Routes, edge_depth: np.ndarray, unsafe: np.ndarray) -> None:
        p = self.people
        who = np.flatnonzero(p.status == WALKING)
        p.trapped[:] = False
        if not len(who):
            return
        budget = np.minimum(dt_s, t - p.left_s[who].astype(np.float64))  # who left this step walks the rest
        arrived, trapped = advance(
            self.walkers,
            who,
            p.target[who].astype(np.int64),
            self.safety[who],
            self.speed_mps[who],
            budget,
            self.graph,
            routes,
            edge_depth,
            unsafe,
        )
        p.trapped[who[trapped]] = True
        self._arrive(who[arrived], np.full(int(arrived.sum()), t))

    def _arrive(self, idx: np.ndarray, t_s: np.ndarray) -> None:
        p = self.people
        to_shelter = p.target[idx] < self.shelters.count
        p.status[idx] = np.where(to_shelter, SHELTER, ELSEWHERE)
        p.node[idx[to_shelter]] = self.shelters.node[p.target[idx[to_shelter]]]
        p.arrived_s[idx] = t_s

    def _drive(self, ctx: StepContext) -> None:
        """Cars that arrived bring their people there; people of stranded cars park them and walk on."""
        report = _traffic(ctx).take_reports(cars.OWNER)
        if not len(report):
            return
        p = self.people
        end = cars.outcomes(report)
        driving = np.flatnonzero(p.status == DRIVING)
        vehicle = p.vehicle[driving]
        arrived = np.isin(vehicle, end.arrived)
        when = end.arrived_s[np.searchsorted(end.arrived, vehicle[arrived])]
        self._arrive(driving[arrived], when)
        stranded = np.isin(vehicle, end.stranded)
        walk = driving[stranded]
        stop = end.stranded_node[np.searchsorted(end.stranded, vehicle[stranded])]
        p.node[walk] = self.drive_to_walk[stop]
        p.status[walk], p.nxt[walk], p.left_m[walk] = WALKING, -1, 0.0
        if end.park.any():
            _traffic(ctx).redirect(end.stranded[end.park], end.stranded_node[end.park])

    def _needs(
        self, ctx: StepContext, t: float, dt_s: float, water_changed: bool, served: dict[str, np.ndarray]
    ) -> None:
        p, view = self.people, self.view
        if water_changed:  # homes get wet only when the water changes
            p.home_wet_s[(view.home_ground > 0) & np.isnan(p.home_wet_s)] = t
        depth, velocity = (None, None) if view.dry else self._person_water()
        fresh = needs.accumulate(p, depth, self._in_need(t, depth, velocity), served, dt_s)
        if depth is not None and velocity is not None:
            needs.note_peaks(p, depth, velocity)
        self._request_rescues(ctx, t, fresh)
        desk = ctx.services.get("crews")
        if desk is not None:
            desk.withdraw("rescue", rescues.withdraw(p), t)
            if depth is not None:
                desk.deadline("rescue", rescues.deep_requests(p, depth), t)
        if self.shelters.count:
            node = self.shelters.node
            working = served["power"][node] & served["water"][node]
            self.q_shelter[0] = self.shelters.capacity[working].sum() / max(1, self.shelters.capacity.sum())

    def _in_need(self, t: float, depth: np.ndarray | None, velocity: np.ndarray | None) -> np.ndarray:
        """Who needs rescue now (:func:`twin.residents.trigger.in_need`); nobody while the city is dry."""
        p = self.people
        trigger.note_trapped(p.trapped_since_s, p.trapped & (p.status == WALKING), t)
        if depth is None or velocity is None:
            return np.zeros(len(p.status), dtype=bool)
        indoors = (p.status == HOME) | (p.status == WORK) | (p.status == SHELTER)
        no_way_out = np.zeros(len(p.status), dtype=bool)
        wet = np.flatnonzero(indoors & (depth > needs.EXPOSED_M) & (depth <= needs.RESCUE_M))
        if len(wet):  # route trees only when someone indoors stands in water
            routes = self._routes_now(self.view.node_depth, self.view.unsafe)
            no_way_out[wet] = ~trigger.way_out(routes, p.node[wet], self.safety[wet], p.status[wet] == SHELTER)
        walking = p.status == WALKING
        unsafe_here = np.zeros(len(p.status), dtype=bool)
        walkers = np.flatnonzero(walking & (depth > 0))
        classes = hazard_class(depth[walkers], velocity[walkers])
        unsafe_here[walkers] = classes >= trigger.UNSAFE_CLASS[self.safety[walkers]]
        wait = float(self.options.trapped_wait_s)
        return trigger.in_need(depth, indoors, no_way_out, walking, unsafe_here, p.trapped_since_s, t, wait)

    def _ground(self) -> tuple[np.ndarray, float]:
        """The ground the water's velocity is taken over: the City's elevation grid and its cell size."""
        return self.city.terrain.elevation_m, float(self.city.terrain.resolution_m)

    def _person_water(self) -> tuple[np.ndarray, np.ndarray]:
        """Depth (m) and velocity (m/s) of the water at each person now (velocity 0 indoors at home)."""
        p, view = self.people, self.view
        walker = np.flatnonzero((p.status == WALKING) & (p.nxt >= 0))
        edge = self.graph.edge_of(p.node[walker], p.nxt[walker])
        depth = needs.person_depth(p, self.population, view.home_floor, view.node_depth, walker, view.edge_depth[edge])
        velocity = needs.person_velocity(p, self.population, view.node_velocity, walker, view.edge_velocity[edge])
        return depth, velocity

    def _request_rescues(self, ctx: StepContext, t: float, fresh: np.ndarray) -> None:
        """One request per place (building or walkable node) with people newly in need: a ``rescue_request``
        event, and a ``rescue`` incident for the crews when the scenario has them."""
        if not fresh.any():
            return
        made = rescues.make_requests(self.people, self.population, fresh, self.home_drive, self.places.drive_node)
        rows = zip(made.ref.tolist(), made.place.tolist(), made.drive_node.tolist(), made.people.tolist(), strict=True)
        for ref, where, node, count in rows:  # places, not people
            target = f"building {where}" if where >= 0 else f"walk node {-1 - where}"
            ctx.log(t, "rescue_request", target, "flood", {"people": count, "request": ref, "drive_node": node})
        desk = ctx.services.get("crews")
        if desk is not None:
            work = rescues.work_s(made.people)
            desk.report("rescue", made.drive_node, t, work, refs=made.ref, people=made.people)

    def _rescued(self, ctx: StepContext) -> None:
        """The people of the requests a crew finished (since the last step) who still need rescue come out."""
        desk = ctx.services.get("crews")
        if desk is not None:
            done = desk.take_done("rescue")
            rescues.rescue(self.people, done.refs, done.t_s, self.shelters.count)

    # --- results -------------------------------------------------------------------------------------------

    def series(self) -> dict[str, float]:
        """People by status and need now, shelter service level (``Q_shelter``)."""
        p = self.people
        counts = p.counts()
        return {
            "people_warned": float((~np.isnan(p.warned_s)).sum()),
            "people_evacuating": float((~np.isnan(p.decided_s) & np.isnan(p.arrived_s)).sum()),
            "people_in_shelter": float(counts[SHELTER]),
            "people_exposed": float(p.exposed.sum()),
            "people_need_rescue": float(p.need_rescue.sum()),
            "people_walking": float(counts[WALKING]),
            "people_driving": float(counts[DRIVING]),
            "people_at_home": float(counts[HOME]),
            "people_at_work": float(counts[WORK]),
            "people_elsewhere": float(counts[ELSEWHERE]),
            "rescue_requests": float((p.rescue_ref >= 0).sum()),
            "people_rescued": float(np.isfinite(p.rescued_s).sum()),
            "casualties_screening": float(p.casualty.sum()),
            "Q_shelter": float(self.q_shelter[0]),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The people's state, care within reach, the warnings sent, the shelters' free places and Q_shelter."""
        return {
            **self.people.arrays(),
            **self.reader.arrays(),
            "issued_s": self.issued_s,
            "room": self.room,
            "q_shelter": self.q_shelter,
            **self.changes.arrays(),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        changes = DrillChanges.parse(arrays)
        if changes is not None:  # warnings sent and shelters opened by commands, before the state that counts them
            for params in changes.warnings:
                self.add_warning(params)
            for params in changes.shelters:
                self.add_shelter(params)
            self.changes = changes
        self.people = PeopleState.from_arrays(arrays)
        self.walkers = Walkers(self.people.node, self.people.nxt, self.people.left_m)
        self.issued_s = np.array(arrays["issued_s"], dtype=np.float64)
        self.room = np.array(arrays["room"], dtype=np.int64)
        self.q_shelter = np.array(arrays["q_shelter"], dtype=np.float64)
        self.reader.load_arrays(arrays)
        self._routes, self._routes_key = None, b""
        self.view = WaterView(self.graph, self.places, self.population, *self._ground())
        self._issued_cache.clear()
        self._door_blocks.clear()

    # --- drill commands (twin.residents.commands applies them; these change the structure only) -----------------

    def add_warning(self, params: dict[str, Any]) -> None:
        """Append a warning (``t_s``, ``zones`` or None, ``channels``, ``evacuate``, ``text``) to the warnings and
        their areas; :meth:`_issue` sends it when its time is reached. ScenarioError names an unknown zone."""
        area = {"zones": params["zones"]} if params["zones"] else {}
        fields = {k: params[k] for k in ("channels", "evacuate", "text", "door_to_door_per_h") if k in params}
        spec = WarningSpec.model_validate({"at": params["t_s"], "area": area, **fields})
        new = WarningAreas.resolve(self.city, self.places, [spec])
        areas = self.areas
        self.areas = WarningAreas(areas.mask + new.mask, areas.whole + new.whole, areas.forecast_m + new.forecast_m)
        self.warnings.append(spec)
        self._issued_cache.clear()

    def add_shelter(self, params: dict[str, Any]) -> None:
        """Append a shelter (``building``, ``capacity``, ``name``) at the building's nearest walkable and drivable
        nodes, and recompute every zone's order of shelters (:func:`~twin.residents.shelters.preference_order`)."""
        city, shelters = self.city, self.shelters
        xy = city.buildings[["x", "y"]].to_numpy(float)[params["building"]]
        walk = int(cKDTree(city.walk.nodes[["x", "y"]].to_numpy(float)).query(xy)[1])
        drive = int(cKDTree(city.drive.nodes[["x", "y"]].to_numpy(float)).query(xy)[1])
        self.shelter_xy = np.vstack([self.shelter_xy, xy[None, :]])
        self.shelters = Shelters(
            name=np.append(shelters.name, params["name"]),
            node=np.append(shelters.node, walk),
            drive_node=np.append(shelters.drive_node, drive),
            capacity=np.append(shelters.capacity, params["capacity"]),
            preference=preference_order(self.zone_xy, self.shelter_xy),
        )
        self._routes, self._routes_key = None, b""  # the route trees lead to the shelters

    def shelter_open(self) -> np.ndarray:
        """Per shelter: whether it takes people (a ``close_shelter`` command closes one)."""
        return np.asarray(self.changes.held < 0)

    def table(self) -> pd.DataFrame:
        """One row per person (``people.parquet``)."""
        return people_table(self)

    def metrics(self) -> dict[str, Any]:
        """The people's figures (clearance, evacuated before the water, exposure, equity; by group)."""
        return residents_metrics(self.people, self.population, self.issued_s)

    def outputs(self, folder: Path) -> list[Path]:
        """``people.parquet`` (one row per person) and ``residents.json`` (:meth:`metrics`), written atomically."""
        people, figures = Path(folder) / PEOPLE_PARQUET, Path(folder) / RESIDENTS_JSON
        write_parquet_atomic(people, self.table())
        write_json_atomic(figures, self.metrics())
        return [people, figures]

    def assumptions(self) -> list[str]:
        """What the phase assumed, in the user's words."""
        return residents_assumptions(self)


def _traffic(ctx: StepContext) -> TrafficService:
    """The run's traffic service (the engine builds a traffic phase whenever a scenario has residents)."""
    service = ctx.services.get("traffic")
    if service is None:
        raise RuntimeError(
            "the residents phase needs the traffic phase's service (ctx.services['traffic']) for its cars; add a "
            "TrafficPhase to the run, as the engine does for every scenario with residents or warnings"
        )
    return cast("TrafficService", service)


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The residents phase of a scenario with a ``residents:`` or ``warnings:`` section (none without); it
    draws every random number it needs from ``rng`` now."""
    return [ResidentsPhase(city, spec, rng)] if wants_residents(spec) else []


def _shelter_rows(city: City) -> pd.DataFrame:
    """The City's public shelters (facility rows of kind ``shelter``)."""
    facilities = city.facilities
    return facilities.iloc[np.flatnonzero((facilities["kind"] == "shelter").to_numpy())]


def _zone_xy(city: City) -> np.ndarray:
    """Per zone (population area): the mean position of its people."""
    homes = city.homes
    weight = homes["population"].to_numpy(float)
    n_areas = len(city.config.population.areas)
    area = homes["area"].to_numpy(np.int64)
    total = np.maximum(np.bincount(area, weights=weight, minlength=n_areas), 1e-9)
    return np.column_stack(
        [np.bincount(area, weights=weight * homes[c].to_numpy(float), minlength=n_areas) / total for c in "xy"]
    )


def _shelters(city: City, places: Places) -> Shelters:
    table = _shelter_rows(city)
    zone_xy = _zone_xy(city)
    return Shelters(
        name=table["name"].to_numpy(str),
        node=table["walk_node"].to_numpy(np.int64),
        drive_node=table["drive_node"].to_numpy(np.int64),
        capacity=shelter_capacity(table, city.buildings),
        preference=preference_order(zone_xy, table[["x", "y"]].to_numpy(float)),
    )


def people_table(phase: ResidentsPhase) -> pd.DataFrame:
    """One row per person: who, where from, warned, decided, left, arrived, where to, exposure, services."""
    p, pop = phase.people, phase.population
    names = np.array([*phase.shelters.name.tolist(), "elsewhere", ""], dtype=object)
    target = np.where(p.target < 0, len(names) - 1, p.target)
    channels = np.array([*CHANNELS, ""], dtype=object)
    table = pd.DataFrame(
        {
            "person": np.arange(pop.size, dtype=np.int64),
            "household": pop.household,
            "group": np.array(GROUPS, dtype=object)[pop.group],
            "mobility_impaired": pop.impaired,
            "household_car": pop.car,
            "home": pop.home,
            "home_building": pop.home_building,
            "floor": pop.floor,
            "at_start": np.array(START_PLACES, dtype=object)[pop.start_place],
            "status": np.array(STATUSES, dtype=object)[p.status],
            "warned_s": p.warned_s,
            "warned_by": channels[np.where(p.warned_by < 0, len(CHANNELS), p.warned_by)],
            "decided_s": p.decided_s,
            "left_s": p.left_s,
            "arrived_s": p.arrived_s,
            "destination": names[target],
            "mode": np.array(["", "walk", "car"], dtype=object)[p.mode + 1],
            "vehicle": p.vehicle,
            "exposure_h": p.exposure_s / 3600.0,
            "peak_depth_m": p.peak_depth_m,
            "peak_velocity_mps": p.peak_velocity_mps,
            "peak_hazard_class": hazard_class(p.peak_depth_m, p.peak_velocity_mps),
            "ever_needed_rescue": p.ever_rescue,
            "rescue_request": p.rescue_ref,
            "rescued_s": p.rescued_s,
            "casualty_screening": p.casualty,
            "home_wet_s": p.home_wet_s,
        }
    )
    for k, service in enumerate(("power", "water", "telecom", "health")):
        table[f"without_{service}_h"] = p.without_s[k] / 3600.0
    return table


REGISTRY.add_phase("residents", build)
for _kind in ("send_warning", "open_shelter", "close_shelter", "door_to_door"):
    REGISTRY.add_event_kind(EventKindInfo(_kind, None, f"twin.residents.commands:{_kind}"))
