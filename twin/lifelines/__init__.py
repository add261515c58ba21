"""Lifelines: power, water, telecom, traffic signals and hospitals as interdependent networks (networks, behaviour)."""
