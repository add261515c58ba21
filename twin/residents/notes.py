"""What the residents phase assumed, in the user's words (for ``assumptions.json`` and the report)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np

from twin.city.build import City
from twin.city.sirens import SIREN_RANGE_M, SIREN_SPACING_M, Sirens
from twin.residents import rescues
from twin.residents.decision import DELAY_DEFAULTS_S
from twin.residents.population import GROUPS, Population, is_daytime
from twin.residents.shelters import SPHERE_M2_PER_PERSON, Shelters
from twin.residents.walking import GROUP_FACTOR, WALK_SPEED_MPS
from twin.residents.warnings import CURVES
from twin.scenario.residents import ResidentsSpec, WarningSpec


class AssumingPhase(Protocol):
    """What the notes read of the residents phase (:class:`twin.residents.phase.ResidentsPhase`)."""

    city: City
    start: dt.datetime
    options: ResidentsSpec
    warnings: list[WarningSpec]
    population: Population
    shelters: Shelters
    sirens: Sirens


def residents_assumptions(phase: AssumingPhase) -> list[str]:
    """One line per rule the phase applied, with its figures."""
    return _population(phase) + _warnings(phase) + _behaviour(phase) + _movement(phase)


def _population(phase: AssumingPhase) -> list[str]:
    pop, spec = phase.population, phase.city.config.population.demographics
    groups = np.bincount(pop.group, minlength=3)
    households = int(pop.household.max(initial=-1)) + 1
    shares = ", ".join(f"{int(c)} {g}" for g, c in zip(GROUPS, groups, strict=True))
    where = np.bincount(pop.start_place, minlength=3)
    when = (
        f"the start ({phase.start:%a %H:%M}) is in weekday working hours: {int(where[1])} at work in "
        f"non-residential buildings by floor area, {int(where[2])} at the school nearest their home"
        if is_daytime(phase.start)
        else f"the start ({phase.start:%a %H:%M}) is outside weekday working hours: everyone is at home"
    )
    return [
        f"residents: {pop.size} people in {households} households (geometric sizes, mean {spec.household_size:g}; "
        f"{pop.size / max(households, 1):.2f} after the cut at each home), {shares}, "
        f"{int(pop.impaired.sum())} mobility-impaired, {int(pop.car.sum())} in households with a car "
        f"(demographics: {spec.source})",
        f"residents: {when}",
    ]


def _warnings(phase: AssumingPhase) -> list[str]:
    curves = "; ".join(
        f"{name} reach {c.reach_day:g} by day, {c.reach_night:g} at night, half reached after {c.half_s / 60:g} min"
        for name, c in CURVES.items()
    )
    return [
        f"warnings: logistic diffusion per channel (Rogers & Sorensen 1991): {curves}; cell broadcast needs a "
        "working cell site in range, sirens power at the siren, TV/radio power where people are; word of mouth "
        "spreads among people at the same walkable node",
        _sirens(phase.sirens),
    ]


def _sirens(sirens: Sirens) -> str:
    heard = f"heard within {SIREN_RANGE_M:g} m (FEMA CPG 1-17), sounding while their node's power zone has power"
    if sirens.assumed:
        return (
            f"warnings: {sirens.count} sirens synthesised (assumed) on a {SIREN_SPACING_M / 1000:g} km grid over the "
            f"homes, {heard}: the map has no OSM emergency=siren"
        )
    return f"warnings: {sirens.count} sirens from OSM (emergency=siren), {heard}"


def _behaviour(phase: AssumingPhase) -> list[str]:
    d, options = phase.options.decision, phase.options
    tau, sigma = DELAY_DEFAULTS_S[options.onset]
    tau = options.departure_tau_s or tau
    sigma = options.departure_sigma_s or sigma
    capacity = int(phase.shelters.capacity.sum())
    return [
        f"decision to leave: logit p = {d.intercept:g} + {d.order:g} order + {d.risk_area:g} risk area + "
        f"{d.cues:g} water seen + {d.impact:g} forecast water at their floor + {d.vulnerable:g} elderly or "
        "impaired (predictors of Huang, Lindell & Prater 2016; about 80 % of ordered people in the risk area and "
        "10 % of people outside it leave)",
        f"departure delay after deciding: {tau / 60:g} min + Rayleigh(sigma {sigma / 60:g} min) "
        f"({options.onset} onset)",
        f"destinations: {options.shelter_share:.0%} of leaving households go to public shelters (Smith & McCarty "
        "2009: 3-11 %), the rest to friends, family or hotels: the nearest home's node with no water, outside the "
        f"warned areas and more than {options.elsewhere_beyond_m:g} m from them and from the water (assumed); "
        f"{phase.shelters.count} "
        f"shelters with {capacity} places (city.yaml, else floor area / {SPHERE_M2_PER_PERSON:g} m2, Sphere)",
    ]


def _movement(phase: AssumingPhase) -> list[str]:
    factors = ", ".join(f"{k} x{v:g}" for k, v in GROUP_FACTOR.items())
    cars = (
        "cars are trips of the traffic model (one per household leaving from one place together): they queue, "
        "stop at closures and reroute; the people of a car stranded with no way left park it and walk on"
    )
    return [
        f"walking at {WALK_SPEED_MPS:g} m/s ({factors}; TUNAMI-EVAC1), slowed in water by max(0.2, 1 - d/1.2 m) "
        "(assumed); links unsafe from ARR 2019 class H3 for children, the elderly and the impaired and from H4 "
        "for everyone, classed by depth alone (the flood model gives no velocity)",
        cars,
        "exposure: depth at the person's floor (3 m per floor; work, school and shelters on the ground floor) or "
        "on the street above 0.5 m; casualties are a screening count (walkers in >= 1 m of water for 120 s)",
        "rescue needed indoors above 0.5 m at the floor with no walk route safe for the person's group (they stay "
        "in and wait), or above 1.5 m; on foot in water of an ARR 2019 class unsafe for their group, or after "
        f"{phase.options.trapped_wait_s / 60:g} min with no safe route on (assumed: residents.trapped_wait)",
        "rescue requests: one per building or walkable node and step with people newly needing rescue; with crews, "
        f"a rescue incident at the nearest drivable node, {rescues.SETUP_S / 60:g} min on scene plus "
        f"{rescues.PER_PERSON_S / 60:g} min per person (assumed); the people a crew brings out leave the model",
    ]
