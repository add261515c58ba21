"""twin: an open digital-twin engine for city resilience."""

__version__ = "0.1.0"
