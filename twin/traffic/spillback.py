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
    times
        Release times sorted by link, then time.
    cumulative
        Running total of the released vehicles over the whole sorted array.
    before
        Per link: the running total before its first release.
    end
        Per link: the index past its last release (``before``'s index when it has none).
    total
        Per link: the vehicles released within the sub-step.
    """

    times: np.ndarray
    cumulative: np.ndarray
    before: np.ndarray
    end: np.ndarray
    total: np.ndarray

    @classmethod
    def empty(cls, n_links: int) -> ReleaseSchedule:
        """No releases."""
        return cls.build(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), n_links)

    @classmethod
    def build(cls, links: np.ndarray, times: np.ndarray, weight: np.ndarray, n_links: int) -> ReleaseSchedule:
        """Lay out releases of ``weight`` vehicles on ``links`` at ``times``."""
        order = np.lexsort((times, links))
        links, times, weight = links[order], times[order], weight[order]
        cumulative = np.cumsum(weight)
        every = np.arange(n_links)
        first = np.searchsorted(links, every, side="left")
        end = np.searchsorted(links, every, side="right")
        padded = np.concatenate(([0.0], cumulative))
        before = padded[first]
        return cls(times, cumulative, before, end, padded[end] - before)

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
        index = np.searchsorted(self.cumulative, self.before[links] + needed[wait], side="right")
        found = index < self.end[links]
        out[wait] = np.where(found, self.times[np.minimum(index, self.times.size - 1)], np.inf)
        return out
