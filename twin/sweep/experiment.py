"""Experiment files (``experiments/*.yaml``): what a sweep varies, how it samples, what it keeps.

An experiment names a ``base`` scenario, the ``parameters`` it varies by scenario path (as ``twin run --set``
writes them), a ``sampler``, the ``replications`` (seeds) per point and the ``metrics`` it keeps per run.
It is validated like a scenario: every problem at once, each with the file, the line and the path; a
parameter whose path or values the base scenario refuses is reported at the experiment's line.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from twin.errors import ScenarioError
from twin.inputs import YamlDoc, display_path, expand_user, read_yaml
from twin.scenario.base import Duration, SpecModel
from twin.scenario.overrides import OverrideError, parse_path
from twin.scenario.problems import Loc, Problem, format_loc, from_validation_error, problems_error, short_repr

#: The special parameter path that sets a run's seed instead of a scenario key.
SEED = "seed"
#: Series summaries a metric can ask for: ``min(Q_health)``, ``time_below(Q_health, 0.5)``, ...
SUMMARIES = ("min", "max", "mean", "final", "time_below", "time_above")
SERIES_PATTERN = re.compile(
    r"^\s*(?P<fn>[a-z_]+)\(\s*(?P<col>[A-Za-z_][A-Za-z0-9_]*)\s*(,\s*(?P<level>[-+0-9.eE]+)\s*)?\)\s*$"
)
_FIGURE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

Level = Annotated[float | int | str | bool, Field()]


def read_experiment_yaml(path: Path) -> YamlDoc:
    """Read an experiment file with the project's one YAML reader (:func:`twin.inputs.read_yaml`).

    The same limits as a scenario (size, values, nesting, alias expansion counted before it happens), duplicate
    keys, tags that cannot build their value and whole numbers past 64 bits are errors with the file and line.
    """
    return read_yaml(path, ScenarioError, "experiment file", "'base: ...', 'parameters: ...', 'metrics: ...'")


class ParameterSpec(SpecModel):
    """One varied parameter: ``levels``, a range (``low``, ``high``) or a ``distribution``.

    ``n`` is the number of evenly spaced values a full grid takes across a range. A normal distribution is
    truncated to ``[low, high]`` (so every sampler, Morris's end levels included, gets finite values).
    ``integer`` rounds sampled values to whole numbers (counts, seeds).
    """

    levels: list[Level] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    n: int | None = Field(None, ge=2, description="grid points across the range")
    distribution: Literal["uniform", "normal", "triangular"] | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    mode: float | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        problems = self._shape_problems()
        if problems:
            raise problems_error(*problems)
        return self

    def _shape_problems(self) -> list[Problem]:
        if self.levels is not None:
            extra = [
                k for k in ("low", "high", "n", "distribution", "mean", "sd", "mode") if getattr(self, k) is not None
            ]
            return [Problem((k,), "give either levels or a range, not both") for k in extra]
        if self.low is None or self.high is None:
            return [Problem((), "needs levels: [...] or a range low: ..., high: ...")]
        if not self.low < self.high:
            return [Problem(("high",), f"must be greater than low ({self.low})")]
        kind = self.distribution or "uniform"
        needs = {"uniform": (), "normal": ("mean", "sd"), "triangular": ("mode",)}[kind]
        problems = [Problem((k,), f"is needed by the {kind} distribution") for k in needs if getattr(self, k) is None]
        unused = {"mean", "sd", "mode"} - set(needs)
        problems += [
            Problem((k,), f"is not used by the {kind} distribution") for k in unused if getattr(self, k) is not None
        ]
        if self.mode is not None and not self.low <= self.mode <= self.high:
            problems.append(Problem(("mode",), f"must lie within [low, high] = [{self.low}, {self.high}]"))
        return problems

    def ends(self) -> list[Any]:
        """The values that bound what any sampler can draw (checked against the base scenario up front)."""
        if self.levels is not None:
            return list(self.levels)
        assert self.low is not None and self.high is not None
        ends: list[Any] = [self.low, self.high]
        return [round(v) for v in ends] if self.integer else ends


class SamplerSpec(SpecModel):
    """How points are drawn: ``grid`` (every combination), ``lhs``, ``sobol`` (Saltelli) or ``morris``.

    ``n`` is the number of points (lhs), the base sample size N (sobol: N x (D + 2) points) or the number
    of trajectories (morris: n x (D + 1) points); a grid needs none. ``levels`` is Morris's grid levels.
    """

    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    n: int | None = Field(None, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0)
    levels: int = Field(4, ge=2, le=100, description="Morris grid levels (even)")

    @model_validator(mode="after")
    def _n_given(self) -> SamplerSpec:
        if self.method != "grid" and self.n is None:
            raise problems_error(Problem(("n",), f"the {self.method} sampler needs n (how many points)"))
        if self.method == "grid" and self.n is not None:
            raise problems_error(Problem(("n",), "a grid takes every combination; set n per range parameter"))
        return self


class DiscoverySpec(SpecModel):
    """The failure condition PRIM looks for: ``metric`` below (or above) a level."""

    metric: str
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> DiscoverySpec:
        if (self.below is None) == (self.above is None):
            raise problems_error(Problem((), "give exactly one of below: or above:"))
        return self


class ExperimentSpec(SpecModel):
    """A validated experiment file (see the module docstring)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    description: str = ""
    base: str
    parameters: dict[str, ParameterSpec] = Field(min_length=1)
    sampler: SamplerSpec = Field(default_factory=lambda: SamplerSpec.model_validate({}))
    replications: int = Field(1, ge=1, le=10_000)
    seed: int | None = Field(None, ge=0, description="seed of the first replication (default: the base's seed)")
    until: Duration | None = None
    metrics: list[str] = Field(min_length=1)
    keep_runs: Literal["none", "failed", "all"] = "none"
    discovery: DiscoverySpec | None = None

    @field_validator("sampler", mode="before")
    @classmethod
    def _bare_method(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value

    @field_validator("metrics")
    @classmethod
    def _metric_forms(cls, value: list[str]) -> list[str]:
        problems = [Problem((i,), msg) for i, text in enumerate(value) if (msg := metric_problem(text))]
        if len(set(value)) != len(value):
            problems.append(Problem((), "lists a metric twice"))
        if problems:
            raise problems_error(*problems)
        return value

    @model_validator(mode="after")
    def _grid_and_seed(self) -> ExperimentSpec:
        problems: list[Problem] = []
        for key, spec in self.parameters.items():
            if self.sampler.method == "grid" and spec.levels is None and spec.n is None:
                problems.append(
                    Problem(("parameters", key), "a grid needs levels: [...] or n: points across the range")
                )
            if self.sampler.method == "grid" and spec.distribution not in (None, "uniform"):
                problems.append(Problem(("parameters", key, "distribution"), "a grid cannot sample a distribution"))
        if SEED in self.parameters and self.replications != 1:
            problems.append(Problem(("replications",), "must be 1 when seed is a parameter (its values are the seeds)"))
        if problems:
            raise problems_error(*problems)
        return self


def metric_problem(text: str) -> str | None:
    """Why a metric is malformed (None if it is fine).

    A metric is a ``metrics.json`` figure by dotted path (``health.min_q``) or a summary of a time series
    column: ``min(Q_health)``, ``max(...)``, ``mean(...)``, ``final(...)``, ``time_below(Q_health, 0.5)``,
    ``time_above(people_exposed, 100)``.
    """
    match = SERIES_PATTERN.match(text)
    if match:
        fn, level = match["fn"], match["level"]
        if fn not in SUMMARIES:
            return f"unknown summary {fn}(); use one of {', '.join(SUMMARIES)}"
        if fn.startswith("time_") and level is None:
            return f"{fn}() needs a level, e.g. {fn}(Q_health, 0.5)"
        if not fn.startswith("time_") and level is not None:
            return f"{fn}() takes only a series name"
        if level is not None and not _is_number(level):
            return f"the level {level!r} is not a number"
        return None
    if _FIGURE.match(text):
        return None
    return "expected a metrics.json figure such as health.min_q, or a summary such as min(Q_health)"


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class Experiment:
    """A loaded experiment: the validated spec, its file, the base scenario's absolute path and resolved paths.

    ``resolved`` maps each parameter's path to the same path with its entries chosen by name turned into
    indices of the base scenario (``interventions[levee].crest_m`` -> ``interventions[0].crest_m``); the seed
    and index paths map to themselves. Run keys hash the resolved paths, so both spellings share their runs.
    """

    def __init__(self, spec: ExperimentSpec, path: Path, base: Path, resolved: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.path = path
        self.base = base
        self.resolved = resolved if resolved is not None else {n: n for n in spec.parameters}

    @property
    def names(self) -> list[str]:
        """Parameter paths, in the file's order."""
        return list(self.spec.parameters)


def load_experiment(path: Path | str) -> Experiment:
    """Read and validate an experiment file, then check each parameter against the base scenario.

    Raises
    ------
    ScenarioError
        With every problem (``e.problems``), each as ``file:line path: what is wrong; how to fix it``.
    """
    main = Path(os.path.abspath(expand_user(Path(path))))
    doc = read_experiment_yaml(main)
    shown = display_path(main)
    entries = [(line, text) for _, line, text in doc.problems]
    spec: ExperimentSpec | None = None
    try:
        spec = ExperimentSpec.model_validate(doc.data)
    except ValidationError as exc:
        found = from_validation_error(exc, ExperimentSpec)
        # A value the reader refused (a whole number past 64 bits) was reported with its line already.
        entries += [_render(doc, main, p) for p in found if not _under_refused(doc, p.loc)]
    base = main
    resolved: dict[str, str] = {}
    if spec is not None:
        base = Path(os.path.abspath(main.parent / expand_user(Path(spec.base))))
        found_problems, resolved = _check_against_base(spec, base, doc, main)
        entries += found_problems
    if entries or spec is None:
        problems = [text for _, text in sorted(entries, key=lambda e: e[0])]
        headline = problems[0] if len(problems) == 1 else f"{shown}: {len(problems)} problems"
        raise ScenarioError(headline, problems)
    return Experiment(spec, main, base, resolved)


def _under_refused(doc: YamlDoc, loc: Loc) -> bool:
    return any(loc[:n] in doc.refused for n in range(len(loc) + 1))


def _render(doc: YamlDoc, main: Path, problem: Problem) -> tuple[int, str]:
    line = _line(doc, problem.loc)
    text = f"{display_path(main)}:{line} {format_loc(problem.loc)}: {problem.message}"
    if problem.hint:
        text += f"; {problem.hint}"
    return line, text


def _line(doc: YamlDoc, loc: Loc) -> int:
    for n in range(len(loc), -1, -1):
        if loc[:n] in doc.where:
            return doc.where[loc[:n]][1]
    return 1


def _check_against_base(
    spec: ExperimentSpec, base: Path, doc: YamlDoc, main: Path
) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """Each parameter's path and end values applied to the base scenario, one at a time.

    Returns the problems (line, text) and each good parameter's path with entries chosen by name resolved.
    """
    from twin.scenario.loader import load_scenario, resolve_scenario_path

    line = _line(doc, ("base",))
    try:
        load_scenario(base)
    except ScenarioError as exc:
        problems = [
            (line, f"{display_path(main)}:{line} base: the base scenario is invalid: {p}") for p in exc.problems
        ]
        return problems, {}
    out: list[tuple[int, str]] = []
    resolved: dict[str, str] = {SEED: SEED} if SEED in spec.parameters else {}
    for key, param in spec.parameters.items():
        where = _line(doc, ("parameters", key))
        label = f"{display_path(main)}:{where} parameters.{key}"
        if key == SEED:
            bad = [v for v in param.ends() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
            if bad or (param.levels is None and not param.integer):
                out.append((where, f"{label}: seeds must be whole numbers >= 0 (levels of integers, or integer: true)"))
            continue
        try:
            parse_path(key)
        except OverrideError as exc:
            out.append((where, f"{label}: {exc}"))
            continue
        try:
            resolved[key] = format_loc(resolve_scenario_path(base, key))
        except OverrideError as exc:
            out.append((where, f"{label}: {exc} (in the base scenario {display_path(base)})"))
            continue
        for value in dict.fromkeys(map(override_text, param.ends())):
            try:
                load_scenario(base, [f"{key}={value}"])
            except ScenarioError as exc:
                reasons = "; ".join(_strip_origin(p) for p in exc.problems)
                out.append((where, f"{label}: the base scenario {display_path(base)} refuses {value}: {reasons}"))
                break
    return out, resolved


def _strip_origin(problem: str) -> str:
    """``scen.yaml [--set a=1] a: unknown key`` -> ``a: unknown key``."""
    _, sep, rest = problem.partition("] ")
    return rest if sep else problem


def override_text(value: Any) -> str:
    """A parameter value as ``--set`` text that YAML reads back as exactly that value.

    Floats are written with Python's shortest round-trip ``repr`` and given the ``.0`` and exponent sign
    PyYAML's YAML 1.1 resolver needs to read them as floats (``1e-05`` -> ``1.0e-05``).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        if e and exponent[0] not in "+-":
            exponent = "+" + exponent
        return mantissa + (e + exponent if e else "")
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["SEED", "Experiment", "ExperimentSpec", "load_experiment", "metric_problem", "override_text", "short_repr"]
