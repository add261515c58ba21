"""twin: an open digital-twin engine for city resilience.

``twin.run_scenario`` (:func:`twin.run.run_scenario`) runs a scenario and returns its Results; it is imported
on first use, so that ``import twin`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.run import run_scenario

__version__ = "0.1.0"
__all__ = ["__version__", "run_scenario"]


def __getattr__(name: str) -> Any:
    """Import the runner when ``twin.run_scenario`` is first used (it pulls in the whole engine)."""
    if name == "run_scenario":
        from twin.run import run_scenario

        return run_scenario
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
