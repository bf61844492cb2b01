"""The import rule of docs/architecture.md, read from the source: ``cosearch`` → ``objectives`` →
``spaces`` and never back, and no module cycle, counting imports made inside functions and
type-only ones (a cycle of lazy imports still ties two modules into one)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROOMS = ("spaces", "objectives", "cosearch")  # each may import only the rooms before it


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """The project modules ``name`` imports: ``from a import b`` names module ``a.b`` where it exists,
    else ``a``; a package's own ``__init__`` re-exports are its face, not an edge of it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            out.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {m for m in out if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()
            if path.name != "__init__.py"}


def test_rooms_import_one_way():
    wrong = [(a, b) for a, targets in _graph().items() for b in targets
             if ROOMS.index(b.split(".")[0]) > ROOMS.index(a.split(".")[0])]
    assert wrong == []


def test_no_module_cycle():
    graph = _graph()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []
