"""Resilience metrics on curves with analytic answers (twin.metrics)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from twin.metrics import (
    equivalent_outage_hours,
    people_hours_without_service,
    resilience_index,
    resilience_loss_h,
    robustness,
    service_metrics,
    t_min_s,
    time_to_recover_s,
)
from twin.metrics.resilience import disruption_onset_s

H = 3600.0


def triangle(step_s: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Q falls linearly from 1 (t = 0) to 0.5 (1 h) and back to 1 (2 h), then stays at 1 until 3 h.

    Loss = triangle area = 0.5 * 7200 s * 0.5 = 1800 s = 0.5 h.
    """
    t = np.arange(0.0, 3 * H + step_s / 2, step_s)
    q = np.where(t <= 2 * H, 1.0 - 0.5 * (1.0 - np.abs(t - H) / H), 1.0)
    return t, q


def step_outage() -> tuple[np.ndarray, np.ndarray]:
    """Records every minute: Q = 1 at t = 0, 0 from the first record (60 s) to 3600 s, 1 from 3660 s.

    Trapezoid: 30 s (ramp in) + 3540 s (flat) + 30 s (ramp out) = 3600 s of full outage = 1 h.
    """
    t = np.arange(0.0, 2 * H + 1, 60.0)
    q = np.where((t >= 60) & (t <= H), 0.0, 1.0)
    return t, q


def never_recovers() -> tuple[np.ndarray, np.ndarray]:
    """Q falls linearly from 1 to 0.2 over 1 h and stays there until 2 h.

    Loss = 0.5 * 3600 * 0.8 + 3600 * 0.8 = 1440 + 2880 s = 1.2 h.
    """
    t = np.arange(0.0, 2 * H + 1, 60.0)
    q = np.where(t <= H, 1.0 - 0.8 * t / H, 0.2)
    return t, q


def flat() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, H + 1, 60.0)
    return t, np.ones_like(t)


# Irregular records of a piecewise-linear curve: 1 until 10 s, down to 0.4 at 100 s, back to 1 at 400 s.
IRREGULAR_T = np.array([0.0, 10.0, 25.0, 100.0, 130.0, 400.0])
IRREGULAR_Q = np.array([1.0, 1.0, 1.0 - 0.6 * 15 / 90, 0.4, 0.4 + 0.6 * 30 / 300, 1.0])
IRREGULAR_LOSS_S = 0.5 * (400.0 - 10.0) * 0.6  # 117 s


class TestTriangle:
    def test_loss_is_triangle_area(self) -> None:
        t, q = triangle()
        assert resilience_loss_h(t, q) == pytest.approx(0.5, rel=1e-12)

    def test_eoh_equals_loss(self) -> None:
        t, q = triangle()
        assert equivalent_outage_hours(t, q) == resilience_loss_h(t, q)

    def test_index_is_mean_level(self) -> None:
        t, q = triangle()
        assert resilience_index(t, q) == pytest.approx(1.0 - 1800.0 / (3 * H), rel=1e-12)

    def test_robustness_and_time_of_minimum(self) -> None:
        t, q = triangle()
        assert robustness(q) == pytest.approx(0.5)
        assert t_min_s(t, q) == H

    def test_time_to_recover(self) -> None:
        # Q < 0.95 on the open interval (360 s, 6840 s): first record below at 400 s, first record
        # at or above after the minimum at 6900 s.
        t, q = triangle(step_s=100.0)
        assert time_to_recover_s(t, q) == pytest.approx(6500.0)

    def test_lower_threshold_shortens_recovery(self) -> None:
        # Q < 0.8 where |t - 3600| < 2160, i.e. on (1440 s, 5760 s): records 1500 s and 5800 s.
        t, q = triangle(step_s=100.0)
        assert time_to_recover_s(t, q, threshold=0.8) == pytest.approx(4300.0)


class TestStepOutage:
    def test_one_hour_of_full_outage(self) -> None:
        t, q = step_outage()
        assert resilience_loss_h(t, q) == pytest.approx(1.0, rel=1e-12)
        assert equivalent_outage_hours(t, q) == pytest.approx(1.0, rel=1e-12)

    def test_index_over_two_hours(self) -> None:
        t, q = step_outage()
        assert resilience_index(t, q) == pytest.approx(0.5, rel=1e-12)

    def test_robustness_and_recovery(self) -> None:
        t, q = step_outage()
        assert robustness(q) == 0.0
        assert t_min_s(t, q) == 60.0
        assert time_to_recover_s(t, q) == pytest.approx(3600.0)  # 60 s -> 3660 s


class TestNeverRecovers:
    def test_loss_and_index(self) -> None:
        t, q = never_recovers()
        assert resilience_loss_h(t, q) == pytest.approx(1.2, rel=1e-12)
        assert resilience_index(t, q) == pytest.approx(1.0 - 1.2 * H / (2 * H), rel=1e-12)

    def test_time_to_recover_is_none(self) -> None:
        t, q = never_recovers()
        assert time_to_recover_s(t, q) is None

    def test_control_time_beyond_series_holds_last_value(self) -> None:
        # Up to 4 h: integral of Q = 2 h * (1 - 0.6) + 2 h * 0.2 held = 0.8 h + 0.4 h = 1.2 h.
        t, q = never_recovers()
        assert resilience_index(t, q, control_time_s=4 * H) == pytest.approx(1.2 / 4, rel=1e-12)

    def test_control_time_inside_series_interpolates(self) -> None:
        # Up to 30 min: Q falls from 1 to 0.6, mean 0.8 (T between records would interpolate too).
        t, q = never_recovers()
        assert resilience_index(t, q, control_time_s=H / 2) == pytest.approx(0.8, rel=1e-12)
        assert resilience_index(t, q, control_time_s=H / 2 + 30) == pytest.approx(
            1.0 - 0.4 * (H / 2 + 30) / H, rel=1e-12
        )


class TestFlat:
    def test_no_loss(self) -> None:
        t, q = flat()
        assert resilience_loss_h(t, q) == 0.0
        assert equivalent_outage_hours(t, q) == 0.0
        assert resilience_index(t, q) == 1.0
        assert robustness(q) == 1.0

    def test_never_lost_service_recovers_in_zero(self) -> None:
        t, q = flat()
        assert time_to_recover_s(t, q) == 0.0

    def test_single_record(self) -> None:
        assert resilience_loss_h([0.0], [1.0]) == 0.0
        assert resilience_index([0.0], [1.0]) == 1.0
        assert resilience_index([0.0], [1.0], control_time_s=60.0) == 1.0


class TestIrregularSteps:
    def test_loss_exact_on_piecewise_linear(self) -> None:
        assert resilience_loss_h(IRREGULAR_T, IRREGULAR_Q) == pytest.approx(IRREGULAR_LOSS_S / H, rel=1e-12)

    def test_same_as_dense_regular_sampling(self) -> None:
        dense_t = np.arange(0.0, 401.0, 1.0)
        dense_q = np.interp(dense_t, IRREGULAR_T, IRREGULAR_Q)
        assert resilience_loss_h(IRREGULAR_T, IRREGULAR_Q) == pytest.approx(
            resilience_loss_h(dense_t, dense_q), rel=1e-12
        )

    def test_index_and_recovery(self) -> None:
        # Cimellaro's index runs from the onset (Q leaves 1 after the record at 10 s) over the 390 s after it
        assert resilience_index(IRREGULAR_T, IRREGULAR_Q) == pytest.approx(1 - IRREGULAR_LOSS_S / 390.0)
        # below 0.95 from record 25 s; first record >= 0.95 after the minimum (100 s) is 400 s
        assert time_to_recover_s(IRREGULAR_T, IRREGULAR_Q) == pytest.approx(375.0)

    def test_explicit_q0(self) -> None:
        # With Q0 = 0.4 the recovery level is 0.38 and Q (min 0.4) never falls below it; with
        # Q0 = 0.5 (level 0.475) Q is below from 100 s and back above at 400 s.
        assert time_to_recover_s(IRREGULAR_T, IRREGULAR_Q, q0=0.4) == 0.0
        assert time_to_recover_s(IRREGULAR_T, IRREGULAR_Q, q0=0.5) == pytest.approx(300.0)


class TestPeopleHours:
    def test_city_wide_is_population_times_loss(self) -> None:
        t, q = step_outage()
        assert people_hours_without_service(t, q, 1000) == pytest.approx(1000.0, rel=1e-12)

    def test_zones(self) -> None:
        # zone A (100 people) fully out for 1 h; zone B (300 people) half served for the whole 2 h.
        t, q = step_outage()
        served = np.column_stack([q, np.full_like(q, 0.5)])
        expected = 100 * 1.0 + 300 * 0.5 * 2.0
        assert people_hours_without_service(t, served, [100, 300]) == pytest.approx(expected, rel=1e-12)

    def test_zone_population_shape_must_match(self) -> None:
        t, q = step_outage()
        with pytest.raises(ValueError, match="population must have shape"):
            people_hours_without_service(t, np.column_stack([q, q]), [1, 2, 3])

    def test_negative_population(self) -> None:
        t, q = flat()
        with pytest.raises(ValueError, match="non-negative"):
            people_hours_without_service(t, q, -1)


class TestValidation:
    @pytest.mark.parametrize(
        ("t", "q", "message"),
        [
            ([0.0, 60.0], [1.0], "must match"),
            ([0.0, 60.0, 60.0], [1.0, 1.0, 1.0], "strictly increasing"),
            ([0.0, 120.0, 60.0], [1.0, 1.0, 1.0], "strictly increasing"),
            ([10.0, 60.0], [1.0, 1.0], "start at 0"),
            ([0.0, 60.0], [1.0, 1.2], r"\[0, 1\]"),
            ([0.0, 60.0], [1.0, -0.1], r"\[0, 1\]"),
            ([0.0, 60.0], [1.0, np.nan], "NaN"),
            ([], [], "non-empty"),
        ],
    )
    def test_bad_input_raises(self, t: list[float], q: list[float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            resilience_loss_h(t, q)

    def test_round_off_outside_range_is_accepted(self) -> None:
        assert resilience_loss_h([0.0, 60.0], [1.0 + 1e-12, -1e-12]) == pytest.approx(30.0 / H)

    def test_bad_control_time(self) -> None:
        t, q = flat()
        with pytest.raises(ValueError, match="control_time_s"):
            resilience_index(t, q, control_time_s=0.0)

    def test_bad_threshold(self) -> None:
        t, q = flat()
        with pytest.raises(ValueError, match="threshold"):
            time_to_recover_s(t, q, threshold=1.5)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(min_value=1.0, max_value=600.0), min_size=1, max_size=30),
    levels=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=30, max_size=30),
)
@example(steps=[60.0, 60.0, 60.0], levels=[1.0, 0.5, 0.5] + [1.0] * 27)  # onset at 60 s, not at the start
def test_loss_and_index_are_complementary(steps: list[float], levels: list[float]) -> None:
    """For Q(0) = 1 on any grid: loss * 3600 + index * T = T over the control time T from the disruption's onset
    (Q = 1 before it, so the loss before the onset is nil), 0 <= R <= 1, and EOH = L."""
    t = np.concatenate([[0.0], np.cumsum(steps)])
    q = np.concatenate([[1.0], levels[: len(steps)]])
    loss, index = resilience_loss_h(t, q), resilience_index(t, q)
    control_s = t[-1] - disruption_onset_s(t, q)
    assert 0.0 <= index <= 1.0
    assert loss * H + index * control_s == pytest.approx(control_s, rel=1e-9)
    assert equivalent_outage_hours(t, q) == loss
    assert robustness(q) <= index
    recovery = time_to_recover_s(t, q)
    assert recovery is None or 0.0 <= recovery <= t[-1]


def test_service_metrics_table() -> None:
    t, q_step = step_outage()
    q_tri = np.interp(t, *triangle(step_s=60.0))
    table = pd.DataFrame(
        {
            "t_s": t,
            "Q_power": q_step,
            "Q_access": q_tri,
            "Q_water": np.nan,  # not modelled
            "links_closed": np.arange(t.size),
        }
    )
    metrics = service_metrics(table, population=2000)
    assert set(metrics) == {"power", "access"}
    power = metrics["power"]
    assert power["resilience_loss_h"] == pytest.approx(1.0)
    assert "equivalent_outage_hours" not in power  # the same integral as the loss: reported once
    assert power["recovery_threshold"] == 0.95
    assert power["resilience_index"] == pytest.approx(0.5)
    assert power["robustness"] == power["min_q"] == 0.0
    assert power["time_to_recover_s"] == pytest.approx(3600.0)
    assert power["people_hours_without_service"] == pytest.approx(2000.0)
    assert power["final_q"] == 1.0
    assert power["t_min_s"] == 60.0
    assert metrics["access"]["resilience_loss_h"] == pytest.approx(0.5)
    for figures in metrics.values():
        for value in figures.values():
            assert value is None or type(value) is float
    json.dumps(metrics, allow_nan=False)


def test_service_metrics_never_recovered_is_none() -> None:
    t, q = never_recovers()
    metrics = service_metrics(pd.DataFrame({"t_s": t, "Q_health": q}), population=10)
    assert metrics["health"]["time_to_recover_s"] is None
    assert json.loads(json.dumps(metrics, allow_nan=False))["health"]["time_to_recover_s"] is None


def test_service_metrics_control_time_and_threshold() -> None:
    t, q = never_recovers()
    metrics = service_metrics(
        pd.DataFrame({"t_s": t, "Q_power": q}), population=1, recovery_threshold=0.1, control_time_s=4 * H
    )
    assert metrics["power"]["resilience_index"] == pytest.approx(0.3)
    assert metrics["power"]["time_to_recover_s"] == 0.0  # never below 0.1


def test_service_metrics_rejects_partly_nan_column() -> None:
    table = pd.DataFrame({"t_s": [0.0, 60.0], "Q_power": [1.0, np.nan]})
    with pytest.raises(ValueError, match="Q_power"):
        service_metrics(table, population=1)


def test_service_metrics_needs_time() -> None:
    with pytest.raises(ValueError, match="t_s"):
        service_metrics(pd.DataFrame({"Q_power": [1.0]}), population=1)
