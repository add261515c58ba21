"""The scenario's ``traffic`` section: an OD demand (CSV) and the traffic model's options.

::

    traffic:
      demand: trips.csv        # optional (without it the run starts with no trips; other phases add theirs);
                               # columns origin, destination (OSM node ids of drivable junctions), departure
                               # (seconds or a duration after the start); optional vehicle_class, platoon
      platoon_size: 1          # one simulated vehicle stands for this many
      substep: 5s
      reroute_every: 5min
      gridlock: 30min
      abandon_gridlocked: false
      route_cost: queue        # queue | mean_speed (UXsim's) | free_flow: what drivers take a link's time to be
      route_memory: 0.5        # weight left to earlier shortest-path trees at each refresh (0: newest only)
      route_exact_destinations: 1000  # distinct destinations routed exactly; past this, destination zones
                               # (routes at most the round trip to the zone's seed longer; docs/routing.md)
      squeeze_after: 5min      # optional gridlock breaker (MATSim's stuck time); absent: storage always holds
      rechoice_every: 1min     # a held driver re-chooses its next link this often on average (a Poisson process;
                               # default 1min, an assumption); never: the next link is kept until it closes

The CSV is read and checked when the scenario loads (every bad row at once, with its row number as a spreadsheet
counts it: the header is row 1); that its nodes are on the map is checked when the engine starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, PrivateAttr, field_validator

from twin.scenario.base import DurationOrNever, ExistingFile, PositiveDuration, SpecModel
from twin.scenario.csvtable import read_csv_table
from twin.scenario.problems import HIDE, Problem, problems_error
from twin.traffic.demand import VEHICLE_CLASSES, RouteCost, TrafficOptions, option_defaults_and_bounds
from twin.units import parse_duration_s

if TYPE_CHECKING:  # pandas (0.5 s with pyarrow) loads only to read a demand file (issue 22)
    import pandas as pd

DEMAND_COLUMNS = ("origin", "destination", "departure")
DEMAND_MEANINGS = {
    "origin": "the OSM node id a trip starts at",
    "destination": "the OSM node id it goes to",
    "departure": "seconds or a duration after the start",
}
LISTED_ROWS = 8


def _option(name: str, **field: Any) -> Any:
    """A field with the default and bounds of :class:`TrafficOptions`' option ``name`` (their one definition)."""
    return Field(**option_defaults_and_bounds(name), **field)


class TrafficSpec(SpecModel):
    """Traffic demand and options (see :mod:`twin.traffic`; defaults and bounds from :class:`TrafficOptions`).

    Without ``demand`` the run starts with no trips: other phases (residents, crews) add theirs while it runs.
    """

    demand: ExistingFile | None = Field(
        None, examples=["trips.csv"], description="OD trips: origin, destination, departure"
    )
    platoon_size: int = _option("platoon_size")
    substep_s: PositiveDuration = _option("substep_s", alias="substep", examples=["5s"])
    reroute_every_s: PositiveDuration = _option("reroute_every_s", alias="reroute_every", examples=["5min"])
    gridlock_s: PositiveDuration = _option("gridlock_s", alias="gridlock", examples=["30min"])
    abandon_gridlocked: bool = _option("abandon_gridlocked")
    route_cost: RouteCost = _option("route_cost")
    route_memory: float = _option("route_memory")
    route_exact_destinations: int = _option("route_exact_destinations")
    squeeze_after_s: PositiveDuration | None = _option("squeeze_after_s", alias="squeeze_after", examples=["5min"])
    rechoice_every_s: DurationOrNever = _option("rechoice_every_s", alias="rechoice_every", examples=["1min", "never"])
    _table: pd.DataFrame | None = PrivateAttr(default=None)

    @field_validator("demand")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        problems = read_demand(value)[1] if value is not None else []
        if problems:
            raise problems_error(*problems)
        return value

    def table(self) -> pd.DataFrame:
        """The demand as a table: ``origin_osm``, ``destination_osm``, ``departure_s``, ``vehicle_class``,
        ``platoon``, and ``row`` (the trip's row in the file) (read once; no rows without a demand file)."""
        if self._table is None:
            self._table = read_demand(self.demand)[0] if self.demand is not None else _no_trips()
        return self._table

    def options(self, **overrides: Any) -> TrafficOptions:
        """The traffic model's options: the section's values, with ``overrides`` (e.g. ``record_links=False``)."""
        given = {name: getattr(self, name) for name in SCENARIO_OPTIONS}
        return TrafficOptions(**{**given, **overrides})


SCENARIO_OPTIONS = tuple(name for name in TrafficSpec.model_fields if name != "demand")
"""The :class:`TrafficOptions` a scenario can set (the section's fields, under the options' own names)."""


def _no_trips() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "origin_osm": np.zeros(0, np.int64),
            "destination_osm": np.zeros(0, np.int64),
            "departure_s": np.zeros(0),
            "vehicle_class": np.zeros(0, dtype=object),
            "platoon": np.zeros(0),
            "row": np.zeros(0, np.int64),
        }
    )


def read_demand(path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and check an OD demand CSV (:mod:`twin.scenario.csvtable`); every problem names the file, the rows
    and the column. The table keeps each trip's ``row`` in the file for later messages."""
    import pandas as pd

    example = "e.g. a header line `origin,destination,departure` then rows like `2517736,613405,15min`"
    table, problems = read_csv_table(path, [(c, DEMAND_MEANINGS[c]) for c in DEMAND_COLUMNS], example)
    if table is None:
        return pd.DataFrame(), problems
    rows = _Rows(table.name, np.array(table.row_numbers, dtype=np.int64), problems)
    present = [c for c in (*DEMAND_COLUMNS, "vehicle_class", "platoon") if table.has(c)]
    frame = pd.DataFrame({c: table.column(c) for c in present}, dtype=str)
    origin = _ids(frame, "origin", rows)
    destination = _ids(frame, "destination", rows)
    departure = _times(frame, rows)
    classes = frame["vehicle_class"] if "vehicle_class" in frame else pd.Series("car", index=frame.index)
    classes = classes.replace("", "car")
    rows.bad(~classes.isin(VEHICLE_CLASSES).to_numpy(), "vehicle_class", f"must be one of {', '.join(VEHICLE_CLASSES)}")
    platoon = pd.Series(np.nan, index=frame.index)
    if "platoon" in frame:
        platoon = pd.to_numeric(frame["platoon"], errors="coerce")
        rows.bad(~((platoon >= 1) & (platoon == platoon.round())).to_numpy(), "platoon", "must be a whole number >= 1")
    trips = pd.DataFrame(
        {
            "origin_osm": origin,
            "destination_osm": destination,
            "departure_s": departure,
            "vehicle_class": classes.to_numpy(),
            "platoon": platoon.to_numpy(),
            "row": rows.numbers,
        }
    )
    return trips, problems


class _Rows:
    """The data rows' numbers in a demand file, and the problems found on them (rows listed per column)."""

    def __init__(self, name: str, numbers: np.ndarray, problems: list[Problem]) -> None:
        self.name, self.numbers, self.problems = name, numbers, problems

    def bad(self, bad: np.ndarray, column: str, what: str) -> None:
        """Report the rows where ``bad`` holds (the first :data:`LISTED_ROWS` by number, then the count)."""
        if not bad.any():
            return
        rows = self.numbers[bad]
        shown = ", ".join(str(r) for r in rows[:LISTED_ROWS]) + (" ..." if len(rows) > LISTED_ROWS else "")
        message = f"{self.name} column {column!r} {what}: rows {shown} ({len(rows)} in all)"
        self.problems.append(Problem((), message, HIDE))


def _ids(frame: pd.DataFrame, column: str, rows: _Rows) -> np.ndarray:
    import pandas as pd

    what = "must be an OSM node id (a whole number)"
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.dtype == np.int64:  # exact: ids past 2**53 keep every digit
        bad = ~(values > 0).to_numpy()
        rows.bad(bad, column, what)
        return np.where(bad, -1, values.to_numpy(np.int64))
    # uint64 (past int64) or float (text, fractions, past uint64): OSM ids are 64-bit signed, and 2**63 itself is
    # a float no int64 holds, hence < rather than <=.
    floats = values.astype(np.float64)
    bad = ~((floats > 0) & (floats < 2.0**63) & (floats == floats.round())).to_numpy()
    rows.bad(bad, column, what)
    return np.where(bad, -1, floats.fillna(-1).to_numpy()).astype(np.int64)


def _times(frame: pd.DataFrame, rows: _Rows) -> np.ndarray:
    def seconds(text: str) -> float:
        try:
            return float(text)  # plain seconds
        except ValueError:
            pass
        try:
            return float(parse_duration_s(text))
        except ValueError:
            return float("nan")

    values = frame["departure"].map(seconds).to_numpy(np.float64)
    what = "must be seconds or a duration after the start (90, 15min)"
    rows.bad(~(np.isfinite(values) & (values >= 0)), "departure", what)
    return values


def check_demand_nodes(spec: TrafficSpec, osm_ids: np.ndarray, source: str) -> tuple[pd.DataFrame, list[str]]:
    """The demand with twin node ids (``origin``, ``destination``), and every OSM id not on the drivable network.

    Parameters
    ----------
    spec
        The traffic section.
    osm_ids
        OSM id of each drivable node (``City.drive.nodes["osm_id"]``).
    source
        Where the section was written, for messages.
    """
    import pandas as pd

    table = spec.table().copy()
    index = pd.Series(np.arange(len(osm_ids)), index=osm_ids)
    problems: list[str] = []
    name = spec.demand.name if spec.demand is not None else "demand"
    for column in ("origin", "destination"):
        ids = table[f"{column}_osm"]
        known = ids.isin(index.index).to_numpy()
        if not known.all():
            rows = table["row"].to_numpy()[~known]
            unknown = sorted(set(ids[~known]))
            shown = ", ".join(map(str, rows[:LISTED_ROWS])) + (" ..." if len(rows) > LISTED_ROWS else "")
            problems.append(
                f"{source}: {name} column {column!r}: OSM nodes {unknown[:5]}"
                + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                + f" (rows {shown}: {len(rows)} of {len(table)} rows) are not junctions of the drivable network "
                "of this map (a demand file written for another map?); use ids of drivable nodes, listed in Python by "
                "`twin.city.build.load_city(MAP).drive.nodes['osm_id']`"
            )
        table[column] = np.where(known, index.reindex(ids).fillna(0).to_numpy(np.int64), 0)
    return table, problems
