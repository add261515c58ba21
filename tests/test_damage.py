"""Depth-disruption (Pregnolato et al. 2017) and depth-damage (JRC, Huizinga et al. 2017) curves."""

from __future__ import annotations

import numpy as np
import pytest

from twin.hazards import damage as dm

JRC_DEPTHS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0]
EUROPE_RESIDENTIAL = [0.0, 0.25, 0.40, 0.50, 0.60, 0.75, 0.85, 0.95, 1.0]


# --- roads ---------------------------------------------------------------------------------------------------------


def test_pregnolato_speed_at_tabulated_depths() -> None:
    speed = dm.pregnolato_speed_kmh([0.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(speed, [86.9448, 40.6548, 12.3648, 0.0], atol=1e-9)


def test_pregnolato_speed_is_zero_at_and_beyond_closure_and_flat_below_zero() -> None:
    assert dm.CLOSURE_DEPTH_M == 0.3
    np.testing.assert_array_equal(dm.pregnolato_speed_kmh([0.3, 0.31, 0.5, 2.0]), 0.0)
    assert dm.pregnolato_speed_kmh(-0.2) == pytest.approx(86.9448)
    assert dm.pregnolato_speed_kmh(0.299) > 0.0
    speeds = dm.pregnolato_speed_kmh(np.linspace(0.0, 0.3, 301))
    assert np.all(np.diff(speeds) < 0.0)  # strictly slower as the water deepens


def test_speed_factor_dry_is_one() -> None:
    np.testing.assert_array_equal(dm.flood_speed_factor([0.0, -1.0, np.nan], 20.0), 1.0)


def test_speed_factor_is_curve_over_free_speed() -> None:
    free = 30.0  # m/s, faster than the curve anywhere
    expected = 40.6548 / 3.6 / free
    assert dm.flood_speed_factor(0.1, free) == pytest.approx(expected)


def test_speed_factor_capped_by_free_speed() -> None:
    # A 15 km/h street is not slowed by 10 cm of water (the curve allows 40.65 km/h) ...
    assert dm.flood_speed_factor(0.1, 15 / 3.6) == pytest.approx(1.0)
    # ... but is at 25 cm (the curve allows about 5.0 km/h).
    v25 = (0.0009 * 250**2 - 0.5529 * 250 + 86.9448) / 3.6
    assert dm.flood_speed_factor(0.25, 15 / 3.6) == pytest.approx(v25 / (15 / 3.6))


def test_speed_factor_closure_at_0_3_m() -> None:
    factors = dm.flood_speed_factor([0.29, 0.3, 0.45], np.array([25.0, 25.0, 25.0]))
    assert factors[0] > 0.0
    np.testing.assert_array_equal(factors[1:], 0.0)


def test_speed_factor_broadcasts_over_links() -> None:
    factors = dm.flood_speed_factor(np.array([0.0, 0.1, 0.2]), np.array([10.0, 20.0, 30.0]))
    assert factors.shape == (3,)
    assert factors[0] == 1.0 and 0.0 < factors[2] < factors[1] < 1.0


# --- buildings -----------------------------------------------------------------------------------------------------


def test_jrc_europe_residential_at_tabulated_depths() -> None:
    np.testing.assert_allclose(dm.damage_ratio(JRC_DEPTHS, "residential", "europe"), EUROPE_RESIDENTIAL)


def test_jrc_linear_between_tabulated_depths() -> None:
    ratio = dm.damage_ratio([0.25, 0.75, 1.25, 2.5, 3.5, 5.5], "residential", "europe")
    np.testing.assert_allclose(ratio, [0.125, 0.325, 0.45, 0.675, 0.80, 0.975])


def test_jrc_zero_when_dry_and_flat_beyond_six_metres() -> None:
    np.testing.assert_array_equal(dm.damage_ratio([0.0, -0.5, np.nan], "residential", "europe"), 0.0)
    np.testing.assert_allclose(dm.damage_ratio([6.0, 7.5, 20.0], "industrial", "asia"), 1.0)


def test_jrc_other_classes_europe() -> None:
    np.testing.assert_allclose(
        dm.damage_ratio(JRC_DEPTHS, "commercial", "europe"), [0, 0.15, 0.30, 0.45, 0.55, 0.75, 0.90, 1.0, 1.0]
    )
    np.testing.assert_allclose(
        dm.damage_ratio(JRC_DEPTHS, "industrial", "europe"), [0, 0.15, 0.27, 0.40, 0.52, 0.70, 0.85, 1.0, 1.0]
    )
    assert dm.damage_ratio(0.75, "commercial", "europe") == pytest.approx(0.225)


def test_jrc_other_regions_at_tabulated_depths() -> None:
    assert dm.damage_ratio(1.0, "residential", "asia") == pytest.approx(0.494)
    assert dm.damage_ratio(2.0, "commercial", "south_america") == pytest.approx(0.992)
    assert dm.damage_ratio(0.5, "industrial", "north_america") == pytest.approx(0.323)


def test_jrc_north_america_damage_starts_above_zero() -> None:
    # JRC tabulates 0.202 at 0 m (basements); twin keeps a dry building undamaged and reaches it at 5 cm.
    ratio = dm.damage_ratio([0.0, 0.025, dm.ONSET_DEPTH_M, 0.5], "residential", "north_america")
    np.testing.assert_allclose(ratio, [0.0, 0.101, 0.202, 0.443])


@pytest.mark.parametrize(("region", "building_class"), sorted(dm.JRC_CURVES))
def test_every_curve_monotone_bounded_and_zero_when_dry(region: str, building_class: str) -> None:
    depths = np.linspace(-1.0, 8.0, 1801)
    ratio = dm.damage_ratio(depths, building_class, region)
    assert np.all(np.diff(ratio) >= 0.0)
    assert ratio.min() == 0.0 and ratio.max() == 1.0
    assert dm.damage_ratio(0.0, building_class, region) == 0.0


def test_curves_cover_six_regions_and_three_classes_where_jrc_has_them() -> None:
    every = {(r, c) for r in dm.REGIONS for c in dm.BUILDING_CLASSES}
    assert set(dm.JRC_CURVES) == every - set(dm.CLASS_FALLBACK)
    assert set(dm.CLASS_FALLBACK) == {("africa", "commercial"), ("oceania", "industrial")}
    assert all(len(values) == len(JRC_DEPTHS) for values in dm.JRC_CURVES.values())


def test_damage_ratio_with_a_class_per_building() -> None:
    ratio = dm.damage_ratio(np.full(4, 1.0), np.array(["residential", "commercial", "industrial", "residential"]))
    np.testing.assert_allclose(ratio, [0.40, 0.30, 0.27, 0.40])


def test_unknown_region_or_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="region 'antarctica'"):
        dm.damage_ratio(1.0, "residential", "antarctica")
    with pytest.raises(ValueError, match="class 'agricultural'"):
        dm.damage_ratio(1.0, "agricultural", "europe")
    with pytest.raises(ValueError, match="unknown building classes"):
        dm.damage_ratio([1.0], np.array(["barn"]), "europe")


def test_building_class_mapping() -> None:
    use = ["yes", "apartments", "warehouse", "Industrial", "retail", "school", "yes", "shed", "hospital"]
    residential = [True, True, False, False, False, False, False, False, False]
    classes = dm.building_class(use, residential)
    assert classes.tolist() == [
        "residential",
        "residential",
        "industrial",
        "industrial",
        "commercial",
        "commercial",
        "commercial",  # building=yes with a shop/office tag: not a home, not industrial
        "industrial",
        "commercial",
    ]


@pytest.mark.parametrize(
    ("lon", "lat", "region"),
    [
        (1.52, 42.51, "europe"),  # Andorra la Vella
        (7.42, 43.73, "europe"),  # Monaco
        (-122.68, 45.52, "north_america"),  # Portland
        (-74.0, 40.7, "north_america"),  # New York
        (-51.23, -30.03, "south_america"),  # Porto Alegre
        (-99.13, 19.43, "south_america"),  # Mexico City: JRC's Central and South America
        (139.7, 35.7, "asia"),  # Tokyo
        (72.88, 19.08, "asia"),  # Mumbai
        (35.2, 31.8, "asia"),  # Jerusalem
        (36.82, -1.29, "africa"),  # Nairobi
        (3.38, 6.52, "africa"),  # Lagos
        (151.2, -33.87, "oceania"),  # Sydney
        (174.76, -36.85, "oceania"),  # Auckland
    ],
)
def test_region_of_continents(lon: float, lat: float, region: str) -> None:
    assert dm.region_of(lon, lat) == region


def test_region_of_falls_back_to_europe() -> None:
    # Honolulu (no box).
    assert dm.region_of(-157.86, 21.31) == dm.FALLBACK_REGION == "europe"
    assert "fallback" in dm.region_assumption(-157.86, 21.31)


def test_africa_and_oceania_use_their_own_curves_and_say_where_they_fall_back() -> None:
    # JRC Africa residential at 1 m: 0.378; Oceania commercial at 1 m: 0.481 (Huizinga et al. 2017). Africa has no
    # commercial curve and Oceania no industrial one: Europe's (0.30 and 0.27 at 1 m).
    assert dm.damage_ratio(1.0, "residential", "africa") == pytest.approx(0.378)
    assert dm.damage_ratio(1.0, "commercial", "oceania") == pytest.approx(0.481)
    assert dm.damage_ratio(1.0, "commercial", "africa") == pytest.approx(0.30)
    assert dm.damage_ratio(1.0, "industrial", "oceania") == pytest.approx(0.27)
    assert "commercial buildings use Europe's curve" in dm.region_assumption(36.82, -1.29)
    assert "industrial buildings use Europe's curve" in dm.region_assumption(151.2, -33.87)


def test_region_assumption_names_the_curves() -> None:
    note = dm.region_assumption(1.52, 42.51)
    assert "Europe" in note and "Huizinga" in note and "fallback" not in note
