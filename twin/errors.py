"""Errors a user can fix.

Every error that comes from bad input is a :class:`TwinError` whose message says what is wrong,
where (file, YAML path, line) and how to fix it. The CLI prints the message without a traceback
and exits non-zero. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a file name or an argument) as ``\\udcff`` escapes.

    Python turns bytes that are not UTF-8 in ``sys.argv`` and file names into lone surrogates; printing them
    fails, so a message that quotes one would itself crash. Everything else is kept as it is.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class TwinError(ValueError):
    """Base class of every error a user can fix by changing an input.

    Parameters
    ----------
    message
        The whole message: what is wrong, where and how to fix it.
    problems
        When several problems were found at once, each one as a line; the message lists them all.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        message = printable(message)
        self.problems: list[str] = [printable(p) for p in problems] if problems else [message]
        if problems and len(problems) > 1:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        elif problems and self.problems[0] not in message:
            message = f"{message}: {self.problems[0]}"
        super().__init__(message)


class MapError(TwinError):
    """A map folder (OSM extract, DEM, city.yaml) cannot be compiled into a City."""


class ScenarioError(TwinError):
    """A scenario file is invalid (every problem listed with file, YAML path and line)."""


class RunError(TwinError):
    """A run cannot go on for a reason the user can fix (an output folder that is not writable, ...)."""


class UsageError(TwinError):
    """A command's arguments are missing or do not fit together (a recharge to give, a count out of range, ...)."""
