"""Outages: facilities and lifeline components that fail at a time, chosen by name, at random or by criticality.

A scenario's ``outage`` entry (DESIGN.md "Outage")::

    - type: outage
      at: 2h                                  # a duration after the start, or a local date-time
      target: {kinds: [substation]}           # a component selector (optional with most_critical: all components)
      share: 0.5                              # a random share of the selected components (rounded, >= 1)
      most_critical: 2                        # or: the k most critical of the selected
      restore_after: 6h                       # or {lognormal: {median: 4h, sigma: 0.5}} or {uniform: [2h, 8h]}
      cause: "substation fire"                # for the event log and comp_cause (default "outage")

This module owns which components are damaged and when, and when they are restored (``restore_after``); what
damage does to service is the lifelines' part. :class:`OutageHazard` makes its choices once, when the model
is built, from the run's Generator (``model.rng``): the random share, then the restore durations, entry by
entry in file order. Each chosen component becomes a ``fail_component`` event (with ``restore_after_s`` when
it is restored), so the whole outage is data in the model's event queue: checkpointed and restored with it,
and the same as a drill's ``fail_component`` inject.

Criticality is betweenness centrality on the component's own network (:mod:`twin.hazards.outage.criticality`); ties
are broken by component id and reported. Without ``restore_after`` a component stays damaged until a
``repair_component`` event. A restore only repairs damage this outage caused: a component that was already
damaged (by a flood, say) is left as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import ScenarioError
from twin.hazards.outage.spec import OutageSpec, describe_restore, draw_restore_s
from twin.registry import REGISTRY
from twin.scenario.base import describe_duration
from twin.sim.events import Event
from twin.sim.phase import Phase
from twin.sim.targets import TargetError, describe_component, resolve_components

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.scenario import Scenario

# ------------------------------------------------------------------------------------------------ the engine

LISTED = 20
"""Components named per entry in the assumptions (the rest are counted)."""


@dataclass(frozen=True)
class Pick:
    """What one outage entry chose, once, when the model was built.

    Attributes
    ----------
    spec
        The entry.
    selected
        Facility rows its target selects (every row when it has none).
    rows
        Rows that fail: all of ``selected``, a random share, or the most critical in rank order.
    restore_s
        Seconds from the failure to the restore of each row; None: until repaired.
    criticality
        Criticality of each of ``rows`` (``most_critical`` only).
    tied
        How many components left out tie with the last one picked (``most_critical`` only).
    """

    spec: OutageSpec
    selected: np.ndarray
    rows: np.ndarray
    restore_s: np.ndarray | None = None
    criticality: np.ndarray | None = None
    tied: int = 0


class OutageHazard(Phase):
    """The scenario's outage entries as scheduled ``fail_component`` events (the engine's hazards phase).

    Build it with :meth:`from_specs`; the engine schedules its :meth:`initial_events`, and its
    :meth:`assumptions` say what was chosen and why. It has no state of its own (and no step): the events are in
    the queue.
    """

    name = "outage"
    order = "hazards"

    def __init__(self, city: City, picks: list[Pick], notes: list[str]) -> None:
        self.city = city
        self.picks = picks
        self.notes = notes

    @classmethod
    def from_specs(cls, city: City, specs: list[Any], rng: np.random.Generator) -> OutageHazard | None:
        """The outages of a scenario's hazard entries (None when it has none), chosen with ``rng``.

        Entries are chosen in time order (file order at equal times), drawing from ``rng`` the random share,
        then the restore durations. ``most_critical`` ranks what is still up at the entry's time: components
        failed by earlier outages and not yet restored leave the network first (with what fails with them, a
        transformer inside a failed substation), so a pick always takes something that works. Damage by other
        hazards (a flood) is not known before the run and is not taken out.

        Raises
        ------
        ScenarioError
            Every entry that does not fit the map: a target that matches nothing, a share that picks no
            component, ``most_critical`` larger than the selection; each cites the entry's file and line.
        """
        outages = [spec for spec in specs if isinstance(spec, OutageSpec)]
        if not outages:
            return None
        selections, problems = _selections(city, outages)
        if problems:
            raise ScenarioError("the scenario's outages do not fit the map", problems)
        notes: list[str] = []
        picks: list[Pick | None] = [None] * len(outages)
        for i in sorted(range(len(outages)), key=lambda i: (float(outages[i].at_s), i)):
            spec, selected = outages[i], selections[i]
            values: dict[int, float] = {}
            if spec.most_critical:
                down = _down_at(picks, float(spec.at_s))
                values, measure_notes = _criticality(city, selected, spec.criticality, down)
                notes += [note for note in measure_notes if note not in notes]
                up = sum(1 for value in values.values() if np.isfinite(value))
                if spec.most_critical > up:
                    problems.append(
                        f"{spec.source}: most_critical: {spec.most_critical} is more than the {up} selected "
                        "components still up at its time (earlier outages took the others down); give "
                        f"most_critical <= {up}, or select more components"
                    )
                    continue
            picks[i] = _pick(spec, selected, values, rng)
        if problems:
            raise ScenarioError("the scenario's outages do not fit the map", problems)
        return cls(city, [pick for pick in picks if pick is not None], notes)

    def initial_events(self) -> list[Event]:
        """One ``fail_component`` event per chosen component, in entry order (``restore_after_s`` when restored)."""
        events = []
        for pick in self.picks:
            restore = pick.restore_s if pick.restore_s is not None else [None] * len(pick.rows)
            for row, after in zip(pick.rows.tolist(), restore, strict=True):
                events.append(
                    Event(
                        t_s=float(pick.spec.at_s),
                        kind="fail_component",
                        target={"components": [int(row)]},
                        params={} if after is None else {"restore_after_s": float(after)},
                        cause=pick.spec.cause,
                        source=pick.spec.source,
                    )
                )
        return events

    def assumptions(self) -> list[str]:
        """What was chosen and why, and what criticality meant, for ``assumptions.json``."""
        return [_describe_pick(self.city, pick) for pick in self.picks] + self.notes


def _selections(city: City, outages: list[OutageSpec]) -> tuple[list[np.ndarray], list[str]]:
    """The rows each entry's target selects, and every problem (citing the entry)."""
    selections: list[np.ndarray] = []
    problems: list[str] = []
    for spec in outages:
        try:
            selected = (
                resolve_components(city, spec.target.model_dump(exclude_none=True))
                if spec.target is not None
                else np.arange(len(city.facilities), dtype=np.int64)
            )
        except TargetError as exc:
            problems.append(f"{spec.source}: target: {exc}")
            selected = np.zeros(0, dtype=np.int64)
        else:
            problems.extend(_count_problems(city, spec, selected))
        selections.append(selected)
    return selections, problems


def _count_problems(city: City, spec: OutageSpec, selected: np.ndarray) -> list[str]:
    n = len(selected)
    what = f"the {n} component{'s' if n != 1 else ''} the target selects ({_kinds(city, selected)})"
    if spec.share is not None and share_count(spec.share, n) == 0:
        return [
            f"{spec.source}: share: {spec.share:g} of {what} rounds to none; give share >= {0.5 / n:.3g}, "
            "or select more components"
        ]
    if spec.most_critical is not None and spec.most_critical > n:
        return [
            f"{spec.source}: most_critical: {spec.most_critical} is more than {what}; give most_critical <= "
            f"{n}, or select more components"
        ]
    return []


def share_count(share: float, n: int) -> int:
    """How many of ``n`` components a share picks: ``share x n`` rounded half up."""
    return math.floor(share * n + 0.5)


def _down_at(picks: list[Pick | None], t_s: float) -> np.ndarray:
    """Rows the outages chosen so far have failed by ``t_s`` and not restored by then."""
    down = [
        pick.rows if pick.restore_s is None else pick.rows[float(pick.spec.at_s) + pick.restore_s > t_s]
        for pick in picks
        if pick is not None and float(pick.spec.at_s) <= t_s
    ]
    return np.unique(np.concatenate(down)) if down else np.zeros(0, dtype=np.int64)


def _criticality(city: City, rows: np.ndarray, measure: str, down: np.ndarray) -> tuple[dict[int, float], list[str]]:
    """Criticality of ``rows`` with ``down`` taken out (NaN for what is down)."""
    if not len(rows):
        return {}, []
    from twin.hazards.outage.criticality import criticality, people_served  # networkx only when most_critical is used

    if measure == "betweenness":
        result = criticality(city, rows, down)
        values = result.values
    else:
        result = people_served(city, rows)
        values = np.where(np.isin(rows, down), np.nan, result.values)
    return dict(zip(rows.tolist(), values.tolist(), strict=True)), result.notes


def _pick(spec: OutageSpec, selected: np.ndarray, values: dict[int, float], rng: np.random.Generator) -> Pick:
    """Choose the rows of one entry, then draw their restore durations."""
    tied = 0
    ranking = None
    if spec.share is not None:
        rows = np.sort(rng.choice(selected, size=share_count(spec.share, len(selected)), replace=False))
    elif spec.most_critical is not None:
        score = np.array([values[int(row)] for row in selected])
        up = np.isfinite(score)  # NaN: down already (an earlier outage), not a candidate
        candidates, score = selected[up], score[up]
        order = np.lexsort((candidates, -score))  # highest first; ties by component id
        rows, ranking = candidates[order[: spec.most_critical]], score[order[: spec.most_critical]]
        tied = int(np.sum(score[order[spec.most_critical :]] == ranking[-1]))
    else:
        rows = selected
    restore = None if spec.restore_after is None else draw_restore_s(spec.restore_after, rng, len(rows))
    return Pick(spec, selected, rows.astype(np.int64), restore, ranking, tied)


def _kinds(city: City, rows: np.ndarray) -> str:
    counts = city.facilities["kind"].iloc[rows].value_counts().sort_index()
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def _describe_pick(city: City, pick: Pick) -> str:
    spec = pick.spec
    n, k = len(pick.selected), len(pick.rows)
    if spec.share is not None:
        chosen = (
            f"a random {spec.share:.0%} of the {n} selected ({_kinds(city, pick.selected)}), drawn from the run's seed"
        )
    elif spec.most_critical is not None:
        measure = "betweenness centrality on their network" if spec.criticality == "betweenness" else "residents served"
        chosen = f"the {k} most critical of the {n} selected ({_kinds(city, pick.selected)}) by {measure}"
    else:
        chosen = f"the {n} selected"
    names = []
    for i, row in enumerate(pick.rows.tolist()[:LISTED]):
        text = describe_component(city, row)
        if pick.criticality is not None:
            text += (
                f" [betweenness {pick.criticality[i]:.4f}]"
                if pick.spec.criticality == "betweenness"
                else f" [{pick.criticality[i]:.0f} residents served]"
            )
        if pick.restore_s is not None and not isinstance(spec.restore_after, float):
            text += f" [restored after {describe_duration(float(pick.restore_s[i]))}]"
        names.append(text)
    more = f" and {k - LISTED} more" if k > LISTED else ""
    tie = f"; {pick.tied} more tie with the last one picked, the tie broken by component id" if pick.tied else ""
    return (
        f"outage at {spec.source}: {spec.cause!r} at {describe_duration(spec.at_s)} fails {chosen}: "
        f"{'; '.join(names)}{more}{tie}; {describe_restore(spec.restore_after)}"
    )


def build(city: City, spec: Scenario, rng: np.random.Generator) -> list[Phase]:
    """The outage phase of a scenario's ``outage`` entries (none without); random picks drawn now, from ``rng``."""
    hazard = OutageHazard.from_specs(city, list(spec.hazards), rng)
    return [] if hazard is None else [hazard]


REGISTRY.add_phase("outage", build)
