"""The dependency rules of DESIGN.md, checked against the source's imports.

- no import cycles in any of our packages (type-only and function-level imports included);
- `voicelane.domain` imports nothing of ours outside itself, and no AWS SDK;
- the media plane takes from `voicelane` only the domain, the contracts, the media gateway
  port and the settings, and reads top-down: node -> calls -> transports -> protocol core;
- the Lambda layer (`voicelane`) and the functions import neither the media plane nor the
  local dev harness, and nothing of moto;
- the table's key layout (``pk``/``sk`` attributes, ``CALL#...``-style key prefixes) is
  written only in the DynamoDB adapters (and the table definition in `voicelane.resources`).
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.architecture.import_graph import ImportGraph, build_graph, parse_python

GRAPH = build_graph()

MEDIA_MAY_USE = ("voicelane.domain", "voicelane.contracts", "voicelane.media_gateway",
                 "voicelane.settings")
# the media plane's folders, top-down: (importer, what it must not import)
MEDIA_CORE = ("sip", "rtp", "codecs", "sdp")
MEDIA_LAYERS = [
    ("calls", ("node", "transports")),  # of transports, calls know only the interface (base)
    ("transports", ("calls", "node")),
    *((core, ("calls", "node", "transports", "agent")) for core in MEDIA_CORE),
]
KEY_OWNERS = ("voicelane.adapters.dynamo", "voicelane.resources")
KEY_PREFIX = re.compile(r"^[A-Z][A-Z_]*#")


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _third_party_imports(module: str) -> set[str]:
    tree = parse_python(GRAPH.files[module])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_graph_sees_every_package() -> None:
    # a rule over an empty graph would pass for nothing
    assert len(GRAPH.modules_under("voicelane")) > 50
    assert len(GRAPH.modules_under("voicelane_media")) > 50
    assert GRAPH.modules_under("functions")


def test_no_import_cycles() -> None:
    assert GRAPH.cycles() == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = ImportGraph(files={m: GRAPH.files["voicelane"] for m in "abcd"},
                        edges={"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert graph.cycles() == [["a", "b", "c"]]


def test_the_media_folders_read_top_down() -> None:
    upward = [
        (module, target)
        for importer, forbidden in MEDIA_LAYERS
        for module in GRAPH.modules_under(f"voicelane_media.{importer}")
        for target in sorted(GRAPH.imports_of(module))
        if _within(target, tuple(f"voicelane_media.{f}" for f in forbidden))
        and not (importer == "calls" and target == "voicelane_media.transports.base")
    ]
    assert upward == []


def test_domain_imports_nothing_of_ours() -> None:
    offences = {
        module: sorted(t for t in GRAPH.imports_of(module) if not _within(t, ("voicelane.domain",)))
        for module in GRAPH.modules_under("voicelane.domain")
    }
    assert {m: t for m, t in offences.items() if t} == {}
    aws = {m for m in GRAPH.modules_under("voicelane.domain")
           if _third_party_imports(m) & {"boto3", "botocore", "fastapi", "httpx"}}
    assert aws == set()


def test_media_plane_uses_only_the_allowed_voicelane_modules() -> None:
    offences = {
        module: sorted(t for t in GRAPH.imports_of(module)
                       if _within(t, ("voicelane",)) and not _within(t, MEDIA_MAY_USE))
        for module in GRAPH.modules_under("voicelane_media")
    }
    assert {m: t for m, t in offences.items() if t} == {}


@pytest.mark.parametrize("package", ["voicelane", "functions"])
def test_layer_and_functions_import_no_media_and_no_dev_harness(package: str) -> None:
    forbidden = ("voicelane_media", "voicelane_local")
    offences = {
        module: sorted(t for t in GRAPH.imports_of(module) if _within(t, forbidden))
        for module in GRAPH.modules_under(package)
    }
    assert {m: t for m, t in offences.items() if t} == {}
    moto = {m for m in GRAPH.modules_under(package) if "moto" in _third_party_imports(m)}
    assert moto == set()


def _key_literals(module: str) -> list[str]:
    tree = parse_python(GRAPH.files[module])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found += [k.value for k in node.keys
                      if isinstance(k, ast.Constant) and k.value in ("pk", "sk")]
        elif isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and isinstance(head.value, str) \
                    and KEY_PREFIX.match(head.value):
                found.append(head.value)
    return found


def test_key_layout_lives_in_the_dynamo_adapters() -> None:
    offences = {
        module: literals
        for package in ("voicelane", "voicelane_media", "functions")
        for module in GRAPH.modules_under(package)
        if not _within(module, KEY_OWNERS) and (literals := _key_literals(module))
    }
    assert offences == {}
