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
      squeeze_after: 5min      # optional gridlock breaker (MATSim's stuck time); absent: storage always holds

The CSV is read and checked when the scenario loads (every bad row at once, with its row number as a spreadsheet
counts it: the header is row 1); that its nodes are on the map is checked when the engine starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, field_validator

from twin.scenario.base import ExistingFile, PositiveDuration, SpecModel
from twin.scenario.problems import HIDE, Problem, problems_error
from twin.traffic.demand import VEHICLE_CLASSES, RouteCost, TrafficOptions, option_defaults_and_bounds
from twin.units import parse_duration_s

DEMAND_COLUMNS = ("origin", "destination", "departure")
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
    squeeze_after_s: PositiveDuration | None = _option("squeeze_after_s", alias="squeeze_after", examples=["5min"])
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
        ``platoon`` (read once; no rows without a demand file)."""
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
    return pd.DataFrame(
        {
            "origin_osm": np.zeros(0, np.int64),
            "destination_osm": np.zeros(0, np.int64),
            "departure_s": np.zeros(0),
            "vehicle_class": np.zeros(0, dtype=object),
            "platoon": np.zeros(0),
        }
    )


def read_demand(path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and check an OD demand CSV; every problem names the file, the row and the column."""
    name = path.name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except OSError as exc:  # a folder, no permission, an I/O error: pandas' parser must not see it
        return pd.DataFrame(), [Problem((), f"{name} cannot be read: {exc.strerror or type(exc).__name__}", HIDE)]
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        # The reason only (pandas' and the codec's messages give positions, never the file's content).
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc).split("\n")[0][:120]
        return pd.DataFrame(), [
            Problem(
                (), f"{name} is not a readable CSV file ({reason})", HIDE, "save it as CSV UTF-8 with a header line"
            )
        ]
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in DEMAND_COLUMNS if c not in frame.columns]
    if missing:
        return pd.DataFrame(), [
            Problem(
                (),
                f"{name} has no column {', '.join(repr(m) for m in missing)}",
                HIDE,
                # The file's own header is not quoted: the file may not be the user's (never echo a foreign file).
                f"the header line needs {', '.join(DEMAND_COLUMNS)} (it has {_count(len(frame.columns), 'column')})",
            )
        ]
    problems: list[Problem] = []
    origin = _ids(frame, "origin", name, problems)
    destination = _ids(frame, "destination", name, problems)
    departure = _times(frame, name, problems)
    classes = frame["vehicle_class"].str.strip() if "vehicle_class" in frame else pd.Series("car", index=frame.index)
    classes = classes.replace("", "car")
    _bad_rows(
        ~classes.isin(VEHICLE_CLASSES).to_numpy(),
        name,
        "vehicle_class",
        f"must be one of {', '.join(VEHICLE_CLASSES)}",
        problems,
    )
    platoon = (
        pd.to_numeric(frame["platoon"], errors="coerce") if "platoon" in frame else pd.Series(np.nan, index=frame.index)
    )
    if "platoon" in frame:
        _bad_rows(
            ~((platoon >= 1) & (platoon == platoon.round())).to_numpy(),
            name,
            "platoon",
            "must be a whole number >= 1",
            problems,
        )
    table = pd.DataFrame(
        {
            "origin_osm": origin,
            "destination_osm": destination,
            "departure_s": departure,
            "vehicle_class": classes.to_numpy(),
            "platoon": platoon.to_numpy(),
        }
    )
    return table, problems


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _ids(frame: pd.DataFrame, column: str, name: str, problems: list[Problem]) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    if values.dtype == np.int64:  # exact: ids past 2**53 keep every digit
        bad = ~(values > 0).to_numpy()
        _bad_rows(bad, name, column, "must be an OSM node id (a whole number)", problems)
        return np.where(bad, -1, values.to_numpy(np.int64))
    # uint64 (past int64) or float (text, fractions, past uint64): OSM ids are 64-bit signed, and 2**63 itself is
    # a float no int64 holds, hence < rather than <=.
    floats = values.astype(np.float64)
    bad = ~((floats > 0) & (floats < 2.0**63) & (floats == floats.round())).to_numpy()
    _bad_rows(bad, name, column, "must be an OSM node id (a whole number)", problems)
    return np.where(bad, -1, floats.fillna(-1).to_numpy()).astype(np.int64)


def _times(frame: pd.DataFrame, name: str, problems: list[Problem]) -> np.ndarray:
    def seconds(text: str) -> float:
        text = text.strip()
        try:
            return float(text)  # plain seconds
        except ValueError:
            pass
        try:
            return float(parse_duration_s(text))
        except ValueError:
            return float("nan")

    values = frame["departure"].map(seconds).to_numpy(np.float64)
    _bad_rows(
        ~(np.isfinite(values) & (values >= 0)),
        name,
        "departure",
        "must be seconds or a duration after the start (90, 15min)",
        problems,
    )
    return values


def _bad_rows(bad: np.ndarray, name: str, column: str, what: str, problems: list[Problem]) -> None:
    if not bad.any():
        return
    rows = np.flatnonzero(bad) + 2  # the header is row 1
    shown = ", ".join(str(r) for r in rows[:LISTED_ROWS]) + (" ..." if len(rows) > LISTED_ROWS else "")
    problems.append(Problem((), f"{name} column {column!r} {what}: rows {shown} ({len(rows)} in all)", HIDE))


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
    table = spec.table().copy()
    index = pd.Series(np.arange(len(osm_ids)), index=osm_ids)
    problems: list[str] = []
    name = spec.demand.name if spec.demand is not None else "demand"
    for column in ("origin", "destination"):
        ids = table[f"{column}_osm"]
        known = ids.isin(index.index).to_numpy()
        if not known.all():
            rows = np.flatnonzero(~known) + 2
            problems.append(
                f"{source}: {name} column {column!r}: OSM nodes {sorted(set(ids[~known]))[:5]} (rows "
                f"{', '.join(map(str, rows[:LISTED_ROWS]))}) are not junctions of the drivable network; use ids of "
                "drivable nodes (`twin map info` lists the network; nodes off it have no road to drive)"
            )
        table[column] = np.where(known, index.reindex(ids).fillna(0).to_numpy(np.int64), 0)
    return table, problems
