"""The AWS media gateway on moto: what the media plane writes through it is what the API
reads back (one key layout), and its claim is the conditional one."""

from __future__ import annotations

import pytest
from voicelane.container import Container
from voicelane.domain.call import CallStatus
from voicelane.domain.call_factory import new_inbound_call
from voicelane.domain.clock import now_iso
from voicelane.domain.errors import NotFound
from voicelane.domain.models import App, Number
from voicelane.media_gateway import TranscriptRecord
from voicelane.ports import CallCreation
from voicelane.services.lifecycle import make_event

from tests.voicelane.adapters.call_helpers import Caller, fresh_number


def test_recording_and_transcript_written_by_the_gateway_are_served_by_the_api(
        caller: Caller) -> None:
    container = caller.container
    gateway = container.media_gateway
    call = caller.place()
    wav = b"RIFF" + bytes(60)
    meta = gateway.save_recording(call, wav, 1.23456)
    gateway.save_transcript(TranscriptRecord(
        call_id=call.call_id, app_id=call.app_id, agent_id=None, reason="caller_hangup",
        transferred_to=None, created_at=now_iso(),
        content={"turns": [{"role": "agent", "text": "hello"}], "metrics": []}))
    app = container.apps.get_app(call.app_id)
    recording = container.artifacts.recording(app, call.call_id)
    assert recording["s3_key"] == meta.s3_key == f"recordings/{call.app_id}/{call.call_id}.wav"
    assert float(recording["duration_s"]) == 1.235 and int(recording["size_bytes"]) == len(wav)
    assert int(recording["sample_rate"]) == 8000  # no readable WAV header: G.711's rate
    assert recording["download_url"]
    assert gateway.read_object(meta.s3_key, 1024) == wav
    transcript = container.artifacts.transcript(app, call.call_id)
    assert transcript["turns"] == [{"role": "agent", "text": "hello"}]
    assert transcript["reason"] == "caller_hangup"
    assert {item["sk"] for item in caller.items(call.call_id)} >= {"RECORDING", "TRANSCRIPT"}


def test_a_queued_call_is_claimed_once(caller: Caller) -> None:
    gateway = caller.container.media_gateway
    call = caller.place()
    claimed = gateway.claim(call.call_id, "gw-node-1")
    assert claimed is not None and claimed.status == CallStatus.INITIATED
    assert gateway.claim(call.call_id, "gw-node-2") is None
    stored = gateway.get_call(call.call_id)
    assert stored is not None and stored.media_node == "gw-node-1"
    assert [e.type for e in caller.container.call_repo.list_events(call.call_id)] == [
        "call.queued", "call.initiated"]


def test_an_inbound_call_for_a_missing_app_is_refused_not_counted_as_a_full_app(
        container: Container) -> None:
    number = Number(number=fresh_number(), app_id="app_missing", created_at=now_iso())
    with pytest.raises(NotFound) as by_gateway:
        container.media_gateway.create_inbound(number, "+14155550123", {}, "gw-node-1")
    assert by_gateway.value.code == "app_not_found"
    # the repository's own answer when the app item is absent: not "at its cap"
    ghost = App(app_id="app_missing", name="gone", created_at=now_iso())
    call = new_inbound_call(ghost, number, "+14155550123", "gw-node-1")
    event = make_event(call, "call.initiated")
    with pytest.raises(NotFound) as by_repo:
        container.call_repo.create(CallCreation(call=call, event=event, takes_slot=True,
                                                max_concurrent=10))
    assert by_repo.value.code == "app_not_found"
    assert container.call_repo.get(call.call_id) is None


def test_a_bridge_sets_and_clears_bridged_call_id_with_its_event(caller: Caller) -> None:
    """On DynamoDB: the field and its event in one write, the event showing the call as it
    is after it; clearing removes the attribute."""
    gateway = caller.container.media_gateway
    call = caller.place()
    gateway.claim(call.call_id, "gw-node-1")
    leg = gateway.create_leg(call.call_id, "+14155550188", call.from_, "gw-node-1", "transfer")
    assert leg.recording == call.recording and leg.parent_call_id == call.call_id
    event = gateway.record_bridge(call.call_id, leg.call_id, "call.bridged",
                                  {"bridged_call_id": leg.call_id, "purpose": "transfer"})
    assert event.data["bridged_call_id"] == leg.call_id
    stored = gateway.get_call(call.call_id)
    assert stored is not None and stored.bridged_call_id == leg.call_id
    assert stored.event_seq == event.sequence
    gateway.record_bridge(call.call_id, None, "call.unbridged", {})
    cleared = gateway.get_call(call.call_id)
    assert cleared is not None and cleared.bridged_call_id is None
    item = next(i for i in caller.items(call.call_id) if i["sk"] == "CALL")
    assert "bridged_call_id" not in item
    types = [e.type for e in caller.container.call_repo.list_events(call.call_id)]
    assert types[-2:] == ["call.bridged", "call.unbridged"]
