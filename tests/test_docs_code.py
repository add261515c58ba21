"""The Python examples of README.md and docs/*.md run as written.

Each ```python block runs in a fresh interpreter, in an empty folder holding the shipped ``scenarios/`` (a copy)
and ``maps/`` (a link), as a user who copies it into a file next to them would run it. It must exit cleanly and
write only under ``runs/``, as the command-line examples do (a scratch file such as a checkpoint left in the
user's folder is a defect: the README's first example once left ``half.npz`` in the repository's root). A block
that cannot run offline or on its own says so on the line before its fence, with the reason, and is skipped:

    <!-- not run by tests/test_docs_code.py: needs a Dask cluster -->
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*not run by tests/test_docs_code\.py:\s*(?P<reason>[^>]*?)\s*-->")
FENCE = re.compile(r"^```python[ \t]*\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """Each ```python block of a Markdown text: its line, its code and, when marked not to run, the reason."""
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.search(before)
        blocks.append((line, match["code"], marker["reason"] if marker else None))
    return blocks


BLOCKS = [
    pytest.param(path, code, reason, id=f"{path.relative_to(ROOT)}:{line}")
    for path in DOCS
    for line, code, reason in python_blocks(path.read_text(encoding="utf-8"))
]


def test_the_block_finder_reads_fences_and_markers() -> None:
    text = (
        "intro\n```python\nprint(1)\n```\n<!-- not run by tests/test_docs_code.py: needs a GPU -->\n```python\nx\n```\n"
    )
    assert python_blocks(text) == [(2, "print(1)\n", None), (6, "x\n", "needs a GPU")]
    assert len(BLOCKS) >= 4  # the README's engine, run_scenario, traffic and crews-policy examples


@pytest.mark.slow  # each block starts an interpreter and most run a scenario: about 2 minutes in all
@pytest.mark.parametrize(("doc", "code", "reason"), BLOCKS)
def test_a_python_example_runs_as_written(doc: Path, code: str, reason: str | None, tmp_path: Path) -> None:
    if reason is not None:
        assert reason.strip(), f"{doc.name}: a block marked not to run must say why"
        pytest.skip(reason)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    (tmp_path / "maps").symlink_to(ROOT / "maps", target_is_directory=True)
    before = sorted(p.name for p in ROOT.iterdir())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    left = {p.name for p in tmp_path.iterdir()} - {"scenarios", "maps", "runs"}
    assert not left, f"the example left files outside runs/: {sorted(left)}"
    assert sorted(p.name for p in ROOT.iterdir()) == before, "the example wrote into the repository"
