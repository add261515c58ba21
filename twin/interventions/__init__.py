"""The planner's interventions: scenario entries (spec.py) and how each changes the physics (flood.py, lifelines.py)."""
