"""What water does to roads and buildings: depth-disruption and depth-damage curves (pure functions).

Roads (DESIGN.md, "Roads in water")
    Pregnolato, M., Ford, A., Wilkinson, S. M., Dawson, R. J. (2017). The impact of flooding on road
    transport: a depth-disruption function. Transportation Research Part D 55, 67-81.
    doi:10.1016/j.trd.2017.06.020. Vehicle speed v = 0.0009 w^2 - 0.5529 w + 86.9448 km/h, w the water
    depth in mm; impassable at w >= 300 mm.

Buildings (DESIGN.md, "Buildings in water")
    Huizinga, J., de Moel, H., Szewczyk, W. (2017). Global flood depth-damage functions: methodology and
    the database with guidelines. JRC Technical Report EUR 28552 EN, doi:10.2760/16510, JRC105688.
    Damage ratios (share of the maximum damage) at 0, 0.5, 1, 1.5, 2, 3, 4, 5, 6 m of water.

The JRC tables below are the values as published in CLIMADA Petals
(``CLIMADA-project/climada_petals``, ``climada_petals/entity/impact_funcs/river_flood.py``,
``from_jrc_impf_residential`` / ``_commercial`` / ``_industrial``, rounded there to three decimals), and
agree within that rounding with a second, full-precision copy of the JRC spreadsheet embedded in another
public repository. Only the classes twin uses are kept: residential, commercial and industrial for
Europe, North America, (Central and) South America, Asia, Africa and Oceania. JRC gives Africa no
commercial curve and Oceania no industrial curve: those two use Europe's curve of the class
(:data:`CLASS_FALLBACK`).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

KMH_TO_MPS: Final = 1000.0 / 3600.0

# ---------------------------------------------------------------------------------------------------------------------
# Roads: Pregnolato et al. 2017
# ---------------------------------------------------------------------------------------------------------------------

PREGNOLATO_A: Final = 0.0009  # km/h per mm^2
PREGNOLATO_B: Final = -0.5529  # km/h per mm
PREGNOLATO_C: Final = 86.9448  # km/h
CLOSURE_DEPTH_M: Final = 0.3
"""Water depth (m) at and above which a road is impassable (Pregnolato et al. 2017: 300 mm)."""


def pregnolato_speed_kmh(depth_m: ArrayLike) -> FloatArray:
    """Safe vehicle speed on a flooded road, from the depth-disruption function of Pregnolato et al. (2017).

    .. math:: v(w) = 0.0009 w^2 - 0.5529 w + 86.9448 \\quad \\text{km/h}, \\qquad w = 1000\\,d \\text{ (mm)}

    and v = 0 at w >= 300 mm (the road is impassable). Depths at or below 0 give the curve's value at
    w = 0 (86.9448 km/h); the caller caps this by the road's own free speed (:func:`flood_speed_factor`).

    Source: Pregnolato, M., Ford, A., Wilkinson, S. M., Dawson, R. J. (2017), Transportation Research
    Part D 55, 67-81, doi:10.1016/j.trd.2017.06.020.

    Parameters
    ----------
    depth_m
        Water depth on the road, in metres (any shape).

    Returns
    -------
    numpy.ndarray
        Speed in km/h, same shape as ``depth_m``.
    """
    w = np.maximum(np.asarray(depth_m, dtype=np.float64), 0.0) * 1000.0
    v = (PREGNOLATO_A * w + PREGNOLATO_B) * w + PREGNOLATO_C
    return np.where(w >= CLOSURE_DEPTH_M * 1000.0, 0.0, v)


def flood_speed_factor(depth_m: ArrayLike, free_speed_mps: ArrayLike) -> FloatArray:
    """Share of its free speed a vehicle keeps on a flooded road.

    .. math:: f = \\min(v(w), v_\\text{free}) / v_\\text{free}

    with v(w) from :func:`pregnolato_speed_kmh` (converted to m/s). f = 1 on a dry road (depth <= 0)
    and f = 0 at or above :data:`CLOSURE_DEPTH_M`. A slow street (v_free below v(w)) is not slowed by
    shallow water until the curve drops under its own speed. Non-finite depths count as dry.

    Source: Pregnolato et al. (2017), Transportation Research Part D 55, 67-81.

    Parameters
    ----------
    depth_m
        Water depth on the road (m).
    free_speed_mps
        The road's free-flow speed (m/s, > 0); broadcast against ``depth_m``.

    Returns
    -------
    numpy.ndarray
        Factor in [0, 1], the broadcast shape of the inputs.
    """
    depth = np.nan_to_num(np.asarray(depth_m, dtype=np.float64), nan=0.0, posinf=np.inf, neginf=0.0)
    free = np.asarray(free_speed_mps, dtype=np.float64)
    v = pregnolato_speed_kmh(depth) * KMH_TO_MPS
    factor = np.minimum(v, free) / free
    factor = np.where(depth <= 0.0, 1.0, factor)
    return np.where(depth >= CLOSURE_DEPTH_M, 0.0, factor)


# ---------------------------------------------------------------------------------------------------------------------
# Buildings: JRC global depth-damage functions (Huizinga et al. 2017)
# ---------------------------------------------------------------------------------------------------------------------

RESIDENTIAL: Final = "residential"
COMMERCIAL: Final = "commercial"
INDUSTRIAL: Final = "industrial"
BUILDING_CLASSES: Final = (RESIDENTIAL, COMMERCIAL, INDUSTRIAL)

EUROPE: Final = "europe"
NORTH_AMERICA: Final = "north_america"
SOUTH_AMERICA: Final = "south_america"
ASIA: Final = "asia"
AFRICA: Final = "africa"
OCEANIA: Final = "oceania"
REGIONS: Final = (EUROPE, NORTH_AMERICA, SOUTH_AMERICA, ASIA, AFRICA, OCEANIA)
FALLBACK_REGION: Final = EUROPE

JRC_DEPTHS_M: Final = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0])
"""The depths (m) at which the JRC curves are tabulated."""

# Damage ratio at JRC_DEPTHS_M, per (region, class). Values: CLIMADA Petals, river_flood.py (see module doc).
JRC_CURVES: Final[dict[tuple[str, str], tuple[float, ...]]] = {
    (EUROPE, RESIDENTIAL): (0.0, 0.25, 0.40, 0.50, 0.60, 0.75, 0.85, 0.95, 1.0),
    (EUROPE, COMMERCIAL): (0.0, 0.15, 0.30, 0.45, 0.55, 0.75, 0.90, 1.0, 1.0),
    (EUROPE, INDUSTRIAL): (0.0, 0.15, 0.27, 0.40, 0.52, 0.70, 0.85, 1.0, 1.0),
    # North America: JRC tabulates damage already at 0 m (basements; Huizinga et al. 2017).
    (NORTH_AMERICA, RESIDENTIAL): (0.202, 0.443, 0.583, 0.683, 0.784, 0.854, 0.924, 0.959, 1.0),
    (NORTH_AMERICA, COMMERCIAL): (0.018, 0.239, 0.374, 0.466, 0.552, 0.687, 0.822, 0.908, 1.0),
    (NORTH_AMERICA, INDUSTRIAL): (0.026, 0.323, 0.511, 0.637, 0.740, 0.860, 0.937, 0.980, 1.0),
    # JRC's "South America" curves stand for Central and South America.
    (SOUTH_AMERICA, RESIDENTIAL): (0.0, 0.491, 0.711, 0.842, 0.949, 0.984, 1.0, 1.0, 1.0),
    (SOUTH_AMERICA, COMMERCIAL): (0.0, 0.611, 0.840, 0.924, 0.992, 1.0, 1.0, 1.0, 1.0),
    (SOUTH_AMERICA, INDUSTRIAL): (0.0, 0.667, 0.889, 0.947, 1.0, 1.0, 1.0, 1.0, 1.0),
    (ASIA, RESIDENTIAL): (0.0, 0.327, 0.494, 0.617, 0.721, 0.870, 0.931, 0.984, 1.0),
    (ASIA, COMMERCIAL): (0.0, 0.377, 0.538, 0.659, 0.763, 0.883, 0.942, 0.981, 1.0),
    (ASIA, INDUSTRIAL): (0.0, 0.283, 0.482, 0.629, 0.717, 0.857, 0.909, 0.955, 1.0),
    # JRC has no commercial curve for Africa and no industrial curve for Oceania (CLASS_FALLBACK).
    (AFRICA, RESIDENTIAL): (0.0, 0.22, 0.378, 0.531, 0.636, 0.817, 0.903, 0.957, 1.0),
    (AFRICA, INDUSTRIAL): (0.0, 0.063, 0.247, 0.403, 0.494, 0.685, 0.919, 1.0, 1.0),
    (OCEANIA, RESIDENTIAL): (0.0, 0.475, 0.640, 0.715, 0.788, 0.929, 0.967, 0.983, 1.0),
    (OCEANIA, COMMERCIAL): (0.0, 0.239, 0.481, 0.674, 0.865, 1.0, 1.0, 1.0, 1.0),
}
CLASS_FALLBACK: Final[dict[tuple[str, str], tuple[str, str]]] = {
    (AFRICA, COMMERCIAL): (FALLBACK_REGION, COMMERCIAL),
    (OCEANIA, INDUSTRIAL): (FALLBACK_REGION, INDUSTRIAL),
}
"""The curves JRC does not publish and the one used instead: Europe's curve of the same class."""
ONSET_DEPTH_M: Final = 0.05
"""Depth (m) at which a curve with damage at 0 m (North America) reaches its tabulated 0 m value.

A dry building is not damaged, so twin keeps damage 0 at and below 0 m and ramps linearly to the
tabulated 0 m value at 5 cm, as CLIMADA Petals does for the same curves.
"""


def _curve_points(region: str, building_class: str) -> tuple[FloatArray, FloatArray]:
    key = CLASS_FALLBACK.get((region, building_class), (region, building_class))
    try:
        ratios = np.array(JRC_CURVES[key])
    except KeyError:
        raise ValueError(
            f"no JRC depth-damage curve for region {region!r} and class {building_class!r}; "
            f"regions: {', '.join(REGIONS)}; classes: {', '.join(BUILDING_CLASSES)}"
        ) from None
    depths = JRC_DEPTHS_M
    if ratios[0] > 0.0:
        depths = np.concatenate([[0.0, ONSET_DEPTH_M], depths[1:]])
        ratios = np.concatenate([[0.0], ratios])
    return depths, ratios


def damage_ratio(depth_m: ArrayLike, building_class: str | ArrayLike, region: str = EUROPE) -> FloatArray:
    """Damage ratio of buildings (share of their maximum damage) for a water depth, from the JRC curves.

    .. math:: D(d) = \\text{linear interpolation of } (d_i, D_i), \\quad
              d_i \\in \\{0, 0.5, 1, 1.5, 2, 3, 4, 5, 6\\} \\text{ m}

    D = 0 at and below 0 m (dry, or a non-finite depth) and D = D(6 m) beyond 6 m. Curves that tabulate
    damage at 0 m (North America, basements) reach that value at :data:`ONSET_DEPTH_M`.

    Source: Huizinga, de Moel, Szewczyk (2017), Global flood depth-damage functions, JRC Technical
    Report EUR 28552 EN; values as in CLIMADA Petals ``river_flood.py``.

    Parameters
    ----------
    depth_m
        Water depth at the buildings (m).
    building_class
        ``"residential"``, ``"commercial"`` or ``"industrial"`` for all buildings, or an array of those
        (broadcast against ``depth_m``); see :func:`building_class`.
    region
        A curve region (:data:`REGIONS`); see :func:`region_of`.

    Returns
    -------
    numpy.ndarray
        Damage ratio in [0, 1], the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        For a region or class without a curve.
    """
    depth = np.nan_to_num(np.asarray(depth_m, dtype=np.float64), nan=0.0, posinf=np.inf, neginf=0.0)
    if isinstance(building_class, str):
        depths, ratios = _curve_points(region, building_class)
        return np.where(depth <= 0.0, 0.0, np.interp(depth, depths, ratios))
    classes = np.asarray(building_class)
    depth, classes = np.broadcast_arrays(depth, classes)
    out = np.zeros(depth.shape)
    unknown = ~np.isin(classes, BUILDING_CLASSES)
    if unknown.any():
        raise ValueError(f"unknown building classes {sorted(set(classes[unknown].tolist()))}; use {BUILDING_CLASSES}")
    for name in BUILDING_CLASSES:
        members = classes == name
        if members.any():
            depths, ratios = _curve_points(region, name)
            out[members] = np.interp(depth[members], depths, ratios)
    out[depth <= 0.0] = 0.0
    return out


# OSM ``building=*`` values of industrial buildings: JRC's "industry" class is warehouses, distribution
# centres, factories, laboratories (Huizinga et al. 2017); farm outbuildings and sheds are storage.
INDUSTRIAL_USES: Final = frozenset(
    [
        "industrial",
        "warehouse",
        "factory",
        "manufacture",
        "storage",
        "hangar",
        "digester",
        "silo",
        "storage_tank",
        "barn",
        "farm_auxiliary",
        "cowshed",
        "stable",
        "sty",
        "greenhouse",
        "shed",
        "transformer_tower",
        "service",
    ]
)


def building_class(use: ArrayLike, residential: ArrayLike) -> npt.NDArray[np.str_]:
    """The JRC damage class of buildings, from their OSM ``building=*`` value and residential flag.

    Rule (columns ``use`` and ``residential`` of ``City.buildings``):

    * ``residential`` True (homes: OSM's accommodation values, or a bare ``building=yes`` without a
      non-residential tag; see :mod:`twin.city.people`) -> ``"residential"``;
    * else a ``use`` in :data:`INDUSTRIAL_USES` (factories, warehouses, storage, farm outbuildings,
      sheds, hangars, service buildings) -> ``"industrial"``;
    * else -> ``"commercial"``: JRC's "commerce" class covers offices, shops, schools, hospitals, hotels
      and public buildings, the rest of what OSM maps.

    Parameters
    ----------
    use
        OSM ``building`` values.
    residential
        Whether each building is a home.

    Returns
    -------
    numpy.ndarray
        One class name per building.
    """
    uses = np.asarray(use, dtype=str)
    homes = np.asarray(residential, dtype=bool)
    industrial = np.isin(np.char.lower(uses), list(INDUSTRIAL_USES))
    return np.where(homes, RESIDENTIAL, np.where(industrial, INDUSTRIAL, COMMERCIAL))


# Coarse continent boxes (lon_min, lon_max, lat_min, lat_max); the first box that holds the point wins.
# Africa and Oceania have incomplete JRC curve sets (no commercial or no industrial curve): the missing class
# falls back to Europe's curve (CLASS_FALLBACK).
CONTINENT_BOXES: Final[tuple[tuple[str, tuple[float, float, float, float]], ...]] = (
    ("oceania", (110.0, 180.0, -50.0, -11.0)),  # Australia, New Zealand, Melanesia south of New Guinea
    ("europe", (-25.0, 40.0, 35.0, 72.0)),  # Iceland to the Urals' foothills, Mediterranean coast to North Cape
    ("north_america", (-170.0, -50.0, 24.0, 85.0)),  # Canada, the USA (but Hawaii), northern Mexico
    ("south_america", (-120.0, -30.0, -56.0, 24.0)),  # Central America, the Caribbean and South America
    ("africa", (-20.0, 34.5, -35.0, 35.0)),
    ("africa", (34.5, 52.0, -35.0, 11.5)),  # the Horn and East Africa, Madagascar
    ("asia", (34.5, 180.0, -11.0, 82.0)),  # the Levant and Arabia to Japan, Indonesia
)


def _continent(lon: float, lat: float) -> str | None:
    for name, (lon_min, lon_max, lat_min, lat_max) in CONTINENT_BOXES:
        if lon_min <= lon <= lon_max and lat_min <= lat <= lat_max:
            return name
    return None


def region_of(lon: float, lat: float) -> str:
    """The JRC curve region for a place, from coarse continent boxes (:data:`CONTINENT_BOXES`).

    Boxes, first match wins: Europe (25 W-40 E, 35-72 N); North America (170-50 W, north of 24 N);
    Central and South America (120-30 W, 56 S-24 N); Africa (20 W-34.5 E, 35 S-35 N, and 34.5-52 E,
    35 S-11.5 N); Oceania (110-180 E, 50-11 S); Asia (34.5-180 E, 11 S-82 N). Anything outside the boxes
    falls back to :data:`FALLBACK_REGION` (Europe), which :func:`region_assumption` states, as do Africa's
    commercial and Oceania's industrial buildings (:data:`CLASS_FALLBACK`). The boxes are
    coarse: check the choice near their edges (northern Mexico counts as North America, Turkey east of
    40 E and the Caucasus as Asia).

    Parameters
    ----------
    lon, lat
        WGS84 degrees (e.g. the centre of the map).

    Returns
    -------
    str
        One of :data:`REGIONS`.
    """
    continent = _continent(lon, lat)
    return continent if continent in REGIONS else FALLBACK_REGION


def region_assumption(lon: float, lat: float) -> str:
    """The sentence a run lists in its assumptions for the curve region :func:`region_of` chooses.

    Parameters
    ----------
    lon, lat
        WGS84 degrees.

    Returns
    -------
    str
        Which JRC curves are used and why, with the fallback stated when there is one.
    """
    region = region_of(lon, lat)
    label = region.replace("_", " ").title()
    source = "JRC global depth-damage curves (Huizinga et al. 2017)"
    continent = _continent(lon, lat)
    if continent == region:
        missing = [
            f"{c} buildings use Europe's curve (JRC has no {label} {c} curve)" for r, c in CLASS_FALLBACK if r == region
        ]
        return f"building damage: {source}, {label} (map centre {lon:.3f}, {lat:.3f})" + "".join(
            f"; {m}" for m in missing
        )
    where = f"in {continent.title()}, which has no complete JRC curve set" if continent else "outside every box"
    return f"building damage: {source}, {label} as a fallback: the map centre ({lon:.3f}, {lat:.3f}) lies {where}"
