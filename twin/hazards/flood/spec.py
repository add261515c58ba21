"""Flood hazard entries of a scenario: ``river_flood`` and ``rain``, checked when the scenario is loaded.

Both types are registered in :data:`twin.scenario.registry.HAZARD_TYPES` when this module is imported
(``twin.scenario`` imports it), so ``twin validate`` reports their problems like any other: every problem at
once, each with the file, the line, the YAML path and the fix. That includes the CSV files they refer to (a
river gauge, a hyetograph): a CSV problem names the file, the row (counted as a spreadsheet counts them: the
header is row 1), the column, what is wrong and how to fix it.

River flood (DESIGN.md "River flood")::

    - type: river_flood
      rivers: [valira]              # or channel_min_area_km2: 5 (maps without named rivers)
      start: 0                      # after the scenario start
      hydrograph: {peak_stage_m: 4.5, time_to_peak: 6h, duration: 36h, shape: triangular}
      # or gauge: valira-stage.csv  (columns time, stage_m)
      component_damage_depth_m: 0.3

Rain (DESIGN.md "Pluvial ponding")::

    - type: rain
      design_storm: {total_mm: 80, duration: 2h, shape: triangular, peak_at: 0.4}
      # or hyetograph: storm.csv    (columns time, intensity_mm_h; the last row ends the rain with 0)
      soil_group: B
      curve_numbers: {forest: 60}   # overrides of DEFAULT_CURVE_NUMBERS
      drainage_mm_h: 20

Time series of these hazards (stage, cumulative rain) are in :mod:`twin.hazards.flood.series`. Matching river
names against the City's waterways is :func:`twin.city.rivers.match_rivers`; the engine raises the "no river
matches" error with :func:`twin.city.rivers.river_names` and the scenario's source.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from twin.errors import ScenarioError
from twin.registry import REGISTRY
from twin.scenario import registry
from twin.scenario.base import Duration, ExistingFile, PositiveDuration, SpecModel, Text, describe_duration
from twin.scenario.csvtable import capped, read_csv_table
from twin.scenario.problems import HIDE, LOOKUP, Problem, did_you_mean, from_validation_error, problems_error
from twin.units import parse_duration_s

if TYPE_CHECKING:
    pass

# ------------------------------------------------------------------------------------------ curve numbers

LANDCOVER_CLASSES: tuple[str, ...] = ("other", "impervious", "urban", "grass", "forest", "farmland", "bare", "water")
"""Land-cover classes of the working grid, in the order of their codes (the same tuple as
:data:`twin.hydrology.landcover.LANDCOVER_CLASSES`, kept here so that loading a scenario needs no GIS library)."""

SOIL_GROUPS: tuple[str, ...] = ("A", "B", "C", "D")
"""Hydrologic soil groups (USDA NRCS): A sandy, well drained ... D clay, shallow or with a high water table."""

SoilGroup = Literal["A", "B", "C", "D"]


def _cn(a: float, b: float, c: float, d: float) -> dict[str, float]:
    return dict(zip(SOIL_GROUPS, (a, b, c, d), strict=True))


DEFAULT_CURVE_NUMBERS: dict[str, dict[str, float]] = {
    "other": _cn(49, 69, 79, 84),
    "impervious": _cn(98, 98, 98, 98),
    "urban": _cn(77, 85, 90, 92),
    "grass": _cn(39, 61, 74, 80),
    "forest": _cn(30, 55, 70, 77),
    "farmland": _cn(67, 78, 85, 89),
    "bare": _cn(77, 86, 91, 94),
    "water": _cn(98, 98, 98, 98),
}
"""Runoff curve number per land-cover class and hydrologic soil group (average antecedent runoff condition,
Ia = 0.2 S), from USDA NRCS (1986), *Urban Hydrology for Small Watersheds*, Technical Release 55, Table 2-2:

=========== ============================================================ ===== ===== ===== =====
class       TR-55 cover type                                              A     B     C     D
=========== ============================================================ ===== ===== ===== =====
other       open space (lawns, parks), fair condition, grass 50-75%       49    69    79    84
impervious  paved parking lots, roofs, driveways (Table 2-2a)             98    98    98    98
urban       residential, 1/8 acre or less, 65% impervious (Table 2-2a)    77    85    90    92
grass       open space, good condition, grass cover > 75% (Table 2-2a)    39    61    74    80
forest      woods, good hydrologic condition (Table 2-2c; A is "less      30    55    70    77
            than 30, use CN = 30")
farmland    row crops, straight row, good condition (Table 2-2b)          67    78    85    89
bare        developing urban area, newly graded, pervious, no vegetation  77    86    91    94
water       not in TR-55: rain on a water surface cannot infiltrate, so   98    98    98    98
            it runs off like rain on pavement (the impervious value)
=========== ============================================================ ===== ===== ===== =====

``other`` is any cell no OSM area classifies; "open space, fair" is the middle of the pervious urban covers.
The runoff is Q = (P - 0.2 S)^2 / (P + 0.8 S) for P > 0.2 S, with S = 25400 / CN - 254 mm (TR-55 eq. 2-3, 2-4).
A scenario overrides single classes with ``curve_numbers: {forest: 60}``.
"""

CurveNumber = Annotated[float, Field(ge=30.0, le=100.0)]
"""A runoff curve number: TR-55 uses 30 as the floor ("actual curve number is less than 30; use CN = 30")."""


# ------------------------------------------------------------------------------------ CSV time series

TIME_COLUMN = "time"
_TIME_HELP = "seconds (90) or a duration (90s, 15min, 6h)"
_TIME_MEANING = "seconds after the hazard's start, or durations like 90min"


def _time_s(text: str) -> float:
    """Seconds from a cell: a plain number of seconds, or a duration with a unit (``90min``)."""
    try:
        value = float(text)
    except ValueError:
        return parse_duration_s(text)  # raises ValueError when it is neither
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_series_csv(
    path: Path, value_column: str, meaning: str, *, last_row_zero: bool = False
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Read a two-column time series (``time`` and ``value_column``) and every problem in it.

    Parameters
    ----------
    path
        The CSV file (UTF-8, comma separated, a header line; other columns are ignored).
    value_column
        ``stage_m`` or ``intensity_mm_h``; values must be finite numbers >= 0.
    meaning
        What the values are, for hints (``"metres above the channel bed"``).
    last_row_zero
        A hyetograph: at least two rows, and the last row (the end of the rain) has the value 0.

    Returns
    -------
    time_s, values, problems
        Times (seconds after the hazard's start, strictly increasing) and values as read-only float64
        arrays; when ``problems`` is not empty, the arrays are empty. Each problem is located at the path
        field itself (``loc == ()``) and names the file, the row and the column.
    """
    example = f"e.g. a header line `{TIME_COLUMN},{value_column}` then rows like `0,0` and `30min,1.5`"
    wanted = [(TIME_COLUMN, _TIME_MEANING), (value_column, meaning)]
    table, problems = read_csv_table(path, wanted, example)
    if table is None:
        return _empty(problems)
    name, rows = table.name, table.rows
    if last_row_zero and len(rows) < 2:
        return _empty(
            [Problem((), f"{name} needs at least two rows: the last one marks the end of the rain", HIDE, example)]
        )

    times: list[float] = []
    values: list[float] = []
    previous: tuple[int, float] | None = None
    for cells, row in rows:
        time_text = table.cell(cells, TIME_COLUMN)
        value_text = table.cell(cells, value_column)
        where = f"{name} row {row}, column"
        t = math.nan
        if not time_text:
            problems.append(Problem((), f"{where} {TIME_COLUMN}: is empty", HIDE, f"give {_TIME_HELP}"))
        else:
            try:
                t = _time_s(time_text)
            except ValueError:
                negative = time_text.lstrip().startswith("-")
                message = "must be >= 0 (a time after the hazard's start)" if negative else f"must be {_TIME_HELP}"
                problems.append(Problem((), f"{where} {TIME_COLUMN}: {message}", time_text))
            else:
                if t < 0:
                    problems.append(
                        Problem((), f"{where} {TIME_COLUMN}: must be >= 0 (a time after the hazard's start)", time_text)
                    )
                    t = math.nan
                elif previous is not None and not t > previous[1]:
                    problems.append(
                        Problem(
                            (),
                            f"{where} {TIME_COLUMN}: must be later than row {previous[0]} "
                            f"({describe_duration(previous[1])})",
                            time_text,
                            "times must be strictly increasing, one row per time",
                        )
                    )
        if math.isfinite(t) and (previous is None or t > previous[1]):
            previous = (row, t)
        v = math.nan
        if not value_text:
            problems.append(Problem((), f"{where} {value_column}: is empty", HIDE, f"give a number ({meaning})"))
        else:
            try:
                v = float(value_text)
            except ValueError:
                problems.append(Problem((), f"{where} {value_column}: must be a number ({meaning})", value_text))
            else:
                if not math.isfinite(v):
                    problems.append(Problem((), f"{where} {value_column}: must be a finite number", value_text))
                elif v < 0:
                    problems.append(Problem((), f"{where} {value_column}: must be >= 0", value_text))
        times.append(t)
        values.append(v)
    if last_row_zero and math.isfinite(values[-1]) and values[-1] != 0:
        problems.append(
            Problem(
                (),
                f"{name} row {rows[-1][1]}, column {value_column}: the last row marks the end of the rain and must "
                "be 0",
                table.cell(rows[-1][0], value_column),
                f"add a row `<time the rain stops>,0` (each row's {value_column} holds until the next row's time)",
            )
        )
    if problems:
        return _empty(capped(problems, name))
    return _frozen(np.array(times)), _frozen(np.array(values)), []


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def _empty(problems: list[Problem]) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    return _frozen(np.zeros(0)), _frozen(np.zeros(0)), problems


def _checked_series(path: Path, value_column: str, meaning: str, *, last_row_zero: bool = False) -> Path:
    """A field validator's body: the path when its CSV is valid, else every problem in it."""
    problems = read_series_csv(path, value_column, meaning, last_row_zero=last_row_zero)[2]
    if problems:
        raise problems_error(*problems)
    return path


def _load_series(
    path: Path, value_column: str, meaning: str, *, last_row_zero: bool, where: str
) -> tuple[np.ndarray, np.ndarray]:
    times, values, problems = read_series_csv(path, value_column, meaning, last_row_zero=last_row_zero)
    if problems:  # the file changed since the scenario was validated
        lines = [f"{where}: {p.message}" + (f"; {p.hint}" if p.hint else "") for p in problems]
        raise ScenarioError(f"{where}: {path.name} is no longer valid", lines)
    return times, values


STAGE_MEANING = "metres above the channel bed"
MAX_STAGE_OFFSET_M = 100.0
"""Bound of a stage offset or a peak stage set at run time (m): far beyond any river flood, it only catches
typing slips (a value in centimetres)."""
INTENSITY_MEANING = "rain intensity in mm/h"


# ---------------------------------------------------------------------------------- validation helpers


def _given(data: Any, key: str) -> bool:
    """Whether a raw entry sets ``key`` (a null counts as not set, as in a resolved scenario)."""
    return isinstance(data, dict) and data.get(key) is not None


def _exactly_one(data: Any, first: str, second: str, hint: str) -> list[Problem]:
    if not isinstance(data, dict) or _given(data, first) != _given(data, second):
        return []
    which = "both" if _given(data, first) else "neither"
    return [Problem((), f"has {which} of {first} and {second}", HIDE, f"give exactly one: {hint}")]


def _only_with(data: Any, key: str, field: str, choice: str, default: str, choices: tuple[str, ...]) -> list[Problem]:
    """``key`` is only for ``field: choice`` (``field`` defaults to ``default``; an invalid one is its own problem)."""
    if not _given(data, key):
        return []
    value = data.get(field, default)
    if value == choice or value not in choices:
        return []
    return [Problem((key,), f"is only for {field}: {choice}", LOOKUP, f"remove it, or set {field}: {choice}")]


def _validate_all(cls: type[SpecModel], data: Any, handler: ModelWrapValidatorHandler[Any], raw: list[Problem]) -> Any:
    """Validate with ``handler``, then the model's own checks, and raise every problem found at once.

    ``raw`` holds the problems found on the raw entry (which keys are given); field problems come from the
    handler; the cross-field checks (``_checks``) run only when every field is valid.
    """
    try:
        model = handler(data)
    except ValidationError as exc:
        if not raw:
            raise
        raise problems_error(*from_validation_error(exc, cls), *raw) from None
    problems = [*raw, *model._checks()]
    if problems:
        raise problems_error(*problems)
    return model


# ------------------------------------------------------------------------------------------ river flood

HydrographShape = Literal["triangular", "trapezoidal", "smooth"]
HYDROGRAPH_SHAPES: tuple[str, ...] = get_args(HydrographShape)
StormShape = Literal["uniform", "triangular"]
STORM_SHAPES: tuple[str, ...] = get_args(StormShape)


class HydrographSpec(SpecModel):
    """A synthetic flood hydrograph: the stage rises to a peak, may stay there, then falls back to 0.

    Attributes
    ----------
    peak_stage_m
        Stage above the channel bed at the peak (m, > 0).
    time_to_peak_s
        From the hazard's start to the peak (YAML ``time_to_peak``).
    duration_s
        From the start to the end of the flood (YAML ``duration``), longer than time to peak + peak duration.
    shape
        ``triangular`` (linear rise and fall), ``trapezoidal`` (linear, with a plateau of ``peak_duration``)
        or ``smooth`` (raised-cosine rise and fall); see :func:`twin.hazards.flood.series.stage_m`.
    peak_duration_s
        Time at the peak (YAML ``peak_duration``), only with ``trapezoidal``; 0 otherwise.
    """

    peak_stage_m: float = Field(gt=0.0, examples=[4.5], description="stage above the channel bed at the peak (m)")
    time_to_peak_s: PositiveDuration = Field(alias="time_to_peak", examples=["6h"])
    duration_s: PositiveDuration = Field(
        alias="duration", examples=["36h"], description="total, from the start until the stage is back to 0"
    )
    shape: HydrographShape = Field(
        "triangular", description="triangular | trapezoidal (with peak_duration) | smooth (raised cosine)"
    )
    peak_duration_s: Duration = Field(
        0.0, alias="peak_duration", examples=["4h"], description="time at the peak (trapezoidal only)"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _everything(cls, data: Any, handler: ModelWrapValidatorHandler[HydrographSpec]) -> HydrographSpec:
        raw = _only_with(data, "peak_duration", "shape", "trapezoidal", "triangular", HYDROGRAPH_SHAPES)
        result: HydrographSpec = _validate_all(cls, data, handler, raw)
        return result

    def _checks(self) -> list[Problem]:
        rise_and_peak = self.time_to_peak_s + self.peak_duration_s
        if self.duration_s > rise_and_peak:
            return []
        if self.peak_duration_s:
            what = (
                f"time_to_peak + peak_duration ({describe_duration(self.time_to_peak_s)} + "
                f"{describe_duration(self.peak_duration_s)} = {describe_duration(rise_and_peak)})"
            )
        else:
            what = f"time_to_peak ({describe_duration(self.time_to_peak_s)})"
        return [
            Problem(
                ("duration",),
                f"must be longer than {what}",
                LOOKUP,
                "duration is the whole flood: the rise, the peak and the fall back to 0",
            )
        ]

    @model_serializer(mode="wrap")
    def _without_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A resolved scenario must load again: peak_duration is refused unless the shape is trapezoidal.
        data: dict[str, Any] = handler(self)
        if self.shape != "trapezoidal":
            data.pop("peak_duration", None)
            data.pop("peak_duration_s", None)
        return data


class RiverFloodSpec(registry.HazardSpec):
    """A river flood (fluvial): the stage above the channel, from a hydrograph or a gauge series.

    The engine floods a cell when its height above the nearest drainage (HAND) is below the stage and it is
    connected to the channel (DESIGN.md "River flood"); depth = stage - HAND.

    Attributes
    ----------
    rivers
        Case-insensitive substrings of waterway names (``name`` and ``name:*``); see
        :func:`twin.city.rivers.match_rivers`.
    channel_min_area_km2
        For maps without named rivers: the channel is every drainage cell with at least this upstream area.
        Exactly one of ``rivers`` and ``channel_min_area_km2``.
    start_s
        When the flood starts, in seconds after the scenario start (YAML ``start``, default 0).
    hydrograph
        A synthetic hydrograph; exactly one of ``hydrograph`` and ``gauge``.
    gauge
        A CSV file with columns ``time`` (seconds or a duration, after ``start``) and ``stage_m``
        (absolute path once validated); read it with :meth:`gauge_series`.
    component_damage_depth_m
        Water depth at a lifeline component above which it is damaged (m).
    stage_offset_m
        Added to the stage of the hydrograph or gauge at every time (m, default 0); the stage never goes below
        0. A drill raises a river beyond its series with it (a ``set_hazard_parameter`` event).

    Notes
    -----
    :attr:`runtime_parameters` lists what a ``set_hazard_parameter`` event may change during a run: the
    stage offset and the hydrograph's peak stage. The flood plain is extended when the new stage exceeds
    the one it was computed for (:class:`twin.hazards.flood.FloodHazard`).
    """

    runtime_parameters: ClassVar[dict[str, str]] = {
        "stage_offset_m": "metres added to the stage from now on",
        "hydrograph.peak_stage_m": "the hydrograph's peak stage (m, > 0) from now on",
    }

    type: Literal["river_flood"] = "river_flood"
    rivers: list[Text] | None = Field(
        None,
        min_length=1,
        examples=[["valira"]],
        description="case-insensitive substrings of waterway names (name and name:*)",
    )
    channel_min_area_km2: float | None = Field(
        None,
        gt=0.0,
        examples=[5],
        description="maps without named rivers: the channel is every drainage cell with this upstream area",
    )
    start_s: Duration = Field(0.0, alias="start", examples=["30min"], description="after the scenario start")
    hydrograph: HydrographSpec | None = None
    gauge: ExistingFile | None = Field(
        None, examples=["valira-stage.csv"], description="CSV with columns time and stage_m"
    )
    channel_depth_m: float = Field(
        0.0,
        ge=0.0,
        examples=[3.0],
        description=(
            "depth of the river's channel below the DEM's river cells (m): a coarse DEM does not see the "
            "incised channel, so water leaves it only once the stage exceeds this (bankfull depth)"
        ),
    )
    component_damage_depth_m: float = Field(
        0.3, gt=0.0, description="water depth at a lifeline component above which it is damaged (m)"
    )
    stage_offset_m: float = Field(
        0.0,
        ge=-MAX_STAGE_OFFSET_M,
        le=MAX_STAGE_OFFSET_M,
        examples=[1.0],
        description="metres added to the stage at every time (the stage stays >= 0)",
    )
    _gauge: tuple[np.ndarray, np.ndarray] | None = PrivateAttr(default=None)

    @field_validator("gauge")
    @classmethod
    def _gauge_csv(cls, value: Path | None) -> Path | None:
        return None if value is None else _checked_series(value, "stage_m", STAGE_MEANING)

    @model_validator(mode="wrap")
    @classmethod
    def _everything(cls, data: Any, handler: ModelWrapValidatorHandler[RiverFloodSpec]) -> RiverFloodSpec:
        raw = [
            *_exactly_one(
                data,
                "rivers",
                "channel_min_area_km2",
                "rivers: [valira] (names on the map), or channel_min_area_km2: 5 (maps without named rivers)",
            ),
            *_exactly_one(
                data,
                "hydrograph",
                "gauge",
                "hydrograph: {peak_stage_m: 4.5, time_to_peak: 6h, duration: 36h}, or gauge: stage.csv",
            ),
        ]
        result: RiverFloodSpec = _validate_all(cls, data, handler, raw)
        if result.gauge is not None:
            result._gauge = _load_series(
                result.gauge, "stage_m", STAGE_MEANING, last_row_zero=False, where="river_flood gauge"
            )
        return result

    def _checks(self) -> list[Problem]:
        return []

    def with_parameter(self, name: str, value: float) -> RiverFloodSpec:
        """A copy with a run-time parameter set (see :attr:`runtime_parameters`).

        Raises
        ------
        ValueError
            An unknown name (the message lists the known ones), a peak stage for a gauge river, a value out of
            range.
        """
        if name not in self.runtime_parameters:
            raise ValueError(registry.unknown_parameter(self.type, name, self.runtime_parameters))
        number = float(value)
        if name == "stage_offset_m":
            if not abs(number) <= MAX_STAGE_OFFSET_M:  # also refuses NaN
                raise ValueError(f"stage_offset_m must be within -{MAX_STAGE_OFFSET_M:g} to {MAX_STAGE_OFFSET_M:g} m")
            return self.model_copy(update={"stage_offset_m": number})
        if self.hydrograph is None:
            raise ValueError(
                "this river_flood follows a gauge, which has no peak stage to set; raise it with stage_offset_m"
            )
        if not 0.0 < number <= MAX_STAGE_OFFSET_M:
            raise ValueError(f"hydrograph.peak_stage_m must be > 0 and at most {MAX_STAGE_OFFSET_M:g} m")
        return self.model_copy(update={"hydrograph": self.hydrograph.model_copy(update={"peak_stage_m": number})})

    def gauge_series(self) -> tuple[np.ndarray, np.ndarray]:
        """The gauge's times (s after ``start``) and stages (m), read-only; read when the spec was validated.

        Raises
        ------
        ValueError
            When the flood has a hydrograph, not a gauge.
        """
        if self.gauge is None:
            raise ValueError("this river flood has a hydrograph, not a gauge")
        if self._gauge is None:
            self._gauge = _load_series(
                self.gauge, "stage_m", STAGE_MEANING, last_row_zero=False, where="river_flood gauge"
            )
        return self._gauge


# ------------------------------------------------------------------------------------------------- rain


class DesignStormSpec(SpecModel):
    """A synthetic storm: a total depth of rain over a duration, uniform or with a triangular profile.

    Attributes
    ----------
    total_mm
        Rain depth over the whole storm (mm, > 0).
    duration_s
        Length of the storm (YAML ``duration``).
    shape
        ``uniform`` (constant intensity) or ``triangular`` (default: linear rise to the peak intensity at
        ``peak_at`` x duration, linear fall to 0 at the end); see :mod:`twin.hazards.flood.series`.
    peak_at
        Where the peak falls, as a share of the duration in [0, 1] (triangular only; default 0.4).
    """

    total_mm: float = Field(gt=0.0, examples=[80], description="rain depth over the whole storm (mm)")
    duration_s: PositiveDuration = Field(alias="duration", examples=["2h"])
    shape: StormShape = Field("triangular", description="uniform | triangular")
    peak_at: float = Field(
        0.4, ge=0.0, le=1.0, description="share of the duration at which the intensity peaks (triangular only)"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _everything(cls, data: Any, handler: ModelWrapValidatorHandler[DesignStormSpec]) -> DesignStormSpec:
        raw = _only_with(data, "peak_at", "shape", "triangular", "triangular", STORM_SHAPES)
        result: DesignStormSpec = _validate_all(cls, data, handler, raw)
        return result

    def _checks(self) -> list[Problem]:
        return []

    @model_serializer(mode="wrap")
    def _without_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A resolved scenario must load again: peak_at is refused unless the shape is triangular.
        data: dict[str, Any] = handler(self)
        if self.shape != "triangular":
            data.pop("peak_at", None)
        return data


DEFAULT_DRAINAGE_MM_H = 20.0
"""Storm drainage capacity assumed when a scenario gives none (mm/h of rain the drains take away).

An assumption, labelled so: urban drains are designed for frequent storms (a 1-in-2 to 1-in-5-year storm is
common; UK sewers for at best 1-in-30-year rain, Northern Ireland Rivers Agency strategic flood map notes;
global flood maps commonly assume urban drains take the 5-year rainfall, XDI hazard-data notes), and the
hour-long intensity of such storms in European towns is a few tens of mm/h; 20 mm/h sits at the low end, so
ponding is not underestimated. Set ``drainage_mm_h`` from the local drainage design standard when known.
"""


class RainSpec(registry.HazardSpec):
    """Rain on the city, for pluvial ponding (DESIGN.md "Pluvial ponding").

    Runoff by SCS curve number per cell (land cover x soil group, :func:`curve_numbers_for`), minus the
    drainage capacity, routed down D8 into depressions.

    Attributes
    ----------
    start_s
        When the rain starts, in seconds after the scenario start (YAML ``start``, default 0).
    design_storm
        A synthetic storm; exactly one of ``design_storm`` and ``hyetograph``.
    hyetograph
        A CSV file with columns ``time`` (after ``start``) and ``intensity_mm_h``: each row's intensity holds
        until the next row's time; the last row marks the end of the rain and has intensity 0. Read it with
        :meth:`hyetograph_series`.
    soil_group
        Hydrologic soil group A, B, C or D (default B).
    curve_numbers
        Overrides of :data:`DEFAULT_CURVE_NUMBERS` for this soil group, by land-cover class (30..100).
    drainage_mm_h
        Storm drainage capacity (mm/h, >= 0; default :data:`DEFAULT_DRAINAGE_MM_H`, an assumption).
    component_damage_depth_m
        Water depth at a lifeline component above which it is damaged (m).
    """

    type: Literal["rain"] = "rain"
    start_s: Duration = Field(0.0, alias="start", examples=["30min"], description="after the scenario start")
    design_storm: DesignStormSpec | None = None
    hyetograph: ExistingFile | None = Field(
        None, examples=["storm.csv"], description="CSV with columns time and intensity_mm_h (last row 0)"
    )
    soil_group: SoilGroup = Field("B", description="hydrologic soil group (USDA NRCS): A | B | C | D")
    curve_numbers: dict[str, CurveNumber] = Field(
        default_factory=dict,
        examples=[{"forest": 60}],
        description="runoff curve numbers by land-cover class, overriding the TR-55 defaults: "
        + ", ".join(LANDCOVER_CLASSES),
    )
    drainage_mm_h: float = Field(
        DEFAULT_DRAINAGE_MM_H, ge=0.0, description="storm drainage capacity (mm/h); 20 is an assumption"
    )
    component_damage_depth_m: float = Field(
        0.3, gt=0.0, description="water depth at a lifeline component above which it is damaged (m)"
    )
    _hyetograph: tuple[np.ndarray, np.ndarray] | None = PrivateAttr(default=None)

    @field_validator("hyetograph")
    @classmethod
    def _hyetograph_csv(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        return _checked_series(value, "intensity_mm_h", INTENSITY_MEANING, last_row_zero=True)

    @field_validator("curve_numbers", mode="wrap")
    @classmethod
    def _known_classes(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, float]:
        # Unknown classes and bad values are reported together (an after-validator would wait for the values).
        known = ", ".join(LANDCOVER_CLASSES)
        unknown = [
            Problem(
                (key,),
                f"unknown land-cover class {key!r}",
                HIDE,
                " ".join(filter(None, [did_you_mean(key, LANDCOVER_CLASSES), f"classes: {known}"])),
            )
            for key in (value if isinstance(value, dict) else {})
            if isinstance(key, str) and key not in LANDCOVER_CLASSES
        ]
        try:
            result: dict[str, float] = handler(value)
        except ValidationError as exc:
            if not unknown:
                raise
            raise problems_error(*from_validation_error(exc, cls), *unknown) from None
        if unknown:
            raise problems_error(*unknown)
        return result

    @model_validator(mode="wrap")
    @classmethod
    def _everything(cls, data: Any, handler: ModelWrapValidatorHandler[RainSpec]) -> RainSpec:
        raw = _exactly_one(
            data, "design_storm", "hyetograph", "design_storm: {total_mm: 80, duration: 2h}, or hyetograph: storm.csv"
        )
        result: RainSpec = _validate_all(cls, data, handler, raw)
        if result.hyetograph is not None:
            result._hyetograph = _load_series(
                result.hyetograph, "intensity_mm_h", INTENSITY_MEANING, last_row_zero=True, where="rain hyetograph"
            )
        return result

    def _checks(self) -> list[Problem]:
        return []

    def hyetograph_series(self) -> tuple[np.ndarray, np.ndarray]:
        """The hyetograph's times (s after ``start``) and intensities (mm/h), read-only; the last is 0.

        Raises
        ------
        ValueError
            When the rain is a design storm, not a hyetograph.
        """
        if self.hyetograph is None:
            raise ValueError("this rain is a design storm, not a hyetograph")
        if self._hyetograph is None:
            self._hyetograph = _load_series(
                self.hyetograph, "intensity_mm_h", INTENSITY_MEANING, last_row_zero=True, where="rain hyetograph"
            )
        return self._hyetograph


def curve_numbers_for(spec: RainSpec) -> np.ndarray:
    """The runoff curve number of each land-cover class, in :data:`LANDCOVER_CLASSES` order.

    Parameters
    ----------
    spec
        The rain: its soil group picks the column of :data:`DEFAULT_CURVE_NUMBERS` (USDA NRCS TR-55, 1986,
        Table 2-2) and its ``curve_numbers`` replace single classes.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(LANDCOVER_CLASSES),)``; index it with the land-cover grid's codes.
    """
    return np.array(
        [spec.curve_numbers.get(c, DEFAULT_CURVE_NUMBERS[c][spec.soil_group]) for c in LANDCOVER_CLASSES],
        dtype=np.float64,
    )


REGISTRY.add_hazard_type("river_flood", RiverFloodSpec)
REGISTRY.add_hazard_type("rain", RainSpec)

__all__ = [
    "DEFAULT_CURVE_NUMBERS",
    "DEFAULT_DRAINAGE_MM_H",
    "LANDCOVER_CLASSES",
    "SOIL_GROUPS",
    "DesignStormSpec",
    "HydrographSpec",
    "RainSpec",
    "RiverFloodSpec",
    "curve_numbers_for",
    "read_series_csv",
]
