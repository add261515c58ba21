"""Outages: facilities and lifeline components failing at a time, chosen by name, at random or by criticality."""
