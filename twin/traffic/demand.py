"""Traffic demand (an origin-destination table with departure times) and the simulation options.

Vehicle classes: ``car``, ``emergency``, ``crew``, ``bus``. Each has a speed multiplier on the link's current
speed and a priority at merges (:class:`TrafficOptions`); the defaults are assumptions, not calibrated
values: emergency vehicles drive 20 % above the limit and go first at merges, buses 10 % below it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from twin.errors import TwinError

if TYPE_CHECKING:  # pandas (0.5 s with pyarrow) loads with a demand table, not with the options (issue 22)
    import pandas as pd

VEHICLE_CLASSES: tuple[str, ...] = ("car", "emergency", "crew", "bus")
DEFAULT_CLASS_SPEED: dict[str, float] = {"car": 1.0, "emergency": 1.2, "crew": 1.0, "bus": 0.9}


RouteCost = Literal["queue", "mean_speed", "free_flow"]
"""What drivers take a link's time to be (see :class:`TrafficOptions`)."""
ROUTE_COSTS: tuple[str, ...] = get_args(RouteCost)


@dataclass(frozen=True)
class TrafficOptions:
    """Options of a traffic simulation (SI units): the one definition of the traffic options, their defaults and
    bounds (in each field's ``metadata``), which the scenario's ``traffic`` section reads
    (:func:`option_defaults_and_bounds`).

    Attributes
    ----------
    substep_s
        Sub-step of the link model (s); an engine step is cut into equal sub-steps no longer than this.
    reroute_every_s
        Shortest-path trees are recomputed this often (and at once when a link closes or reopens).
    record_every_s
        Period of the per-link and network time series.
    gridlock_s
        A vehicle waiting longer than this (past its free-flow exit time, or at its origin) is stuck.
    abandon_gridlocked
        Remove stuck vehicles as abandoned (status ``abandoned``, logged) instead of only reporting them.
    squeeze_after_s
        When set, a vehicle at the end of a link that has let nobody out for this long enters its next link even
        without room (storage may then be exceeded): a gridlock breaker like MATSim's stuck time (10 s) and
        SUMO's time-to-teleport (300 s). None (the default): storage always holds, and gridlock is reported.
    platoon_size
        Vehicles one simulated vehicle stands for, when the demand has no ``platoon`` column.
    max_passes
        Bound on the moves within one sub-step (a vehicle crosses at most this many links per sub-step).
    class_speed
        Speed multiplier per vehicle class.
    priority_classes
        Classes served first when vehicles compete for a link's space at a junction.
    route_cost
        What drivers take a link's time to be when routes are refreshed: ``"queue"`` (free-flow time plus the
        queue at its end: vehicles queued over its capacity, or their mean wait if longer), ``"mean_speed"``
        (its length over the mean speed of the vehicles on it, those queued at its end counting as stopped,
        100 times the free-flow time when all are stopped: UXsim's instantaneous travel time, for
        comparisons) or ``"free_flow"`` (free-flow time, with speed factors and closures).
    record_links
        Keep the per-link time series (the network series is always kept).
    route_memory
        Weight left to earlier shortest-path trees at each refresh (0: all-or-nothing on the newest tree);
        see :class:`twin.traffic.routing.RouteChoice`.
    route_noise
        Upper bound of the drivers' multiplicative perception error of link times (ties broken at random).
    route_exact_destinations
        Distinct destinations routed by exact shortest-path trees, one per destination; past this many, routes
        go through destination zones (:mod:`twin.traffic.zones`), whose cost grows with the network instead.
    rechoice_every_s
        How often, on average, a driver held at a link's end (or at its origin) chooses its next link again (s).
        A driver draws its next link when it reaches the link's end (preferring links that have room at that
        moment) and keeps it while it waits; it chooses again when that link closes and at the events of a
        Poisson process of rate ``1 / T`` (``T`` this option; the gaps drawn from the run's seeded generator).
        None (``never`` in a scenario): the choice is kept until the link closes, the fixed turning movements of
        first-order node models (Daganzo 1995's FIFO diverge; Tampere et al. 2011's generic node model), which
        can lock a jam for good where real drivers would turn elsewhere. The default, 60 s, is an assumption:
        no measured rate at which drivers held at a junction reconsider their turn was found. It lies between
        UXsim's drivers, who re-draw their next link at every step of ``deltan`` seconds (Seo, UXsim, 2025),
        and the node models' fixed turning fractions (never). A re-choice takes effect at the next sub-step, so
        the rate is capped at ``1 / substep``: keep ``T`` well above the sub-step for results that do not depend
        on it. See :meth:`twin.traffic.sim.TrafficSim._next_links`.
    """

    substep_s: float = field(default=5.0, metadata={"gt": 0})
    reroute_every_s: float = field(default=300.0, metadata={"gt": 0})
    record_every_s: float = field(default=60.0, metadata={"gt": 0})
    gridlock_s: float = field(default=1800.0, metadata={"gt": 0})
    abandon_gridlocked: bool = False
    squeeze_after_s: float | None = field(default=None, metadata={"gt": 0})
    platoon_size: int = field(default=1, metadata={"ge": 1, "le": 1000})
    max_passes: int = field(default=30, metadata={"ge": 1})
    class_speed: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CLASS_SPEED))
    priority_classes: tuple[str, ...] = ("emergency",)
    route_cost: RouteCost = "queue"
    record_links: bool = True
    route_memory: float = field(default=0.5, metadata={"ge": 0.0, "lt": 1.0})
    route_noise: float = field(default=0.01, metadata={"ge": 0.0})
    route_exact_destinations: int = field(default=1000, metadata={"ge": 0})
    rechoice_every_s: float | None = field(default=60.0, metadata={"gt": 0, "none": "never"})

    def __post_init__(self) -> None:
        problems = [problem for f in fields(self) if (problem := _out_of_bounds(f, getattr(self, f.name)))]
        if self.route_cost not in ROUTE_COSTS:
            problems.append(f"route_cost must be one of {ROUTE_COSTS} (got {self.route_cost!r})")
        unknown = sorted(set(self.class_speed) - set(VEHICLE_CLASSES))
        missing = sorted(set(VEHICLE_CLASSES) - set(self.class_speed))
        if unknown or missing:
            problems.append(f"class_speed must name exactly {VEHICLE_CLASSES} (unknown {unknown}, missing {missing})")
        if any(not (v > 0) for v in self.class_speed.values()):
            problems.append("class_speed multipliers must be > 0")
        if bad := sorted(set(self.priority_classes) - set(VEHICLE_CLASSES)):
            problems.append(f"priority_classes has unknown classes {bad}; known: {VEHICLE_CLASSES}")
        if problems:
            raise TwinError("invalid traffic options", problems)


BOUND_WORDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
"""The bounds an option's ``metadata`` may give, as pydantic's ``Field`` takes them."""


def _out_of_bounds(option: Field[Any], value: Any) -> str | None:
    """The problem with an option's value, if it breaks the bounds in its metadata (None is allowed only where
    the default is None or the metadata says what None means, under ``"none"``)."""
    bounds = {k: v for k, v in option.metadata.items() if k in BOUND_WORDS}
    if not bounds or (value is None and (option.default is None or "none" in option.metadata)):
        return None
    checks = {
        "gt": lambda b: value > b,
        "ge": lambda b: value >= b,
        "lt": lambda b: value < b,
        "le": lambda b: value <= b,
    }
    if isinstance(value, int | float) and math.isfinite(value) and all(checks[k](b) for k, b in bounds.items()):
        return None
    wanted = " and ".join(f"{BOUND_WORDS[k]} {b:g}" for k, b in bounds.items())
    if "none" in option.metadata:
        wanted += f", or None ({option.metadata['none']})"
    return f"{option.name} must be {wanted} (got {value})"


def option_defaults_and_bounds(name: str) -> dict[str, Any]:
    """``default`` and bounds (``gt``, ``ge``, ``lt``, ``le``) of :class:`TrafficOptions`' option ``name``, the
    one definition the scenario's ``traffic`` section reads (as keyword arguments of a pydantic ``Field``)."""
    option = next(f for f in fields(TrafficOptions) if f.name == name)
    return {"default": option.default, **{k: v for k, v in option.metadata.items() if k in BOUND_WORDS}}


@dataclass(frozen=True)
class Demand:
    """Validated trips as arrays (vehicle id = row).

    Attributes
    ----------
    origin, destination
        Node ids (int32).
    departure_s
        Departure time (s, >= 0).
    vehicle_class
        Index into :data:`VEHICLE_CLASSES` (int8).
    platoon
        Vehicles this simulated vehicle stands for (int32, >= 1).
    """

    origin: np.ndarray
    destination: np.ndarray
    departure_s: np.ndarray
    vehicle_class: np.ndarray
    platoon: np.ndarray

    @classmethod
    def empty(cls) -> Demand:
        """No trips."""
        return cls(
            np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int32)
        )

    @property
    def n_vehicles(self) -> int:
        """Number of simulated vehicles."""
        return int(self.origin.size)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, n_nodes: int, platoon_size: int = 1, not_before_s: float = 0.0, what: str = ""
    ) -> Demand:
        """Validate an OD table (columns ``origin``, ``destination``, ``departure_s``, optional ``vehicle_class``
        (default ``car``) and ``platoon`` (default ``platoon_size``)); every problem is reported at once.

        ``not_before_s`` is the earliest departure allowed (the simulation's clock, for trips added while it runs);
        ``what`` names the table in messages (default: "the traffic demand").
        """
        what = what or "the traffic demand"
        missing = [c for c in ("origin", "destination", "departure_s") if c not in frame.columns]
        if missing:
            raise TwinError(
                f"{what}: the table lacks columns",
                [
                    f"no column {c!r} (the columns are origin, destination, departure_s and optionally "
                    "vehicle_class, platoon)"
                    for c in missing
                ],
            )
        problems: list[str] = []
        origin = _node_ids(frame["origin"], "origin", n_nodes, problems)
        destination = _node_ids(frame["destination"], "destination", n_nodes, problems)
        departure = _numbers(frame["departure_s"])
        if np.any(bad := ~(np.isfinite(departure) & (departure >= not_before_s))):
            when = (
                "the start, 0 s" if not_before_s == 0 else f"now, {not_before_s:g} s (a trip cannot leave in the past)"
            )
            problems.append(f"departure_s must be a finite time (s) at or after {when}: {_rows(frame, bad)}")
        code = _class_codes(frame, problems)
        platoon = _platoon(frame, platoon_size, problems)
        if problems:
            raise TwinError(f"{what}: some trips are invalid", problems)
        return cls(origin, destination, departure, code, platoon)


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    labels = frame.index[mask]
    shown = ", ".join(str(r) for r in labels[:5])
    return f"{len(labels)} row(s), {shown}{', ...' if len(labels) > 5 else ''}"


def _numbers(column: pd.Series) -> np.ndarray:
    """The column as float64, NaN where a value is not a number."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce").to_numpy(np.float64)


def _class_codes(frame: pd.DataFrame, problems: list[str]) -> np.ndarray:
    """Each row's index into :data:`VEHICLE_CLASSES` (``car`` without the column); unknown names are problems."""
    if "vehicle_class" not in frame:
        return np.zeros(len(frame), np.int8)
    classes = frame["vehicle_class"]
    known = classes.isin(VEHICLE_CLASSES).to_numpy()
    if not known.all():
        names = sorted(map(str, classes[~known].unique()))[:5]
        problems.append(f"unknown vehicle_class {names} (known: {VEHICLE_CLASSES}): {_rows(frame, ~known)}")
    return classes.map({name: i for i, name in enumerate(VEHICLE_CLASSES)}).fillna(0).to_numpy(np.int8)


def _node_ids(column: pd.Series, name: str, n_nodes: int, problems: list[str]) -> np.ndarray:
    values = _numbers(column)
    bad = ~(np.isfinite(values) & (values == np.round(values)) & (values >= 0) & (values < n_nodes))
    if bad.any():
        problems.append(f"{name} must be a node id in 0..{n_nodes - 1}: {_rows(column.to_frame(), bad)}")
    return np.where(bad, 0, values).astype(np.int32)


def _platoon(frame: pd.DataFrame, platoon_size: int, problems: list[str]) -> np.ndarray:
    if "platoon" not in frame:
        return np.full(len(frame), platoon_size, dtype=np.int32)
    values = _numbers(frame["platoon"])
    if np.any(bad := ~(np.isfinite(values) & (values >= 1) & (values == np.round(values)))):
        problems.append(f"platoon must be a whole number >= 1: {_rows(frame, bad)}")
    return np.where(np.isfinite(values), values, 1).astype(np.int32)
