"""Space released at links' upstream ends within a sub-step, at exact times (the receiving flow in continuous time).

In the link transmission model a link takes a vehicle at time ``tau`` only while
``N_in(tau) < storage + N_out(tau - L / w)`` (Yperman 2007): the space a vehicle frees by leaving the downstream
end reaches the upstream end one backward-wave time ``L / w`` later. Every exit posts such a release; the
releases due within a sub-step are laid out here, sorted by link and time with a running total, so that the
moment a link's room first exceeds a given number of vehicles is one binary search for every vehicle at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReleaseSchedule:
    """Releases due within one sub-step.

    Attributes
    ----------
    links
        The links released on, sorted (then by time).
    times
        Release times, in the same order.
    weight
        Vehicles released, in the same order.
    cumulative
        Running total of ``weight`` over the whole sorted array.
    """

    links: np.ndarray
    times: np.ndarray
    weight: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def empty(cls) -> ReleaseSchedule:
        """No releases."""
        return cls(np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0), np.zeros(0))

    @classmethod
    def build(cls, links: np.ndarray, times: np.ndarray, weight: np.ndarray) -> ReleaseSchedule:
        """Lay out releases of ``weight`` vehicles on ``links`` at ``times``."""
        order = np.lexsort((times, links))
        return cls(links[order], times[order], weight[order], np.cumsum(weight[order]))

    def apply(self, released: np.ndarray) -> None:
        """Add every release to ``released`` (per link): the sub-step is over."""
        np.add.at(released, self.links, self.weight)

    def time_of(self, links: np.ndarray, needed: np.ndarray) -> np.ndarray:
        """When the vehicles released on ``links`` first exceed ``needed`` (``-inf`` if ``needed < 0``: at once;
        ``inf`` if not within the sub-step)."""
        out = np.full(links.size, -np.inf)
        wait = needed >= 0
        if not wait.any():
            return out
        if self.times.size == 0:
            out[wait] = np.inf
            return out
        links = links[wait]
        first = np.searchsorted(self.links, links, side="left")
        end = np.searchsorted(self.links, links, side="right")
        before = np.where(first > 0, self.cumulative[np.maximum(first - 1, 0)], 0.0)
        index = np.searchsorted(self.cumulative, before + needed[wait], side="right")
        found = index < end
        out[wait] = np.where(found, self.times[np.minimum(index, self.times.size - 1)], np.inf)
        return out
