"""The checked-in OpenAPI document matches the code, and every route errs in the one shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from api_helpers import assert_error
from voicelane.openapi import document, render

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_is_up_to_date() -> None:
    current = render(document())
    assert CHECKED_IN.exists(), "docs/openapi.json is missing: run `python -m voicelane.openapi`"
    assert json.loads(CHECKED_IN.read_text()) == json.loads(current), (
        "docs/openapi.json differs from the API: regenerate it with `python -m voicelane.openapi`"
    )


def test_openapi_json_is_served(http: httpx.Client) -> None:
    r = http.get("/openapi.json")
    assert r.status_code == 200 and r.json() == document()


def _routes() -> list[tuple[str, str]]:
    out = []
    for path, ops in document()["paths"].items():
        for method in ops:
            if path not in ("/healthz",):
                out.append((method.upper(), path))
    return out


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_refuses_a_missing_key_in_the_one_shape(
    http: httpx.Client, method: str, path: str
) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x_unknown", path)
    r = http.request(method, concrete, json={})
    assert_error(r, 401, r.json().get("error", {}).get("code", "?"))
