"""The softphone's dev-only mint helper on the local platform's API: no API key from the
browser, the dev app's sessions and client tokens, and nothing at all outside local mode."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from voicelane.settings import get_settings
from voicelane_local.dev_softphone import softphone_url
from voicelane_local.platform import LocalPlatform


@pytest.fixture
def dev(local_platform: LocalPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_platform.api_url, timeout=15) as client:
        yield client


def test_the_page_mints_a_session_and_a_client_token_without_a_key(
        dev: httpx.Client, local_platform: LocalPlatform) -> None:
    # sent as the page sends it: a simple text/plain request, no Authorization header
    reply = dev.post("/dev/softphone/session", content='{"agent": {"name": "dev"}}',
                     headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert reply.status_code == 201, reply.text
    assert reply.headers["access-control-allow-origin"] == "*"
    session = reply.json()
    assert session["connection_type"] == "webrtc" and session["token"]
    app = local_platform.container.apps.get_app(local_platform.app_id)
    call = local_platform.container.calls.get(app, session["call_id"])
    assert call.app_id == local_platform.app_id  # the dev app's
    token = dev.post("/dev/softphone/client_token", content='{"identity": "alice"}').json()
    assert token["identity"] == "alice" and token["register_url"].endswith("/v1/media/clients")
    # a call to a phone without `from` takes the dev app's number (other tests of the
    # session may have registered some for it: register one when there is none)
    numbers = local_platform.container.numbers
    owned = {n.number for n in numbers.list(app)}
    if not owned:
        owned = {numbers.create(app, "+14155550142", None).number}
    used = dev.post("/dev/softphone/session", content='{"to": "+14155550199"}')
    assert used.status_code == 201, used.text
    assert local_platform.container.calls.get(app, used.json()["call_id"]).caller_id in owned
    refused = dev.post("/dev/softphone/session",
                       content='{"to": "+14155550199", "from": "+14155550177"}')
    assert refused.status_code == 422  # not a number of the dev app
    assert refused.json()["error"]["code"] == "from_number_not_owned"
    assert dev.post("/dev/softphone/session", content="[1]").status_code == 422


def test_outside_local_mode_the_helper_answers_nothing(
        dev: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "local", False)
    for path in ("/dev/softphone/session", "/dev/softphone/client_token"):
        reply = dev.post(path, content='{"agent": {"name": "dev"}}')
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"


def test_the_softphone_url_names_the_node_and_the_api() -> None:
    class Node:
        public_url = "ws://127.0.0.1:9123/v1/media"

    class Platform:
        extras = [object(), Node()]
        api_url = "http://127.0.0.1:8000"

    assert softphone_url(Platform()) == \
        "http://127.0.0.1:9123/softphone/#dev=http://127.0.0.1:8000"
    assert softphone_url(type("Bare", (), {"extras": []})()) is None
