"""The master scenario events list (MSEL): the drill's injects, read from a CSV file.

Columns follow the HSEEP MSEL (Homeland Security Exercise and Evaluation Program, 2020, ch. 5, "Master
Scenario Events List"): ``number``, ``time`` (scenario time since the start: ``HH:MM``, ``HH:MM:SS`` or a
duration such as ``90min``), ``from`` (who sends it in the fiction), ``to`` (the desk that receives it, or
``all``), ``method`` (phone, radio, e-mail, ...), ``message``, ``expected_action`` and ``objective``. Two more
columns make an inject act on the engine: ``command`` (a drill command such as ``fail_component`` or
``close_road``; empty means the inject is a message to its desk) and ``target`` (the command's target as JSON,
e.g. ``{"street": "Meritxell"}``), with ``restore_after`` for ``fail_component``.

Every problem of the file is reported at once, each with its row (as a spreadsheet numbers it, the header
being row 1), its column, what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.drill.commands import CommandError, validate_command
from twin.errors import ScenarioError
from twin.inputs import display_path
from twin.scenario.csvtable import CsvTable, read_csv_table
from twin.units import format_duration, parse_duration_s

if TYPE_CHECKING:
    from twin.city.build import City

MAX_INJECTS = 1_000
"""Most rows an MSEL may hold. A 3-hour exercise with 1,000 injects sends one every 11 s, more than desks can
read (HSEEP MSELs run to tens or a few hundred); each row's command is checked against the map (a few ms), so
a file of 24,000 rows took minutes to be refused before this limit."""
MAX_LISTED = 50
"""Problems listed; the rest are counted in one last line (a file of bad rows stays readable)."""
REQUIRED = ("number", "time", "from", "to", "method", "message", "expected_action", "objective")
OPTIONAL = ("command", "target", "restore_after")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class Inject:
    """One row of the MSEL.

    Attributes
    ----------
    number, time_s, sender, to, method, message, expected_action, objective
        The HSEEP columns (``time_s`` in seconds since the scenario's start).
    payload
        The drill command it sends when it fires (a ``message`` to ``to`` when the row names no command).
    """

    number: str
    time_s: float
    sender: str
    to: str
    method: str
    message: str
    expected_action: str
    objective: str
    payload: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """The row as data, for the controller's and evaluator's pages."""
        return {
            "number": self.number,
            "time_s": self.time_s,
            "from": self.sender,
            "to": self.to,
            "method": self.method,
            "message": self.message,
            "expected_action": self.expected_action,
            "objective": self.objective,
            "command": self.payload["command"],
        }


def scenario_time_s(text: str) -> float:
    """``HH:MM``, ``HH:MM:SS`` or a duration (``90min``, ``5400``) in seconds."""
    match = _CLOCK.match(text.strip())
    if match:
        hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        return float(hours * 3600 + minutes * 60 + seconds)
    return parse_duration_s(text.strip())


COLUMN_MEANINGS = {
    "number": "the inject's number",
    "time": "scenario time since the start, HH:MM",
    "from": "who sends it in the fiction",
    "to": "the desk that receives it, or all",
    "method": "phone, radio, e-mail, ...",
    "message": "what the desk is told",
    "expected_action": "what the desk should do",
    "objective": "the exercise objective it tests",
}
EXAMPLE = (
    "e.g. a header line `number,time,from,to,method,message,expected_action,objective` then rows like "
    "`1,00:05,Meteo,all,e-mail,Orange warning,Desks review plans,1 Alert`"
)


def load_msel(path: Path, city: City, desks: tuple[str, ...], duration_s: float) -> list[Inject]:
    """The injects of an MSEL file, in time order (then file order).

    The file is read by the project's one CSV reader (:func:`twin.scenario.csvtable.read_csv_table`: UTF-8, a
    size limit, rows numbered as a spreadsheet numbers them, a missing column's nearest header as the fix).

    Raises
    ------
    ScenarioError
        Listing every problem of the file (row, column, what is wrong, how to fix it).
    """
    shown = display_path(path)
    table, read_problems = read_csv_table(path, list(COLUMN_MEANINGS.items()), EXAMPLE, shown=shown)
    if table is None:
        problems = [p.message + (f"; {p.hint}" if p.hint else "") for p in read_problems]
        raise ScenarioError(f"{shown}: cannot read the MSEL", problems)
    if len(table.rows) > MAX_INJECTS:
        raise ScenarioError(
            f"{shown}: {len(table.rows):,} injects, more than the {MAX_INJECTS:,} an MSEL may hold; "
            "split the exercise into several drills or keep the injects the desks act on"
        )
    known = REQUIRED + OPTIONAL
    problems = [
        f"{shown}: row 1: unknown column {name!r}; columns: {', '.join(known)}"
        for name in table.header
        if name not in known
    ]
    if problems:
        raise ScenarioError(f"{shown}: the MSEL's columns are wrong", problems)
    injects: list[Inject] = []
    seen: dict[str, int] = {}
    for cells, index in table.rows:
        row_problems, inject = _row(shown, index, table, cells, city, desks, duration_s)
        if inject is not None and inject.number in seen:
            row_problems.append(
                f"{shown}: row {index}, column number: {inject.number!r} is also row {seen[inject.number]}; "
                "give each inject its own number"
            )
        problems += row_problems
        if inject is not None:
            seen.setdefault(inject.number, index)
            injects.append(inject)
    if len(problems) > MAX_LISTED:
        problems = [*problems[:MAX_LISTED], f"{shown}: {len(problems) - MAX_LISTED} more problems (not listed)"]
    if problems:
        raise ScenarioError(f"{shown}: the MSEL has problems", problems)
    return sorted(injects, key=lambda inject: inject.time_s)


def _row(
    shown: str,
    index: int,
    table: CsvTable,
    cells: list[str],
    city: City,
    desks: tuple[str, ...],
    duration_s: float,
) -> tuple[list[str], Inject | None]:
    """One row's problems and, when it has none, its inject."""
    where = f"{shown}: row {index}"
    extra = len(cells) - len(table.header)
    if extra > 0:
        return [f"{where}: {extra} cells more than the header has columns; quote cells that hold commas"], None
    cell = {name: table.cell(cells, name) for name in table.header if name}
    cell.update({name: "" for name in OPTIONAL if name not in cell})
    problems = [
        f"{where}, column {name}: empty; every inject needs a {name}"
        for name in ("number", "time", "to", "message")
        if not cell[name]
    ]
    time_s = 0.0
    if cell["time"]:
        try:
            time_s = scenario_time_s(cell["time"])
        except ValueError as exc:
            problems.append(f"{where}, column time: {exc}; or write HH:MM since the start")
        if time_s > duration_s:
            problems.append(
                f"{where}, column time: {cell['time']} is after the scenario's end ({format_duration(duration_s)}); "
                "move it earlier or lengthen the scenario"
            )
    if cell["to"] and cell["to"] not in (*desks, "all"):
        problems.append(f"{where}, column to: unknown desk {cell['to']!r}; desks: {', '.join(desks)}, or all")
    payload, payload_problems = _payload(where, cell, city, desks)
    problems += payload_problems
    if problems:
        return problems, None
    inject = Inject(
        cell["number"], time_s, cell["from"], cell["to"], cell["method"], cell["message"],
        cell["expected_action"], cell["objective"], payload,
    )  # fmt: skip
    return [], inject


def _payload(where: str, cell: dict[str, str], city: City, desks: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The command a row sends, checked like a command from the page."""
    command = cell.get("command", "")
    if not command:
        payload: dict[str, Any] = {"command": "message", "text": cell["message"] or "-"}
        if cell["to"] in desks:
            payload["to"] = cell["to"]
        return payload, []
    payload = {"command": command}
    if cell.get("target"):
        try:
            payload["target"] = json.loads(cell["target"])
        except json.JSONDecodeError as exc:
            return payload, [f'{where}, column target: not JSON ({exc.msg}); write it like {{"street": "Meritxell"}}']
    if cell.get("restore_after"):
        payload["restore_after"] = cell["restore_after"]
    if command == "message":
        payload["text"] = cell["message"]
    try:
        validate_command(payload, city, desks)
    except CommandError as exc:
        columns = {"target": "target", "restore_after": "restore_after", "text": "message"}
        return payload, [
            f"{where}, column {columns.get(name.split('.')[0], 'command')}: {name}: {text}"
            for name, text in exc.problems
        ]
    return payload, []
