"""Scenario files: YAML validated into a :class:`Scenario`, with every problem cited by file and line.

Public API::

    load_scenario(path, overrides=(), *, allow_long=False, allow_outside_paths=False) -> Scenario
                                                      # extends + --set + validation (twin.inputs reads the YAML)
    validate_files(paths, *, allow_long=False, allow_outside_paths=False) -> list[str]
                                                      # problems of many files; empty when all are ok
    scenario_json_schema() -> dict                    # for `twin schema` and editors
    Scenario.resolved_dict() -> dict                  # JSON data for the run folder (itself a valid scenario)

Hazard and response types, event kinds and condition services are registered in :mod:`twin.registry`; the
built-in hazard types are imported from there the first time a scenario is validated.
"""

from twin.registry import COMPONENT_EVENT_KINDS, EVENT_KINDS
from twin.scenario.events import ComponentSelector, Condition, EventSpec, LinkSelector
from twin.scenario.loader import load_scenario, validate_files
from twin.scenario.registry import HazardSpec, ResponseSpec
from twin.scenario.schema import MetricsSpec, OutputsSpec, Scenario, scenario_json_schema

__all__ = [
    "COMPONENT_EVENT_KINDS",
    "EVENT_KINDS",
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
