"""The house's layering, checked on the source text: imports point down.

Every ``import`` of a gradfit module in ``src/gradfit`` counts, at the top of a module or inside a
function (a function-local import only hides a cycle until the function runs). Imports under
``if TYPE_CHECKING:`` count for nothing at run time and are left out. A package's ``__init__`` that
a submodule's import runs implicitly is not an edge; an explicit ``from gradfit.sources import X``
is one (to the submodule ``X`` where X is one, else to the package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SOURCE / "gradfit"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The gradfit modules ``name`` imports (see the module docstring for what counts)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "gradfit")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "gradfit":
                for alias in node.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return {module for module in found if module in known}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def test_the_scan_sees_the_imports_it_must():
    """The check cannot pass by seeing nothing: known edges of each kind are found."""
    graph = import_graph()
    assert "gradfit.driver" in graph["gradfit.estimator"] or any(
        "gradfit.driver" in graph[name] for name in graph if name.startswith("gradfit.")
    )
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    found = cycles(import_graph())
    assert not found, "import cycles (top-level and function-local imports): " + "; ".join(" ↔ ".join(c) for c in found)


@pytest.mark.parametrize("lower", ["gradfit.numerics", "gradfit.objective", "gradfit.solvers", "gradfit.sources", "gradfit.driver"])
def test_lower_layers_never_import_the_command_line_or_the_estimator(lower):
    graph = import_graph()
    for name, targets in graph.items():
        if name == lower or name.startswith(lower + "."):
            upward = {t for t in targets if t.startswith(("gradfit.cli", "gradfit.estimator", "gradfit.plots", "gradfit.report"))}
            assert not upward, f"{name} imports {sorted(upward)}"


#: The layers, lowest first, as docs/architecture.md draws them: a module imports only from its own
#: layer's modules (within one package) or from layers before it.
LAYERS = [
    ("errors", "numerics", "fileio", "cost", "datasets", "schedules", "history", "_version"),
    ("sources",), ("objective",), ("solvers",), ("driver",), ("checkpoints",), ("validation",), ("engine",), ("summary",),
    ("inference",), ("fitting",), ("modelio",), ("estimator",), ("gradfit",), ("plots",), ("learning",),
    ("article",), ("explorer",), ("report",), ("cli",),
]


def test_imports_follow_the_layers_of_the_architecture_document():
    rank = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}

    def room(module: str) -> str:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "gradfit"

    graph = import_graph()
    assert {room(name) for name in graph} <= set(rank), "a module outside LAYERS: add it where it belongs"
    upward = sorted(
        f"{name} → {target}"
        for name, targets in graph.items()
        for target in targets
        if room(target) != room(name) and rank[room(target)] >= rank[room(name)]
    )
    assert not upward, "imports that do not point down: " + ", ".join(upward)
