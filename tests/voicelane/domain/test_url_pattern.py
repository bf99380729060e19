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
