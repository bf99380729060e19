"""One synth per test session: the Voicelane stack for stage ``test`` (environment-agnostic,
no AWS credentials, no Docker: CDK_DOCKER points at a command that fails, so any attempt to
build an image or bundle at synth would fail the session)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[2]
for _path in (_REPO / "infra", _REPO / "layers" / "voicelane"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
for _flag in ("DEPRECATED", "END_OF_LIFE"):
    os.environ.setdefault(f"JSII_SILENCE_WARNING_{_flag}_NODE_VERSION", "18,20")

from tests.infra.helpers_infra import STAGE, synth  # noqa: E402


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return synth(tmp_path_factory.mktemp("synth"), {"stage": STAGE})


@pytest.fixture(scope="session")
def resources_json(template: Any) -> dict[str, dict[str, Any]]:
    return template.to_json()["Resources"]  # type: ignore[no-any-return]
