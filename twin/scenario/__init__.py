"""Scenario files: YAML validated into a :class:`Scenario`, with every problem cited by file and line.

Public API::

    load_scenario(path, overrides=(), *, allow_long=False, allow_outside_paths=False) -> Scenario
                                                      # extends + --set + validation (twin.inputs reads the YAML)
    validate_files(paths, *, allow_long=False, allow_outside_paths=False) -> list[str]
                                                      # problems of many files; empty when all are ok
    scenario_json_schema() -> dict                    # for `twin schema` and editors
    Scenario.resolved_dict() -> dict                  # JSON data for the run folder (itself a valid scenario)

Hazard and response types are registered in :mod:`twin.scenario.registry`.
"""

from twin.scenario.events import ComponentSelector, Condition, EventSpec, LinkSelector
from twin.scenario.loader import load_scenario, validate_files
from twin.scenario.registry import (
    COMPONENT_EVENT_KINDS,
    EVENT_KINDS,
    HAZARD_TYPES,
    RESPONSE_TYPES,
    HazardSpec,
    ResponseSpec,
)
from twin.scenario.schema import MetricsSpec, OutputsSpec, Scenario, scenario_json_schema

__all__ = [
    "COMPONENT_EVENT_KINDS",
    "EVENT_KINDS",
    "HAZARD_TYPES",
    "RESPONSE_TYPES",
    "ComponentSelector",
    "Condition",
    "EventSpec",
    "HazardSpec",
    "LinkSelector",
    "MetricsSpec",
    "OutputsSpec",
    "ResponseSpec",
    "Scenario",
    "load_scenario",
    "scenario_json_schema",
    "validate_files",
]

# The hazard types register themselves in HAZARD_TYPES; imported last, as they build on the modules above.
import twin.hazards.outage
import twin.hazards.specs  # noqa: F401
