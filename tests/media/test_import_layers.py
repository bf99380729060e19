"""The media package reads top-down: node -> calls -> transports -> protocol core, and no
module imports a module that imports it, not even under TYPE_CHECKING or inside a function."""

from __future__ import annotations

import ast
import pathlib

import voicelane_media

PACKAGE = pathlib.Path(voicelane_media.__file__).parent
ROOT = "voicelane_media"
CORE = ("sip", "rtp", "codecs", "sdp")
# (importer prefix, prefixes it must not import)
LAYERS = [
    ("calls", ("transports.sip", "node")),
    ("transports", ("calls", "node")),
    *((core, ("calls", "node", "transports")) for core in CORE),
]


def _graph() -> dict[str, set[str]]:
    modules: dict[str, tuple[pathlib.Path, bool]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        base = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                prefix = base[: len(base) - node.level + 1] if node.level else []
                module = ".".join([*prefix, *([node.module] if node.module else [])])
                targets = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
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


def test_no_module_imports_a_module_that_imports_it() -> None:
    assert _cycles(_graph()) == []


def test_the_folders_read_top_down() -> None:
    upward = []
    for name, imports in _graph().items():
        for importer, forbidden in LAYERS:
            if name == f"{ROOT}.{importer}" or name.startswith(f"{ROOT}.{importer}."):
                upward += [(name, target) for target in imports
                           if any(target == f"{ROOT}.{f}" or target.startswith(f"{ROOT}.{f}.")
                                  for f in forbidden)]
    assert upward == []


def test_the_checker_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
