"""Residents: every person of the City as one vectorised population (struct of numpy arrays).

One module per concern: :mod:`~twin.residents.population` (households and persons, where they are at the
start), :mod:`~twin.residents.places` (what each place has: power, water, signal, water depth),
:mod:`~twin.residents.warnings` (channels and reception), :mod:`~twin.residents.decision` (who leaves and
when), :mod:`~twin.residents.shelters` (destinations and capacity), :mod:`~twin.residents.walking` (movement
on the walk network through water), :mod:`~twin.residents.cars` (trips handed to traffic),
:mod:`~twin.residents.trigger` (who needs rescue), :mod:`~twin.residents.rescues` (requests to the
crews), :mod:`~twin.residents.phase` (the engine phase), :mod:`~twin.residents.metrics` (clearance, exposure, equity).
The scenario side (``residents:``, ``warnings:``) is :mod:`twin.scenario.residents`.
"""
