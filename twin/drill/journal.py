"""The drill's journal: every command, inject and clock change, appended and fsynced before it is applied.

One JSON object per line (JSON Lines). Each entry carries ``seq`` (its number, from 0), ``type``
(``command``, ``inject``, ``clock`` or ``end``), ``role`` (who sent it), ``step`` and ``t_s`` (the engine's
step count and simulated time when it was applied: a replay applies it at the same step, so the run is the
same bit for bit), ``wall`` (UTC, for people) and ``payload``.

Write-ahead logging (Mohan et al. 1992, ARIES): an entry is on disk (``write``, ``flush``, ``os.fsync``)
before the engine sees the command, so a crash loses nothing that was acknowledged. A crash during a write
can leave a torn last line; :func:`read_journal` drops it and says so (it was never acknowledged), and
:func:`Journal.open` cuts it off before appending. A damaged line before the last is not a crash's doing and
is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from twin.errors import RunError

JOURNAL_NAME = "journal.jsonl"
ENTRY_TYPES = ("command", "inject", "clock", "end")


@dataclass(frozen=True)
class JournalRead:
    """A journal as read back.

    Attributes
    ----------
    entries
        The whole entries, in order.
    torn
        A note on the torn last line that was dropped, or None.
    good_bytes
        Length of the file up to the end of the last whole entry.
    """

    entries: list[dict[str, Any]]
    torn: str | None
    good_bytes: int


def read_journal(path: Path) -> JournalRead:
    """Every whole entry of a journal; a torn last line is dropped and described in ``torn``.

    Raises
    ------
    RunError
        If a line other than the last is not a journal entry, or the numbering has a gap.
    """
    data = path.read_bytes() if path.exists() else b""
    entries: list[dict[str, Any]] = []
    offset, torn = 0, None
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        if last and not line:
            break
        entry = _entry(line) if not last else None  # a last line with no newline was cut short
        if entry is None:
            if last or all(not rest for rest in lines[number:]):
                torn = f"line {number} of {path} was cut short by a crash ({len(line)} bytes) and is dropped"
                break
            raise RunError(
                f"{path}: line {number} is not a journal entry, and it is not the last line, so a crash did not "
                "cause it; restore the file from a copy or give up this drill folder"
            )
        if entry["seq"] != len(entries):
            raise RunError(
                f"{path}: line {number} has seq {entry['seq']}, expected {len(entries)}; the journal was edited"
            )
        entries.append(entry)
        offset += len(line) + 1
    return JournalRead(entries, torn, offset)


def _entry(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    keys = ("seq", "type", "role", "step", "t_s", "payload")
    if not isinstance(entry, dict) or any(k not in entry for k in keys) or entry["type"] not in ENTRY_TYPES:
        return None
    return entry


class Journal:
    """The append-only journal of a drill folder.

    Use :meth:`open`, which reads what is there, cuts a torn last line and continues the numbering.
    """

    def __init__(self, path: Path, handle: BinaryIO, count: int) -> None:
        self.path = path
        self._handle = handle
        self.count = count

    @classmethod
    def open(cls, path: Path) -> tuple[Journal, JournalRead]:
        """The journal at ``path`` ready to append, and what it held."""
        read = read_journal(path)
        handle = path.open("ab")
        if read.torn is not None:
            handle.truncate(read.good_bytes)
            os.fsync(handle.fileno())
        return cls(path, handle, len(read.entries)), read

    def append(
        self, kind: str, role: str, step: int, t_s: float, payload: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """Write one entry (``extra`` keys too, such as an inject's ``msel`` number) and fsync it; return it."""
        entry = {
            **extra,
            "seq": self.count,
            "type": kind,
            "role": role,
            "step": step,
            "t_s": t_s,
            "wall": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "payload": payload,
        }
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, allow_nan=False).encode() + b"\n"
        self._handle.write(line)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.count += 1
        return entry

    def close(self) -> None:
        """Close the file (every entry is already on disk)."""
        self._handle.close()
