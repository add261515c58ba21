"""Atomic file writes (DESIGN.md rule 7).

Each writer puts the data in a temporary file in the target's folder, flushes it to disk (fsync) and
renames it over the target with :func:`os.replace`, which is atomic on POSIX and Windows when both
paths are on one file system (hence the same folder). A reader therefore sees either the old file or
the complete new one, never a half-written file; on any failure the temporary file is removed and
the target is left as it was.

The rename also makes the writers safe against a planted symbolic link: :func:`os.replace` replaces a link
at the target's name with the new file and never writes through it, and the temporary file is created with
``O_EXCL``, which refuses to open an existing name (a link included).

Besides bytes, text, JSON and Parquet there are writers for the files other libraries make (PNG figures of
matplotlib, GeoPackages of pyogrio, GeoTIFFs of rasterio); those libraries are imported only when used.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from matplotlib.figure import Figure

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
        _replace(tmp, target)
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


def write_png_atomic(path: str | os.PathLike[str], figure: Figure, **savefig: Any) -> None:
    """Save a matplotlib figure as a PNG to ``path`` atomically.

    Parameters
    ----------
    path
        The final file; its folder must exist.
    figure
        The figure (with a canvas attached).
    **savefig
        Further arguments of :meth:`matplotlib.figure.Figure.savefig` (``dpi``, ``metadata``, ...).
    """
    with atomic_path(path) as tmp:
        # The temporary name does not end in .png, so the format is given explicitly.
        figure.savefig(tmp, format="png", **savefig)


GeoLayer = tuple[str, "gpd.GeoDataFrame | pd.DataFrame", dict[str, Any]]
"""One GeoPackage layer: its name, its features (a plain DataFrame for a table without geometry) and further
arguments of :func:`pyogrio.write_dataframe` (``geometry_type``, ``promote_to_multi``, ...)."""


def write_geopackage_atomic(path: str | os.PathLike[str], layers: list[GeoLayer]) -> None:
    """Write one or more layers to a GeoPackage at ``path`` atomically (the file is replaced as a whole).

    Parameters
    ----------
    path
        The final ``.gpkg``; its folder must exist.
    layers
        ``(name, frame, options)`` per layer, written in this order.
    """
    import warnings

    import pyogrio

    with atomic_path(path) as tmp, warnings.catch_warnings(), _sqlite_without_sync():
        # The temporary file's name ends in .tmp; GDAL warns that a GeoPackage should end in .gpkg.
        warnings.filterwarnings("ignore", message="The filename extension should be 'gpkg'", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
        tmp.unlink()  # the GeoPackage driver creates its own file; it cannot open an empty one
        for name, frame, options in layers:
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", **options)


#: GDAL's configuration option for SQLite's ``PRAGMA synchronous`` (GeoPackages are SQLite databases).
SQLITE_SYNC_OPTION = "OGR_SQLITE_SYNCHRONOUS"


@contextlib.contextmanager
def _sqlite_without_sync() -> Iterator[None]:
    """GDAL writes GeoPackages without SQLite's sync per transaction inside the block (restored afterwards).

    With ``PRAGMA synchronous=FULL`` SQLite waits for the disk at every commit, and GDAL commits several times
    per layer (its metadata tables, the layer, its spatial index): most of a small GeoPackage's wall time
    (0.7 s of 0.8 s for a run's four lifeline layers on this project's test machine). SQLite's own guarantee
    for ``OFF`` is that data survive an application crash but not an operating-system crash before the disk
    has them (https://sqlite.org/pragma.html#pragma_synchronous); here the file is a temporary one that
    :func:`atomic_path` fsyncs before renaming it into place, so a crash at any point still leaves either
    the old file or the complete new one. GDAL documents the option for this use (``OGR_SQLITE_SYNCHRONOUS``,
    https://gdal.org/en/stable/user/configoptions.html).
    """
    import pyogrio

    before = pyogrio.get_gdal_config_option(SQLITE_SYNC_OPTION)
    pyogrio.set_gdal_config_options({SQLITE_SYNC_OPTION: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({SQLITE_SYNC_OPTION: before})


def write_geotiff_atomic(
    path: str | os.PathLike[str], band: np.ndarray, profile: dict[str, Any], description: str = "", units: str = ""
) -> None:
    """Write one band as a GeoTIFF to ``path`` atomically.

    Parameters
    ----------
    path
        The final ``.tif``; its folder must exist.
    band
        The values (rows x columns), of the profile's dtype.
    profile
        rasterio's creation options (``crs``, ``transform``, ``dtype``, ``nodata``, ``compress``, ...); the
        driver, size and band count are set from ``band``.
    description, units
        The band's description and its ``units`` tag (left out when empty).
    """
    import rasterio

    options = {**profile, "driver": "GTiff", "width": band.shape[1], "height": band.shape[0], "count": 1}
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **options) as dst:
        dst.write(band, 1)
        if description:
            dst.set_band_description(1, description)
        if units:
            dst.update_tags(1, units=units)


def _replace(tmp: Path, target: Path) -> None:
    """Move the finished temporary file over the target (one seam, so a test can fail the n-th write)."""
    os.replace(tmp, target)


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
