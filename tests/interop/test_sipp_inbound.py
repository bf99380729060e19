"""Inbound calls from sipp to an app's number: an agent answers and greets; an app answers
with a command; audio and DTMF from the caller reach the recording and the API."""

from __future__ import annotations

import io
import socket
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode
from voicelane_media.codecs.g711 import ALAW_DECODE, pcma_from_pcm

from tests.interop.sipp_helpers import (
    SCENARIOS,
    Api,
    Sipp,
    bare_invite,
    download_recording,
    new_number,
    requires_sipp,
    statuses,
    wav_channels,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def _agent(api: Api, recording: bool = True, **more: object) -> str:
    agent = api.ok(api.post("/v1/agents", {
        "name": "front-desk", "system_prompt": "You are the front desk.",
        "greeting": "Hello, thanks for calling.", "recording": recording, **more}))
    return str(agent["id"])


def _inbound_call(api: Api, number: str) -> dict[str, object]:
    calls = api.ok(api.get("/v1/calls", params={"limit": 5}))["data"]
    mine = [c for c in calls if c["to"] == number and c["direction"] == "inbound"]
    assert mine, f"no inbound call to {number}: {calls}"
    return dict(mine[0])


def _wait_inbound(api: Api, number: str, timeout_s: float = 10) -> str:
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return str(_inbound_call(api, number)["id"])
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _write_caller_audio(directory: Path, seconds: float = 4.0) -> None:
    """A 440 Hz tone as raw A-law for sipp's rtp_stream (20 ms packets)."""
    t = np.arange(int(8000 * seconds)) / 8000
    tone = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    (directory / "caller.pcma").write_bytes(pcma_from_pcm(tone))


def _agent_call_with_tone_and_key(api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
                                  tmp_path: Path, **agent: object) -> str:
    """sipp calls an agent number, plays a tone, keys 1 and hangs up; the call's id."""
    _write_caller_audio(tmp_path)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "agent_id": _agent(api, **agent)}))
    caller = sipp("-sf", str(SCENARIOS / "uac_pcma_dtmf.xml"), "-s", number,
                  "-mi", "127.0.0.1", target=f"127.0.0.1:{media_node.sip_port}")
    assert caller.wait(timeout_s=25) == 0, caller.output()
    return _wait_inbound(api, number)


def test_inbound_call_to_agent_number_is_greeted_records_audio_and_dtmf(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    call_id = _agent_call_with_tone_and_key(api, media_node, sipp, tmp_path)
    done = api.wait_status(call_id, {"completed"})
    assert done["direction"] == "inbound" and done["from"] == "+15105550111"
    assert done["end_reason"] == "hangup_by_caller"
    assert done["quality"]["packets_received"] > 150, done["quality"]
    assert done["quality"]["loss_pct"] == 0 and done["quality"]["mos"] > 4, done["quality"]
    dtmf = api.wait_event(call_id, "call.dtmf.received")
    assert dtmf["details"] == {"masked": True}  # keyed to the agent: not stored
    greeting = api.wait_event(call_id, "call.agent.turn")  # the agent loop speaks it
    assert greeting["details"]["role"] == "agent", greeting
    api.wait_event(call_id, "call.recording.saved")
    _, wav = download_recording(api, call_id)
    channels, rms = wav_channels(wav)
    assert channels == 2
    assert rms[0] > 300, f"the caller's tone should be on the left channel: {rms} {done['quality']}"
    assert rms[1] > 100, f"the greeting should be on the right channel: {rms}"
    types = api.event_types(call_id)
    assert types[:2] == ["call.initiated", "call.answered"], types
    assert types[-1] == "call.completed"


def test_an_agent_that_shares_keypad_digits_reports_them(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    call_id = _agent_call_with_tone_and_key(api, media_node, sipp, tmp_path, recording=False,
                                            dtmf_events="digits")
    api.wait_status(call_id, {"completed"})
    assert api.wait_event(call_id, "call.dtmf.received")["details"] == {"digit": "1"}


def _pcap_rtp_payload(path: Path) -> bytes:
    """The RTP payloads of a pcap of UDP/IPv4 over Ethernet (sipp's g711a.pcap), in order."""
    data = path.read_bytes()
    pos, payload = 24, bytearray()
    while pos + 16 <= len(data):
        size = struct.unpack_from("<I", data, pos + 8)[0]
        frame = data[pos + 16: pos + 16 + size]
        pos += 16 + size
        payload += frame[14 + 4 * (frame[14] & 0x0F) + 8 + 12:]  # Ethernet, IPv4, UDP, RTP
    return bytes(payload)


def test_inbound_caller_audio_in_30ms_packets_is_recorded(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    # sipp's own recording of speech (g711a.pcap) comes in 30 ms packets: 240 samples each,
    # re-framed to the node's 20 ms tick, so the caller channel holds it, not silence
    pcap = Path("/usr/share/sip-tester/g711a.pcap")
    if not pcap.exists():
        pytest.skip("sipp's g711a.pcap is not installed")
    sent = ALAW_DECODE[np.frombuffer(_pcap_rtp_payload(pcap), dtype=np.uint8)].astype(np.float64)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "agent_id": _agent(api)}))
    sipp_caller = sipp("-sf", str(SCENARIOS / "uac_pcma_pcap.xml"), "-s", number,
                       "-mi", "127.0.0.1", target=f"127.0.0.1:{media_node.sip_port}")
    assert sipp_caller.wait(timeout_s=30) == 0, sipp_caller.output()

    call_id = _wait_inbound(api, number)
    done = api.wait_status(call_id, {"completed"})
    assert done["quality"]["packets_received"] > 200, done["quality"]  # 236 in the pcap
    api.wait_event(call_id, "call.recording.saved")
    _, wav = download_recording(api, call_id)
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getnchannels() == 2
        caller = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")[0::2].astype(np.float64)
    # all of the caller's 7 s of speech are on the left channel: the same energy (frames lost
    # to a 20/30 ms mismatch would lower it; before re-framing it was all silence)
    ratio = float(np.sum(caller ** 2) / np.sum(sent ** 2))
    assert 0.8 < ratio < 1.25, ratio


def test_inbound_call_without_agent_is_answered_by_command(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller = sipp("-sn", "uac", "-s", number, "-d", "1500",
                  target=f"127.0.0.1:{media_node.sip_port}")
    call_id = _wait_inbound(api, number)
    assert api.call(call_id)["status"] == "initiated"
    resp = api.action(call_id, "answer", {"command_id": "answer-1"})
    assert resp.status_code in (200, 202), resp.text
    assert caller.wait() == 0, caller.output()
    done = api.wait_status(call_id, {"completed"})
    assert done["end_reason"] == "hangup_by_caller"
    again = api.action(call_id, "answer", {"command_id": "answer-2"})
    assert again.status_code == 409, again.text


def test_inbound_call_to_unknown_number_gets_404(media_node: LocalNode) -> None:
    invite = (
        b"INVITE sip:+19995550000@127.0.0.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKunknown1\r\n"
        b"From: <sip:+15105550111@127.0.0.1>;tag=a1\r\nTo: <sip:+19995550000@127.0.0.1>\r\n"
        b"Call-ID: unknown-number-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        b"Contact: <sip:c@127.0.0.1:9>\r\nContent-Length: 0\r\n\r\n"
    )
    statuses = _exchange(media_node.sip_port, invite, until=lambda s: s >= 200)
    assert statuses[-1] == 404, statuses


def test_malformed_request_gets_400_with_reason(media_node: LocalNode) -> None:
    bad = (
        b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad1\r\n"
        b"From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:x@127.0.0.1>\r\n"
        b"Call-ID: bad-1\r\nCSeq: one OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(bad, ("127.0.0.1", media_node.sip_port))
        data = s.recv(4096).decode()
    assert data.startswith("SIP/2.0 400 Bad Request ("), data
    assert "CSeq" in data.splitlines()[0]


def _exchange(port: int, request: bytes, until: Callable[[int], bool]) -> list[int]:
    statuses: list[int] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(request, ("127.0.0.1", port))
        while not statuses or not until(statuses[-1]):
            statuses.append(int(s.recv(4096).split(b" ", 2)[1]))
    return statuses


G729_ONLY = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 40000 RTP/AVP 18
a=rtpmap:18 G729/8000"""


def test_an_offer_without_a_common_codec_gets_488_without_ringing_or_a_call(
        api: Api, media_node: LocalNode) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "agent_id": _agent(api)}))
    assert statuses(media_node.sip_port, bare_invite(number, G729_ONLY)) == [100, 488]
    calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
    assert [c for c in calls if c["to"] == number] == []
