"""The layer build: cached by a hash of the package, pinned to the Lambda platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import build_layer


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
