"""Every JSON example in docs/*.md is a request the API accepts.

A ```json block is a request body: the line before it names its route (`` `POST /v1/...` ``).
Other JSON (a webhook payload with comments) is fenced ```jsonc and is not sent. Each body goes
to the in-process API (the same app, on the session's moto) as a fresh app's test key; the
answer must be 2xx and show what was sent. DNS is the only stand-in: the docs' hosts are
`*.example.com`, which resolve to a public documentation address here instead of the network.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from voicelane.api import deps
from voicelane.api.app import create_app
from voicelane.container import Container
from voicelane.settings import get_settings
from voicelane_local.platform import LocalPlatform

DOCS = Path(__file__).resolve().parents[3] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/v1/[^`\s]*)`")


@dataclass
class Example:
    where: str
    method: str
    path: str
    body: Any


def json_examples() -> list[Example]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) != "json":
                continue
            line_no = text.count("\n", 0, match.start()) + 1
            where = f"{doc.name}:{line_no}"
            before = [ln for ln in text[:match.start()].splitlines() if ln.strip()][-1]
            routes = ROUTE.findall(before)
            assert len(routes) == 1, f"{where}: the line before a json block names no one route"
            method, path = routes[0]
            assert "{" not in path, f"{where}: {path} needs ids the example cannot know"
            found.append(Example(where, method, path, json.loads(match.group(2))))
    return found


class DocsResolver:
    """The docs' example hosts resolve to a public address; nothing else resolves."""

    def resolve(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        if host == "example.com" or host.endswith(".example.com"):
            return [ipaddress.ip_address("93.184.215.14")]
        raise OSError(f"{host}: not a documentation host")


@pytest.fixture
def api(local_platform: LocalPlatform, new_tenant: Callable[..., Any]) -> Iterator[TestClient]:
    c = Container(get_settings())
    for service in (c.agents, c.numbers, c.calls):
        service.resolver = DocsResolver()
    app = create_app()
    app.dependency_overrides[deps.container] = lambda: c
    tenant = new_tenant("docs")
    with TestClient(app, headers=tenant.headers) as client:
        yield client


def shows(answer: Any, sent: Any) -> bool:
    """Whether the answer holds what was sent (objects may add fields, e.g. defaults)."""
    if isinstance(sent, dict):
        return isinstance(answer, dict) and all(k in answer and shows(answer[k], v)
                                                for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(answer, list) and len(answer) == len(sent) and all(
            shows(a, s) for a, s in zip(answer, sent, strict=True))
    return bool(answer == sent)


def test_the_docs_have_request_examples() -> None:
    routes = {(e.method, e.path) for e in json_examples()}
    assert {("POST", "/v1/agents"), ("POST", "/v1/numbers")} <= routes


@pytest.mark.parametrize("example", json_examples(), ids=lambda e: e.where)
def test_a_docs_example_is_accepted(example: Example, api: TestClient) -> None:
    r = api.request(example.method, example.path, json=example.body)
    assert 200 <= r.status_code < 300, f"{example.where}: {r.status_code} {r.text}"
    assert shows(r.json(), example.body), f"{example.where}: {r.text}"
    if example.path == "/v1/numbers":  # numbers are global: give it back
        assert api.delete(f"/v1/numbers/{example.body['number']}").status_code == 204


def test_shows_tells_a_different_answer() -> None:
    assert shows({"a": 1, "b": [{"c": 2, "d": 3}]}, {"b": [{"c": 2}]})
    assert not shows({"a": 1, "b": [{"c": 2}]}, {"b": [{"c": 3}]})
    assert not shows({"a": 1}, {"a": 1, "b": 2})
