"""Landslide susceptibility: the probability of failure of each cell at the storm's peak wetness.

For every cell of the terrain grid, over ``N`` independent draws ``k`` of the soil parameters (uniform in the
ranges of the scenario's ``soil``, as a run draws them)::

    P(fail) = (1 / N) sum_k [ FS_k(0) >= 1  and  FS_k(R) < 1 ]
    FS_k(R) = (C*_k + cos(theta) (1 - w_k r_k) tan(phi_k)) / sin(theta)
    w_k     = min(R a / (T_k sin(theta)), 1)

with R the highest recharge of the run (:func:`peak_recharge_m_day`), theta the slope, a the specific catchment
area (see :mod:`twin.hazards.landslide.model` for every symbol). This is the probability of failure of a Monte Carlo
infinite-slope model: the share of the draws with FS < 1, as in Hammond et al. (1992, LISA: Level I Stability
Analysis, USDA Forest Service GTR INT-285), in SINMAP's stability index (Pack, Tarboton & Goodwin 1998, "The
SINMAP approach to terrain stability mapping", 8th Congress IAEG) and in landlab's LandslideProbability
(Strauch et al. 2018, Earth Surface Dynamics 6:49-75: "the number of iterations with factor-of-safety <= 1.0
divided by the number of iterations"; twin counts FS < 1, the run's failure rule, which differs only on the
measure-zero FS = 1).

It follows the run's candidate rules cell for cell, so that the map and the run agree: cells outside the DEM are
NaN; cells gentler than ``min_slope_deg``, flat, or on bare rock, scree or water land cover are 0; a draw that
is unstable even when dry (``FS(0) < 1``) is rock, not soil that rain moves, and does not count as a failure
(the run drops such a cell for the same reason). A run draws one set of parameters per cell, and FS falls as the
recharge rises, so the chance that a run has failed a cell once the recharge peaks is this probability (given
that the intensity-duration trigger is exceeded by then; a run sees the recharge at its step ends only, which may
fall just short of the peak).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.city.build import City
from twin.errors import ScenarioError, UsageError
from twin.hazards.flood.series import breakpoints_s, cumulative_rain_mm
from twin.hazards.flood.spec import RainSpec
from twin.hazards.landslide.spec import LandslideSpec, SoilSpec
from twin.hazards.landslide.stability import Soil, candidate_cells, factor_of_safety, relative_wetness

if TYPE_CHECKING:
    from twin.scenario import Scenario

#: Draws of the susceptibility map of a run, and of ``twin hazard susceptibility`` by default.
DEFAULT_DRAWS = 100
#: Cells x draws evaluated at once (about 80 MB of float64 temporaries per chunk).
CHUNK_SAMPLES = 1_000_000
#: Mixed into the run's seed, so the susceptibility's draws are their own stream, never the run's.
SUSCEPTIBILITY_STREAM = 0x5355_5343  # "SUSC"
#: Points of the uniform grid :func:`peak_recharge_m_day` checks besides the exact candidates.
PEAK_GRID_POINTS = 2001

#: Soil of ``twin hazard susceptibility`` without a scenario. Assumed: generic ranges for thin, cohesive mountain
#: soils (those of the scenario documentation's example, :mod:`twin.hazards.landslide.spec`), not calibrated on
#: any site. Friction angles of 30-38 degrees and a wet density near 2000 kg/m3 are common for colluvial soils,
#: and cohesion of a few kPa includes root cohesion; give a scenario's landslide entry for a real study.
DEFAULT_SOIL = SoilSpec.model_validate(
    {
        "cohesion_pa": [2000, 8000],
        "friction_angle_deg": [30, 38],
        "depth_m": [0.8, 1.5],
        "density_kg_m3": [1700, 2000],
        "transmissivity_m2_day": [20, 60],
    }
)
#: Minimum slope without a scenario: the default of a scenario's landslide entry.
DEFAULT_MIN_SLOPE_DEG = float(LandslideSpec.model_fields["min_slope_deg"].default)


def susceptibility_rng(seed: int) -> np.random.Generator:
    """The Generator of a susceptibility map for a run's seed: its own stream, deterministic, not the run's.

    Parameters
    ----------
    seed
        The run's seed (>= 0).
    """
    return np.random.default_rng([SUSCEPTIBILITY_STREAM, int(seed)])


def susceptibility(
    city: City,
    soil: SoilSpec,
    recharge_m_day: float,
    draws: int,
    rng: np.random.Generator,
    min_slope_deg: float,
) -> np.ndarray:
    """Probability of failure P(FS < 1) of every cell over ``draws`` soil draws at one recharge.

    ``P = (1/N) sum_k [FS_k(0) >= 1 and FS_k(R) < 1]`` (module docstring): the share of Monte Carlo draws
    with FS < 1 (Hammond et al. 1992; Pack et al. 1998; Strauch et al. 2018), draws unstable even when dry
    left out as rock, as the run leaves them out.

    Parameters
    ----------
    city
        The city (terrain, land cover, flow accumulation).
    soil
        Ranges of the soil parameters, each drawn uniformly (:meth:`Soil.draw`, the run's own draw).
    recharge_m_day
        Recharge R (m/day), e.g. :func:`peak_recharge_m_day` of the run's landslide entry.
    draws
        Independent draws per cell (>= 1); the probability is a multiple of ``1 / draws``.
    rng
        Source of the draws (e.g. :func:`susceptibility_rng`); the same Generator state gives the same map.
    min_slope_deg
        Gentler cells are 0, as in the run.

    Returns
    -------
    numpy.ndarray
        float32 grid of the terrain's shape: P in [0, 1]; NaN outside the DEM; 0 on cells that are not
        candidates (gentle, flat, bare rock or water).

    Raises
    ------
    ValueError
        If ``draws`` < 1 or the recharge is negative or not finite.

    Notes
    -----
    Draws are evaluated in chunks of about :data:`CHUNK_SAMPLES` cells x draws, so memory stays bounded
    whatever the grid and ``draws``; within a chunk every operation is one numpy expression over
    (cells, draws).
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    if not np.isfinite(recharge_m_day) or recharge_m_day < 0:
        raise ValueError(f"recharge must be a finite rate >= 0 m/day, got {recharge_m_day}")
    shape = city.terrain.elevation_m.shape
    cells, theta_all = candidate_cells(city, min_slope_deg)
    area_all = city.hydrology.accumulation.ravel().astype(np.float64) * city.terrain.resolution_m
    probability = np.zeros(shape[0] * shape[1], dtype=np.float32)
    per_chunk = max(1, CHUNK_SAMPLES // draws)
    for start in range(0, len(cells), per_chunk):
        chunk = cells[start : start + per_chunk]
        probability[chunk] = _failure_share(soil, recharge_m_day, draws, rng, theta_all[chunk], area_all[chunk])
    probability[~np.isfinite(city.terrain.elevation_m.ravel())] = np.nan
    return probability.reshape(shape)


def _failure_share(
    soil: SoilSpec, recharge_m_day: float, draws: int, rng: np.random.Generator, theta: np.ndarray, area_m: np.ndarray
) -> np.ndarray:
    """Share of ``draws`` soil draws per cell that are stable dry and fail at the recharge."""
    drawn = Soil.draw(soil, len(theta) * draws, rng)
    shape = (len(theta), draws)
    theta_2d, area_2d = theta[:, None], area_m[:, None]
    # depth_m is vertical; C* takes the thickness normal to the slope, D cos(theta) (Soil.on_slope)
    cohesion_star = drawn.cohesion_star.reshape(shape) / np.cos(theta_2d)
    tan_phi = drawn.tan_phi.reshape(shape)
    density_ratio = drawn.density_ratio.reshape(shape)
    dry = factor_of_safety(cohesion_star, tan_phi, density_ratio, np.zeros(1), theta_2d)
    wetness = relative_wetness(recharge_m_day, area_2d, drawn.transmissivity_m2_day.reshape(shape), theta_2d)
    wet = factor_of_safety(cohesion_star, tan_phi, density_ratio, wetness, theta_2d)
    return ((dry >= 1.0) & (wet < 1.0)).mean(axis=1)


def recharge_series_m_day(spec: LandslideSpec, rain: RainSpec, t_s: np.ndarray) -> np.ndarray:
    """Recharge of a ``recharge: rain`` entry at times ``t_s`` (m/day), as ``Landslides.recharge_m_day``.

    ``R(t) = (P(t) - P(max(t - W, 0))) / W`` with P the cumulative rain (m) and W the recharge window (days).
    """
    window = float(spec.recharge_window_s)
    t = np.asarray(t_s, dtype=np.float64)
    fallen = cumulative_rain_mm(rain, t) - cumulative_rain_mm(rain, np.maximum(t - window, 0.0))
    return fallen / 1000.0 / (window / 86400.0)


def peak_recharge_m_day(spec: LandslideSpec, rain: RainSpec | None) -> float:
    """The highest recharge a run of this landslide entry sees (m/day): the storm's peak wetness.

    Parameters
    ----------
    spec
        The landslide entry.
    rain
        The scenario's rain entry (the one the run's ``Landslides`` reads), or None.

    Returns
    -------
    float
        ``recharge_mm_day / 1000`` for a constant recharge. For ``recharge: rain``, ``max_t R(t)`` with
        ``R(t) = (P(t) - P(t - W)) / W`` (:func:`recharge_series_m_day`), over all times (a run sees it at its
        step ends, so at most this). 0 when there is no recharge (no soil, or no rain to take it from), as
        the run's ``recharge_m_day`` gives 0 then.

    Notes
    -----
    Between two consecutive knots of ``{b_i} U {b_i + W}`` (``b_i`` the rain's breakpoints,
    :func:`breakpoints_s`), both ``P(t)`` and ``P(t - W)`` are one formula, linear (uniform storm, hyetograph)
    or quadratic (triangular storm), so ``R`` is one quadratic there: its maximum is at a knot or at the
    vertex of the parabola through the ends and the midpoint of the interval. Both are evaluated exactly, and a
    uniform grid of :data:`PEAK_GRID_POINTS` times over the storm as a check; for a piecewise-linear cumulative
    rain the knots alone give the maximum.
    """
    if spec.recharge_mm_day is not None:
        return float(spec.recharge_mm_day) / 1000.0
    if spec.recharge != "rain" or rain is None:
        return 0.0
    window = float(spec.recharge_window_s)
    breaks = breakpoints_s(rain)
    knots = np.unique(np.concatenate([breaks, breaks + window]))
    low, high = knots[:-1], knots[1:]
    ends_low, middle, ends_high = (recharge_series_m_day(spec, rain, t) for t in (low, (low + high) / 2, high))
    # The parabola through s = 0, 1/2, 1: f(s) = f0 + b s + a s^2; its vertex at s* = -b / (2a) when a < 0.
    a = 2.0 * (ends_low - 2.0 * middle + ends_high)
    b = -3.0 * ends_low + 4.0 * middle - ends_high
    concave = a < 0
    s_star = np.where(concave, -b / np.where(concave, 2.0 * a, 1.0), 0.0)
    inside = concave & (s_star > 0.0) & (s_star < 1.0)
    vertices = (low + s_star * (high - low))[inside]
    grid = np.linspace(float(knots[0]), float(knots[-1]), PEAK_GRID_POINTS)
    candidates = np.concatenate([knots, vertices, grid])
    return float(max(recharge_series_m_day(spec, rain, candidates).max(), 0.0))


@dataclass(frozen=True)
class SusceptibilityInputs:
    """What a susceptibility map is computed from, and where each part came from.

    Attributes
    ----------
    soil
        Ranges of the soil parameters.
    min_slope_deg
        Gentler cells are 0.
    recharge_m_day
        The recharge (m/day).
    soil_source, recharge_source
        Where the soil and the recharge came from, for the command's output.
    assumed_soil
        Whether the soil is :data:`DEFAULT_SOIL` (an assumption, not a scenario's).
    """

    soil: SoilSpec
    min_slope_deg: float
    recharge_m_day: float
    soil_source: str
    recharge_source: str
    assumed_soil: bool


def susceptibility_inputs(
    scenario: Scenario | None, recharge_mm_day: float | None, label: str | None = None
) -> SusceptibilityInputs:
    """Soil, minimum slope and recharge of ``twin hazard susceptibility``.

    The soil and minimum slope come from the scenario's first landslide entry with ``soil``, or without a
    scenario from :data:`DEFAULT_SOIL` and :data:`DEFAULT_MIN_SLOPE_DEG` (assumed). The recharge is
    ``recharge_mm_day`` when given, else the entry's peak recharge (:func:`peak_recharge_m_day`, with the
    scenario's first rain entry, as the run reads it).

    Parameters
    ----------
    scenario
        A validated scenario, or None.
    recharge_mm_day
        The recharge to use (mm/day), or None to take the scenario's peak.
    label
        How messages name the scenario (its file, say); default: its name.

    Raises
    ------
    ScenarioError
        If the scenario has no landslide entry with soil, or takes its recharge from a rain it does not have.
    UsageError
        If no recharge is given and there is no scenario to take one from, or the recharge is negative.
    """
    if recharge_mm_day is not None and not (np.isfinite(recharge_mm_day) and recharge_mm_day >= 0):
        raise UsageError(f"--recharge-mm-day must be a rate >= 0 mm/day, got {recharge_mm_day:g}")
    if scenario is None:
        if recharge_mm_day is None:
            raise UsageError(
                "no recharge given: pass --recharge-mm-day R (e.g. 80), or --scenario FILE whose "
                "landslide entry gives the recharge (recharge: rain, or recharge_mm_day)"
            )
        return SusceptibilityInputs(
            DEFAULT_SOIL,
            DEFAULT_MIN_SLOPE_DEG,
            recharge_mm_day / 1000.0,
            "assumed defaults (twin.hazards.landslide.susceptibility.DEFAULT_SOIL)",
            "--recharge-mm-day",
            assumed_soil=True,
        )
    from twin.hazards.flood.spec import RainSpec

    label = label or f"scenario {scenario.name!r}"
    entries = [h for h in scenario.hazards if isinstance(h, LandslideSpec)]
    with_soil = [h for h in entries if h.soil is not None]
    if not with_soil:
        which = "no landslide entry" if not entries else "no landslide entry with soil (only explicit slides)"
        raise ScenarioError(
            f"{label} has {which}: a susceptibility map needs the soil "
            "parameters; add '- type: landslide' with soil: {...}, or leave out --scenario to use "
            "the assumed default soil"
        )
    entry = with_soil[0]
    assert entry.soil is not None
    if recharge_mm_day is not None:
        recharge, recharge_source = recharge_mm_day / 1000.0, "--recharge-mm-day"
    else:
        rains = [h for h in scenario.hazards if isinstance(h, RainSpec)]
        if entry.recharge == "rain" and not rains:
            raise ScenarioError(
                f"{label}: its landslide entry takes its recharge from the rain, "
                "but there is no rain entry; add one (type: rain) or pass --recharge-mm-day R"
            )
        recharge = peak_recharge_m_day(entry, rains[0] if rains else None)
        recharge_source = (
            "the scenario's constant recharge_mm_day"
            if entry.recharge_mm_day is not None
            else f"the peak of the rain over the last {entry.recharge_window_s / 3600:g} h"
        )
    return SusceptibilityInputs(
        entry.soil, float(entry.min_slope_deg), recharge, label, recharge_source, assumed_soil=False
    )


__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_MIN_SLOPE_DEG",
    "DEFAULT_SOIL",
    "SusceptibilityInputs",
    "peak_recharge_m_day",
    "recharge_series_m_day",
    "susceptibility",
    "susceptibility_inputs",
    "susceptibility_rng",
]
