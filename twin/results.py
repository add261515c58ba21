"""The Results of one run and its run folder (DESIGN.md, "Results" and rule 7).

A run folder holds, with exactly these names:

=====================  ======================================================================
``timeseries.parquet``  ``t_s`` first; one row at t = 0 (normal state), then one per record
``events.parquet``      ``t_s``, ``kind``, ``target``, ``cause``, ``details`` (JSON text)
``zones.parquet``       long table ``t_s``, ``zone``, ``service``, ``q`` (only when zones exist)
``metrics.json``        figures keyed by the bare service name (``power``, not ``Q_power``)
``assumptions.json``    ``{"map": [...], "scenario": [...]}``
``scenario.json``       the resolved scenario
``provenance.json``     seed, map hash, command, versions, engine time and its parts, ``status``
``manifest.json``       every file of the folder (outputs included) with its kind, size and SHA-256
=====================  ======================================================================

Every file is written atomically (:mod:`twin.atomic`), and the folder goes through the steps of
:mod:`twin.runfolder`: claimed empty, marked ``incomplete``, filled, sealed by the manifest, and only then
``provenance.json`` says ``complete``. :meth:`Results.load` refuses an incomplete folder and one whose files
do not match its manifest.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas (0.5 s with pyarrow) loads where a table is built or read (issue 22)
    import pandas as pd

from twin.atomic import write_json_atomic, write_parquet_atomic
from twin.errors import RunError
from twin.runfolder import (
    MANIFEST,
    PROVENANCE,
    STATUS_COMPLETE,
    STATUS_INCOMPLETE,
    STATUSES,
    begin_run_folder,
    folder_error,
    read_manifest,
    seal_run_folder,
    verify_manifest,
    write_provenance,
)

TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
ZONES = "zones.parquet"
METRICS = "metrics.json"
ASSUMPTIONS = "assumptions.json"
SCENARIO = "scenario.json"
#: The Results files of a run folder, in the order :meth:`Results.write` writes them (provenance first and last).
RESULT_FILES = (TIMESERIES, EVENTS, ZONES, METRICS, ASSUMPTIONS, SCENARIO, PROVENANCE)
__all__ = [
    "MANIFEST",
    "STATUSES",
    "STATUS_COMPLETE",
    "STATUS_INCOMPLETE",
    "Results",
    "begin_run_folder",
    "empty_events_frame",
    "events_frame",
    "provenance_base",
    "read_provenance",
    "to_jsonable",
]

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
    import pandas as pd

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

    def save(self, folder: Path, status: str = STATUS_COMPLETE, *, overwrite: bool = False) -> list[Path]:
        """Write a whole run folder: claim it, write the tables and documents, seal it with the manifest.

        The folder must be absent or empty unless ``overwrite`` (which empties it first). ``provenance.json``
        says incomplete until the manifest is written, then ``status``. An interruption at any point leaves a
        folder marked incomplete and no half-written file.

        Parameters
        ----------
        folder
            The run folder; created with its parents if needed.
        status
            ``"complete"``, or ``"incomplete"`` for the whole results of a run stopped before its end.
        overwrite
            Empty a folder that holds files instead of refusing it.

        Returns
        -------
        list of pathlib.Path
            The files written, ``manifest.json`` and ``provenance.json`` last.

        Raises
        ------
        ValueError
            On an unknown status or results that break the contract (a programming error).
        RunError
            If the folder is refused or cannot be written.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._check()
        self._documents()  # a contract breach fails before the folder is claimed
        folder = Path(folder)
        begin_run_folder(folder, to_jsonable(self.provenance), overwrite=overwrite)
        written = self.write(folder)
        seal_run_folder(folder, to_jsonable(self.provenance), status)
        return [*written, folder / MANIFEST, folder / PROVENANCE]

    def write(self, folder: Path) -> list[Path]:
        """Write the tables and documents into a claimed run folder, ``provenance.json`` (incomplete) first.

        The folder stays marked incomplete: a caller with more outputs writes them and then seals the folder
        (:func:`twin.runfolder.seal_run_folder`). Use it alone for the partial results of an interrupted run.

        Parameters
        ----------
        folder
            A run folder claimed by :func:`twin.runfolder.begin_run_folder` (it must exist).

        Returns
        -------
        list of pathlib.Path
            The files written, in order.

        Raises
        ------
        ValueError
            On results that break the contract (a programming error), before anything is written.
        RunError
            If the folder cannot be written.
        """
        self._check()
        folder = Path(folder)
        documents = self._documents()
        tables = {TIMESERIES: self.timeseries, EVENTS: self.events, ZONES: self.zones}
        written = []
        write_provenance(folder, to_jsonable(self.provenance), STATUS_INCOMPLETE)
        try:
            for name, table in tables.items():
                if table is not None:
                    write_parquet_atomic(folder / name, table)
                    written.append(folder / name)
            for name, document in documents.items():
                write_json_atomic(folder / name, document)
                written.append(folder / name)
        except OSError as exc:
            raise folder_error(folder, exc) from exc
        return written

    @classmethod
    def load(cls, folder: Path, *, allow_incomplete: bool = False) -> Results:
        """Read a run folder back, after checking that its files are those its manifest lists.

        Parameters
        ----------
        folder
            The run folder.
        allow_incomplete
            Also read the whole results of a run stopped before its end (sealed, status incomplete) and the
            partial tables of an interrupted one (no manifest: nothing vouches for them).

        Returns
        -------
        Results
            The tables and documents; ``zones`` is None when the folder has no ``zones.parquet``.

        Raises
        ------
        RunError
            If the folder is incomplete (unless allowed), has no manifest although it says complete, its
            files differ from the manifest (every difference listed), or a required file is missing or
            unreadable.
        """
        import pandas as pd

        folder = Path(folder)
        if not folder.is_dir():
            raise RunError(f"{folder} is not a folder; give the folder a run wrote (twin run --out)")
        provenance = read_provenance(folder)
        _check_sealed(folder, provenance, allow_incomplete)
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
                provenance=provenance,
                scenario=_read_json(folder / SCENARIO),
            )
        except (OSError, ValueError) as exc:
            raise RunError(f"{folder}: cannot read the run's results ({exc}); run the scenario again") from exc
        return results

    def _documents(self) -> dict[str, Any]:
        """The JSON documents of the folder, checked to be strict JSON."""
        documents = {
            METRICS: to_jsonable(self.metrics),
            ASSUMPTIONS: to_jsonable(self.assumptions),
            SCENARIO: to_jsonable(self.scenario),
        }
        for name, document in documents.items():
            _check_json(name, document)
        return documents

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


def _check_sealed(folder: Path, provenance: dict[str, Any], allow_incomplete: bool) -> None:
    """Refuse a folder that is incomplete (unless allowed) or whose files do not match its manifest."""
    status = provenance.get("status")
    if status != STATUS_COMPLETE and not allow_incomplete:
        stopped = provenance.get("stopped_at_s")
        when = f" (it stopped at {stopped:g} s)" if isinstance(stopped, int | float) else ""
        raise RunError(
            f"{folder} holds an incomplete run{when}: it was interrupted or stopped before its end, so its "
            "results cannot stand for the scenario; run it again to the end, or load it with "
            "allow_incomplete=True to read what it holds"
        )
    manifest = read_manifest(folder)
    if manifest is None:
        if status == STATUS_COMPLETE:
            raise RunError(
                f"{folder} says complete but has no {MANIFEST}, so nothing vouches for its files; run the scenario "
                "again with this version of twin"
            )
        return
    problems = verify_manifest(folder, manifest)
    if problems:
        raise RunError(f"{folder}: the files do not match the run's manifest; run the scenario again", problems)


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
