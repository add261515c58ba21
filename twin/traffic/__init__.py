"""Mesoscopic traffic: network loading and routing, standalone or stepped by the engine.

See :mod:`twin.traffic.sim` for the model (a vectorised link transmission model with vehicles as arrays) and
:mod:`twin.traffic.service` for what other phases may do with it (add trips, redirect, take reports).

The package's names are re-exported by :mod:`twin.sim.traffic`, not here: a scenario's traffic section reads
only :mod:`twin.traffic.demand`, and importing a submodule runs this file first, so it loads nothing (the engine
and its routing, with SciPy's sparse graphs, load when a run builds its traffic phase).
"""
