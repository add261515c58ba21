"""Traffic phase of the engine: the public API of :mod:`twin.traffic` (DESIGN.md, "Traffic").

The model lives in the :mod:`twin.traffic` package (network, demand, routing, simulator, results); this
module re-exports it where DESIGN.md's layout puts it.
"""

from twin.traffic import *  # noqa: F403  (the same names, re-exported)
from twin.traffic import __all__ as __all__
