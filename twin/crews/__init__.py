"""Emergency and repair crews: stations and depots, incidents, dispatch policies, travel, repair (DESIGN.md "Crews")."""
