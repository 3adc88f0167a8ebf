"""The package's shape stays one a newcomer can follow: modules of one job (at most about 700
lines, functions at most about 100), every error class in errors.py, and imports that point one
way (no module imports, directly or through others, a module that imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

import dataset_tools

PACKAGE = Path(dataset_tools.__file__).parent
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 100


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def test_modules_and_functions_stay_small():
    too_long = []
    for name, tree in _modules().items():
        lines = tree.body[-1].end_lineno if tree.body else 0
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                too_long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []


def test_error_classes_live_in_errors_py():
    elsewhere = []
    for name, tree in _modules().items():
        if name == "dataset_tools.errors":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                if bases & {"Exception", "BaseException", "ValueError", "OSError", "RuntimeError", "DatasetToolsError"}:
                    elsewhere.append(f"{name}.{node.name}")
    assert elsewhere == []


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules `name` imports, at module level or inside functions."""
    out = set()
    package = name if name in known and any(k.startswith(name + ".") for k in known) else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([node.module] if node.module else []))
            out.add(base)
            out |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in out if m in known and m != name}


def test_no_import_cycles():
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, tree, known) for name, tree in modules.items()}
    # A package's __init__ that re-exports its modules is their parent, not a cycle: leave out
    # the edges from a package to its own sub-modules.
    graph = {name: {m for m in targets if not m.startswith(name + ".")} for name, targets in graph.items()}
    cycles = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        on_path.add(node)
        path.append(node)
        for target in sorted(graph[node]):
            if target in on_path:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in done:
                visit(target, path, on_path, done)
        path.pop()
        on_path.discard(node)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [], set(), done)
    assert cycles == []
