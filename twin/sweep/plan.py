"""The runs of a sweep: one task per design point and replication, each with its run key.

The run key is the SHA-256 of what a run's row depends on: the resolved base scenario's hash
(:func:`twin.sim.checkpoint.scenario_hash`, every key but the map's path), the parameter assignments as
``--set`` texts (entries chosen by name written as the base's indices, so ``interventions[levee].crest_m`` and
``interventions[0].crest_m`` give the same key), the seed, ``until``, the metrics kept, the map's content hash
and twin's version. Two tasks with the same key compute the same row; a store that holds a key never runs it
again. Hashing the base once and the assignments per run (rather than validating every resolved scenario in the
parent) keeps planning 10,000 runs to a fraction of a second; the workers validate each resolved scenario.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin import __version__
from twin.sweep.design import Design
from twin.sweep.experiment import SEED, Experiment, override_text


@dataclass(frozen=True)
class Task:
    """One run of a sweep, small enough to send to any worker (no City, no Scenario object)."""

    key: str
    point: int
    replication: int
    seed: int
    names: tuple[str, ...]
    values: tuple[Any, ...]
    base: str
    until_s: float | None
    metrics: tuple[str, ...]
    map_folder: str
    map_hash: str
    keep: str
    runs_dir: str | None

    @property
    def overrides(self) -> list[str]:
        """The run's parameters as ``--set`` texts (the seed is passed apart)."""
        return [f"{n}={override_text(v)}" for n, v in zip(self.names, self.values, strict=True) if n != SEED]

    def head(self) -> dict[str, Any]:
        """The first columns of the run's row: key, point, replication, seed and parameter values."""
        row: dict[str, Any] = {"key": self.key, "point": self.point, "replication": self.replication, "seed": self.seed}
        row.update({n: v for n, v in zip(self.names, self.values, strict=True) if n != SEED})
        return row


@dataclass(frozen=True)
class BaseFacts:
    """What every task of a sweep shares: the base scenario's hash and seed, and its map."""

    scenario_hash: str
    seed: int
    map_folder: Path
    map_hash: str


def base_facts(experiment: Experiment) -> BaseFacts:
    """Hash the base scenario and its map once (the map folder must exist here and on every worker)."""
    from twin.city.build import map_hash
    from twin.city.config import load_city_config
    from twin.scenario import load_scenario
    from twin.sim.checkpoint import scenario_hash

    spec = load_scenario(experiment.base)
    folder = Path(spec.map)
    return BaseFacts(scenario_hash(spec), spec.seed, folder, map_hash(folder, load_city_config(folder)))


def plan_tasks(experiment: Experiment, design: Design, facts: BaseFacts, runs_dir: Path | None) -> list[Task]:
    """Every run of the sweep, point by point and replication by replication."""
    spec = experiment.spec
    first_seed = spec.seed if spec.seed is not None else facts.seed
    key_names = tuple(experiment.resolved.get(n, n) for n in design.names)  # interventions[levee] -> [0]
    tasks = []
    for point, values in enumerate(design.values):
        clean = tuple(_plain(v) for v in values)
        for rep in range(spec.replications):
            seed = int(clean[design.names.index(SEED)]) if SEED in design.names else first_seed + rep
            key = run_key(facts, key_names, clean, seed, spec.until, tuple(spec.metrics))
            tasks.append(
                Task(
                    key=key,
                    point=point,
                    replication=rep,
                    seed=seed,
                    names=design.names,
                    values=clean,
                    base=str(experiment.base),
                    until_s=spec.until,
                    metrics=tuple(spec.metrics),
                    map_folder=str(facts.map_folder),
                    map_hash=facts.map_hash,
                    keep=spec.keep_runs,
                    runs_dir=None if runs_dir is None else str(runs_dir),
                )
            )
    return tasks


def run_key(
    facts: BaseFacts,
    names: tuple[str, ...],
    values: tuple[Any, ...],
    seed: int,
    until_s: float | None,
    metrics: tuple[str, ...],
) -> str:
    """SHA-256 (hex) of everything a run's row depends on (see the module docstring)."""
    settings = sorted(f"{n}={override_text(v)}" for n, v in zip(names, values, strict=True) if n != SEED)
    document = {
        "scenario": facts.scenario_hash,
        "set": settings,
        "seed": seed,
        "until_s": until_s,
        "metrics": list(metrics),
        "map": facts.map_hash,
        "twin": __version__,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A design value as a plain Python scalar (numpy scalars and the YAML reader's str subclass dropped)."""
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
