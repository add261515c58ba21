"""The City: a map folder (OSM extract + DEM + city.yaml) compiled into read-only arrays and tables."""
