"""The drill's real-time clock: simulated time paced by the wall clock, paused, sped up or stepped by hand.

The clock keeps an anchor (wall time ``w0``, simulated time ``s0``) and a speed ``v`` (simulated seconds per
wall second). While it runs, simulated time is

    s(w) = min(s0 + v * (w - w0), s_end)

Every change (pause, resume, a new speed, a step) first re-anchors at the current instant (``s0 = s(now)``,
``w0 = now``), so simulated time is continuous across changes: it never jumps back or forward. This is the
piecewise-linear clock of real-time simulators (e.g. the wall-clock pacing of HLA/IEEE 1516 time management
and SUMO's ``--delay``), written out so that it can be tested to 1e-6 with an injected wall clock.

The engine steps in whole steps of ``dt`` and lags the clock by up to one step; when it lags by more (a slow
step, a loaded machine) the clock does not wait for it: :meth:`DrillClock.behind_s` says by how much, for
the page to show, and the engine catches up step by step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

WallClock = Callable[[], float]
MAX_SPEED = 3600.0
"""The fastest a drill may run (simulated seconds per wall second): an hour a second."""


@dataclass(frozen=True)
class ClockReading:
    """What the clock says at one instant (sent to every page).

    Attributes
    ----------
    sim_s
        Simulated time the engine should have reached (s since the scenario's start).
    speed
        Simulated seconds per wall second (0 when paused).
    paused
        Whether the clock stands still.
    end_s
        The scenario's end (s).
    """

    sim_s: float
    speed: float
    paused: bool
    end_s: float


class DrillClock:
    """Simulated time on the wall clock, with pause, resume, speed changes and single steps.

    Parameters
    ----------
    end_s
        The scenario's duration: the clock stops there.
    speed
        Simulated seconds per wall second (0 starts paused).
    start_s
        Simulated time at the start (a resumed drill starts where its engine stands).
    paused
        Start paused (a drill waits for the controller's start).
    now
        The wall clock, in seconds (default :func:`time.monotonic`, which never goes back).
    """

    def __init__(
        self,
        end_s: float,
        speed: float = 60.0,
        start_s: float = 0.0,
        paused: bool = True,
        now: WallClock = time.monotonic,
    ) -> None:
        check_speed(speed)
        self._now = now
        self.end_s = float(end_s)
        self._anchor_wall = now()
        self._anchor_sim = min(float(start_s), self.end_s)
        self._speed = float(speed)
        self._paused = paused or speed == 0

    def sim_s(self) -> float:
        """Simulated time now: ``min(s0 + v (w - w0), s_end)`` while running, ``s0`` while paused."""
        if self._paused:
            return self._anchor_sim
        elapsed = self._now() - self._anchor_wall
        return min(self._anchor_sim + self._speed * elapsed, self.end_s)

    def reading(self) -> ClockReading:
        """The clock's state now."""
        return ClockReading(self.sim_s(), 0.0 if self._paused else self._speed, self._paused, self.end_s)

    @property
    def speed(self) -> float:
        """The speed it runs at when not paused."""
        return self._speed

    @property
    def paused(self) -> bool:
        """Whether the clock stands still."""
        return self._paused

    def _reanchor(self) -> None:
        self._anchor_sim = self.sim_s()
        self._anchor_wall = self._now()

    def pause(self) -> None:
        """Stop at the current simulated time."""
        self._reanchor()
        self._paused = True

    def resume(self) -> None:
        """Run again from where it stopped (speed 0 stays paused)."""
        self._reanchor()
        self._paused = self._speed == 0

    def set_speed(self, speed: float) -> None:
        """Run at ``speed`` from now on, continuing from the current simulated time; 0 pauses."""
        check_speed(speed)
        self._reanchor()
        self._speed = float(speed)
        if speed == 0:
            self._paused = True

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` at once (a step while paused), up to the end."""
        if not seconds >= 0:
            raise ValueError(f"a clock moves forward only, not by {seconds!r} s")
        self._reanchor()
        self._anchor_sim = min(self._anchor_sim + seconds, self.end_s)

    def behind_s(self, engine_s: float, step_s: float) -> float:
        """How far the engine (at ``engine_s``) lags the clock beyond the one step it may lag by design (>= 0)."""
        return max(0.0, self.sim_s() - engine_s - step_s)


def check_speed(speed: object) -> float:
    """``speed`` as a float, or ValueError saying the allowed range."""
    number = isinstance(speed, int | float) and not isinstance(speed, bool)
    if not number or not 0 <= float(speed) <= MAX_SPEED:  # type: ignore[arg-type]
        raise ValueError(f"speed: must be a number from 0 (paused) to {MAX_SPEED:g} simulated s per s, got {speed!r}")
    return float(speed)  # type: ignore[arg-type]
