"""Hazard models (floods now; landslides and outages later) and their impacts on the SimState."""
