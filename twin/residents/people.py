"""The changing state of the people: one numpy array per field, one entry per person (checkpointed).

Every person is in exactly one status at any time (:data:`STATUSES`), so the statuses' counts add up to the
population at every step: at home, at work or school, walking, driving, in a shelter, or elsewhere (with
friends, family or in a hotel outside the hazard area, out of the model).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from twin.residents.places import SERVICES
from twin.residents.population import AT_HOME, Population

HOME, WORK, WALKING, DRIVING, SHELTER, ELSEWHERE = range(6)
STATUSES = ("home", "work", "walking", "driving", "shelter", "elsewhere")
NO_TARGET = -1
"""``target``: -1 not leaving; 0..S-1 a shelter; S elsewhere (a place to stay beyond the
hazard area, :func:`twin.residents.shelters.elsewhere_nodes`)."""


def _times(n: int) -> np.ndarray:
    return np.full(n, np.nan, dtype=np.float32)


@dataclass
class PeopleState:
    """Per person (float32 times in s since the start, NaN: not yet).

    Attributes
    ----------
    status, node, nxt, left_m
        Status (:data:`STATUSES`); walkable node where they are (walkers: the last node passed), the next node
        of a walker on a link (-1 at a node) and the metres left on it.
    warned_s, warned_by, ordered, wom_hazard
        When first warned and by which channel (index into ``CHANNELS``, -1 never); whether an evacuation
        order applies to them; accumulated word-of-mouth hazard.
    decided_s, depart_s, left_s, arrived_s
        When they decided to leave, will leave, left, arrived.
    target, mode, vehicle
        Destination (see :data:`NO_TARGET`), 0 walk 1 car (-1 not left), id of the car they left in, in the
        traffic model's ``trips.parquet`` (-1 none; kept after they arrive or leave a stranded car).
    exposure_s, without_s, deep_s
        Seconds exposed (> 0.5 m), seconds without each service (``SERVICES`` rows), seconds continuously in
        >= 1 m of water on the street (screening casualty rule).
    peak_depth_m, peak_velocity_mps
        The deepest water and the fastest flow the person has been in (at their floor indoors, where velocity
        is 0; on the street or their link outdoors).
    exposed, need_rescue, trapped, rescue_asked, ever_rescue, casualty, home_wet_s
        Now exposed / needing rescue (:mod:`twin.residents.trigger`) / trapped walker (no safe route on);
        rescue already requested; ever needed rescue; screening casualty; when water first reached the home (NaN
        never).
    trapped_since_s
        When a walker trapped now was first found trapped, in a row (NaN: not trapped now).
    rescue_ref, rescued_s
        Number of the person's last rescue request (-1: none; :mod:`twin.residents.rescues`), and when a crew
        brought them out of the water (NaN: never).
    """

    status: np.ndarray
    node: np.ndarray
    nxt: np.ndarray
    left_m: np.ndarray
    warned_s: np.ndarray
    warned_by: np.ndarray
    ordered: np.ndarray
    wom_hazard: np.ndarray
    decided_s: np.ndarray
    depart_s: np.ndarray
    left_s: np.ndarray
    arrived_s: np.ndarray
    target: np.ndarray
    mode: np.ndarray
    vehicle: np.ndarray
    exposure_s: np.ndarray
    without_s: np.ndarray
    deep_s: np.ndarray
    peak_depth_m: np.ndarray
    peak_velocity_mps: np.ndarray
    exposed: np.ndarray
    need_rescue: np.ndarray
    trapped: np.ndarray
    trapped_since_s: np.ndarray
    rescue_asked: np.ndarray
    ever_rescue: np.ndarray
    casualty: np.ndarray
    home_wet_s: np.ndarray
    rescue_ref: np.ndarray
    rescued_s: np.ndarray

    @classmethod
    def start(cls, population: Population) -> PeopleState:
        """Everyone where the population puts them at the start, nobody warned."""
        n = population.size
        status = np.where(population.start_place == AT_HOME, HOME, WORK).astype(np.uint8)
        return cls(
            status=status,
            node=population.start_node.astype(np.int32),
            nxt=np.full(n, -1, dtype=np.int32),
            left_m=np.zeros(n, dtype=np.float32),
            warned_s=_times(n),
            warned_by=np.full(n, -1, dtype=np.int8),
            ordered=np.zeros(n, dtype=bool),
            wom_hazard=np.zeros(n, dtype=np.float32),
            decided_s=_times(n),
            depart_s=_times(n),
            left_s=_times(n),
            arrived_s=_times(n),
            target=np.full(n, NO_TARGET, dtype=np.int16),
            mode=np.full(n, -1, dtype=np.int8),
            vehicle=np.full(n, -1, dtype=np.int64),
            exposure_s=np.zeros(n, dtype=np.float32),
            without_s=np.zeros((len(SERVICES), n), dtype=np.float32),
            deep_s=np.zeros(n, dtype=np.float32),
            peak_depth_m=np.zeros(n, dtype=np.float32),
            peak_velocity_mps=np.zeros(n, dtype=np.float32),
            exposed=np.zeros(n, dtype=bool),
            need_rescue=np.zeros(n, dtype=bool),
            trapped=np.zeros(n, dtype=bool),
            trapped_since_s=_times(n),
            rescue_asked=np.zeros(n, dtype=bool),
            ever_rescue=np.zeros(n, dtype=bool),
            casualty=np.zeros(n, dtype=bool),
            home_wet_s=_times(n),
            rescue_ref=np.full(n, -1, dtype=np.int64),
            rescued_s=_times(n),
        )

    def counts(self) -> np.ndarray:
        """People per status (sums to the population)."""
        return np.bincount(self.status, minlength=len(STATUSES))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field by name (for checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> PeopleState:
        """Rebuild from :meth:`arrays` (copies). A checkpoint written before ``trapped_since_s`` existed restores
        with nobody trapped yet (a trapped walker's wait starts again)."""
        given = dict(arrays)
        given.setdefault("trapped_since_s", _times(len(given["status"])))
        return cls(**{f.name: np.array(given[f.name]) for f in fields(cls)})
