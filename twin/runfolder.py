"""The life of a run folder: claimed empty, marked incomplete, filled, sealed with a manifest, then complete.

A run folder only ever holds one run:

1. :func:`claim_run_folder` refuses a folder that holds anything unless told to overwrite, and then empties it
   (never following a symbolic link out of it), before :func:`begin_run_folder` writes ``provenance.json``
   with ``"status": "incomplete"``;
2. the run writes its files, each atomically (:mod:`twin.atomic`);
3. :func:`seal_run_folder` writes ``manifest.json`` (every file of the folder with its kind, size and SHA-256,
   ``provenance.json`` included, hashed as it is about to be written) and then ``provenance.json`` with the
   final status, last.

A folder whose provenance says ``complete`` therefore holds a manifest that its files match; a run interrupted
at any point leaves ``incomplete`` (and no manifest when it was interrupted before the seal).
:func:`verify_manifest` checks a folder against its manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from twin.atomic import write_bytes_atomic, write_json_atomic
from twin.errors import RunError

PROVENANCE = "provenance.json"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "twin-run-manifest"
MANIFEST_VERSION = 1

STATUS_INCOMPLETE = "incomplete"
STATUS_COMPLETE = "complete"
STATUSES = (STATUS_INCOMPLETE, STATUS_COMPLETE)

#: The kind of the files of the Results contract, by name; other files get the kind of their suffix.
NAMED_KINDS = {
    "timeseries.parquet": "timeseries",
    "events.parquet": "events",
    "zones.parquet": "zones",
    "trips.parquet": "trips",
    "metrics.json": "metrics",
    "assumptions.json": "assumptions",
    "scenario.json": "scenario",
    PROVENANCE: "provenance",
}
SUFFIX_KINDS = {".parquet": "table", ".json": "document", ".png": "figure", ".tif": "raster", ".gpkg": "layer"}
_CHUNK = 1 << 20


def file_kind(name: str) -> str:
    """The manifest's kind of a file: its role in the Results contract, else what its suffix says it is."""
    return NAMED_KINDS.get(name) or SUFFIX_KINDS.get(Path(name).suffix.lower(), "file")


def claim_run_folder(folder: Path, overwrite: bool = False) -> None:
    """Make sure ``folder`` can take a new run: absent, empty, or (with ``overwrite``) emptied now.

    Parameters
    ----------
    folder
        The run folder; created with its parents when absent.
    overwrite
        Empty a folder that holds files instead of refusing it. Entries are removed, never followed: a
        symbolic link inside is removed itself, and a sub-folder is removed without following the links in it.

    Raises
    ------
    RunError
        If the folder is a file or a symbolic link, holds something and ``overwrite`` is false, or cannot be
        created or emptied.
    """
    check_run_folder(folder, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if overwrite:
            _empty(folder)
    except OSError as exc:
        raise folder_error(folder, exc) from exc


def check_run_folder(folder: Path, overwrite: bool = False) -> None:
    """Refuse, without touching anything, a folder that :func:`claim_run_folder` would refuse.

    Raises
    ------
    RunError
        If ``folder`` is a file or a symbolic link, or holds something and ``overwrite`` is false.
    """
    if folder.is_symlink():
        raise RunError(
            f"the run folder {folder} is a symbolic link; give the folder itself (twin writes and empties run "
            "folders only where the path you give is)"
        )
    if folder.exists() and not folder.is_dir():
        raise RunError(f"the run folder {folder} is a file; give a folder for the run's output")
    if overwrite or not folder.is_dir():
        return
    try:
        entries = sorted(entry.name for entry in os.scandir(folder))
    except OSError as exc:
        raise folder_error(folder, exc) from exc
    if entries:
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise RunError(
            f"the run folder {folder} is not empty (it holds {shown}); a run folder holds one run only: choose "
            "a new folder, or overwrite (twin run --overwrite, run_scenario(overwrite=True)) to empty it first"
        )


def begin_run_folder(folder: Path, provenance: dict[str, Any], overwrite: bool = False) -> None:
    """Claim a run folder (:func:`claim_run_folder`) and mark it incomplete before the run writes anything.

    Parameters
    ----------
    folder
        The run folder; created with its parents if needed.
    provenance
        What is known at the start (seed, map hash, command, ...); written to ``provenance.json`` with
        ``"status": "incomplete"``.
    overwrite
        Empty a folder that holds files instead of refusing it.

    Raises
    ------
    RunError
        If the folder is refused or cannot be written.
    """
    folder = Path(folder)
    claim_run_folder(folder, overwrite)
    write_provenance(folder, provenance, STATUS_INCOMPLETE)


def write_provenance(folder: Path, provenance: dict[str, Any], status: str) -> None:
    """Write ``provenance.json`` with ``status`` (overriding any status in ``provenance``).

    Raises
    ------
    RunError
        If the folder cannot be written.
    """
    try:
        write_bytes_atomic(Path(folder) / PROVENANCE, provenance_bytes(provenance, status))
    except OSError as exc:
        raise folder_error(Path(folder), exc) from exc


def provenance_bytes(provenance: dict[str, Any], status: str) -> bytes:
    """The exact bytes of ``provenance.json`` (so the manifest can hash them before they are written)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    document = {**provenance, "status": status}
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False) + "\n").encode()


def seal_run_folder(folder: Path, provenance: dict[str, Any], status: str = STATUS_COMPLETE) -> dict[str, Any]:
    """Write ``manifest.json`` for every file in the folder, then ``provenance.json`` with ``status``, last.

    Parameters
    ----------
    folder
        The run folder, holding every file of the run.
    provenance
        The run's provenance (JSON-ready).
    status
        ``"complete"``, or ``"incomplete"`` for a run that stopped before its end on purpose (``until``)
        whose files are nevertheless whole.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    RunError
        If the folder cannot be read or written.
    """
    folder = Path(folder)
    final = provenance_bytes(provenance, status)
    try:
        files = [_entry(folder / name) for name in _regular_files(folder) if name not in (MANIFEST, PROVENANCE)]
        files.append({"name": PROVENANCE, "kind": file_kind(PROVENANCE), "bytes": len(final), "sha256": _sha(final)})
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "files": sorted(files, key=lambda f: f["name"]),
        }
        write_json_atomic(folder / MANIFEST, manifest)
        write_bytes_atomic(folder / PROVENANCE, final)
    except OSError as exc:
        raise folder_error(folder, exc) from exc
    return manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's ``manifest.json``; None when it has none.

    Raises
    ------
    RunError
        If the manifest exists but is not one twin wrote.
    """
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the run's manifest ({exc}); run the scenario again") from exc
    if not isinstance(manifest, dict):
        manifest = {}
    files = manifest.get("files")
    if manifest.get("format") != MANIFEST_FORMAT or not isinstance(files, list) or not _entries_ok(files):
        raise RunError(f"{path}: not a twin run manifest; run the scenario again")
    if manifest.get("version") != MANIFEST_VERSION:
        raise RunError(
            f"{path}: manifest version {manifest.get('version')!r}, this twin reads version {MANIFEST_VERSION}; "
            "run the scenario again with this version"
        )
    return dict(manifest)


def verify_manifest(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Every way the folder's files differ from ``manifest`` (missing, not a plain file, size, checksum).

    Files the manifest does not list are not the run's and are not checked.
    """
    folder = Path(folder)
    problems = []
    for item in manifest["files"]:
        name = str(item.get("name", ""))
        path = folder / name
        if not name or Path(name).name != name:
            problems.append(f"manifest entry {name!r} is not a file name of the folder")
        elif path.is_symlink() or not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing (or not a plain file)")
        elif path.stat().st_size != item.get("bytes"):
            problems.append(f"{name}: {path.stat().st_size} bytes, the manifest says {item.get('bytes')}")
        elif _file_sha(path) != item.get("sha256"):
            problems.append(f"{name}: its checksum differs from the manifest's (the file changed after the run)")
    return problems


def _entries_ok(files: list[Any]) -> bool:
    return all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in files)


def folder_error(folder: Path, exc: OSError) -> RunError:
    """The user-facing error for a run folder that cannot be written."""
    reason = exc.strerror or str(exc)
    return RunError(
        f"cannot write the run folder {folder}: {reason}; choose a folder you can write to "
        "(with enough free space) for the run's output"
    )


def _empty(folder: Path) -> None:
    """Remove everything in ``folder``, the files that say what the folder holds first.

    The manifest and the provenance go first, so that at no moment does the folder claim a run it no longer
    holds whole. Links are removed, never followed; sub-folders are removed by :func:`shutil.rmtree`, which
    does not follow the links inside them.
    """
    first = [folder / MANIFEST, folder / PROVENANCE]
    for path in first:
        path.unlink(missing_ok=True)
    with os.scandir(folder) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _regular_files(folder: Path) -> list[str]:
    """Names of the plain files (not links, not folders) at the top of ``folder``."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if stat.S_ISREG(e.stat(follow_symlinks=False).st_mode))


def _entry(path: Path) -> dict[str, Any]:
    return {"name": path.name, "kind": file_kind(path.name), "bytes": path.stat().st_size, "sha256": _file_sha(path)}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
