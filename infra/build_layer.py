"""Build the `voicelane` Lambda layer without Docker.

The layer is ``build/layer/python/...``: the `voicelane` package (copied from layers/voicelane,
pure Python) and the dependencies its pyproject.toml declares, installed by pip for the Lambda runtime's platform
(``manylinux2014_aarch64``, CPython 3.11, binary wheels only) so no compiler and no Docker
engine are needed. boto3/botocore/s3transfer are removed: the Lambda runtime ships them.
Nothing else of the repository goes in: not ``voicelane_media`` (media-fargate) and not the
dev-only local platform ``voicelane_local`` (layers/local: moto server, runner, demo, CLI).

The build is cached: a stamp file holds a hash of layers/voicelane/pyproject.toml, the package
sources and the pip options; when it matches, nothing is done (synth stays fast and offline).

    python infra/build_layer.py            # build if stale, print the layer directory
    python infra/build_layer.py --force    # rebuild
    python infra/build_layer.py --check    # exit 1 if stale (CI)

Every module is shipped with its bytecode (``__pycache__/*.cpython-311.pyc``, unchecked-hash):
/opt is read-only in Lambda, so without .pyc files every cold start would compile the layer's
sources again (fastapi, pydantic, ... : hundreds of ms). Unchecked-hash .pyc files are used
whatever the files' mtimes (CDK zips assets with a fixed timestamp) and never re-validated, which is
right for an immutable layer. They are written only when this script runs on CPython 3.11, the
runtime's version (another interpreter's .pyc would be ignored).

With ``--sources-only`` (or VOICELANE_LAYER_MODE=sources) the layer holds only the `voicelane`
sources, no third-party packages: for air-gapped synth checks only, never deploy that.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "layers" / "voicelane"
BUILD_DIR = REPO / "build" / "layer"
STAMP_NAME = ".voicelane-layer-hash"

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.11"
PIP_OPTIONS = (
    "--platform",
    PLATFORM,
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
    "--upgrade",
)
# Provided by the Lambda Python runtime; shipping them would only grow the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", "build", "dist"}
BYTECODE = "pyc=unchecked-hash"  # part of the build hash: changing it rebuilds the layer


def _package_files() -> list[Path]:
    """The files of the `voicelane` package that the layer ships (and the hash covers)."""
    files = []
    for path in sorted((PACKAGE_DIR / "voicelane").rglob("*")):
        if path.is_file() and not (_SKIP_DIRS & set(path.relative_to(PACKAGE_DIR).parts)):
            if path.suffix in {".pyc", ".pyo"}:
                continue
            files.append(path)
    return files


def _source_files() -> list[Path]:
    return [PACKAGE_DIR / "pyproject.toml", *_package_files()]


def _copy_package(target: Path) -> None:
    """Copy exactly the hashed package files into ``target`` (``target/voicelane/...``): a
    directory left behind with only bytecode (say a package that moved out) is not shipped."""
    for path in _package_files():
        dest = target / path.relative_to(PACKAGE_DIR)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)


def source_hash(mode: str = "full") -> str:
    """Hash of everything that decides the layer's content."""
    digest = hashlib.sha256()
    digest.update(f"mode={mode};{' '.join(PIP_OPTIONS)};{RUNTIME_PROVIDED};{BYTECODE}".encode())
    for path in _source_files():
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def project_dependencies() -> list[str]:
    """The runtime dependencies declared in layers/voicelane/pyproject.toml."""
    with (PACKAGE_DIR / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    return list(project.get("dependencies", []))


def _stamp(build_dir: Path) -> str | None:
    stamp = build_dir / STAMP_NAME
    return stamp.read_text().strip() if stamp.exists() else None


def is_fresh(build_dir: Path = BUILD_DIR, mode: str = "full") -> bool:
    return _stamp(build_dir) == source_hash(mode)


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            "building the Lambda layer failed (pip needs PyPI once; later synths use the cache; "
            "for an air-gapped synth check use VOICELANE_LAYER_MODE=sources):\n"
            f"$ {' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )


def compile_bytecode(root: Path) -> bool:
    """Write unchecked-hash .pyc files for every module under ``root`` (what Lambda imports).

    Returns False (and writes nothing) when this interpreter is not the runtime's version.
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        print(
            f"warning: Python {sys.version_info.major}.{sys.version_info.minor} is not the Lambda "
            f"runtime's {PYTHON_VERSION}: no .pyc files, cold starts will compile the sources",
            file=sys.stderr,
        )
        return False
    return compileall.compile_dir(
        root, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )


def build(build_dir: Path = BUILD_DIR, *, force: bool = False, mode: str = "full") -> Path:
    """Build the layer into ``build_dir`` unless the cached build matches; return build_dir."""
    wanted = source_hash(mode)
    if not force and _stamp(build_dir) == wanted:
        return build_dir
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="layer-", dir=build_dir.parent))
    try:
        target = staging / "python"
        _copy_package(target)
        if mode != "sources":
            # The project is pure Python: its package is copied; now install its declared
            # dependencies for the Lambda platform, binary wheels only (no compiler, no Docker).
            deps = project_dependencies()
            if deps:
                _pip("install", "-q", "--no-compile", "--target", str(target), *PIP_OPTIONS, *deps)
            for name in RUNTIME_PROVIDED:
                for path in target.glob(f"{name}"):
                    shutil.rmtree(path)
                for path in target.glob(f"{name}-*.dist-info"):
                    shutil.rmtree(path)
            shutil.rmtree(target / "bin", ignore_errors=True)
        compile_bytecode(target)
        (staging / STAMP_NAME).write_text(wanted + "\n")
        if build_dir.exists():
            shutil.rmtree(build_dir)
        staging.rename(build_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return build_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache is fresh")
    parser.add_argument("--check", action="store_true", help="exit 1 if the layer is stale")
    parser.add_argument("--sources-only", action="store_true", help="no third-party packages")
    parser.add_argument("--out", type=Path, default=BUILD_DIR)
    args = parser.parse_args(argv)
    mode = (
        "sources"
        if args.sources_only or os.environ.get("VOICELANE_LAYER_MODE") == "sources"
        else "full"
    )
    if args.check:
        fresh = is_fresh(args.out, mode)
        print("fresh" if fresh else "stale")
        return 0 if fresh else 1
    print(build(args.out, force=args.force, mode=mode))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
