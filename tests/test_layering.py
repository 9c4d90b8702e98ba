"""The package's imports run one way: each layer imports only the layers below it, and there are no cycles.

    errors, progress                         utilities, importable from anywhere
    core        ladder, state, world arrays, random draws
    input       scenario, geography, parameters, strategies, YAML
    rules       one module per rule, over batches of runs
    engine      the schedule, the batch runner, the outcomes
    model       BorderModel and its agents (Mesa)
    output      results folders, manifests, figures
    experiments ensembles, executors, comparisons, sensitivity
    calibration targets, the fit, the report
    cli, app    the command line and the browser app

The model code (core, rules, engine) reads no files and knows nothing of how it is executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

LAYERS = {
    "sim.errors": 0, "sim.progress": 0,
    "sim.core": 1,
    "sim.input": 2,
    "sim.rules": 2,
    "sim.engine": 3,
    "sim.model": 4,
    "sim.output": 5,
    "sim.experiments": 6,
    "sim.calibration.fit": 7,
    "sim.cli": 8, "sim.app": 8, "sim": 9,
}
MODEL_CODE = ("sim.core", "sim.rules", "sim.engine")
NO_IO_IMPORTS = {"pathlib", "os", "io", "json", "yaml", "pandas", "shutil", "tempfile", "concurrent", "dask",
                 "distributed", "multiprocessing", "matplotlib"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SIM.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _group(module: str) -> str:
    if module == "sim.agents":  # the Mesa model's agents belong with it
        return "sim.model"
    while module not in LAYERS:
        module = module.rpartition(".")[0]
    return module


def _runtime_imports(tree: ast.AST, module: str) -> set[str]:
    """Modules imported at run time (imports under ``if TYPE_CHECKING:`` are for type hints only)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[:-node.level] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SIM.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")), name)
        graph[name] = {m for m in imports if m in modules and m != name}
    return graph


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in _graph() if m != "sim.agents" and not any(m == g or m.startswith(g + ".") for g in LAYERS)]
    assert not unplaced, f"modules outside every layer (add them to LAYERS): {unplaced}"


def test_imports_never_go_up_or_sideways_into_another_package():
    wrong = []
    for module, imports in _graph().items():
        here = _group(module)
        for target in imports:
            there = _group(target)
            if there != here and there != "sim" and LAYERS[there] >= LAYERS[here]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layering:\n  " + "\n  ".join(sorted(wrong))


def test_there_are_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt == "sim":
                continue
            if state.get(nxt) == 1:
                cycle.extend(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, path + [nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, [start]):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("package", MODEL_CODE)
def test_model_code_does_no_file_io(package):
    offenders = []
    for path in (SIM / package.split(".")[1]).rglob("*.py"):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        io = {m.split(".")[0] for m in _runtime_imports(tree, name)} & NO_IO_IMPORTS
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id in ("open", "print")}
        if io or calls:
            offenders.append(f"{name}: {sorted(io | calls)}")
    assert not offenders, "file I/O in model code:\n  " + "\n  ".join(offenders)
