"""Fixture loading for the WebSocket dialect tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ws"


def fixture(dialect: str, name: str) -> str:
    """The fixture's text exactly as stored (pretty-printed, as the docs show it)."""
    return (FIXTURES / dialect / f"{name}.json").read_text()


def compact(dialect: str, name: str) -> str:
    """The fixture as one compact JSON text, key order kept: the bytes a serializer sends."""
    return json.dumps(json.loads(fixture(dialect, name)), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text)


def all_fixtures() -> list[tuple[str, str]]:
    return sorted((p.parent.name, p.read_text()) for p in FIXTURES.glob("*/*.json"))
