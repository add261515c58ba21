"""Where crews are based: a station kind the map lacks is said, and a depot of that kind can stand in for it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pandas as pd
import pytest
from pydantic import ValidationError

from twin.city.build import City
from twin.crews.bases import depot_bases, missing_station_notes
from twin.scenario.crews import CrewsSpec


def _city_with(kinds: list[str]) -> City:
    return cast(City, SimpleNamespace(facilities=pd.DataFrame({"kind": kinds})))


def _spec(**data: Any) -> CrewsSpec:
    return CrewsSpec.model_validate(data)


def test_a_map_with_only_a_hospital_says_fire_and_police_have_no_crew() -> None:
    notes = missing_station_notes(_city_with(["hospital", "substation"]), _spec())
    assert len(notes) == 2
    assert notes[0].startswith("crews: the map has no fire station and no fire depot is given")
    assert "rescues" in notes[0] and "{kind: fire, at: [longitude, latitude], crews: 2}" in notes[0]
    assert notes[1].startswith("crews: the map has no police and no police depot is given")


def test_a_depot_of_the_kind_or_a_zero_per_station_changes_the_notes() -> None:
    city = _city_with(["hospital", "fire_station", "police"])
    assert missing_station_notes(city, _spec()) == []
    zero = missing_station_notes(city, _spec(per_station={"hospital": 0}))
    assert len(zero) == 1 and zero[0].startswith("crews: per_station is 0 and no ems depot is given")
    given = _spec(per_station={"hospital": 0}, depots=[{"kind": "ems", "at": [1.52, 42.51], "crews": 2}])
    assert missing_station_notes(city, given) == []
    empty_depot = _spec(per_station={"hospital": 0}, depots=[{"kind": "ems", "at": [1.52, 42.51], "crews": 0}])
    assert len(missing_station_notes(city, empty_depot)) == 1


def test_a_depot_kind_that_is_no_crew_kind_is_refused() -> None:
    with pytest.raises(ValidationError):
        _spec(depots=[{"kind": "ambulance", "at": [1.52, 42.51]}])


def test_an_ems_depot_bases_ems_crews_at_the_nearest_drivable_node(andorra_city: City) -> None:
    spec = _spec(depots=[{"kind": "ems", "at": [1.5211, 42.5070], "crews": 3, "name": "field post"}])
    bases, _ = depot_bases(andorra_city, spec)
    ems = [base for base in bases if base.kind == "ems"]
    assert len(ems) == 1 and ems[0].crews == 3 and ems[0].name == "field post" and not ems[0].assumed
