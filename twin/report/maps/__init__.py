"""The maps of twin: one module per map, on one shared page.

Every map is one PNG drawn with matplotlib's object API (a :class:`~matplotlib.figure.Figure` on the Agg canvas, no
pyplot state), in the city's metric CRS, so distances on the map are metres; the same inputs give the same PNG,
byte for byte.

Shared by every map:

- :mod:`~twin.report.maps.sheet`: the page (map box, legend column, colour bars, scale bar, north arrow, title,
  subtitle, attribution) and writing the PNG;
- :mod:`~twin.report.maps.terrain`: hillshade, hypsometric tint, contours and value grids on the terrain grid;
- :mod:`~twin.report.maps.geometry`: shapely geometries to matplotlib lines and paths;
- :mod:`~twin.report.maps.draw`: line and point styles, lines, fills and legend entries;
- :mod:`~twin.report.maps.features`: the city's roads, water, buildings, power lines and facilities by kind;
- :mod:`~twin.report.maps.labels`: town and facility names placed where they fit.

One module per map:

- :mod:`~twin.report.maps.city`: the city map of ``twin map show`` and its layers ``roads``, ``hand``
  (:mod:`~twin.report.maps.hand`) and ``lifelines`` (:mod:`~twin.report.maps.lifelines`);
- :mod:`~twin.report.maps.flood`: a flood's peak water depth and the roads it closed;
- :mod:`~twin.report.maps.landslide`: landslide susceptibility with a run's debris footprints and blocked roads;
- :mod:`~twin.report.maps.service`: the power and water zones served or not at a run's worst moment.
"""
