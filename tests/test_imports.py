"""The package's import graph: no cycle at all, and a scenario loads without the engine, physics or traffic.

Every import counts, at the top of a module, inside a function or under ``TYPE_CHECKING``: a cycle anywhere is a
knot a reader has to untie. Only a package's ``__init__`` re-exporting its own submodules is not a cycle.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "twin"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``root``."""
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported(node: ast.AST, package: str) -> list[str]:
    """The modules an ``import`` or ``from ... import`` statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its text."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported(node, package):
                while target and target not in modules:  # ``from a.b import name``: the module a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (each is a cycle), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def without_reexports(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges from a package's ``__init__`` to its own submodules (re-exports)."""
    return {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}


def cycles(root: Path) -> list[list[str]]:
    """Every import cycle of the package under ``root`` (a package re-exporting its submodules is not one)."""
    return strongly_connected(without_reexports(import_graph(root)))


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(PACKAGE)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_cycle_finder_finds_cycles_through_functions_and_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg.a import A\n")  # a re-export: not a cycle through pkg
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nA = 1\n")
    (pkg / "b.py").write_text("def f():\n    from pkg import c\nB = 2\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "d.py").write_text("import pkg.a\n")
    assert cycles(pkg) == [["pkg.a", "pkg.b", "pkg.c"]]


HEAVY = (
    "twin.sim.events",
    "twin.sim.model",
    "twin.sim.targets",
    "twin.hazards.flood.model",
    "twin.hazards.landslide.model",
    "twin.hazards.outage.model",
    "twin.lifelines.model",
    "geopandas",
    "matplotlib",
)
"""What loading a scenario must not import: the engine, its event types, hazard physics, the map writers."""


def test_loading_a_scenario_imports_no_engine_physics_or_traffic() -> None:
    root = PACKAGE.parent
    code = (
        "import sys; from twin.scenario import load_scenario; "
        "load_scenario('scenarios/andorra-compound.yaml'); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    assert result.stdout.split() == []


MAP_BUILD_ONLY = (
    "osmnx",
    "rasterio",
    "twin.city.compile",
    "twin.city.facilities",
    "twin.city.features",
    "twin.city.people",
    "matplotlib",
    "geopandas",
    "pyogrio",
    "twin.report.curves",
    "twin.report.html_report",
)
"""What importing the runner must not import: the cold map build (osmnx, rasterio's GeoTIFF reading, the OSM
features, people and facilities; a run on a cached map loads Parquet and ``.npz`` files), and the writers of the
run folder's maps, figures and layers (only a run that writes a folder needs them, at the end)."""


def test_importing_the_runner_loads_neither_the_map_build_nor_the_map_writers() -> None:
    root = PACKAGE.parent
    code = f"import sys, twin.run; print(' '.join(m for m in {MAP_BUILD_ONLY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    assert result.stdout.split() == []
