"""Scenario mutations for fuzzing: the shipped scenarios, changed the ways users and attackers change them.

A :class:`Case` is a scenario text, the files beside it (a CSV, or a folder standing where a CSV should be), the
``--set`` overrides and whether to run it. :func:`mutate` draws one from a ``random.Random``, so a case is a pure
function of its seed: ``benchmarks/fuzz.py`` draws them by number and ``tests/test_fuzz.py`` through hypothesis.

Mutations: deleted keys, swapped types, huge and non-finite numbers, unicode and markup in text, deep nesting, YAML
tags and aliases (bombs included), duplicated keys, truncation, long lists, extreme durations and dates, bad CSVs
(garbage, huge ids, missing columns, a folder, paths outside the scenario's folder) and bad ``--set`` overrides.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DIRECTORY = b"<directory>"
"""A file's content that stands for a folder created at its place."""


@dataclass
class Case:
    """One fuzz case: ``scenarios/<name>`` with ``text``, the ``files`` beside it, the ``overrides``."""

    name: str
    text: str
    files: dict[str, bytes] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    kind: str = "scenario"
    """``scenario``, ``experiment`` (written in ``experiments/``, the scenarios beside) or ``msel`` (a CSV)."""

    def write(self, folder: Path) -> Path:
        """Write the case into ``folder/scenarios`` (with ``folder/maps`` linked to the shipped maps).

        An experiment goes to ``folder/experiments`` with the shipped scenarios and their files in
        ``folder/scenarios``, so that its relative ``base`` resolves as in the repository.
        """
        scenarios = folder / "scenarios"
        scenarios.mkdir(parents=True, exist_ok=True)
        if self.kind == "experiment":
            for name, content in BASES[next(iter(BASES))][1].items():
                (scenarios / name).write_bytes(content)
        maps = folder / "maps"
        if not maps.exists():
            maps.symlink_to(ROOT / "maps", target_is_directory=True)
        for name, content in self.files.items():
            path = scenarios / name
            if content == DIRECTORY:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.write_bytes(content)
        path = scenarios / self.name
        if self.kind == "experiment":
            path = folder / "experiments" / self.name
            path.parent.mkdir(exist_ok=True)
        if not (self.kind == "msel" and self.name in self.files):  # an MSEL replaced by raw bytes: written above
            path.write_text(self.text, encoding="utf-8", errors="surrogatepass")
        return path


def _bases() -> dict[str, tuple[str, dict[str, bytes]]]:
    """Each shipped scenario with the files it names (its CSV and the files it extends)."""
    others = {p.name: p.read_bytes() for p in SCENARIOS.iterdir() if p.suffix in (".csv", ".yaml")}
    return {p.name: (p.read_text(encoding="utf-8"), dict(others)) for p in sorted(SCENARIOS.glob("*.yaml"))}


BASES = _bases()

HUGE_INTS = [2**63, 2**63 - 1, -(2**63) - 1, 2**64 + 1, 10**30, 10**400, -(10**400)]
ODD_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1e-300]
TEXTS = [
    "",
    " ",
    "$x^{2}$ and {braces} and $",
    "\\frac{a}{b} $",
    "名前 🌊 ‮RTL‬ é\u0301",
    "a" * 5000,
    "/etc/passwd",
    "../../../../etc/passwd",
    "~nouser/x",
    "C:\\Windows",
    "%s%n{0}",
    "<b>x</b>",
    "0.01s",
    "3650d",
    "1e9h",
    "-5min",
    "0s",
    "1.5",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2025-03-30T02:30",
    "2025-10-26T02:30",
    "Mars/Olympus",
    "Pacific/Kiritimati",
    "NaN",
    "inf",
    "null",
]
TAGS = [
    "!!float abc",
    "!!bool maybe",
    "!!timestamp x",
    "!!int 1.5",
    "!!int 0x",
    "!!binary ???",
    "!!set x",
    "!!str",
    "!!null x",
    "!!python/object:os.system x",
    "!!omap x",
    "!custom x",
    "!!float 1e999",
    "!!timestamp 2025-02-30",
]
DURATIONS = ["0.01s", "1s", "0.5s", "3650d", "100000h", "1e3", 1e-9, 1e12, 0.001, "99999999999999999999d"]


def _paths(data: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``data`` (mapping keys and list indices)."""
    out = [loc]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*loc, i))
    return out


def _get(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


def _random_value(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(HUGE_INTS)
    if kind == 1:
        return rng.choice(ODD_FLOATS)
    if kind == 2:
        return rng.choice(TEXTS)
    if kind == 3:
        return rng.choice([True, False, None, [], {}, [1, "a"], {"a": 1}])
    if kind == 4:
        return rng.choice(DURATIONS)
    if kind == 5:
        return rng.randint(-(10**6), 10**12)
    if kind == 6:
        return rng.uniform(-1e6, 1e6)
    if kind == 7:
        return [_random_value(rng) for _ in range(rng.randrange(4))]
    return {rng.choice(["kind", "at", "type", "target", "links", "x", "nan"]): _random_value(rng)}


def _structural(rng: random.Random, data: dict[str, Any], log: list[str]) -> None:
    """One change to the parsed scenario: delete, replace, nest, add, multiply."""
    paths = [p for p in _paths(data) if p]
    if not paths:
        return
    loc = rng.choice(paths)
    parent, key = _get(data, loc[:-1]), loc[-1]
    op = rng.randrange(7)
    if op == 0:
        del parent[key]
        log.append(f"delete {loc}")
    elif op in (1, 2):
        parent[key] = _random_value(rng)
        log.append(f"replace {loc}")
    elif op == 3:
        value: Any = parent[key]
        for _ in range(rng.choice([2, 10, 80, 200])):
            value = [value] if rng.random() < 0.5 else {"x": value}
        parent[key] = value
        log.append(f"nest {loc}")
    elif op == 4:
        target = parent[key] if isinstance(parent[key], dict) else data
        target[rng.choice(["unknown", "evnts", "Name", "duration ", "1", "hazard"])] = _random_value(rng)
        log.append(f"add key near {loc}")
    elif op == 5 and isinstance(parent[key], list) and parent[key]:
        parent[key] = parent[key] * rng.choice([2, 50, 2000, 26000])
        log.append(f"multiply {loc}")
    else:
        # A value typical of the field, pushed to its edge.
        current = parent[key]
        if isinstance(current, bool):
            parent[key] = rng.choice(["yes", 1, None])
        elif isinstance(current, int | float):
            parent[key] = rng.choice([0, -1, current * 1e9, -current, 2**63, math.nan, 1e-12])
        elif isinstance(current, str):
            parent[key] = rng.choice([current * 3, current[::-1], current + "$", "", current.upper(), *DURATIONS])
        log.append(f"edge {loc}")


PLAUSIBLE_DURATIONS = ["1s", "30s", "1min", "5min", "20min", "1h", "6h", "12h", "2d", 90, 3600.5]


def _plausible(rng: random.Random, data: dict[str, Any], log: list[str]) -> None:
    """A change that keeps the value's type and a sensible size, so that the scenario often stays valid."""
    paths = [p for p in _paths(data) if p and not isinstance(_get(data, p), dict | list)]
    if not paths:
        return
    loc = rng.choice(paths)
    parent, key = _get(data, loc[:-1]), loc[-1]
    current = parent[key]
    if isinstance(current, bool):
        parent[key] = not current
    elif isinstance(current, int):
        parent[key] = max(0, int(current * rng.choice([0, 0.5, 2, 10]) + rng.choice([-1, 0, 1])))
    elif isinstance(current, float):
        parent[key] = current * rng.choice([0.0, 0.1, 0.5, 0.99, 1.01, 2.0, 10.0])
    elif isinstance(current, str) and current[:1].isdigit() and current[-1:] in "snhd":
        parent[key] = rng.choice(PLAUSIBLE_DURATIONS)
    elif isinstance(current, str):
        parent[key] = rng.choice([current, current + " ✓", "Valira $ {x}", "x" * 300, current.lower()])
    log.append(f"plausible {loc}")


_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's emitter and parser when present: the pure-Python emitter took most of a fuzz case's time (about
0.1-0.3 s a case, the 9,000-event mutation over 1 s); the cases are then the same wherever libyaml is installed
(PyYAML's wheels ship it)."""


def _dump(data: Any) -> str:
    return str(yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000))


def _textual(rng: random.Random, text: str, log: list[str]) -> str:
    """One change to the YAML text: tags, aliases, duplicates, truncation, odd bytes."""
    lines = text.splitlines()
    values = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")]
    op = rng.randrange(8)
    if op == 0 and values:
        i = rng.choice(values)
        head = lines[i].split(": ", 1)[0]
        lines[i] = f"{head}: {rng.choice(TAGS)}"
        log.append(f"tag line {i + 1}")
    elif op == 1:
        fan, levels = rng.choice([(10, 3), (10, 5), (10, 9), (50, 12), (2, 40)])
        bomb = [f"b0: &b0 [{', '.join(['1'] * fan)}]"]
        bomb += [f"b{k}: &b{k} [{', '.join([f'*b{k - 1}'] * fan)}]" for k in range(1, levels)]
        lines += bomb
        log.append(f"alias bomb {fan}^{levels}")
    elif op == 2 and values:
        i = rng.choice(values)
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
        log.append(f"duplicate line {i + 1}")
    elif op == 3:
        cut = rng.randrange(len(text) + 1)
        log.append(f"truncate at {cut}")
        return text[:cut]
    elif op == 4:
        pos = rng.randrange(len(text) + 1)
        junk = rng.choice(["\x00", "\x07", "\ufeff", "\t", "{", "[", "&a *a", "*missing", "<<: *x", "\r", "\u2028"])
        log.append(f"insert {junk!r}")
        return text[:pos] + junk + text[pos:]
    elif op == 5:
        lines.append("loop: &l [1, *l]")
        log.append("self alias")
    elif op == 6 and values:
        i = rng.choice(values)
        head, _ = lines[i].split(": ", 1)
        lines[i] = f"{head}: &anchor {lines[i].split(': ', 1)[1]}"
        lines.append("alias_use: *anchor")
        log.append("anchor and alias")
    else:
        lines.append(f"events: {_dump([{'kind': 'message', 'at': i, 'text': 'x'} for i in range(9000)]).strip()}")
        log.append("many events")
    return "\n".join(lines) + "\n"


CSV_MUTANTS: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("header only", b"origin,destination,departure\n"),
    ("no columns", b"a,b\n1,2\n"),
    ("binary", bytes(range(256)) * 4),
    ("huge ids", b"origin,destination,departure\n99999999999999999999999,1,0\n-5,3,1\n"),
    ("nan", b"origin,destination,departure\nnan,inf,nan\n1,2,-inf\n"),
    ("ragged", b"origin,destination,departure\n1,2\n1,2,3,4,5\n"),
    ("not utf8", b"origin,destination,departure\n\xff\xfe,1,0\n"),
    ("quotes", b'origin,destination,departure\n"1,2,3\n'),
    ("huge departure", b"origin,destination,departure\n2345236294,5150459999,1e300\n"),
    ("float ids", b"origin,destination,departure\n2345236294.5,5150459999,1\n"),
    ("classes", b"origin,destination,departure,vehicle_class,platoon\n2345236294,5150459999,1,tank,0\n"),
]


def _bad_csv(rng: random.Random, case: Case, data: dict[str, Any], log: list[str]) -> None:
    """The demand CSV replaced, removed, turned into a folder or pointed outside the scenario's folder."""
    traffic = data.get("traffic")
    if not isinstance(traffic, dict):
        data["traffic"] = traffic = {"demand": "andorra-evacuation-drill-trips.csv"}
    op = rng.randrange(4)
    if op == 0:
        label, content = rng.choice(CSV_MUTANTS)
        case.files["bad.csv"] = content
        traffic["demand"] = "bad.csv"
        log.append(f"csv {label}")
    elif op == 1:
        case.files["folder.csv"] = DIRECTORY
        traffic["demand"] = "folder.csv"
        log.append("csv is a folder")
    elif op == 2:
        traffic["demand"] = rng.choice(["/etc/passwd", "../../../../../etc/passwd", "/dev/zero", "/proc/self/environ"])
        log.append("csv outside")
    else:
        traffic["demand"] = rng.choice(["missing.csv", "", "~/x.csv", "sub/../trips.csv", 5])
        log.append("csv path odd")


SET_BOMB = (
    "{"
    + ", ".join(
        ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        + [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 12)]
    )
    + "}"
)
"""An alias bomb of 10**12 values in one ``--set`` value."""


def _bad_override(rng: random.Random, data: dict[str, Any]) -> str:
    paths = [p for p in _paths(data) if p and all(isinstance(k, str | int) for k in p)]
    if paths and rng.random() < 0.7:
        loc = rng.choice(paths)
        path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in loc).lstrip(".")
    else:
        path = rng.choice(["", "a..b", "hazards[999].x", "events[-1]", "x[0][0]", "extends", "name.x", "=", "map"])
    value = rng.choice(
        [
            _dump(_random_value(rng)).strip().replace("\n", " "),
            SET_BOMB,
            "caf\udce9",
            "\udcff$",
            "[" * 200,
            "!!float abc",
            "1e999",
            "9" * 5000,
            "0.01s",
            "",
        ]
    )
    return f"{path}={value}"


def mutate(rng: random.Random) -> Case:
    """A fuzz case drawn from ``rng``: a shipped scenario with one to four mutations."""
    name = rng.choice(sorted(BASES))
    text, files = BASES[name]
    case = Case(name=name, text=text, files=dict(files))
    data = yaml.load(text, Loader=_LOADER)  # a safe loader (libyaml's CSafeLoader)
    log = case.mutations
    structural = False
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.randrange(12)
        if kind < 3:
            _plausible(rng, data, log)
            structural = True
        elif kind < 7:
            _structural(rng, data, log)
            structural = True
        elif kind < 9:
            _bad_csv(rng, case, data, log)
            structural = True
        elif kind < 11:
            case.overrides.append(_bad_override(rng, copy.deepcopy(data)))
            log.append(f"--set {case.overrides[-1][:60]!r}")
        else:
            case.text = _textual(rng, case.text if not structural else _dump(data), log)
            data = None
            break
    if data is not None and structural:
        try:
            case.text = _dump(data)
        except (ValueError, OverflowError, RecursionError) as exc:  # what safe_dump itself cannot write
            log.append(f"undumpable ({exc.__class__.__name__}), kept the text")
    return case


# --- experiment files and drill MSELs -------------------------------------------------------------------------

EXPERIMENTS = ROOT / "experiments"
MSEL_NAME = "andorra-flood-drill-msel.csv"


def mutate_experiment(rng: random.Random) -> Case:
    """An experiment file (``experiments/<name>``, its base scenario beside it) with one to three mutations.

    The same structural, plausible and textual mutations as a scenario's (aliases, tags, huge numbers, ...), so
    that experiment files are shown to go through the same reader with the same limits.
    """
    path = rng.choice(sorted(EXPERIMENTS.glob("*.yaml")))
    text = path.read_text(encoding="utf-8")
    case = Case(name=path.name, text=text, kind="experiment")
    data = yaml.load(text, Loader=_LOADER)  # a safe loader (libyaml's CSafeLoader)
    for _ in range(rng.choice([1, 1, 2, 3])):
        kind = rng.randrange(8)
        if kind < 2:
            _plausible(rng, data, case.mutations)
        elif kind < 6:
            _structural(rng, data, case.mutations)
        else:
            case.text = _textual(rng, _dump(data), case.mutations)
            return case
    try:
        case.text = _dump(data)
    except (ValueError, OverflowError, RecursionError) as exc:
        case.mutations.append(f"undumpable ({exc.__class__.__name__}), kept the text")
    return case


MSEL_CELLS = [
    "",
    " ",
    "99:99",
    "00:61",
    "-00:10",
    "1e308min",
    "nan",
    "100000000000000000000000h",
    "all",
    "nobody",
    "fail_component",
    "close_road",
    "no_such_command",
    "{",
    '{"street": "Nowhere"}',
    '{"street": ' * 100,
    "[1, 2]",
    '{"id": 99999999999999999999999}',
    "null",
    "5min",
    "0s",
    "x" * 5000,
    "名前 🌊 ‮RTL‬",
    '"',
]


def mutate_msel(rng: random.Random) -> Case:
    """The shipped drill MSEL (``scenarios/msel.csv``) with one to three changes to its cells, rows and header."""
    text = (SCENARIOS / MSEL_NAME).read_text(encoding="utf-8")
    lines = text.splitlines()
    case = Case(name="msel.csv", text=text, kind="msel")
    for _ in range(rng.choice([1, 1, 2, 3])):
        op = rng.randrange(7)
        i = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
        if op == 0:  # a cell of a row replaced (naive split: quoted commas shift the columns, a mutation too)
            cells = lines[i].split(",")
            j = rng.randrange(len(cells))
            cells[j] = rng.choice(MSEL_CELLS)
            lines[i] = ",".join(cells)
            case.mutations.append(f"cell {j} of line {i + 1}")
        elif op == 1:  # a header column renamed, removed or doubled
            header = lines[0].split(",")
            j = rng.randrange(len(header))
            header[j] = rng.choice(["", "Number", "tim", header[(j + 1) % len(header)], "extra"])
            lines[0] = ",".join(header)
            case.mutations.append(f"header column {j}")
        elif op == 2:
            del lines[i]
            case.mutations.append(f"delete line {i + 1}")
        elif op == 3:
            lines.insert(i, rng.choice(["", ",,,", lines[i], lines[i] + ",extra", "\x00\x07", "\ufeff" + lines[i]]))
            case.mutations.append(f"insert at line {i + 1}")
        elif op == 4:
            lines = lines * rng.choice([2, 50, 1000])
            case.mutations.append("repeat the file")
        elif op == 5:
            cut = rng.randrange(len("\n".join(lines)) + 1)
            lines = "\n".join(lines)[:cut].splitlines() or [""]
            case.mutations.append(f"truncate at {cut}")
        else:
            label, content = rng.choice(CSV_MUTANTS)
            case.files[case.name] = content
            case.mutations.append(f"csv {label}")
            return case
    case.text = "\n".join(lines) + "\n"
    return case
