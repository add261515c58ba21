"""The utilities' restoration order of ``critical_first``: transmission and substations, then what hospitals depend
on, water pumping, telecom, what shelters depend on, then the rest; within a class most customers per crew-hour."""

from __future__ import annotations

import numpy as np

from tests.test_crews_units import _view
from twin.city.build import City
from twin.crews.criticality import HOSPITALS, OTHER, SHELTERS, TELECOM, TRANSMISSION, WATER, restoration_classes
from twin.crews.policies import CriticalFirst


def test_critical_first_takes_the_classes_in_the_utilities_order_then_customers_per_crew_hour() -> None:
    # one repair per class, shuffled, and two more in the last class: 2,000 residents in 2 h (1,000 per crew-hour)
    # against 600 in 0.5 h (1,200 per crew-hour: first, though it serves fewer)
    classes = [OTHER, SHELTERS, TELECOM, WATER, HOSPITALS, TRANSMISSION, OTHER, OTHER]
    customers = [100.0, 50.0, 50.0, 50.0, 50.0, 50.0, 2000.0, 600.0]
    work = [3600.0] * 6 + [7200.0, 1800.0]
    n = len(classes)
    view = _view(
        [[100.0] * n for _ in range(n)],  # as many crews as repairs, all equally near: the order shows
        priority=[2] * n,
        created=[0.0] * n,
        incident_kind=np.array(["power"] * n),
        crew_kind=np.array(["power"] * n),
        criticality=np.array(classes),
        work_s=np.array(work),
        customers=np.array(customers),
    )
    order = [incident for _, incident in CriticalFirst().assign(view)]
    assert order == [5, 4, 3, 2, 1, 7, 6, 0]


def test_restoration_classes_on_andorra_by_hand(andorra_city: City) -> None:
    city = andorra_city
    facilities = city.facilities
    kind = facilities["kind"].to_numpy().astype(str)
    node = facilities["drive_node"].to_numpy()
    net = city.lifelines
    classes, customers = restoration_classes(city)
    # the population of each substation's feeder zone, by hand from the homes' nodes
    home_zone = net.node_power_zone[city.homes["drive_node"].to_numpy()]
    for zone, source in enumerate(net.power_sources.tolist()):
        in_zone = float(city.homes["population"].to_numpy()[home_zone == zone].sum())
        assert customers[source] >= in_zone  # plus any water zone it also is (never for a substation)
        if kind[source] == "substation":
            assert classes[source] == TRANSMISSION and customers[source] == in_zone
    # water: the pump and tank of a zone holding a hospital come before the others
    hospital_zones = set(net.node_water_zone[node[kind == "hospital"]].tolist())
    for zone, (pump, tank) in enumerate(zip(net.water_pump.tolist(), net.water_tank.tolist(), strict=True)):
        expected = HOSPITALS if zone in hospital_zones else WATER
        assert classes[pump] == classes[tank] == expected
    assert (classes[np.isin(kind, ["mast", "communications_tower"])] == TELECOM).all()
    assert (classes[kind == "pole"] >= SHELTERS).all()
    assert set(np.unique(classes).tolist()) >= {TRANSMISSION, HOSPITALS, WATER, TELECOM}
