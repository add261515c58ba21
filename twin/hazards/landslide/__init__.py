"""Shallow landslides: the entry, the stability model, the phase, the susceptibility map and the outputs."""
