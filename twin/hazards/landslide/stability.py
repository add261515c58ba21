"""Slope stability of shallow soils: the infinite-slope factor of safety, wetness, the rain trigger and runout.

Factor of safety per cell, SINMAP form (Pack, Tarboton & Goodwin 1998; as in landlab's LandslideProbability,
Strauch et al. 2018, Earth Surface Dynamics 6:49-75)::

    FS = (C* + cos(theta) (1 - w r) tan(phi)) / sin(theta)
    C* = C / (h rho_s g)        (dimensionless cohesion; C in Pa, h = D cos(theta) the soil thickness normal
                                 to the slope, D the vertical soil depth ``depth_m`` in m)
    r  = rho_w / rho_s
    w  = min(R a / (T sin(theta)), 1)   (relative wetness, TOPMODEL steady state; Beven & Kirkby 1979)

The storm triggers failures once ``I >= a D^-b`` (Caine 1980, Geografiska Annaler A 62:23-27). Debris runs down
the D8 path (:func:`runout_pairs`) until it reaches its angle of reach (:func:`reach_ratio`, Corominas 1996) or
ground flatter than the deposition slope (Hungr et al. 1984). Shared by the run
(:mod:`twin.hazards.landslide.model`) and the susceptibility map (:mod:`twin.hazards.landslide.susceptibility`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twin.city.build import City
from twin.hazards.landslide.spec import SoilSpec, ThresholdSpec
from twin.hydrology.landcover import LANDCOVER_CLASSES

NO_SOIL_CLASSES = ("bare", "water")
"""Land cover without soil to slide: bare rock and scree, water."""
GRAVITY = 9.81
WATER_DENSITY = 1000.0


def slope_rad(elevation_m: np.ndarray, cell_m: float) -> np.ndarray:
    """Slope of each cell (radians) from central differences on the working grid (NaN next to voids)."""
    dz_dy, dz_dx = np.gradient(elevation_m.astype(np.float64), cell_m)
    return np.arctan(np.hypot(dz_dx, dz_dy))


def relative_wetness(
    recharge_m_day: float, area_m: np.ndarray, transmissivity: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """``w = min(R a / (T sin theta), 1)`` (TOPMODEL steady state; Beven & Kirkby 1979)."""
    return np.minimum(recharge_m_day * area_m / (transmissivity * np.sin(theta)), 1.0)


def factor_of_safety(
    cohesion_star: np.ndarray, tan_phi: np.ndarray, density_ratio: np.ndarray, wetness: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Infinite-slope factor of safety, SINMAP form: ``(C* + cos(theta) (1 - w r) tan(phi)) / sin(theta)``."""
    return (cohesion_star + np.cos(theta) * (1.0 - wetness * density_ratio) * tan_phi) / np.sin(theta)


def critical_wetness(
    cohesion_star: np.ndarray, tan_phi: np.ndarray, density_ratio: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """The wetness at which FS = 1: ``w* = (1 - (sin(theta) - C*) / (cos(theta) tan(phi))) / r``."""
    return (1.0 - (np.sin(theta) - cohesion_star) / (np.cos(theta) * tan_phi)) / density_ratio


def candidate_cells(city: City, min_slope_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """The cells that may fail and the slope of every cell: shared by the run and the susceptibility map.

    A candidate has a finite slope, at least ``min_slope_deg`` and above 0, and land cover other than bare
    rock, scree or water.

    Parameters
    ----------
    city
        The city (terrain and land cover).
    min_slope_deg
        Gentler cells do not fail.

    Returns
    -------
    cells : numpy.ndarray
        Flat indices of the candidate cells on the terrain grid, ascending.
    theta : numpy.ndarray
        Slope (radians) of every cell, flat (NaN next to cells outside the DEM).
    """
    theta = slope_rad(city.terrain.elevation_m, city.terrain.resolution_m).ravel()
    no_soil = [LANDCOVER_CLASSES.index(c) for c in NO_SOIL_CLASSES]
    bare = np.isin(city.hydrology.landcover.ravel(), no_soil)
    candidate = np.isfinite(theta) & (theta >= np.radians(min_slope_deg)) & (theta > 0) & ~bare
    return np.flatnonzero(candidate), theta


@dataclass(frozen=True)
class Soil:
    """Soil parameters of the candidate cells (one draw per cell per run)."""

    cohesion_star: np.ndarray
    tan_phi: np.ndarray
    density_ratio: np.ndarray
    depth_m: np.ndarray
    transmissivity_m2_day: np.ndarray

    @classmethod
    def draw(cls, spec: SoilSpec, count: int, rng: np.random.Generator) -> Soil:
        """Draw every parameter uniformly in its range, in a fixed order (reproducible for a seed)."""

        def uniform(bounds: tuple[float, float]) -> np.ndarray:
            return rng.uniform(bounds[0], bounds[1], count) if bounds[1] > bounds[0] else np.full(count, bounds[0])

        cohesion, phi = uniform(spec.cohesion_pa), np.radians(uniform(spec.friction_angle_deg))
        depth, density = uniform(spec.depth_m), uniform(spec.density_kg_m3)
        transmissivity = uniform(spec.transmissivity_m2_day)
        return cls(
            cohesion_star=cohesion / (depth * density * GRAVITY),
            tan_phi=np.tan(phi),
            density_ratio=WATER_DENSITY / density,
            depth_m=depth,
            transmissivity_m2_day=transmissivity,
        )

    def subset(self, keep: np.ndarray) -> Soil:
        """The parameters of the kept cells."""
        return Soil(**{name: getattr(self, name)[keep] for name in self.__dataclass_fields__})

    def on_slope(self, theta: np.ndarray) -> Soil:
        r"""The soil with its vertical depth D turned into the thickness h normal to the slope, in C*.

        ``depth_m`` is the soil depth measured vertically (as a pit or a borehole measures it, and as
        volume = area x depth needs it); the infinite-slope form uses the thickness normal to the slope,
        h = D cos(theta) (Pack, Tarboton & Goodwin 1998, SINMAP manual, eq. 1-3), so

        .. math:: C^* = \frac{C}{h \rho_s g} = \frac{C}{D \cos\theta\, \rho_s g}
        """
        return dataclasses.replace(self, cohesion_star=self.cohesion_star / np.cos(theta))


def trigger_exceeded(rain_mm: float, rain_hours: float, threshold: ThresholdSpec) -> bool:
    """Whether the storm so far exceeds ``I = a D^-b`` (I = rain_mm / D mm/h, D = rain_hours)."""
    if rain_hours <= 0 or rain_mm <= 0:
        return False
    return rain_mm / rain_hours >= threshold.a * rain_hours ** (-threshold.b)


DEBRIS_REACH_A = 0.97
DEBRIS_REACH_B = 0.105
DEPOSITION_SLOPE_DEG = 10.0
"""Slope below which debris deposits and stops (Hungr, Morgan & Kellerhals 1984, Can. Geotech. J. 21(4), 663-677:
unconfined debris begins to deposit on slopes below about 10 degrees)."""


def reach_ratio(volume_m3: npt.ArrayLike) -> np.ndarray:
    r"""Angle of reach of a slide's debris, as H/L = tan(alpha), from its volume (Corominas 1996).

    .. math:: \frac{H}{L} = 0.97\, V^{-0.105}

    with V the slide's volume in m3, H the drop from the source to the debris' farthest point and L the
    horizontal distance between them: Corominas' regression for debris flows over all path types,
    :math:`\log_{10}(H/L) = -0.012 - 0.105 \log_{10} V` (Table 1: 71 cases, R^2 = 0.76; 10^-0.012 = 0.97), the
    mean line, not the 95 % lower bound (so about half of real debris travels farther: see the README's bias
    notes). Larger slides travel relatively farther. Volumes below 1 m3 are taken as 1 m3.

    Source: Corominas, J. (1996). The angle of reach as a mobility index for small and large landslides.
    Canadian Geotechnical Journal 33(2), 260-271. doi:10.1139/t96-005.
    """
    return DEBRIS_REACH_A * np.maximum(np.asarray(volume_m3, dtype=np.float64), 1.0) ** (-DEBRIS_REACH_B)


def runout_pairs(
    sources: np.ndarray,
    labels: np.ndarray,
    receiver: np.ndarray,
    runout_m: float,
    cell_m: float,
    cols: int,
    elevation_m: np.ndarray | None = None,
    reach: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cells covered by debris, as distinct (slide label, cell) pairs sorted by label then cell.

    Each source cell covers itself and its D8 path (steps of one cell, or sqrt(2) cells on diagonals) for
    at most ``runout_m`` of path length and, given the flat ``elevation_m`` and each source's ``reach``
    (H/L, :func:`reach_ratio`), only while the line from the source to the next cell is at least as steep
    as the angle of reach and the step itself at least as steep as the deposition slope:

    .. math:: \frac{z_{source} - z_{next}}{L_{next}} \ge \tan\alpha, \qquad
              \frac{z_{cell} - z_{next}}{\Delta L} \ge \tan 10^\circ

    so debris stops where the slope flattens (at the foot of a wall, within a cell) and no farther than
    H / tan(alpha) from its source on a concave slope (the path length stands in for the horizontal distance,
    exact on a straight path). A path stops where water would leave the map. All sources move together, one
    vectorised step at a time.
    """
    found_labels, found_cells = [labels], [sources]
    current, label, travelled = sources.copy(), labels.copy(), np.zeros(len(sources))
    top = None if elevation_m is None else elevation_m[sources].astype(np.float64)
    tan_reach = None if reach is None else np.asarray(reach, dtype=np.float64)
    while len(current):
        following = receiver[current]
        moving = following >= 0
        current, following, label, travelled = current[moving], following[moving], label[moving], travelled[moving]
        diagonal = (current // cols != following // cols) & (current % cols != following % cols)
        travelled = travelled + cell_m * np.where(diagonal, np.sqrt(2.0), 1.0)
        within = travelled <= runout_m + 1e-9
        if top is not None and tan_reach is not None and elevation_m is not None:
            top, tan_reach = top[moving], tan_reach[moving]
            step = cell_m * np.where(diagonal, np.sqrt(2.0), 1.0)
            drop = elevation_m[current] - elevation_m[following]
            within &= (top - elevation_m[following]) >= tan_reach * travelled - 1e-9
            within &= drop >= np.tan(np.radians(DEPOSITION_SLOPE_DEG)) * step - 1e-9
            top, tan_reach = top[within], tan_reach[within]
        current, label, travelled = following[within], label[within], travelled[within]
        found_labels.append(label)
        found_cells.append(current)
    n_cells = int(receiver.size)
    keys = np.unique(np.concatenate(found_labels).astype(np.int64) * n_cells + np.concatenate(found_cells))
    return keys // n_cells, keys % n_cells


class CellIndex:
    """Items (links, buildings, components) by grid cell, for looking up what covered cells hold."""

    def __init__(self, item: np.ndarray, cell: np.ndarray, n_cells: int) -> None:
        order = np.argsort(cell, kind="stable")
        self.item, self.cell = item[order], cell[order]
        self.start = np.searchsorted(self.cell, np.arange(n_cells + 1))

    def pairs(self, owners: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, item) for every item in each owner's cells (owners are slides, say)."""
        counts = self.start[cells + 1] - self.start[cells]
        rows = np.repeat(np.arange(len(cells)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return owners[rows], self.item[self.start[cells][rows] + offsets]
