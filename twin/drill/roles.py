"""Who takes part in a drill, what each may do, and how they prove it: roles, desks, tokens, a rate limit.

Roles follow the exercise roles of HSEEP (Homeland Security Exercise and Evaluation Program, 2020, ch. 4):
the **controller** runs the exercise (starts, pauses and paces the clock, fires injects, may send any
command); **players** sit at a desk and may send only their desk's commands (:data:`DESK_COMMANDS`, data
that later models extend); **evaluators** see everything, including the MSEL and the journal, and change
nothing; **observers** see the common operating picture and change nothing.

Each role gets a fresh random token (:func:`secrets.token_urlsafe`, 192 bits); tokens are compared in constant
time (:func:`hmac.compare_digest`). Requests are limited per token by a token bucket (rate ``r`` per second,
burst ``b``): a bucket holds up to ``b`` tokens, refills at ``r`` per second, and each request takes one.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

DESKS: dict[str, str] = {
    "police": "Traffic police",
    "power": "Power",
    "water": "Water",
    "health": "Health",
    "shelters": "Shelters",
    "fire_rescue": "Fire and rescue",
}
"""The players' desks and their titles."""

CREW_COMMANDS = ("dispatch", "stage", "recall")
"""A desk's own crews (the crews phase refuses, and logs, a command for a crew of another kind)."""

DESK_COMMANDS: dict[str, tuple[str, ...]] = {
    "police": ("close_road", "open_road", "message", "door_to_door", *CREW_COMMANDS),
    "power": ("message", "prioritise_repair", *CREW_COMMANDS),
    "water": ("message", "prioritise_repair", *CREW_COMMANDS),
    "health": ("message", *CREW_COMMANDS),
    "shelters": ("message", "open_shelter", "close_shelter", "send_warning"),
    "fire_rescue": ("close_road", "message", *CREW_COMMANDS),
}
"""What each desk may send, by command name (:data:`twin.drill.commands.COMMANDS`); the controller may send any,
including ``set_policy``. The police desk sends its crews door to door (``door_to_door``). The shelters desk
(civil protection's care and shelter desk) opens and closes shelters
and sends warnings; the power and water desks move their own components' repairs to the front of the queue."""
DESK_GROUPS: dict[str, str] = {"power": "power", "water": "water"}
"""The component group whose repairs a desk may move to the front (``prioritise_repair``)."""


@dataclass(frozen=True)
class Role:
    """One seat in the drill.

    Attributes
    ----------
    name
        ``controller``, a desk's name, ``evaluator`` or ``observer``.
    kind
        ``controller``, ``player``, ``evaluator`` or ``observer``.
    title
        For the page.
    commands
        Names of the commands it may send (the controller: every one).
    """

    name: str
    kind: str
    title: str
    commands: tuple[str, ...] = ()

    @property
    def controls(self) -> bool:
        """May run the clock and fire injects."""
        return self.kind == "controller"

    @property
    def sees_everything(self) -> bool:
        """May read the MSEL and the journal."""
        return self.kind in ("controller", "evaluator")


def drill_roles(all_commands: tuple[str, ...]) -> list[Role]:
    """The controller, one player per desk, an evaluator and an observer."""
    roles = [Role("controller", "controller", "Controller", all_commands)]
    roles += [Role(desk, "player", title, DESK_COMMANDS[desk]) for desk, title in DESKS.items()]
    roles += [Role("evaluator", "evaluator", "Evaluator"), Role("observer", "observer", "Observer")]
    return roles


class Tokens:
    """A fresh secret token per role, checked in constant time."""

    def __init__(self, roles: list[Role]) -> None:
        self.by_role = {role.name: (secrets.token_urlsafe(24), role) for role in roles}

    def role_of(self, token: str | None) -> Role | None:
        """The role a token belongs to, or None (every token is compared, so timing tells nothing)."""
        found = None
        for secret, role in self.by_role.values():
            if token is not None and hmac.compare_digest(secret.encode(), token.encode()):
                found = role
        return found

    def token_of(self, role: str) -> str:
        """The token of a role (for the URLs printed at the start)."""
        return self.by_role[role][0]


class RateLimit:
    """A token bucket per key: ``burst`` requests at once, then ``rate`` per second.

    Parameters
    ----------
    rate
        Requests per second allowed on average.
    burst
        Requests allowed at once.
    now
        The wall clock (default :func:`time.monotonic`).
    """

    def __init__(self, rate: float = 20.0, burst: float = 40.0, now: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._now = rate, burst, now
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0 when allowed, else the seconds to wait before the next."""
        now = self._now()
        level, then = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - then) * self.rate)
        if level < 1:
            self._buckets[key] = (level, now)
            return (1 - level) / self.rate
        self._buckets[key] = (level - 1, now)
        return 0.0
