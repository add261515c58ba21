"""Designs: the points of a sweep, drawn in the unit cube and mapped to parameter values.

Every sampler first draws points ``U`` in ``[0, 1]^D`` (one column per parameter), then each column goes
through its parameter's inverse distribution function:

- ``grid``: every combination of the parameters' levels (a range gives ``n`` evenly spaced values);
- ``lhs``: Latin hypercube (McKay, Beckman & Conover 1979), ``scipy.stats.qmc.LatinHypercube``, scrambled
  and seeded, so each of the ``n`` equal bins of every dimension holds exactly one point;
- ``sobol``: Saltelli's scheme for Sobol indices (Saltelli 2002; Saltelli et al. 2010), SALib's
  ``sample.sobol`` (first and total order, ``N x (D + 2)`` points) on a scrambled, seeded Sobol sequence
  (``scipy.stats.qmc.Sobol`` inside SALib);
- ``morris``: Morris (1991) one-at-a-time trajectories on a ``levels``-level grid (Campolongo et al. 2007),
  SALib's ``sample.morris``, seeded: ``n x (D + 1)`` points.

A value from ``u`` (``F^-1`` of the parameter's distribution): levels ``levels[min(floor(u k), k - 1)]``;
uniform ``low + u (high - low)``; normal truncated to ``[low, high]``; triangular on ``[low, high]``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.sweep.experiment import ExperimentSpec, ParameterSpec


@dataclass(frozen=True)
class Design:
    """The points of a sweep.

    Attributes
    ----------
    names
        Parameter paths (columns).
    unit
        ``(points, D)`` coordinates in the unit cube (what SALib's analyses take).
    values
        One tuple of parameter values per point (floats, ints or levels as written).
    method
        The sampler that drew them.
    """

    names: tuple[str, ...]
    unit: np.ndarray
    values: tuple[tuple[Any, ...], ...]
    method: str

    def __len__(self) -> int:
        return len(self.values)


def salib_problem(names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """SALib's problem over the unit cube (values are mapped afterwards, so indices are per parameter)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def build_design(spec: ExperimentSpec) -> Design:
    """The design an experiment asks for (deterministic for a given file, seed included)."""
    names = tuple(spec.parameters)
    params = [spec.parameters[n] for n in names]
    sampler = spec.sampler
    if sampler.method == "grid":
        return _grid(names, params)
    assert sampler.n is not None  # checked by SamplerSpec
    unit = draw_unit(sampler.method, len(names), sampler.n, sampler.seed, sampler.levels)
    values = tuple(tuple(from_unit(p, float(u)) for p, u in zip(params, row, strict=True)) for row in unit)
    return Design(names, unit, values, sampler.method)


def draw_unit(method: str, dims: int, n: int, seed: int, levels: int = 4) -> np.ndarray:
    """Points in ``[0, 1]^dims`` from the lhs, sobol (Saltelli) or morris sampler."""
    if method == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=dims, scramble=True, rng=np.random.default_rng(seed)).random(n)
    problem = salib_problem([f"x{i}" for i in range(dims)])
    if method == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed))
    if method == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(problem, n, num_levels=levels, seed=seed))
    raise ValueError(f"unknown sampler {method!r}")


def from_unit(param: ParameterSpec, u: float) -> Any:
    """The parameter's value at ``u`` in ``[0, 1]`` (its inverse distribution function)."""
    if param.levels is not None:
        k = len(param.levels)
        return param.levels[min(int(u * k), k - 1)]
    low, high = float(param.low or 0.0), float(param.high or 0.0)
    if param.distribution == "normal":
        from scipy.stats import truncnorm

        mean, sd = float(param.mean or 0.0), float(param.sd or 1.0)
        value = float(truncnorm.ppf(u, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd))
    elif param.distribution == "triangular":
        from scipy.stats import triang

        value = float(triang.ppf(u, (float(param.mode or low) - low) / (high - low), loc=low, scale=high - low))
    else:
        value = low + u * (high - low)
    value = min(max(value, low), high)  # ppf at 0 or 1 can round a hair outside
    return round(value) if param.integer else value


def grid_levels(param: ParameterSpec) -> list[Any]:
    """A parameter's values on a full grid: its levels, or ``n`` evenly spaced values across the range."""
    if param.levels is not None:
        return list(param.levels)
    assert param.n is not None and param.low is not None and param.high is not None
    values = [float(v) for v in np.linspace(param.low, param.high, param.n)]
    return [round(v) for v in values] if param.integer else values


def _grid(names: tuple[str, ...], params: list[ParameterSpec]) -> Design:
    levels = [grid_levels(p) for p in params]
    positions = [np.linspace(0.0, 1.0, len(v)) if len(v) > 1 else np.zeros(1) for v in levels]
    values = tuple(itertools.product(*levels))
    unit = np.array(list(itertools.product(*positions)), dtype=float).reshape(len(values), len(names))
    return Design(names, unit, values, "grid")
