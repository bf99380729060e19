"""The layer build: cached by a hash of the package, pinned to the Lambda platform."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import build_layer

from tests.architecture.import_graph import parse_python


def test_hash_is_stable_and_tracks_sources(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "voicelane-pkg"
    shutil.copytree(build_layer.PACKAGE_DIR / "voicelane", package / "voicelane")
    shutil.copy(build_layer.PACKAGE_DIR / "pyproject.toml", package / "pyproject.toml")
    monkeypatch.setattr(build_layer, "PACKAGE_DIR", package)
    first = build_layer.source_hash()
    assert first == build_layer.source_hash()
    (package / "voicelane" / "resources.py").write_text("# changed\n", encoding="utf-8")
    assert build_layer.source_hash() != first
    assert build_layer.source_hash("sources") != build_layer.source_hash("full")


def test_sources_only_build_and_cache(tmp_path: Path) -> None:
    out = tmp_path / "layer"
    build_layer.build(out, mode="sources")
    assert (out / "python" / "voicelane" / "resources.py").exists()
    assert build_layer.is_fresh(out, "sources")
    stamp = (out / build_layer.STAMP_NAME).stat().st_mtime_ns
    build_layer.build(out, mode="sources")  # cached: untouched
    assert (out / build_layer.STAMP_NAME).stat().st_mtime_ns == stamp


def test_pip_pins_lambda_platform() -> None:
    options = " ".join(build_layer.PIP_OPTIONS)
    assert "--platform manylinux2014_aarch64" in options
    assert "--only-binary=:all:" in options
    assert "--python-version 3.11" in options


def test_layer_ships_unchecked_hash_bytecode(tmp_path: Path) -> None:
    # /opt is read-only in Lambda: without shipped .pyc every cold start recompiles the sources;
    # unchecked-hash .pyc are used whatever mtimes the asset zip gives the files.
    out = tmp_path / "layer"
    build_layer.build(out, mode="sources")
    pyc = out / "python" / "voicelane" / "__pycache__" / "resources.cpython-311.pyc"
    assert pyc.exists()
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off (PEP 552)


# The local platform (moto server and patches, runner, demo, CLI: package `voicelane_local`,
# layers/local) and the media plane sit above the layer; none of it may ship to Lambda.
_NOT_IN_LAYER = ("moto", "voicelane_media", "voicelane_local", "voicelane.local")


def _imported(node: ast.AST) -> list[str]:
    """The absolute module names an import statement or ``import_module("...")`` call names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def _forbidden_imports(root: Path) -> list[str]:
    """``file:line: module`` for every import (at any depth, lazy ones too) of a forbidden
    module under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = parse_python(path)
        for node in ast.walk(tree):
            bad = [n for n in _imported(node)
                   if any(n == m or n.startswith(f"{m}.") for m in _NOT_IN_LAYER)]
            if bad:
                found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}: {bad[0]}")
    return found


def _assert_no_local_platform(layer: Path) -> None:
    python = layer / "python"
    assert (python / "voicelane" / "container.py").exists()
    assert not (python / "voicelane" / "local").exists()
    assert not (python / "voicelane" / "cli.py").exists()
    for name in ("moto", "voicelane_local", "voicelane_media", "uvicorn"):
        assert not (python / name).exists(), name
        assert not list(python.glob(f"{name}-*.dist-info")), name
    assert _forbidden_imports(python) == []


def test_layer_sources_are_the_voicelane_package_only() -> None:
    # The hash (the cache key) covers exactly what is shipped: layers/voicelane, nothing of
    # layers/local or media-fargate, so editing the local platform never rebuilds the layer.
    for path in build_layer._source_files():
        assert path.is_relative_to(build_layer.PACKAGE_DIR), path
    assert not (build_layer.PACKAGE_DIR / "voicelane" / "local").exists()


def test_sources_layer_has_no_local_platform(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "voicelane-pkg"
    shutil.copytree(build_layer.PACKAGE_DIR / "voicelane", package / "voicelane",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(build_layer.PACKAGE_DIR / "pyproject.toml", package / "pyproject.toml")
    monkeypatch.setattr(build_layer, "PACKAGE_DIR", package)
    before = build_layer.source_hash("sources")
    # What a checkout keeps of a package that moved out: a directory of bytecode only.
    stale = package / "voicelane" / "local" / "__pycache__"
    stale.mkdir(parents=True)
    (stale / "platform.cpython-311.pyc").write_bytes(b"stale")
    assert build_layer.source_hash("sources") == before
    out = build_layer.build(tmp_path / "layer", mode="sources")
    _assert_no_local_platform(out)


def test_built_layer_has_no_local_platform() -> None:
    # The layer synth deploys (build/layer: the cached build, with its third-party packages
    # unless VOICELANE_LAYER_MODE=sources): no moto, no local platform, no media plane.
    mode = "sources" if os.environ.get("VOICELANE_LAYER_MODE") == "sources" else "full"
    layer = build_layer.build(build_layer.BUILD_DIR, mode=mode)
    assert build_layer.is_fresh(layer, mode)
    _assert_no_local_platform(layer)
