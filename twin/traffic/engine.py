"""Traffic in the engine: the scenario's OD demand on the City's drivable network, in the ``traffic`` phase.

Each engine step the link states the other phases wrote are applied (closed if any closure flag is set, speed x
``link_speed_factor``, capacity x ``link_capacity_factor``; DESIGN.md "Contracts") and the same
:class:`~twin.traffic.sim.TrafficSim` as the standalone API advances by the step, drawing its merge order
from the run's Generator. Series: ``vehicles_on_network``, ``vehicles_arrived``, ``vehicles_stranded``,
``mean_speed_ratio`` and ``vehicles_stuck`` (waiting longer than the gridlock threshold; removed and logged as
abandoned when the scenario asks); the run folder gets ``trips.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.atomic import write_parquet_atomic
from twin.city.build import City
from twin.errors import ScenarioError
from twin.registry import REGISTRY
from twin.scenario import Scenario
from twin.scenario.residents import wants_residents
from twin.scenario.traffic import TrafficSpec, check_demand_nodes
from twin.sim.phase import LogFunction, Phase, StepContext
from twin.traffic.checkpoint import load_state_arrays, state_arrays
from twin.traffic.network import TrafficNetwork
from twin.traffic.service import TrafficService
from twin.traffic.sim import TrafficSim

TRIPS_PARQUET = "trips.parquet"


class TrafficPhase(Phase):
    """The traffic phase of a run.

    Parameters
    ----------
    city
        The City (its drivable network).
    spec
        The scenario's ``traffic`` section; None (a scenario without one, whose other phases hand trips to
        traffic) runs with no trips of its own and the default options.
    rng
        The run's Generator.
    source
        Where the section was written, for messages.

    Attributes
    ----------
    service
        What the phase offers the other phases (``ctx.services["traffic"]``): add trips, redirect, reports.
    """

    name = "traffic"
    order = "traffic"

    def __init__(self, city: City, spec: TrafficSpec | None, rng: np.random.Generator, source: str = "traffic") -> None:
        spec = spec if spec is not None else TrafficSpec.model_validate({})
        table, problems = check_demand_nodes(spec, city.drive.nodes["osm_id"].to_numpy(np.int64), source)
        if problems:
            raise ScenarioError("the scenario's traffic demand does not fit the map", problems)
        self.city, self.spec = city, spec
        self.network = TrafficNetwork.from_network(city.drive)
        demand = pd.DataFrame(
            {
                "origin": table["origin"],
                "destination": table["destination"],
                "departure_s": table["departure_s"],
                "vehicle_class": table["vehicle_class"],
                "platoon": table["platoon"].fillna(spec.platoon_size).astype(np.int64),
            }
        )
        options = spec.options(record_links=False)  # the engine keeps the network series only
        self.sim = TrafficSim(self.network, demand, options, seed=rng)
        self.service = TrafficService(self.sim)

    def step(self, ctx: StepContext, dt_s: float) -> None:
        """Apply the current link states, then advance the traffic by the step."""
        state = ctx.state
        self.network.closed[:] = state.link_closed()
        self.network.speed_factor[:] = state.link_speed_factor
        self.network.capacity_factor[:] = state.link_capacity_factor
        logged = len(self.sim.state.recorder.abandoned_rows)
        self.sim.step(dt_s)
        self._log_gridlock(ctx.log, logged)

    def _log_gridlock(self, log: LogFunction, already: int) -> None:
        """Log the vehicles removed as abandoned in gridlock this step, per link (the standalone result keeps
        them too)."""
        links = self.city.drive.links
        for t_s, vehicles, where in self.sim.state.recorder.abandoned_rows[already:]:
            for link, count in zip(*np.unique(where, return_counts=True), strict=True):
                label = (
                    "origin queues"
                    if link < 0
                    else (f"link {int(link)} ({links['name'].iloc[int(link)] or links['highway'].iloc[int(link)]})")
                )
                log(
                    float(t_s),
                    "vehicles_abandoned",
                    label,
                    "gridlock",
                    {"vehicles": int(count), "first": int(vehicles[where == link][0])},
                )

    def services(self) -> dict[str, TrafficService]:
        """``"traffic"``: the :class:`TrafficService` residents and crews hand their vehicles to (add trips,
        redirect, reports)."""
        return {"traffic": self.service}

    def series(self) -> dict[str, float]:
        """The traffic columns of the time series."""
        counts = self.sim.counts()
        return {
            "vehicles_on_network": counts["on_network"],
            "vehicles_arrived": counts["arrived"],
            "vehicles_stranded": counts["stranded"],
            "vehicles_stuck": float(self.sim.vehicles_stuck),
            "mean_speed_ratio": float(self.sim.mean_speed_ratio),
        }

    def trips(self) -> pd.DataFrame:
        """Per-vehicle trips (departure, arrival, route length, travel time, status), for ``trips.parquet``."""
        return self.sim.trips()

    def outputs(self, folder: Path) -> list[Path]:
        """``trips.parquet``: one row per vehicle."""
        path = folder / TRIPS_PARQUET
        write_parquet_atomic(path, self.trips())
        return [path]

    def arrays(self) -> dict[str, np.ndarray]:
        """The simulation's changing state, for the engine's checkpoint."""
        return state_arrays(self.sim)

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`arrays`."""
        load_state_arrays(self.sim, arrays)

    def assumptions(self) -> list[str]:
        """What the traffic model assumed."""
        source = self.spec.demand.name if self.spec.demand is not None else "no demand file"
        return [
            f"traffic: {len(self.spec.table())} trips from {source} (platoons of "
            f"{self.spec.platoon_size}), link transmission model with {float(self.spec.substep_s):g} s sub-steps, "
            f"routes refreshed every {float(self.spec.reroute_every_s):g} s and when links close; capacities from "
            "the City (MATSim per-lane defaults), jam density from twin.traffic.network"
        ]


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The traffic phase of a scenario with a ``traffic`` section, or with residents (their cars are traffic: a
    scenario without the section then has no trips of its own); none otherwise. It draws from ``rng`` as it runs.
    """
    if spec.traffic is None and not wants_residents(spec):
        return []
    return [TrafficPhase(city, spec.traffic, rng)]


REGISTRY.add_phase("traffic", build)
