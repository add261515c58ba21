"""Flood-water velocity where people meet it, from the depth grid by Manning's equation.

The flood models give depth only (a river flood's stage spread by HAND, rain ponding in depressions), while the
life-safety classes people are judged by (ARR 2019, :mod:`twin.residents.walking`) need depth x velocity. Under
the uniform-flow approximation the friction slope equals the water-surface slope, and Manning's equation
(Chow 1959, *Open-Channel Hydraulics*, eq. 5-6; wide shallow flow, hydraulic radius = depth) gives the mean
velocity of a cell of depth d::

    v = min(d^(2/3) S_w^(1/2) / n, sqrt(g d))          S_w = |grad(z + d)| over wet neighbours

with z the ground and n Manning's roughness: :data:`MANNING_N` = 0.035, Chow's Table 5-6 value for floodplains
of short grass (0.030-0.035), between paved streets (0.013-0.016) and brush (0.05-0.07). The surface slope is
taken by central differences between wet neighbours (one-sided at the water's edge, 0 for a wet cell with no wet
neighbour), so a level pond (a filled depression) stands still and water on a river's floodplain runs at the
river's slope. On steep mountain ground the normal-flow velocity grows without bound (tens of m/s where a HAND
water level climbs a side valley), so it is limited to critical flow, Froude number 1 (``v <= sqrt(g d)``), the
limiter shallow-water flood models apply on steep slopes (as LISFLOOD-FP's; Bates, Horritt & Fewtrell 2010,
J. Hydrology 387). It is a screening estimate: no momentum, no flow across the edge of the wet area, one roughness.
"""

from __future__ import annotations

import numpy as np

GRAVITY_MPS2 = 9.81
MANNING_N = 0.035
"""Manning's n (s m^-1/3) of the flooded ground: floodplain, short grass (Chow 1959, Table 5-6)."""


def surface_slope(ground_m: np.ndarray, depth_m: np.ndarray, cell_m: float) -> np.ndarray:
    """|grad(z + d)| (m/m) per cell, differences taken only between wet cells (0 where dry or isolated).

    Parameters
    ----------
    ground_m
        Ground elevation grid (NaN off the map).
    depth_m
        Water depth grid, same shape (<= 0 or NaN: dry).
    cell_m
        Cell size (m).
    """
    wet = np.isfinite(depth_m) & (depth_m > 0) & np.isfinite(ground_m)
    surface = np.where(wet, ground_m + np.where(wet, depth_m, 0.0), 0.0)
    grad = []
    for axis in (0, 1):
        grad.append(_axis_gradient(surface, wet, axis, cell_m))
    return np.where(wet, np.hypot(grad[0], grad[1]), 0.0)


def _axis_gradient(surface: np.ndarray, wet: np.ndarray, axis: int, cell_m: float) -> np.ndarray:
    """d surface / d axis by central differences where both neighbours are wet, else one-sided, else 0."""
    ahead, behind = np.zeros_like(surface), np.zeros_like(surface)
    wet_ahead, wet_behind = np.zeros_like(wet), np.zeros_like(wet)
    body = [slice(None)] * 2
    lead = [slice(None)] * 2
    body[axis], lead[axis] = slice(0, -1), slice(1, None)
    ahead[tuple(body)], wet_ahead[tuple(body)] = surface[tuple(lead)], wet[tuple(lead)]
    behind[tuple(lead)], wet_behind[tuple(lead)] = surface[tuple(body)], wet[tuple(body)]
    both = wet_ahead & wet_behind
    central = (ahead - behind) / (2.0 * cell_m)
    forward = (ahead - surface) / cell_m
    backward = (surface - behind) / cell_m
    return np.where(both, central, np.where(wet_ahead, forward, np.where(wet_behind, backward, 0.0)))


def manning_velocity(depth_m: np.ndarray, slope: np.ndarray, n: float = MANNING_N) -> np.ndarray:
    """v = min(d^(2/3) S^(1/2) / n, sqrt(g d)) (m/s), 0 where dry."""
    d = np.fmax(np.nan_to_num(np.asarray(depth_m, dtype=np.float64), nan=0.0), 0.0)
    manning = d ** (2.0 / 3.0) * np.sqrt(np.fmax(slope, 0.0)) / n
    return np.minimum(manning, np.sqrt(GRAVITY_MPS2 * d))  # at most critical flow (Froude 1)


def velocity_grid(ground_m: np.ndarray, depth_m: np.ndarray, cell_m: float, n: float = MANNING_N) -> np.ndarray:
    """Velocity (m/s) per cell of a depth grid over its ground (see the module docstring)."""
    return manning_velocity(depth_m, surface_slope(ground_m, depth_m, cell_m), n)
