"""Importing this module imports everything a sweep task needs, so that a worker process starts warm.

The local pool's workers are forked from a ``forkserver`` process that imports this module once per sweep
(:func:`twin.sweep.execute.local_pool`), and Dask's nannies fork their workers from the same server (``--dask
local``); a real cluster's workers can do the same with ``dask worker ... --preload twin.sweep.warm``. A worker
then starts in milliseconds instead of importing pandas, SciPy, Mesa and twin's scenario stack itself (several
seconds each, Python's ``spawn`` start method). Nothing here starts a thread or reads a map: the forkserver
must stay single-threaded in Python for its forks to be safe, and the City is loaded once per worker process
(:func:`twin.sweep.worker.city_of`) because it depends on the sweep's map.

The registry's built-in kinds are loaded too (the scenario types and the phase builders, which a run would
otherwise import on its first task).
"""

from __future__ import annotations

import pyarrow.dataset  # the City cache is read as Parquet datasets into pandas
import pyarrow.pandas_compat
import pyarrow.parquet  # noqa: F401

import twin.city.build
import twin.run
import twin.scenario
import twin.sim.model
import twin.sweep.summaries
import twin.sweep.worker  # noqa: F401
from twin.registry import REGISTRY

REGISTRY.hazard_types()  # imports the scenario entry modules (SPEC_MODULES)
REGISTRY.phase_builders()  # imports the engine's phase modules (PHASE_MODULES)
REGISTRY.dispatch_policies()  # the crews' dispatch policies
