"""Atomic file writes (DESIGN.md rule 7).

Each writer puts the data in a temporary file in the target's folder, flushes it to disk (fsync) and
renames it over the target with :func:`os.replace`, which is atomic on POSIX and Windows when both
paths are on one file system (hence the same folder). A reader therefore sees either the old file or
the complete new one, never a half-written file; on any failure the temporary file is removed and
the target is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

#: Suffix of the temporary files, so a crash's leftovers are recognisable.
TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it over ``path``, on failure delete it.

    The body of the ``with`` block writes the temporary file by any means (a library that wants a
    file name, such as ``DataFrame.to_parquet``); the file is then fsynced and renamed.

    Parameters
    ----------
    path
        The final file.

    Yields
    ------
    pathlib.Path
        The temporary file to write (it exists, empty).
    """
    target = Path(path)
    tmp = _create_tmp(target)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        # BaseException too: a Ctrl-C in the middle of a write must not leave the temporary behind.
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path
        The final file; its folder must exist.
    data
        The whole content.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically, encoded with ``encoding``.

    Parameters
    ----------
    path
        The final file; its folder must exist.
    text
        The whole content.
    encoding
        Text encoding (UTF-8 by default, whatever the platform's locale).
    """
    write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON (indent 2, sorted keys, no NaN or Infinity) to ``path`` atomically.

    The object is serialised before any file is touched, so an object that is not valid JSON
    (NaN, a numpy scalar, ...) raises and leaves the target as it was.

    Parameters
    ----------
    path
        The final file; its folder must exist.
    obj
        A JSON-serialisable object.

    Raises
    ------
    ValueError
        If ``obj`` holds NaN or infinite floats (strict JSON has none).
    TypeError
        If ``obj`` holds something JSON cannot represent.
    """
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)


def write_parquet_atomic(path: str | os.PathLike[str], df: pd.DataFrame, index: bool | None = False) -> None:
    """Write ``df`` as Parquet (pyarrow) to ``path`` atomically.

    Parameters
    ----------
    path
        The final file; its folder must exist.
    df
        The table.
    index
        Whether to store the index (passed to :meth:`pandas.DataFrame.to_parquet`); not by default,
        since twin's tables carry their keys (``t_s``, ``zone``) as columns.
    """
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, engine="pyarrow", index=index)


def _create_tmp(target: Path) -> Path:
    """Create an empty, uniquely named temporary file next to ``target``.

    Unlike :func:`tempfile.mkstemp` (mode 0600) the file gets the usual permissions (0666 less the
    umask), so results renamed into place stay readable by whoever could read a plain file there.
    """
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _fsync_file(path: Path) -> None:
    """Flush a file's content to disk, so that the rename never exposes an empty file after a crash."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the rename itself already happened
    finally:
        os.close(fd)
