"""Media-plane services against the in-memory gateway (no moto): claims, inbound creation,
transitions and artifacts follow the same rules as on DynamoDB/SQS/S3."""

from __future__ import annotations

import asyncio
import io
import wave
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from voicelane.adapters.memory_media_gateway import InMemoryMediaGateway
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.call_factory import new_call
from voicelane.domain.errors import LimitExceeded, NotFound
from voicelane.domain.models import App, Call, Number
from voicelane_media.calls.manager import CallManager
from voicelane_media.media import AudioError, audio
from voicelane_media.node.control import ControlPlane
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.base import CallHost, Transport
from voicelane_media.transports.sip.inbound import offer_inbound

NOW = "2026-12-04T20:00:00.000Z"


def an_app(app_id: str = "app_1", cap: int = 10) -> App:
    return App(app_id=app_id, name="test", created_at=NOW, max_concurrent_calls=cap)


def an_outbound(app: App) -> Call:
    return new_call(app, direction=Direction.OUTBOUND, status=CallStatus.QUEUED,
                    from_="+14155550100", to="+14155550101", from_channel=Channel.PSTN,
                    to_channel=Channel.PSTN)


class NoTransports:
    """A transport room that is never asked for a transport (the claim is under test)."""

    def attach(self, host: CallHost) -> None:
        pass

    async def open_outbound(self, call: Call) -> Transport:
        raise AssertionError("dialling is replaced in these tests")

    def stop_accepting(self) -> None:
        pass

    async def close(self) -> None:
        pass


def manager_for(control: ControlPlane) -> CallManager:
    return CallManager(MediaSettings(node_id=control.node_id), control, NoTransports())


@pytest.fixture
def gateway() -> InMemoryMediaGateway:
    gw = InMemoryMediaGateway()
    gw.add_app(an_app())
    return gw


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Call ids CallManager hands to place_outbound (no SIP: the claim is under test)."""
    placed: list[str] = []

    async def place(manager: CallManager, call: Call) -> None:
        placed.append(call.call_id)

    monkeypatch.setattr(CallManager, "place_outbound", place)
    return placed


async def take_all(manager: CallManager, messages: list[dict[str, Any]]) -> None:
    manager.claiming += len(messages)  # as poll_forever counts them before take()
    await asyncio.gather(*(manager.take(m) for m in messages))
    await asyncio.sleep(0)  # let the spawned (fake) dials run


async def test_a_redelivered_request_is_claimed_and_dialled_once(
        gateway: InMemoryMediaGateway, dialled: list[str]) -> None:
    call = gateway.queue_call(an_outbound(an_app()))
    one, two = ControlPlane(gateway, "node-1"), ControlPlane(gateway, "node-2")
    first = await one.receive_requests(0, 10)
    gateway.queue.redeliver()  # the visibility timeout expired before the first delete
    second = await two.receive_requests(0, 10)
    assert [one.call_id_of(m) for m in first + second] == [call.call_id, call.call_id]
    await asyncio.gather(take_all(manager_for(one), first), take_all(manager_for(two), second))
    assert dialled == [call.call_id]
    stored = gateway.get_call(call.call_id)
    assert stored is not None and stored.status == CallStatus.INITIATED
    assert stored.media_node in ("node-1", "node-2")
    assert [e.type for e in gateway.events(call.call_id)] == ["call.queued", "call.initiated"]
    assert not gateway.queue.in_flight and not gateway.queue.visible  # both copies deleted


async def test_a_request_naming_no_call_is_deleted_and_a_canceled_call_not_dialled(
        gateway: InMemoryMediaGateway, dialled: list[str]) -> None:
    call = gateway.queue_call(an_outbound(an_app()))
    gateway.transition(call.call_id, CallStatus.CANCELED, {"end_reason": "canceled_by_api"}, {})
    gateway.queue.send(None)
    control = ControlPlane(gateway, "node-1")
    messages = await control.receive_requests(0, 10)
    await take_all(manager_for(control), messages)
    assert dialled == []
    assert not gateway.queue.in_flight and len(gateway.queue.deleted) == 2


async def test_create_inbound_takes_a_slot_and_refuses_over_the_cap() -> None:
    gateway = InMemoryMediaGateway()
    gateway.add_app(an_app(cap=1))
    number = gateway.add_number(Number(number="+14155550199", app_id="app_1", created_at=NOW))
    control = ControlPlane(gateway, "node-1")
    call = await control.create_inbound(number, "+14155550123", {"X-Ref": "7"})
    assert (call.status, call.media_node, call.event_seq) == (CallStatus.INITIATED, "node-1", 1)
    assert call.sip_headers == {"X-Ref": "7"} and call.direction == Direction.INBOUND
    assert gateway.app("app_1").active_calls == 1  # type: ignore[union-attr]
    with pytest.raises(LimitExceeded):
        await control.create_inbound(number, "+14155550124", {})
    assert len(gateway.call_store.calls) == 1


async def test_a_number_of_a_missing_app_is_refused_with_404_and_no_call_record(
        gateway: InMemoryMediaGateway) -> None:
    number = gateway.add_number(Number(number="+14155550198", app_id="app_gone", created_at=NOW))
    control = ControlPlane(gateway, "node-1")
    with pytest.raises(NotFound) as err:  # never "10,000 concurrent calls allowed"
        await control.create_inbound(number, "+14155550123", {})
    assert err.value.code == "app_not_found"
    rejected: list[int] = []

    async def reject(code: int, reason: str = "") -> None:
        rejected.append(code)

    invite = SimpleNamespace(number=number.number, reject=reject)
    context = SimpleNamespace(control=control)  # the number lookup answers before SIP matters
    await offer_inbound(context, manager_for(control), invite)  # type: ignore[arg-type]
    assert rejected == [404]
    assert gateway.call_store.calls == {}


async def test_transitions_follow_the_state_machine_with_gap_free_events(
        gateway: InMemoryMediaGateway) -> None:
    call = gateway.queue_call(an_outbound(an_app()))
    control, other = ControlPlane(gateway, "node-1"), ControlPlane(gateway, "node-2")
    assert await control.claim(call.call_id) is not None
    assert await other.claim(call.call_id) is None
    assert await other.transition(call.call_id, CallStatus.RINGING) is None  # not its call
    assert await control.transition(call.call_id, CallStatus.RINGING) is not None
    await control.record_event(call.call_id, "call.dtmf.received", {"digit": "5"})
    assert await control.transition(call.call_id, CallStatus.IN_PROGRESS) is not None
    done = await control.transition(call.call_id, CallStatus.COMPLETED, {"end_reason": "hangup"})
    assert done is not None and done.end_reason == "hangup"
    assert await control.transition(call.call_id, CallStatus.RINGING) is None  # illegal now
    events = gateway.events(call.call_id)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events][-1] == "call.completed"
    assert gateway.app("app_1").active_calls == 0  # type: ignore[union-attr]


def tone_wav(rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.sin(np.arange(800) / 3) * 8000).astype("<i2").tobytes())
    return out.getvalue()


async def test_recordings_transcripts_and_audio_objects_go_through_the_gateway(
        gateway: InMemoryMediaGateway) -> None:
    call = gateway.queue_call(an_outbound(an_app()))
    control = ControlPlane(gateway, "node-1")
    key = await control.save_recording(call, tone_wav(), 0.1)
    assert key == f"recordings/app_1/{call.call_id}.wav"
    meta = gateway.artifacts.recordings[call.call_id]
    assert (meta.s3_key, meta.channels, meta.size_bytes) == (key, 2, len(tone_wav()))
    assert meta.sample_rate == 8000
    await control.save_recording(call, tone_wav(16000), 0.05)  # a wideband transport's call
    assert gateway.artifacts.recordings[call.call_id].sample_rate == 16000  # its WAV header's
    await control.save_recording(call, tone_wav(), 0.1)
    pcm = await audio.load(key, objects=control)  # play_url of a recordings-bucket key
    assert len(pcm) == 800
    with pytest.raises(AudioError, match="cannot read"):
        await audio.load("prompts/missing.wav", objects=control)
    with pytest.raises(AudioError, match="no object store"):
        await audio.load(key)
    await control.save_transcript(call, {"turns": [{"role": "agent", "text": "hi"}]},
                                  "caller_hangup", None)
    record = gateway.artifacts.transcripts[call.call_id]
    assert record.content["turns"][0]["text"] == "hi" and record.reason == "caller_hangup"


async def test_node_registry(gateway: InMemoryMediaGateway) -> None:
    control = ControlPlane(gateway, "node-1")
    node = await control.register("http://10.0.0.1:9000", 50, "10.0.0.1:5060")
    node = await control.heartbeat(node, 3, "draining")
    assert gateway.node_store.get("node-1") == node and node.live_calls == 3
    await control.deregister()
    assert gateway.node_store.get("node-1") is None
