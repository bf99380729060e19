"""Media-stream sessions on moto: the connect instructions, a token that connects once, and
the expiry of a session nobody connected to (its slot freed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from voicelane.contracts.sessions import CreateSessionRequest
from voicelane.domain.call import CallStatus
from voicelane.domain.tokens import verify

from tests.voicelane.adapters.call_helpers import Caller


def _session(caller: Caller, connection_type: str, **fields: Any) -> Any:
    app = caller.container.apps.get_app(caller.tenant.app.app_id)
    request = CreateSessionRequest.model_validate({"connection_type": connection_type, **fields})
    return caller.container.sessions.create(app, request)


def test_each_provider_gets_what_it_pastes(caller: Caller) -> None:
    twilio = _session(caller, "twilio")
    assert twilio.instructions is not None and twilio.instructions.twiml is not None
    stream = ElementTree.fromstring(twilio.instructions.twiml).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == twilio.connect_url
    assert "?" not in twilio.connect_url  # Twilio's stream URL takes no query string
    parameter = stream.find("Parameter")
    assert parameter is not None and parameter.get("name") == "token"
    assert parameter.get("value") == twilio.token

    plivo = _session(caller, "plivo")
    assert plivo.instructions is not None and plivo.instructions.plivo_xml is not None
    xml = ElementTree.fromstring(plivo.instructions.plivo_xml).find("Stream")
    assert xml is not None and xml.get("bidirectional") == "true"
    assert xml.text == f"{plivo.connect_url}?token={plivo.token}"

    telnyx = _session(caller, "telnyx")
    assert telnyx.instructions is not None and telnyx.instructions.telnyx is not None
    assert telnyx.instructions.telnyx.stream_url == f"{telnyx.connect_url}?token={telnyx.token}"
    assert telnyx.instructions.telnyx.stream_bidirectional_mode == "rtp"

    ours = _session(caller, "websocket", sample_rate=16000)
    assert ours.instructions is not None and ours.instructions.url.endswith(f"?token={ours.token}")
    browser = _session(caller, "webrtc")  # WHIP-style signalling on the same listener
    base = caller.container.settings.media_connect_url.rstrip("/")
    assert browser.connect_url.startswith(("http://", "https://"))
    assert browser.connect_url.endswith(f"/v1/media/webrtc/{browser.id}")
    assert browser.connect_url.split("://", 1)[1] == f"{base.split('://', 1)[1]}/webrtc/{browser.id}"
    assert browser.instructions is None and browser.ice_servers == [] and browser.token
    assert ours.ice_servers is None  # stream sessions have none
    later = caller.container.sessions.get(caller.container.apps.get_app(caller.tenant.app.app_id),
                                          ours.id)
    assert later.token is None and later.instructions is None  # shown once


def test_a_token_connects_its_session_once(caller: Caller) -> None:
    gateway = caller.container.media_gateway
    session = _session(caller, "twilio")
    claims = verify(session.token, caller.container.settings.session_token_secret)
    other = _session(caller, "twilio")
    assert gateway.claim_session(other.id, claims, "node-a") is None  # another session's token
    assert gateway.claim_session(session.id, {**claims, "app_id": "app_other"}, "node-a") is None
    call = gateway.claim_session(session.id, claims, "node-a")
    assert call is not None and call.status == CallStatus.INITIATED and call.media_node == "node-a"
    assert gateway.claim_session(session.id, claims, "node-b") is None  # reused
    stored = caller.container.sessions.sessions.get(session.id)
    assert stored is not None and stored.state == "connected" and stored.node_id == "node-a"
    # a connected session is never expired
    assert call.call_id not in caller.container.sessions.expire_due(
        datetime.now(UTC) + timedelta(hours=1))


def test_a_session_nobody_connects_to_expires_and_frees_its_slot(caller: Caller) -> None:
    container = caller.container
    before = caller.active_calls()
    session = _session(caller, "websocket")
    assert caller.active_calls() == before + 1
    assert session.call_id not in container.sessions.expire_due()  # not yet
    ended = container.sessions.expire_due(datetime.now(UTC) + timedelta(seconds=301))
    assert session.call_id in ended
    call = container.call_repo.get(session.call_id)
    assert call is not None and call.status == CallStatus.FAILED
    assert call.end_reason == "session_expired"
    assert caller.active_calls() == before
    claims = verify(session.token, container.settings.session_token_secret)
    assert container.media_gateway.claim_session(session.id, claims, "node-a") is None
    assert session.call_id not in container.sessions.expire_due(
        datetime.now(UTC) + timedelta(seconds=400))  # once
