"""The engine: CityModel (clock, event heap, phases), SimState, access to care, the record phase."""
