"""What people and injects can send to the engine in a drill, validated like scenario input.

The table :data:`COMMANDS` is data: each :class:`CommandSpec` names the engine event kind it schedules
(:mod:`twin.sim.events`) and the fields it takes. Desks are given commands by name in
:data:`twin.drill.roles.DESK_COMMANDS`; later models (crews: dispatch and stage; residents: warn, open a
shelter) add theirs with :func:`register_command` without touching the server.

A command is a JSON object ``{"command": NAME, field: value, ...}``. :func:`validate_command` checks every
field at once against the spec and against the City (a road selector must match roads of the map, as in a
scenario file: :mod:`twin.sim.targets`), and raises :class:`CommandError` listing each bad field with what is
wrong and how to fix it (the server answers 422 with them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from twin.scenario.events import COMPONENT_KEYS, LINK_KEYS, ComponentSelector, LinkSelector
from twin.scenario.problems import format_loc, from_validation_error
from twin.sim.targets import TargetError, resolve_components, resolve_links
from twin.units import parse_duration_s

if TYPE_CHECKING:
    from twin.city.build import City

MAX_TEXT = 500
"""Longest message text (characters): a feed line, not a document."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a command.

    Attributes
    ----------
    name
        The JSON key.
    kind
        ``links`` (a road selector), ``components`` (a component selector), ``text``, ``duration`` (seconds or
        ``"2h"``), ``desk`` (a desk's name), ``number`` (a whole number >= 0: a crew, an incident, a node),
        ``count`` (a whole number >= 1: places), ``building`` (a building id of the map), ``shelter`` (the name
        of a public shelter of the map, or ``building N`` for one opened at building N), ``zones`` (names of the
        map's population areas), ``channels`` (warning channels) or ``flag`` (true or false).
    required
        Whether the command needs it.
    help
        One line for the form on the page.
    """

    name: str
    kind: str
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class CommandSpec:
    """A command: its name, the engine event it schedules, its fields.

    Attributes
    ----------
    name
        What people send (``close_road``).
    title
        The form's title.
    event
        The engine event kind it schedules (:data:`twin.sim.events.EVENT_KINDS` or a registered kind).
    fields
        Its fields, in form order.
    one_of
        Fields of which exactly one must be given (none: no such rule).
    """

    name: str
    title: str
    event: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    one_of: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The spec as data, for the page to build its form."""
        return {
            "name": self.name,
            "title": self.title,
            "fields": [{"name": f.name, "kind": f.kind, "required": f.required, "help": f.help} for f in self.fields],
            "one_of": list(self.one_of),
        }


ROAD_HELP = "roads: links [ids], osm_ways [ids], street (part of a name) or bridges_over (a river)"
COMPONENT_HELP = "components: components [ids], osm_ids, name (part of it), kinds or groups"

COMMANDS: dict[str, CommandSpec] = {}


def register_command(spec: CommandSpec) -> None:
    """Add a command to the table (a model that brings its own event kind registers its commands here)."""
    COMMANDS[spec.name] = spec


for _spec in (
    CommandSpec("close_road", "Close roads", "close_link", (FieldSpec("target", "links", help=ROAD_HELP),)),
    CommandSpec("open_road", "Reopen roads", "open_link", (FieldSpec("target", "links", help=ROAD_HELP),)),
    CommandSpec(
        "message",
        "Send a message",
        "message",
        (FieldSpec("text", "text", help="what to say"), FieldSpec("to", "desk", False, "a desk, or everyone")),
    ),
    CommandSpec(
        "fail_component",
        "Fail components",
        "fail_component",
        (
            FieldSpec("target", "components", help=COMPONENT_HELP),
            FieldSpec("restore_after", "duration", False, "back in service after (e.g. 2h)"),
            FieldSpec("cause", "text", False, "what failed them (e.g. substation fire)"),
        ),
    ),
    CommandSpec(
        "repair_component",
        "Repair components",
        "repair_component",
        (FieldSpec("target", "components", help=COMPONENT_HELP),),
    ),
    # The crews' commands (twin.crews.commands): the crews phase checks the crew, the incident and the policy
    # when it applies them and logs a command it cannot follow as refused, so a drill goes on.
    CommandSpec(
        "dispatch",
        "Dispatch a crew",
        "dispatch",
        (
            FieldSpec("crew", "number", help="the crew's number (crews.parquet)"),
            FieldSpec("incident", "number", help="the incident's number (incidents.parquet)"),
        ),
    ),
    CommandSpec(
        "stage",
        "Stage a crew",
        "stage",
        (
            FieldSpec("crew", "number", help="the crew's number"),
            FieldSpec("node", "number", help="the drivable node it waits at"),
        ),
    ),
    CommandSpec("recall", "Recall a crew", "recall", (FieldSpec("crew", "number", help="the crew's number"),)),
    CommandSpec(
        "prioritise_repair",
        "Repair these first",
        "prioritise_repair",
        (FieldSpec("target", "components", help=COMPONENT_HELP),),
    ),
    # The residents' commands (twin.residents.commands): warnings and public shelters.
    CommandSpec(
        "send_warning",
        "Send a warning",
        "send_warning",
        (
            FieldSpec("zones", "zones", False, "zones (population areas), comma-separated; none: the whole city"),
            FieldSpec("channels", "channels", help="cell_broadcast, siren, tv_radio, word_of_mouth (comma-separated)"),
            FieldSpec("evacuate", "flag", False, "true: an order to leave (default); false: a warning only"),
            FieldSpec("text", "text", False, "what it says"),
        ),
    ),
    CommandSpec(
        "door_to_door",
        "Warn door to door",
        "door_to_door",
        (
            FieldSpec("zones", "zones", help="zones (population areas) the police crews go through, comma-separated"),
            FieldSpec("per_crew_h", "count", help="people a crew warns an hour on scene (e.g. 120)"),
            FieldSpec("evacuate", "flag", False, "true: an order to leave (default); false: a warning only"),
            FieldSpec("text", "text", False, "what they say"),
        ),
    ),
    CommandSpec(
        "open_shelter",
        "Open a shelter",
        "open_shelter",
        (
            FieldSpec("building", "building", False, "the building's id (buildings of the map) to open as a shelter"),
            FieldSpec("capacity", "count", False, "places (default: floor area / 3.5 m2)"),
            FieldSpec("name", "text", False, "its name (default: building N)"),
            FieldSpec("shelter", "shelter", False, "or: a closed shelter's name, to open it again"),
        ),
        one_of=("building", "shelter"),
    ),
    CommandSpec(
        "close_shelter",
        "Close a shelter",
        "close_shelter",
        (FieldSpec("shelter", "shelter", help="the shelter's name (building N for one opened at building N)"),),
    ),
    CommandSpec(
        "set_policy",
        "Set the dispatch policy",
        "set_policy",
        (FieldSpec("policy", "text", help="nearest, priority, critical_first or a registered policy"),),
    ),
):
    register_command(_spec)


@dataclass(frozen=True)
class Command:
    """A validated command, ready for the engine.

    Attributes
    ----------
    name
        The command's name.
    event
        The engine event kind.
    target
        The selector, as plain data.
    params
        The event's parameters (``text``, ``to``, ``restore_after_s``).
    cause
        The event's cause, when the command gives one.
    """

    name: str
    event: str
    target: dict[str, Any]
    params: dict[str, Any]
    cause: str | None = None


class CommandError(ValueError):
    """A command with bad fields: ``problems`` pairs each field with what is wrong and how to fix it."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems))


def validate_command(payload: Any, city: City, desks: tuple[str, ...]) -> Command:
    """``payload`` checked against its command's spec and the City; every problem at once.

    Raises
    ------
    CommandError
        Listing each bad field (an unknown command, a missing or unknown field, a wrong type, a selector that
        matches nothing on this map).
    """
    if not isinstance(payload, dict):
        raise CommandError([("command", 'send a JSON object such as {"command": "close_road", "target": {...}}')])
    name = payload.get("command")
    spec = COMMANDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise CommandError([("command", f"unknown command {name!r}; commands: {', '.join(sorted(COMMANDS))}")])
    problems: list[tuple[str, str]] = []
    known = {f.name for f in spec.fields}
    problems += [
        (key, f"{spec.name} takes no {key!r}; its fields: {', '.join(f.name for f in spec.fields)}")
        for key in payload
        if key != "command" and key not in known
    ]
    values: dict[str, Any] = {}
    for field_spec in spec.fields:
        value = payload.get(field_spec.name)
        if value is None or value == "":
            if field_spec.required:
                problems.append((field_spec.name, f"missing: {field_spec.help or 'give a value'}"))
            continue
        try:
            values[field_spec.name] = _check_field(field_spec, value, city, desks)
        except CommandError as exc:
            problems += exc.problems
    given = [name for name in spec.one_of if payload.get(name) not in (None, "")]
    if spec.one_of and len(given) != 1:
        names = " or ".join(spec.one_of)
        problems += [(name, f"give exactly one of {names}") for name in (given or spec.one_of)]
    if spec.one_of == ("building", "shelter") and given == ["shelter"]:
        problems += [(k, "only with building (a new shelter)") for k in ("capacity", "name") if k in payload]
    if problems:
        raise CommandError(problems)
    return _command_of(spec, values)


def _command_of(spec: CommandSpec, values: dict[str, Any]) -> Command:
    target = values.pop("target", {})
    cause = values.pop("cause", None)
    params = {("restore_after_s" if k == "restore_after" else k): v for k, v in values.items()}
    return Command(spec.name, spec.event, target, params, cause)


def _check_field(spec: FieldSpec, value: Any, city: City, desks: tuple[str, ...]) -> Any:
    """One field's value, checked (CommandError naming the field when it is wrong)."""
    if spec.kind in ("links", "components"):
        return _check_target(spec.name, value, city, spec.kind)
    if spec.kind == "text":
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise CommandError([(spec.name, f"must be text of 1 to {MAX_TEXT} characters")])
        return value.strip()
    if spec.kind == "desk":
        if value not in desks:
            raise CommandError([(spec.name, f"unknown desk {value!r}; desks: {', '.join(desks)}")])
        return value
    if spec.kind in ("number", "count", "building"):
        return _check_whole(spec, value, city)
    if spec.kind in ("zones", "channels"):
        return _check_names(spec, value, city)
    if spec.kind == "flag":
        if isinstance(value, bool):
            return value
        raise CommandError([(spec.name, f"must be true or false, got {value!r}")])
    if spec.kind == "shelter":
        return _check_shelter(spec, value, city)
    if spec.kind == "duration":
        try:
            seconds = parse_duration_s(value)
        except (ValueError, TypeError) as exc:
            raise CommandError([(spec.name, str(exc))]) from None
        if not 0 < seconds < math.inf:
            raise CommandError([(spec.name, f"must be a duration > 0 such as 2h, got {value!r}")])
        return seconds
    raise ValueError(f"command field {spec.name!r} has the unknown kind {spec.kind!r}")  # a programming error


def _check_whole(spec: FieldSpec, value: Any, city: City) -> int:
    """A whole number: >= 0 (``number``), >= 1 (``count``) or a building id of the map (``building``)."""
    least = 1 if spec.kind == "count" else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise CommandError([(spec.name, f"must be a whole number >= {least}, got {value!r}")])
    if spec.kind == "building" and value >= len(city.buildings):
        last = len(city.buildings) - 1
        raise CommandError([(spec.name, f"no building {value} on this map; building ids run from 0 to {last}")])
    return value


def _check_names(spec: FieldSpec, value: Any, city: City) -> list[str]:
    """Zones of the map or warning channels: a list of names."""
    from twin.residents.commands import COMMAND_CHANNELS

    known = [a.name for a in city.config.population.areas] if spec.kind == "zones" else list(COMMAND_CHANNELS)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CommandError([(spec.name, f"must be a list of names from: {', '.join(known)}")])
    unknown = [v for v in value if v not in known]
    if unknown:
        what = "zones of this map" if spec.kind == "zones" else "channels"
        raise CommandError([(spec.name, f"{', '.join(map(repr, unknown))} not among the {what}: {', '.join(known)}")])
    return list(dict.fromkeys(value))


def _check_shelter(spec: FieldSpec, value: Any, city: City) -> str:
    """A public shelter of the map by name, or ``building N`` (one a command opened at building N)."""
    facilities = city.facilities
    names = facilities["name"][facilities["kind"] == "shelter"].dropna().astype(str).tolist()
    if isinstance(value, str):
        parts = value.split()
        opened = len(parts) == 2 and parts[0] == "building" and parts[1].isdigit()
        if value in names or (opened and int(parts[1]) < len(city.buildings)):
            return value
    shown = ", ".join(names) or "none"
    raise CommandError([(spec.name, f"no shelter {value!r}; the map's shelters: {shown}; or building N")])


def _check_target(name: str, value: Any, city: City, kind: str) -> dict[str, Any]:
    """A selector validated as a scenario's target, then resolved on the City (it must match something)."""
    model: type[BaseModel] = LinkSelector if kind == "links" else ComponentSelector
    own, other = (LINK_KEYS, COMPONENT_KEYS) if kind == "links" else (COMPONENT_KEYS, LINK_KEYS)
    if not isinstance(value, dict):
        raise CommandError([(name, f"must be an object with one or more of {', '.join(own)}")])
    foreign = [k for k in value if k in other]
    if foreign:
        raise CommandError(
            [(f"{name}.{k}", f"selects the wrong kind of thing here; use {', '.join(own)}") for k in foreign]
        )
    try:
        selector = model.model_validate(value).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise CommandError(
            [
                (f"{name}.{format_loc(p.loc)}" if p.loc else name, p.message + (f" ({p.hint})" if p.hint else ""))
                for p in from_validation_error(exc, model)
            ]
        ) from None
    try:
        (resolve_links if kind == "links" else resolve_components)(city, selector)
    except TargetError as exc:
        raise CommandError([(name, str(exc))]) from None
    return selector
