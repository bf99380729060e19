"""The import graph of our packages, read from the source (no code is imported or run).

Every ``import`` and ``from ... import`` counts, wherever it stands: at module level, inside a
function, or under ``if TYPE_CHECKING:``. A cycle held together by a type-only or a deferred
import is still a cycle of the design, so the rules below see it.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# package name -> the folder that holds it
PACKAGE_ROOTS: dict[str, Path] = {
    "voicelane": REPO / "layers" / "voicelane",
    "voicelane_media": REPO / "media-fargate",
    "voicelane_local": REPO / "layers" / "local",
    "functions": REPO,
}


@dataclass
class ImportGraph:
    """Modules of our packages (dotted names) and the modules each one imports."""

    files: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)  # modules that are packages (__init__)

    def imports_of(self, module: str) -> set[str]:
        return self.edges.get(module, set())

    def modules_under(self, prefix: str) -> list[str]:
        return sorted(m for m in self.files if m == prefix or m.startswith(prefix + "."))

    def cycles(self) -> list[list[str]]:
        """Strongly connected components with more than one module (Tarjan, iterative)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        found: list[list[str]] = []
        counter = 0
        for root in sorted(self.files):
            if root in index:
                continue
            work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(self.imports_of(root))))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, children = work[-1]
                child = next(children, None)
                if child is not None:
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(sorted(self.imports_of(child)))))
                    elif child in on_stack:
                        low[node] = min(low[node], index[child])
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
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


def parse_python(path: Path) -> ast.Module:
    """``ast.parse`` of a file; in a fresh interpreter when this one's parser state is off.

    CPython 3.11.7 sometimes refuses a valid file late in a long test session with
    "SystemError: AST constructor recursion depth mismatch" (its AST recursion counter drifts;
    fixed in later releases). The same file parses in a new process, whose tree comes back
    pickled.
    """
    source = path.read_bytes()
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        code = ("import ast, pickle, sys; src = sys.stdin.buffer.read(); "
                "sys.stdout.buffer.write(pickle.dumps(ast.parse(src)))")
        out = subprocess.run([sys.executable, "-c", code], input=source, capture_output=True,
                             check=True).stdout
        tree = pickle.loads(out)
        assert isinstance(tree, ast.Module)
        return tree


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _iter_sources(package: str, root: Path) -> Iterable[Path]:
    folder = root / package
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Dotted names each import statement may refer to, most specific first."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:  # a name of `target`, or a submodule of it
                yield f"{target}.{alias.name}" if alias.name != "*" else target


def build_graph(packages: Iterable[str] = tuple(PACKAGE_ROOTS)) -> ImportGraph:
    graph = ImportGraph()
    trees: dict[str, tuple[ast.AST, bool]] = {}
    for package in packages:
        root = PACKAGE_ROOTS[package]
        for path in _iter_sources(package, root):
            name, is_package = _module_name(path, root)
            graph.files[name] = path
            if is_package:
                graph.packages.add(name)
            trees[name] = (parse_python(path), is_package)
    for name, (tree, is_package) in trees.items():
        targets: set[str] = set()
        for dotted in _imported_names(tree, name, is_package):
            # `from a.b import c` names module a.b.c if it exists, else the module a.b
            candidate = dotted
            while candidate and candidate not in graph.files:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
        graph.edges[name] = targets
    return graph
