"""The app-URL rule means the same in the OpenAPI schema (ECMA regex) and on the server
(pydantic): a character one treats as whitespace and the other not was a schema-valid URL
the server refused (U+0085 in a number's command_fallback.url, found by schemathesis)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from voicelane.domain.call_control import CommandFallback
from voicelane.domain.webhooks import URL_PATTERN


@pytest.mark.parametrize("url", ["http://\u0085x", "http://a b", "https://h/p\u00a0",
                                 "https://h/\ufeff", "http://u@h", "http://h/\u2028"])
def test_whitespace_controls_and_credentials_are_refused_everywhere(url: str) -> None:
    assert re.match(URL_PATTERN, url) is None
    with pytest.raises(ValidationError):
        CommandFallback(url=url)


def test_an_ordinary_url_passes() -> None:
    assert CommandFallback(url="https://app.example.com/voice?x=1").url
    assert "\\s" not in URL_PATTERN  # the one class the two regex dialects disagree on


def test_a_stream_url_with_a_character_only_python_calls_whitespace_is_refused_everywhere(
        ) -> None:
    """CI found it: `wss://...\\u0085...` in a number's stream was schema-valid (ECMA \\s has
    no U+0085) and refused by the server (pydantic's \\s has it). Now both refuse it."""
    from voicelane.domain.stream import StreamSpec
    pattern = StreamSpec.model_json_schema()["properties"]["url"]["pattern"]
    assert "\\s" not in pattern
    for url in ("wss://h\u0085x", "wss://a b"):
        assert re.match(pattern, url) is None
        with pytest.raises(ValidationError):
            StreamSpec(url=url)
    assert StreamSpec(url="wss://bot.example.com/media?x=1").url
