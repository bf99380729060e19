"""Helpers for invoking functions/ handlers with the samples in events/."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicelane.container import Container

from tests.fresh_numbers import e164

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str = "voicelane-test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:voicelane-test-fn"
    aws_request_id: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def load_event(name: str, **values: str) -> dict[str, Any]:
    """events/<name>.json with its {{PLACEHOLDERS}} replaced by `values` (JSON-escaped)."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", json.dumps(value)[1:-1])
    assert "{{" not in text, f"unreplaced placeholder in {name}: {text}"
    event: dict[str, Any] = json.loads(text)
    return event


@dataclass
class Deployment:
    """A tenant with a number: what the placeholders of the samples stand for."""

    container: Container
    app_id: str
    api_key: str
    from_number: str

    def values(self, **more: str) -> dict[str, str]:
        return {"APP_ID": self.app_id, "API_KEY": self.api_key, "FROM_NUMBER": self.from_number,
                "NEW_NUMBER": e164("1646"), **more}
