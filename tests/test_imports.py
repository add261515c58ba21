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

import pytest

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
    "twin.traffic.sim",
    "twin.traffic.routing",
    "mesa",
    "scipy",
    "geopandas",
    "matplotlib",
)
"""What loading a scenario must not import: the engine, its event types, hazard physics, the traffic simulator and
its routing (a traffic section reads only :mod:`twin.traffic.demand`), Mesa, SciPy, the map writers."""


def loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``code`` in the project root."""
    root = PACKAGE.parent
    script = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root, env=env)
    return run.stdout.split()


@pytest.mark.parametrize("scenario", ["andorra-compound.yaml", "andorra-evacuation-drill.yaml"])
def test_loading_a_scenario_imports_no_engine_physics_or_traffic(scenario: str) -> None:
    code = f"from twin.scenario import load_scenario; load_scenario('scenarios/{scenario}')"
    assert loaded_after(code, HEAVY) == []


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
"""What importing the City loader must not import: the cold map build (osmnx, rasterio's GeoTIFF reading, the OSM
features, people and facilities; a run on a cached map loads Parquet and ``.npz`` files), and the writers of the run
folder's maps, figures and layers (only a run that writes a folder needs them, at the end)."""

CITY_LOAD_NEVER = (
    *MAP_BUILD_ONLY,
    "twin.lifelines.weak_points",
    "scipy.ndimage",
    "mesa",
    "networkx",
)
"""Nor these: the build's weak-point rules, SciPy's image module (the
terrain's sampling loads it when called), and the engine's Mesa with its networkx."""

RUNNER_LOADS_LATER = (
    *CITY_LOAD_NEVER,
    "twin.city.build",
    "twin.sim.model",
    "scipy",
    "pyproj",
    "shapely",
    "pandas",
    "pyarrow",
)
"""What importing the runner must not import: the above, and the City loader and the engine (with SciPy, PROJ,
shapely and Mesa), which :func:`twin.run.run_scenario` loads once the scenario has validated; nor pandas and
pyarrow (half a second), which load with the first table the run builds or reads."""


def test_loading_a_scenario_without_a_demand_table_imports_no_pandas_nor_pyarrow() -> None:
    code = "from twin.scenario import load_scenario; load_scenario('scenarios/andorra-bridge-closures.yaml')"
    assert loaded_after(code, ("pandas", "pyarrow")) == []


def test_a_scenario_with_a_demand_table_reads_it_with_pandas() -> None:
    # The other side of the lazy import: the demand file is still read (and checked) when the scenario loads
    code = (
        "from twin.scenario import load_scenario\n"
        "spec = load_scenario('scenarios/andorra-evacuation-drill.yaml')\n"
        "assert len(spec.traffic.table()) > 0"
    )
    assert loaded_after(code, ("pandas",)) == ["pandas"]


def test_importing_the_city_loader_loads_neither_the_map_build_nor_scipy_images_nor_the_engine() -> None:
    assert loaded_after("import twin.city.build", CITY_LOAD_NEVER) == []


def test_importing_the_runner_loads_neither_the_map_nor_the_engine() -> None:
    assert loaded_after("import twin.run", RUNNER_LOADS_LATER) == []


def test_a_refused_scenario_is_reported_before_the_map_and_the_engine_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    andorra = PACKAGE.parent / "maps" / "andorra"
    bad.write_text(f"name: bad\nmap: {andorra}\nstart: '2025-10-14T06:00'\nduration: -1h\n")  # only duration is wrong
    code = (
        "from twin.errors import ScenarioError\nfrom twin.run import run_scenario\n"
        f"try:\n    run_scenario({str(bad)!r})\nexcept ScenarioError:\n    print('refused')"
    )
    assert loaded_after(code, RUNNER_LOADS_LATER) == ["refused"]
