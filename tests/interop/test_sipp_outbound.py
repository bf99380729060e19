"""Outbound calls from the API through a media node to sipp acting as the called party
(a plain `sipp -sn uas`, a trunk that challenges with digest, a trunk out of service)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import (
    SCENARIOS,
    Api,
    Sipp,
    download_recording,
    new_number,
    requires_sipp,
    wav_channels,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


HELD_S = 1.0  # how long the outbound test keeps its answered call up before hanging up


def _trunk(api: Api, port: int, **extra: object) -> dict[str, object]:
    body = {"name": f"sipp-{port}", "host": "127.0.0.1", "port": port, "transport": "udp", **extra}
    created: dict[str, object] = api.ok(api.post("/v1/trunks", body))
    return created


def _create_call(api: Api, **extra: object) -> str:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550199", **extra}))
    assert call["status"] == "queued"
    return str(call["id"])


def test_outbound_call_to_sipp_uas_rings_answers_and_hangs_up(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas")
    _trunk(api, peer.port)
    created = time.monotonic()
    call_id = _create_call(api, sip_headers={"X-Campaign": "spring"})

    answered = api.wait_status(call_id, {"in_progress"})
    assert answered["answered_at"] is not None
    time.sleep(HELD_S)  # the call is up at least this long: sipp's uas waits for our BYE
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})
    elapsed = time.monotonic() - created

    assert done["end_reason"] == "hangup_by_api"
    assert HELD_S <= done["duration_s"] <= elapsed, (done["duration_s"], elapsed)
    assert done["quality"]["packets_sent"] > 0
    types = api.event_types(call_id)
    assert types[:4] == ["call.queued", "call.initiated", "call.ringing", "call.answered"]
    assert types[-1] == "call.completed"
    assert peer.wait() == 0, peer.output()


def test_end_to_end_call_speaks_records_and_completes_with_quality(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    """THE end-to-end path: create, ringing, answered, speak and record, hangup, completed
    with a recording and quality stats, all through the public API."""
    peer = sipp("-sn", "uas")
    _trunk(api, peer.port)
    call_id = _create_call(api, recording=True)
    api.wait_status(call_id, {"in_progress"})

    accepted = api.action(call_id, "speak", {"text": "Hello from Voicelane.", "command_id": "s1"})
    assert accepted.status_code in (200, 202), accepted.text
    ended = api.wait_event(call_id, "call.speak.ended")
    assert ended["details"]["played_samples"] > 8000  # more than a second of speech went out
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})

    assert done["end_reason"] == "hangup_by_api" and done["duration_s"] > 1
    quality = done["quality"]
    assert quality["packets_sent"] >= 50 and 1.0 <= quality["mos"] <= 4.5
    saved = api.wait_event(call_id, "call.recording.saved")
    record, wav = download_recording(api, call_id)
    assert record["s3_key"] == saved["details"]["s3_key"] == f"recordings/{api.app_id}/{call_id}.wav"
    channels, rms = wav_channels(wav)
    assert channels == 2
    assert rms[1] > 300, f"the platform channel should hold the speech, rms={rms}"
    types = api.event_types(call_id)
    for expected in ("call.ringing", "call.answered", "call.speak.started", "call.speak.ended",
                     "call.recording.saved", "call.completed"):
        assert expected in types, types
    assert types.index("call.speak.ended") < types.index("call.completed")
    assert peer.wait() == 0, peer.output()


def test_each_retransmitted_200_gets_its_own_ack(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sf", str(SCENARIOS / "uas_2xx_retransmitted.xml"), "-trace_screen",
                "-screen_file", "screen.log")
    _trunk(api, peer.port)
    call_id = _create_call(api)
    api.wait_status(call_id, {"in_progress"})
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    assert peer.wait() == 0, peer.output()
    # sipp counts each ACK after the first as a retransmission of it (and answers one with its
    # 200 again, so there can be several before our BYE); without them the count is 0
    acks = re.findall(r"-+> ACK\s+(\d+)\s+(\d+)", (peer.logdir / "screen.log").read_text())
    assert acks and acks[-1][0] == "1" and int(acks[-1][1]) >= 1, acks


def test_trunk_digest_challenge_is_answered_and_the_call_connects(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    trunk = sipp("-sf", str(SCENARIOS / "uas_digest.xml"))
    _trunk(api, trunk.port, username="trunkuser", password="s3cret")
    call_id = _create_call(api)
    api.wait_status(call_id, {"in_progress"})
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    assert trunk.wait() == 0, trunk.output()


def test_trunk_with_wrong_password_fails_the_call_with_403(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    trunk = sipp("-sf", str(SCENARIOS / "uas_digest.xml"))
    _trunk(api, trunk.port, username="trunkuser", password="wrong")
    call_id = _create_call(api)
    failed = api.wait_status(call_id, {"failed"})
    assert failed["sip_cause"] == 403 and failed["end_reason"] == "call_rejected"


def test_trunk_answering_503_fails_over_to_the_next_trunk(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    broken = sipp("-sf", str(SCENARIOS / "uas_503.xml"))
    healthy = sipp("-sn", "uas")
    _trunk(api, broken.port, priority=1)
    _trunk(api, healthy.port, priority=2)
    call_id = _create_call(api)
    api.wait_status(call_id, {"in_progress"})
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert broken.wait() == 0, broken.output()
    assert healthy.wait() == 0, healthy.output()
