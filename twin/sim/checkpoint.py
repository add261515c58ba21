"""The checkpoint file of a run: what it holds, how it is written, and what it refuses to restore into.

A checkpoint is an ``.npz`` archive (no pickle): the state arrays by name plus ``meta``, one JSON document
(as UTF-8 bytes in a ``uint8`` array) that carries

* ``format`` (``"twin-checkpoint"``) and ``version`` (:data:`CHECKPOINT_VERSION`), so a file of another
  version is refused instead of being misread;
* the identity of the run: the scenario's hash (:func:`scenario_hash`), the map's hash (``City.map_hash``) and
  the seed; a checkpoint restores only into the same three;
* the engine's own document (clock, event queue, conditions, random states, record), which
  :class:`twin.sim.model.CityModel` writes and reads.

The file is written atomically (:mod:`twin.atomic`). Reading it turns every way a file can be damaged
(missing, empty, truncated, corrupt, not an archive, not twin's, pickled data) into a :class:`RunError` that
names the file and says what to do.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.atomic import atomic_path
from twin.errors import RunError

if TYPE_CHECKING:
    from twin.scenario import Scenario

CHECKPOINT_FORMAT = "twin-checkpoint"
CHECKPOINT_VERSION = 3
"""Version 3 added the format, the scenario's hash and the events' ids and priorities."""
META = "meta"
#: Keys of the meta document that say which run a checkpoint belongs to.
IDENTITY_KEYS = ("scenario_hash", "map_hash", "seed")
#: Scenario keys left out of its hash: the map is checked by its own hash, wherever its folder is.
UNHASHED_KEYS = ("map",)

_DAMAGE = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError)


def scenario_hash(spec: Scenario) -> str:
    """SHA-256 of the resolved scenario (everything a run computes from), as canonical JSON.

    The map's path is left out (a map is identified by its content hash, ``City.map_hash``), so a checkpoint
    survives a moved map folder; every other key, the scenario's own seed included, is hashed.

    Parameters
    ----------
    spec
        The validated scenario.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    data = {k: v for k, v in spec.resolved_dict().items() if k not in UNHASHED_KEYS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def write_checkpoint(path: Path | str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write a checkpoint atomically: ``arrays`` and ``meta`` (with the format and version added).

    Parameters
    ----------
    path
        The ``.npz`` file; its folder must exist.
    meta
        The identity (:data:`IDENTITY_KEYS`) and the engine's document; plain JSON data.
    arrays
        The arrays by name (no object arrays).

    Raises
    ------
    RunError
        If the file cannot be written.
    """
    missing = [k for k in IDENTITY_KEYS if k not in meta]
    if missing:
        raise ValueError(f"checkpoint meta lacks {missing}")
    document = {**meta, "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
    # NaN stays NaN (Python's json writes and reads it): the record holds NaN for services a map lacks.
    payload = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as stream:
            np.savez_compressed(stream, **{META: payload}, **arrays)  # type: ignore[arg-type]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RunError(f"cannot write the checkpoint {path}: {reason}; choose a folder you can write to") from None


def read_checkpoint(path: Path | str, required: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a whole checkpoint (every array decompressed, so a damaged one fails here and not later).

    Parameters
    ----------
    path
        The ``.npz`` file.
    required
        Keys the meta document must hold besides the identity.

    Returns
    -------
    meta : dict
        The meta document.
    arrays : dict
        Every other array by name.

    Raises
    ------
    RunError
        If the file is missing, unreadable, damaged, not a twin checkpoint, or of another version.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise RunError(f"checkpoint {path} {what}; give the .npz file that CityModel.checkpoint() wrote")
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive (empty, truncated or another kind of file)")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        odd = sorted(name for name, value in arrays.items() if not isinstance(value, np.ndarray))
        if odd:  # np.load hands members that are not .npy arrays over as raw bytes
            raise ValueError(f"{', '.join(odd)} is not an array")
        payload = arrays.pop(META)
        if payload.dtype != np.uint8 or payload.ndim != 1:
            raise ValueError("its meta document is not JSON text")
        meta = json.loads(payload.tobytes().decode())
        if not isinstance(meta, dict):
            raise ValueError("its meta document is not an object")
    except _DAMAGE as exc:
        raise _damaged(path, exc) from None
    _check_format(path, meta, (*IDENTITY_KEYS, *required))
    return meta, arrays


def check_identity(path: Path | str, meta: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse a checkpoint made for another scenario, map or seed, naming every difference at once.

    Parameters
    ----------
    path
        The checkpoint (for the message).
    meta
        Its meta document (:func:`read_checkpoint`).
    expected
        ``scenario_hash``, ``map_hash`` and ``seed`` of the run it would continue.

    Raises
    ------
    RunError
        If any of the three differs.
    """
    what = {"scenario_hash": "scenario", "map_hash": "map", "seed": "seed"}
    problems = []
    for key in IDENTITY_KEYS:
        saved, wanted = meta.get(key), expected[key]
        if saved == wanted:
            continue
        if key == "seed":
            problems.append(
                f"it was made with seed {saved}, this run's seed is {wanted} (pass seed={saved}, or twin run "
                f"--seed {saved}, to continue it)"
            )
        else:
            problems.append(
                f"it was made for another {what[key]} ({key} {str(saved)[:12]}, this one's {str(wanted)[:12]}): "
                f"restore it with the {what[key]} it was made for"
            )
    if problems:
        raise RunError(f"checkpoint {path} does not belong to this run; restoring it would mix two runs", problems)


def check_arrays(path: Path | str, saved: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """Refuse saved state arrays whose names, shapes or kinds differ from the model's (a damaged file).

    Raises
    ------
    RunError
        Listing every array that is missing, extra or of the wrong shape or kind.
    """
    problems = [f"array {name} is missing" for name in expected if name not in saved]
    problems += [f"array {name} is not part of the state" for name in saved if name not in expected]
    for name in (n for n in expected if n in saved):
        got, want = saved[name], expected[name]
        if got.shape != want.shape or got.dtype.kind != want.dtype.kind:
            shapes = f"{got.dtype}{list(got.shape)}, the state's is {want.dtype}{list(want.shape)}"
            problems.append(f"array {name} is {shapes}")
    if problems:
        raise RunError(f"checkpoint {path} is damaged; make a new one from the run", problems)


def _check_format(path: Path, meta: dict[str, Any], required: tuple[str, ...]) -> None:
    if meta.get("format") != CHECKPOINT_FORMAT and meta.get("version") != 2:
        raise RunError(f"{path} is not a twin checkpoint; give the .npz file that CityModel.checkpoint() wrote")
    if meta.get("version") != CHECKPOINT_VERSION:
        raise RunError(
            f"checkpoint {path} has format version {meta.get('version')!r}; this version of twin reads version "
            f"{CHECKPOINT_VERSION}: run the scenario again from the start to make a new checkpoint"
        )
    missing = [k for k in required if k not in meta]
    if missing:
        raise RunError(f"checkpoint {path} is damaged (its meta document lacks {', '.join(missing)}); make a new one")


def _damaged(path: Path, exc: BaseException) -> RunError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "unreadable"
    if isinstance(exc, KeyError):
        reason = "it has no meta document"
    elif "allow_pickle" in reason:
        reason = "it holds pickled Python objects, which twin never loads"
    return RunError(
        f"cannot read the checkpoint {path}: {reason}; the file is damaged or is not a twin checkpoint, make a new "
        "one from the run"
    )
