"""Property: any mutation of a shipped scenario is a clean error (the project's error) or accepted, never a traceback.

The mutations are those of ``benchmarks/fuzz.py`` (deleted keys, swapped types, huge and non-finite numbers, unicode,
deep nesting, YAML tags and aliases, bad CSVs, bad ``--set``), drawn by hypothesis so that a failure shrinks to a
small case. The ``ci`` profile (the default) is derandomized: the same examples on every run. Set
``TWIN_FUZZ_PROFILE=explore`` to draw new ones, many more of them.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.mutations import mutate
from twin.errors import TwinError
from twin.scenario import load_scenario

settings.register_profile(
    "twin-fuzz-ci", max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "twin-fuzz-explore", max_examples=2000, derandomize=False, deadline=None, suppress_health_check=list(HealthCheck)
)
PROFILE = settings.get_profile(f"twin-fuzz-{os.environ.get('TWIN_FUZZ_PROFILE', 'ci')}")


@settings(PROFILE)
@given(st.randoms(use_true_random=False))
def test_a_mutated_scenario_is_a_clean_error_or_accepted(rng: random.Random) -> None:
    case = mutate(rng)
    with tempfile.TemporaryDirectory(prefix="twin-fuzz-") as folder:
        path = case.write(Path(folder))
        try:
            load_scenario(path, case.overrides)
        except TwinError as exc:
            str(exc).encode("utf-8")  # the message itself prints
            assert exc.problems and all(p.strip() for p in exc.problems)
