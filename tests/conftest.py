"""Shared fixtures: real maps compiled once per test session into a temporary cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.city.build import City, load_city
from twin.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
MAPS = ROOT / "maps"

VALIRA_FLOOD: dict[str, Any] = {
    "type": "river_flood",
    "rivers": ["valira"],
    "channel_depth_m": 3.0,
    "hydrograph": {"peak_stage_m": 4.5, "time_to_peak": "4h", "duration": "10h"},
}
"""A river_flood entry on Andorra's Valira: 4.5 m peak stage at 4 h over a 3 m deep channel."""


def scenario_of(tmp_path: Path, data: dict[str, Any], name: str = "s.yaml") -> Scenario:
    """Write ``data`` as the scenario file ``tmp_path/name`` (UTF-8, as a user writes names like l’Illa) and load
    it, as a user's file is loaded."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="session")
def city_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the session, so each real map is compiled once."""
    return tmp_path_factory.mktemp("city-cache")


@pytest.fixture(scope="session")
def andorra_built_and_cached(city_cache: Path) -> tuple[City, City]:
    """The default map compiled cold, then loaded back from the cache it wrote."""
    built = load_city(MAPS / "andorra", cache_dir=city_cache)
    return built, load_city(MAPS / "andorra", cache_dir=city_cache)


@pytest.fixture(scope="session")
def andorra_city(andorra_built_and_cached: tuple[City, City]) -> City:
    """The default map, compiled from maps/andorra (the cached copy)."""
    return andorra_built_and_cached[1]


@pytest.fixture(scope="session")
def porto_alegre_city(city_cache: Path) -> City:
    """A roads-only map with a DEM that has no nodata value."""
    return load_city(MAPS / "porto-alegre", cache_dir=city_cache)


@pytest.fixture(scope="session")
def monaco_city(city_cache: Path) -> City:
    """Monaco: steep, coastal, no named river."""
    return load_city(MAPS / "monaco", cache_dir=city_cache)


@pytest.fixture(scope="session")
def portland_city(city_cache: Path) -> City:
    """Central Portland on its 10 m NED elevation model (roads only, no waterways in the extract)."""
    return load_city(MAPS / "portland", cache_dir=city_cache)
