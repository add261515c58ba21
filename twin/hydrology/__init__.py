"""Terrain hydrology on the City's working grid: depression filling, D8, accumulation, drainage, HAND, land cover."""
