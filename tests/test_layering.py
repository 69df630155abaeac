"""The package's layers, checked on the source (DESIGN.md, "A target layout").

Every ``import`` statement naming a ``neuralab`` module is collected from the syntax tree of
every module in ``src/neuralab``: module-level and inside functions (a lazy import is still a
dependency, and a cycle through one is still a cycle), ``TYPE_CHECKING`` blocks included,
``from neuralab import x`` and relative imports resolved to the module they load. Strings
handed to ``importlib.import_module`` are not imports here: they name modules chosen at run
time (the lazy attributes of ``neuralab/__init__.py``, a lab's narrative module).

Rules:
    (a) the basics and the lower layers never import orchestration, reports, labs, the CLI
        or the live page;
    (b) reports never import orchestration, labs, the CLI or the live page (they are drawn
        from records only; ``neuralab.record`` is below them);
    (c) no import cycles between modules;
    (d) no module imports a private (``_name``) name from another package: that is reaching
        into its internals (within a package, sharing helpers this way is fine).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "neuralab"

LOWER = frozenset(
    {
        "errors",
        "fileio",
        "backend",
        "_keras_compat",
        "config",
        "data",
        "models",
        "training",
        "analysis",
    }
)
ABOVE_LOWER = frozenset({"runs", "reports", "labs", "cli", "live"})
ABOVE_REPORTS = frozenset({"runs", "labs", "cli", "live"})

# Violations that other work in progress removes: each entry is a line of the report below
# without its "(rule)" part, and the test fails once an entry no longer occurs, so that this
# set only shrinks. Do not add to it: fix the import.
# Imports against the layering that are tolerated for now (each with why). Empty: keep it so.
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, str]]:
    """``(module, name)`` for each neuralab module that ``name`` (at ``path``) imports.

    ``name`` is the name taken from that module by ``from module import name``, else "".
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "neuralab" or alias.name.startswith("neuralab."):
                    yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source != "neuralab" and not source.startswith("neuralab."):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield (submodule, "") if submodule in modules else (source, alias.name)


def _graph() -> dict[str, set[str]]:
    """Each module's imported modules."""
    modules = _modules()
    return {
        name: {target for target, _ in _imports(name, path, modules)} - {name}
        for name, path in modules.items()
    }


def _private_names() -> dict[str, str]:
    """Rule (d): ``"module -> imported.name"`` for private names taken across packages."""
    modules = _modules()
    found = {}
    for name, path in modules.items():
        for target, imported in _imports(name, path, modules):
            private = imported.startswith("_") and not imported.startswith("__")
            if private and _layer(target) != _layer(name):
                found[f"{name} -> {target}.{imported}"] = f"private name of {_layer(target)}"
    return found


def _layer(module: str) -> str:
    """``neuralab.training.fused`` -> ``training``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _rule_violations(graph: dict[str, set[str]]) -> dict[str, str]:
    found = {}
    for module, imported in graph.items():
        layer = _layer(module)
        for target in imported:
            target_layer = _layer(target)
            if layer in LOWER and target_layer in ABOVE_LOWER:
                rule = f"{layer} is below {target_layer}"
            elif layer == "reports" and target_layer in ABOVE_REPORTS:
                rule = f"reports never import {target_layer}"
            else:
                continue
            found[f"{module} -> {target}"] = rule
    return found


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in graph:
                continue
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _cycles(graph: dict[str, set[str]], limit: int = 200) -> list[list[str]]:
    """Elementary cycles, each starting at its smallest module (at most ``limit``)."""
    cycles: list[list[str]] = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        for start in sorted(component):
            allowed = {m for m in component if m >= start}
            path = [start]
            work = [iter(sorted(graph[start] & allowed))]
            while work and len(cycles) < limit:
                child = next(work[-1], None)
                if child is None:
                    work.pop()
                    path.pop()
                elif child == start:
                    cycles.append([*path, start])
                elif child not in path:
                    path.append(child)
                    work.append(iter(sorted(graph[child] & allowed)))
    return cycles


def _violations() -> dict[str, str]:
    graph = _graph()
    found = _rule_violations(graph) | _private_names()
    for cycle in _cycles(graph):
        found[" -> ".join(cycle)] = "import cycle"
    return found


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = _graph()
    # Module level, inside a function, `from neuralab import x`, and a package's __init__.
    assert "neuralab.errors" in graph["neuralab.training.fused"]
    assert "neuralab.training.fused" in graph["neuralab.training.trainer"]
    assert "neuralab" in graph["neuralab.data.download"]
    assert "neuralab.config" in graph["neuralab"]
    assert _cycles({"a": {"b"}, "b": {"c", "a"}, "c": {"b"}}) == [["a", "b", "a"], ["b", "c", "b"]]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("from . import store\nfrom ..errors import RunError\n", encoding="utf-8")
    modules = _modules()
    assert list(_imports("neuralab.runs.x", path, modules)) == [
        ("neuralab.runs.store", ""),
        ("neuralab.errors", "RunError"),
    ]


def test_layers_and_cycles() -> None:
    found = _violations()
    for line in sorted(found):
        print(f"{line} ({found[line]})" + ("  [known]" if line in KNOWN_VIOLATIONS else ""))
    new = sorted(f"{line} ({found[line]})" for line in set(found) - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - set(found))
    message = []
    if new:
        message += ["Imports against the layering (module -> imported (rule)):", *new]
    if gone:
        message += ["Fixed, so remove from KNOWN_VIOLATIONS in tests/test_layering.py:", *gone]
    assert not message, "\n".join(message)
