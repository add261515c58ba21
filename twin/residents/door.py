"""Door-to-door warnings by crews: a desk sends police crews to knock on the doors of a zone.

The zone's homes are grouped into blocks, one per drivable node the homes are reached from (the street a crew
parks on). Each block is an incident of kind ``police`` for the crews (:mod:`twin.crews.incidents`), reported at
the block's node with a time on scene of

    work_s = people / per_crew_h x 3600

``people`` being the block's residents and ``per_crew_h`` the people a crew warns per hour on scene, which the
command gives (door-to-door rates vary too widely with housing and staffing for one default: Sorensen 2000,
"Hazard warning systems: review of 20 years of progress", Natural Hazards Review 1(2), lists door-to-door among
the slowest channels, its rate set by the teams available). The crews' own dispatch policy sends them, so
travel, queues and other work delay the knocks. When a crew finishes a block, everyone then at home in its homes
receives the warning by the door-to-door channel (an evacuation order when the command says so); neighbours of
another block who share a footpath node, and people passing by, do not (they may hear it by word of mouth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REF_STRIDE = 10_000_000
"""A block's incident number is ``request x REF_STRIDE + block`` (more blocks than drivable nodes cannot be)."""


@dataclass(frozen=True)
class Blocks:
    """The blocks of a door-to-door request.

    Attributes
    ----------
    drive_node
        Per block: the drivable node its homes are reached from (where the crew works).
    people
        Per block: residents (the model's own people, by home).
    home_block
        Per home (row of ``City.homes``): its block, -1 outside the request's zones.
    """

    drive_node: np.ndarray
    people: np.ndarray
    home_block: np.ndarray


def blocks_of(home_area: np.ndarray, home_drive: np.ndarray, home_people: np.ndarray, zones: np.ndarray) -> Blocks:
    """Group the homes of ``zones`` (area indices) by their drivable node, in node order."""
    inside = np.isin(home_area, zones)
    nodes, block = np.unique(home_drive[inside], return_inverse=True)
    home_block = np.full(len(home_area), -1, dtype=np.int64)
    home_block[inside] = block
    people = np.bincount(block, weights=home_people[inside], minlength=len(nodes)).astype(np.int64)
    return Blocks(nodes.astype(np.int64), people, home_block)


def work_s(people: np.ndarray, per_crew_h: float) -> np.ndarray:
    """Time on scene per block: its people at ``per_crew_h`` people an hour (see the module docstring)."""
    return people.astype(np.float64) / per_crew_h * 3600.0


def knocked_people(blocks: Blocks, knocked: list[int], person_home: np.ndarray, at_home: np.ndarray) -> np.ndarray:
    """Per person: at home now in a home of a block crews have finished (``person_home``: rows of ``City.homes``)."""
    if not knocked:
        return np.zeros(len(person_home), dtype=bool)
    return at_home & np.isin(blocks.home_block[person_home], knocked)
