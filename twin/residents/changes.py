"""What drill commands changed in the residents phase, kept as data so that a checkpoint can rebuild it.

The commands themselves are :mod:`twin.residents.commands`; the phase applies them
(:meth:`twin.residents.phase.ResidentsPhase.add_warning`, :meth:`~twin.residents.phase.ResidentsPhase.add_shelter`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DrillChanges:
    """What commands changed in a residents phase: the warnings sent and the shelters opened (as the commands'
    parameters, so a checkpoint can rebuild them) and the free places held back by closed shelters.

    Attributes
    ----------
    warnings
        Per warning sent: ``{"t_s", "zones", "channels", "evacuate", "text"}``.
    shelters
        Per shelter opened at a building: ``{"building", "capacity", "name"}``.
    held
        Per shelter (the map's, then the opened ones): free places held back while it is closed, -1 when open.
    door
        Per door-to-door request (:mod:`twin.residents.door`): ``{"warning", "zones", "per_crew_h", "reported",
        "knocked"}``: its warning's index, the zones' indices, the rate, whether its blocks went to the crews,
        and the blocks they finished.
    """

    warnings: list[dict[str, Any]] = field(default_factory=list)
    shelters: list[dict[str, Any]] = field(default_factory=list)
    held: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    door: list[dict[str, Any]] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        """For checkpoints: the two lists as one JSON text, and the held places."""
        text = json.dumps({"warnings": self.warnings, "shelters": self.shelters, "door": self.door}, sort_keys=True)
        return {"drill_changes": np.array([text]), "shelter_held": self.held}

    @classmethod
    def parse(cls, arrays: dict[str, np.ndarray]) -> DrillChanges | None:
        """The changes saved by :meth:`arrays` (None: a checkpoint from before drill commands existed)."""
        if "drill_changes" not in arrays:
            return None
        saved = json.loads(str(arrays["drill_changes"][0]))
        held = np.array(arrays["shelter_held"], dtype=np.int64)
        return cls(list(saved["warnings"]), list(saved["shelters"]), held, list(saved.get("door", [])))
