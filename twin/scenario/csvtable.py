"""Reading the CSV tables that scenario files point at, with every problem named as a spreadsheet user reads it.

One reader for every table (a river gauge, a hyetograph, a traffic demand, a drill's MSEL): the file must be a
regular file of at most :data:`MAX_CSV_BYTES`, UTF-8 text with a header line; blank lines are skipped; a record's
row is the file's line where it starts, counted as a spreadsheet counts them (the header is row 1); a missing
column gets the nearest header name or the separator the file seems to use as its fix. The tables' own checks
(times, ids, numbers) then report ``name row R, column C`` problems on the rows this reader returns.
"""

from __future__ import annotations

import csv
import difflib
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from twin.scenario.problems import HIDE, Problem

MAX_CSV_BYTES = 100_000_000
"""Largest CSV table (bytes): about two million trips of a demand table, read into about 1 GB of memory. A
larger file is refused before it is read (a table this size is a mistake, or belongs in a sample)."""
MAX_CSV_PROBLEMS = 20
"""CSV problems listed per file; the rest are counted in one last line (a file of bad rows stays readable)."""


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's data rows and where its wanted columns are.

    Attributes
    ----------
    name
        The file's name, as problems quote it.
    header
        The header line's column names, stripped.
    rows
        Each non-blank data record's cells with its row number (the header is row 1).
    """

    name: str
    header: list[str]
    rows: list[tuple[list[str], int]]

    def has(self, column: str) -> bool:
        """Whether the header names ``column``."""
        return column in self.header

    def cell(self, cells: list[str], column: str) -> str:
        """The stripped text of ``column`` (its first occurrence) in a record (empty when the record is short)."""
        index = self.header.index(column)
        return cells[index].strip() if index < len(cells) else ""

    def column(self, column: str) -> list[str]:
        """The stripped text of ``column`` in every data row, in order."""
        return [self.cell(cells, column) for cells, _ in self.rows]

    @property
    def row_numbers(self) -> list[int]:
        """The data rows' numbers as a spreadsheet shows them."""
        return [row for _, row in self.rows]


def read_csv_table(
    path: Path, wanted: Sequence[tuple[str, str]], example: str, shown: str | None = None
) -> tuple[CsvTable | None, list[Problem]]:
    """Read ``path`` and find the columns ``wanted``; the table, or None and every problem with its fix.

    Parameters
    ----------
    path
        The CSV file (UTF-8, comma separated, a header line; other columns are ignored).
    wanted
        ``(column, meaning)`` pairs: the columns the table needs and what each holds, for the hints.
    example
        The right form, shown when the file is empty or has no data rows.
    shown
        How problems name the file (default: its name; a file given on the command line shows its path).

    Returns
    -------
    table, problems
        The table when the file is readable and has every wanted column once and one data row or more; else
        None and the problems, each located at the path field itself (``loc == ()``).
    """
    name = shown if shown is not None else path.name
    refused = _not_a_table(path, name)
    if refused is not None:
        return None, [refused]
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = _records(handle)
    except UnicodeDecodeError:
        return None, [Problem((), f"{name} is not UTF-8 text", HIDE, "save it as CSV UTF-8")]
    except csv.Error as exc:
        reason = str(exc).split("\n")[0][:120]  # the csv module's reason gives positions, not the file's content
        return None, [Problem((), f"{name} is not a readable CSV file: {reason}", HIDE, "save it as CSV UTF-8")]
    except OSError as exc:
        # A folder, no permission, an I/O error: the reason only.
        return None, [Problem((), f"{name} cannot be read: {exc.strerror or type(exc).__name__}", HIDE)]
    if not records:
        return None, [Problem((), f"{name} is empty", HIDE, example)]
    raw_header, _ = records[0]
    header = [h.strip() for h in raw_header]
    problems: list[Problem] = []
    for column, meaning in wanted:
        hits = [i for i, h in enumerate(header) if h == column]
        if not hits:
            hint = _column_hint(column, header, meaning, ",".join(raw_header))
            problems.append(Problem((), f"{name} has no column {column!r}", HIDE, hint))
        elif len(hits) > 1:
            problems.append(Problem((), f"{name} has the column {column!r} {len(hits)} times", HIDE, "keep one"))
    if problems:
        return None, problems
    if len(records) == 1:
        return None, [Problem((), f"{name} has no data rows", HIDE, example)]
    return CsvTable(name, header, records[1:]), []


def _not_a_table(path: Path, name: str) -> Problem | None:
    """Why ``path`` cannot be read as a table without reading it (a folder, a pipe, over the size limit)."""
    try:
        info = path.stat()
    except OSError as exc:
        return Problem((), f"{name} cannot be read: {exc.strerror or type(exc).__name__}", HIDE, "check the path")
    if stat.S_ISDIR(info.st_mode):
        return Problem((), f"{name} is a folder, not a CSV file", HIDE, "give the CSV file inside it")
    if not stat.S_ISREG(info.st_mode):
        return Problem((), f"{name} is not a regular file (a pipe or a device)", HIDE, "give a CSV file")
    if info.st_size > MAX_CSV_BYTES:
        return Problem(
            (),
            f"{name} is {info.st_size:,} bytes, over the {MAX_CSV_BYTES:,} bytes a CSV table may hold",
            HIDE,
            "give a sample of its rows",
        )
    return None


def capped(problems: list[Problem], name: str) -> list[Problem]:
    """At most :data:`MAX_CSV_PROBLEMS` problems, the rest counted in one last line."""
    if len(problems) <= MAX_CSV_PROBLEMS:
        return problems
    more = len(problems) - MAX_CSV_PROBLEMS
    return [*problems[:MAX_CSV_PROBLEMS], Problem((), f"{name}: {more} more problems like these (not listed)", HIDE)]


def _column_hint(wanted: str, header: list[str], meaning: str, raw_header: str) -> str:
    """How to fix a missing column: the separator, the nearest header name, or the header it needs."""
    if len(header) == 1 and (";" in raw_header or "\t" in raw_header):
        return "separate the columns with commas (a CSV file), not semicolons or tabs"
    close = difflib.get_close_matches(wanted.casefold(), [h.casefold() for h in header], n=1, cutoff=0.6)
    if close:
        found = next(h for h in header if h.casefold() == close[0])
        return f"rename column {found!r} to {wanted!r} ({meaning})"
    # The header itself is not quoted: the file may not be the user's (never echo a foreign file's content).
    count = sum(1 for h in header if h)
    return f"the header line must name the column {wanted!r} ({meaning}); it has {count} named column(s)"


def _records(handle: Iterable[str]) -> list[tuple[list[str], int]]:
    """Non-blank CSV records with their row number (the file's line where each record starts)."""
    reader = csv.reader(handle)
    out: list[tuple[list[str], int]] = []
    start = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            out.append((record, start))
        start = reader.line_num + 1
    return out
