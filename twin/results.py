"""The Results of one run and its run folder (DESIGN.md, "Results" and rule 7).

A run folder holds, with exactly these names:

=====================  ======================================================================
``timeseries.parquet``  ``t_s`` first; one row at t = 0 (normal state), then one per record
``events.parquet``      ``t_s``, ``kind``, ``target``, ``cause``, ``details`` (JSON text)
``zones.parquet``       long table ``t_s``, ``zone``, ``service``, ``q`` (only when zones exist)
``metrics.json``        figures keyed by the bare service name (``power``, not ``Q_power``)
``assumptions.json``    ``{"map": [...], "scenario": [...]}``
``scenario.json``       the resolved scenario
``provenance.json``     seed, map hash, command, versions, wall time, ``status``
=====================  ======================================================================

Every file is written atomically (:mod:`twin.atomic`). ``provenance.json`` says
``"status": "incomplete"`` from the moment a run starts (:func:`begin_run_folder`) and while
:meth:`Results.save` writes the tables; it is written with ``"status": "complete"`` last, so a
folder whose provenance says complete holds a whole, consistent set of files.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.atomic import write_json_atomic, write_parquet_atomic
from twin.errors import RunError

TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
ZONES = "zones.parquet"
METRICS = "metrics.json"
ASSUMPTIONS = "assumptions.json"
PROVENANCE = "provenance.json"
SCENARIO = "scenario.json"
#: Every file a run folder may hold, in the order :meth:`Results.save` writes them.
RESULT_FILES = (TIMESERIES, EVENTS, ZONES, METRICS, ASSUMPTIONS, SCENARIO, PROVENANCE)

STATUS_INCOMPLETE = "incomplete"
STATUS_COMPLETE = "complete"
STATUSES = (STATUS_INCOMPLETE, STATUS_COMPLETE)

#: Columns of ``events.parquet``: time (float seconds), then text; ``details`` is JSON text.
EVENT_COLUMNS = ("t_s", "kind", "target", "cause", "details")
#: Columns of ``zones.parquet`` (long format, one row per record x zone x service).
ZONE_COLUMNS = ("t_s", "zone", "service", "q")
#: Packages whose versions go into the provenance (those a run's figures depend on).
PROVENANCE_PACKAGES = ("twin", "numpy", "scipy", "pandas", "mesa", "osmnx", "networkx")

EventRecord = tuple[float, str, str, str, str]


def empty_events_frame() -> pd.DataFrame:
    """An event log with no rows and the contract's columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Columns ``t_s`` (float64) and ``kind``, ``target``, ``cause``, ``details`` (str).
    """
    return events_frame([])


def events_frame(records: list[EventRecord]) -> pd.DataFrame:
    """An event log from ``(t_s, kind, target, cause, details)`` tuples, in the given order.

    Parameters
    ----------
    records
        One tuple per event; ``details`` is JSON text (``"{}"`` when there is nothing to add).

    Returns
    -------
    pandas.DataFrame
        Columns ``t_s`` (float64) and ``kind``, ``target``, ``cause``, ``details`` (str).
    """
    columns = list(zip(*records, strict=True)) if records else [()] * len(EVENT_COLUMNS)
    data = {
        name: pd.Series(list(values), dtype="float64" if name == "t_s" else "str")
        for name, values in zip(EVENT_COLUMNS, columns, strict=True)
    }
    return pd.DataFrame(data)


def provenance_base() -> dict[str, Any]:
    """The part of a run's provenance that describes the software it ran on.

    Returns
    -------
    dict
        ``python`` (version), ``platform`` and ``packages`` (name -> version, None when the
        package is not installed) for the packages in ``PROVENANCE_PACKAGES``.
    """
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _package_version(name) for name in PROVENANCE_PACKAGES},
    }


def begin_run_folder(folder: Path, provenance: dict[str, Any]) -> None:
    """Create (or reuse) a run folder and mark it incomplete before the run starts.

    Result files an earlier run left in the folder are removed first, so that nothing in it can be
    taken for this run's output; files with other names are left alone.

    Parameters
    ----------
    folder
        The run folder; created with its parents if needed.
    provenance
        What is known at the start (seed, map hash, command, :func:`provenance_base`, ...);
        written to ``provenance.json`` with ``"status": "incomplete"``.

    Raises
    ------
    RunError
        If the folder cannot be created or written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The provenance goes first: from here on the folder says incomplete whatever else happens.
        _write_provenance(folder, provenance, STATUS_INCOMPLETE)
        for name in RESULT_FILES:
            if name != PROVENANCE:
                (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise _folder_error(folder, exc) from exc


def read_provenance(folder: Path) -> dict[str, Any]:
    """The ``provenance.json`` of a run folder (its ``status`` says whether the run completed).

    Parameters
    ----------
    folder
        The run folder.

    Returns
    -------
    dict
        The provenance, with ``status`` ``"complete"`` or ``"incomplete"``.

    Raises
    ------
    RunError
        If the folder has no readable ``provenance.json``.
    """
    path = Path(folder) / PROVENANCE
    try:
        return _read_json(path)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the run's provenance ({exc}); is this a twin run folder?") from exc


@dataclass
class Results:
    """Everything one run produced; :meth:`save` and :meth:`load` map it to a run folder.

    Attributes
    ----------
    timeseries
        ``t_s`` first; one row at t = 0 then one per record; ``Q_*`` and count columns.
    events
        Event log (see :func:`events_frame`).
    zones
        Long per-zone table ``t_s``, ``zone``, ``service``, ``q``; None when no zones are modelled.
    metrics
        Figures keyed by the bare service name (see :func:`twin.metrics.service_metrics`).
    assumptions
        ``{"map": [...], "scenario": [...]}``.
    provenance
        Seed, map hash, command, package versions, wall time, ... (``status`` is set by :meth:`save`).
    scenario
        The resolved scenario, as JSON-ready data.
    """

    timeseries: pd.DataFrame
    events: pd.DataFrame
    zones: pd.DataFrame | None
    metrics: dict[str, Any]
    assumptions: dict[str, Any]
    provenance: dict[str, Any]
    scenario: dict[str, Any]

    def save(self, folder: Path, status: str = STATUS_COMPLETE) -> None:
        """Write the run folder atomically, ``provenance.json`` last.

        ``provenance.json`` is first (re)written as incomplete, then every table and JSON file is
        written atomically, then ``provenance.json`` with ``status``. An interruption at any point
        leaves a folder marked incomplete and no half-written file. Use ``status="incomplete"`` to
        save the partial results of an interrupted run (Ctrl-C).

        Parameters
        ----------
        folder
            The run folder; created with its parents if needed.
        status
            ``"complete"`` or ``"incomplete"``.

        Raises
        ------
        ValueError
            On an unknown status or results that break the contract (a programming error).
        RunError
            If the folder cannot be written.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._check()
        folder = Path(folder)
        documents = {
            METRICS: to_jsonable(self.metrics),
            ASSUMPTIONS: to_jsonable(self.assumptions),
            SCENARIO: to_jsonable(self.scenario),
        }
        for name, document in documents.items():
            _check_json(name, document)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_provenance(folder, self.provenance, STATUS_INCOMPLETE)
            write_parquet_atomic(folder / TIMESERIES, self.timeseries)
            write_parquet_atomic(folder / EVENTS, self.events)
            if self.zones is not None:
                write_parquet_atomic(folder / ZONES, self.zones)
            else:
                (folder / ZONES).unlink(missing_ok=True)  # an earlier run's zones are not ours
            for name, document in documents.items():
                write_json_atomic(folder / name, document)
            _write_provenance(folder, self.provenance, status)
        except OSError as exc:
            raise _folder_error(folder, exc) from exc

    @classmethod
    def load(cls, folder: Path) -> Results:
        """Read a run folder written by :meth:`save` (complete or not; see ``provenance["status"]``).

        Parameters
        ----------
        folder
            The run folder.

        Returns
        -------
        Results
            The tables and documents; ``zones`` is None when the folder has no ``zones.parquet``.

        Raises
        ------
        RunError
            If a required file is missing or unreadable.
        """
        folder = Path(folder)
        required = [n for n in RESULT_FILES if n != ZONES]
        missing = [n for n in required if not (folder / n).is_file()]
        if missing:
            raise RunError(
                f"{folder} is not a saved twin run folder",
                [f"missing {n}" for n in missing],
            )
        try:
            results = cls(
                timeseries=pd.read_parquet(folder / TIMESERIES),
                events=pd.read_parquet(folder / EVENTS),
                zones=pd.read_parquet(folder / ZONES) if (folder / ZONES).is_file() else None,
                metrics=_read_json(folder / METRICS),
                assumptions=_read_json(folder / ASSUMPTIONS),
                provenance=read_provenance(folder),
                scenario=_read_json(folder / SCENARIO),
            )
        except RunError:
            raise
        except (OSError, ValueError) as exc:
            raise RunError(f"{folder}: cannot read the run's results ({exc})") from exc
        return results

    def _check(self) -> None:
        """Fail before writing anything if the results break the folder contract."""
        columns = list(self.timeseries.columns)
        if not columns or columns[0] != "t_s":
            raise ValueError(f"timeseries must have t_s as its first column, got {columns[:3]}")
        missing = [c for c in EVENT_COLUMNS if c not in self.events.columns]
        if missing:
            raise ValueError(f"events lacks columns {missing}; build it with events_frame()")
        if self.zones is not None and (absent := [c for c in ZONE_COLUMNS if c not in self.zones.columns]):
            raise ValueError(f"zones lacks columns {absent}")
        prefixed = [k for k in self.metrics if str(k).startswith("Q_")]
        if prefixed:
            raise ValueError(f"metrics must be keyed by the bare service name, got {prefixed}")


def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` that strict JSON can hold: NaN and infinities become None.

    numpy scalars and arrays become Python numbers and lists, tuples and sets lists, paths and
    dates strings, mapping keys strings. Anything else is returned as is (and ``json`` rejects it).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _check_json(name: str, document: Any) -> None:
    """Fail before writing anything if a document cannot be written as strict JSON."""
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not JSON-serialisable ({exc})") from exc


def _write_provenance(folder: Path, provenance: dict[str, Any], status: str) -> None:
    """Write ``provenance.json`` with the given status (overriding any status in ``provenance``)."""
    write_json_atomic(folder / PROVENANCE, to_jsonable({**provenance, "status": status}))


def _read_json(path: Path) -> dict[str, Any]:
    """Read one JSON document of a run folder."""
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def _package_version(name: str) -> str | None:
    """Installed version of a distribution, None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "twin":  # run from a source checkout without being installed
            import twin

            return twin.__version__
        return None


def _folder_error(folder: Path, exc: OSError) -> RunError:
    """The user-facing error for a run folder that cannot be written."""
    reason = exc.strerror or str(exc)
    return RunError(
        f"cannot write the run folder {folder}: {reason}; choose a folder you can write to "
        "(with enough free space) for the run's output"
    )
