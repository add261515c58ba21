"""Road recipe pieces with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from twin.city.people import largest_remainder
from twin.city.roads import csr_adjacency, is_drivable, parse_maxspeed_mps
from twin.city.terrain import interpolate_structures


@pytest.mark.parametrize(
    ("tag", "expected_kmh"),
    [("50", 50), ("30 mph", 30 * 1.609344), ("50;70", 50), ("ES:urban", None), ("", None), (None, None)],
)
def test_maxspeed_parsing(tag: str | None, expected_kmh: float | None) -> None:
    value = parse_maxspeed_mps(tag)
    if expected_kmh is None:
        assert value is None
    else:
        assert value == pytest.approx(expected_kmh / 3.6)


def test_drive_service_filter() -> None:
    assert is_drivable({"highway": "residential"})
    assert is_drivable({"highway": "service"})
    assert not is_drivable({"highway": "service", "service": "parking_aisle"})
    assert not is_drivable({"highway": "footway"})
    assert not is_drivable({"highway": "residential", "access": "private"})
    assert not is_drivable({"highway": "primary", "motor_vehicle": "no"})


def test_parallel_links_keep_the_fastest_and_closed_links_drop_out() -> None:
    src, dst = np.array([0, 0, 1]), np.array([1, 1, 2])
    weight = np.array([10.0, 4.0, 3.0])
    adjacency = csr_adjacency(3, src, dst, weight)
    assert adjacency[0, 1] == 4.0  # scipy would have summed them to 14
    assert adjacency[1, 2] == 3.0
    closed = csr_adjacency(3, src, dst, weight, closed=np.array([False, True, False]))
    assert closed[0, 1] == 10.0


def test_largest_remainder_sums_exactly_and_is_proportional() -> None:
    counts = largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert counts.sum() == 10 and list(counts) == [4, 3, 3]  # ties go to the lower index
    counts = largest_remainder(55_000, np.random.default_rng(1).random(3851))
    assert counts.sum() == 55_000
    assert largest_remainder(5, np.zeros(3)).sum() == 0


def test_bridge_deck_is_a_straight_grade_between_its_banks() -> None:
    # ground 0 (100 m) - deck 1 - deck 2 - ground 3 (190 m); the river bed below is at 50 m
    src, dst = np.array([0, 1, 2]), np.array([1, 2, 3])
    fixed = np.array([True, False, False, True])
    ground = np.array([100.0, 50.0, 50.0, 190.0])
    np.testing.assert_allclose(interpolate_structures(4, src, dst, fixed, ground), [100, 130, 160, 190])
