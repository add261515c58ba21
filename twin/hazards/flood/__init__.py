"""Floods: river floods on their flood plain and rain ponding in depressions (spec, model, outputs)."""
