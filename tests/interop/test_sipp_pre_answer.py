"""Early media on inbound calls (`pre_answer`), with sipp as the caller: the app sends 183
Session Progress with SDP, plays a tone the caller hears before any 200, then answers (the
same SDP, the same RTP stream goes on) or rejects (486, never answered).

The caller's media port is a socket of this test, so what arrives there, and when, is read
here: the tone is heard while the API still shows the call unanswered and before the test
has even asked for the answer, so it came before the 200."""

from __future__ import annotations

import itertools
import random
import re
import socket
import struct
import threading
import time
import wave
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.codecs.g711 import ULAW_DECODE

from tests.interop.conference_peers import tone_levels
from tests.interop.ivr_app import NO_COMMANDS, Answer, IvrApp, commands
from tests.interop.sipp_helpers import Api, Sipp, free_udp_port, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]
TONE_HZ = 1000

_INVITE = """    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+15105550133@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio {rtp_port} RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>"""

_EARLY = """  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183">
    <action><ereg regexp="m=audio [0-9]+ RTP/AVP 0" search_in="body" check_it="true"
                  assign_to="early_sdp"/></action>
  </recv>"""

UAC_ANSWERED = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller hearing early media, then answered">
  <send retrans="500">
{_INVITE}
  </send>
{_EARLY}
  <recv response="200" timeout="20000" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+15105550133@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv request="BYE" timeout="20000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <Reference variables="early_sdp"/>
</scenario>
"""

UAC_REJECTED = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller hearing early media, then refused busy">
  <send retrans="500">
{_INVITE}
  </send>
{_EARLY}
  <recv response="486" timeout="20000"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+15105550133@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <Reference variables="early_sdp"/>
</scenario>
"""


class RtpSink:
    """The caller's media port: every RTP packet's arrival (monotonic), SSRC, sequence and
    payload, and its wall-clock arrival (to compare with sipp's message trace)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", free_udp_port()))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, int, int, bytes]] = []
        self.wall: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2 and data[1] & 0x7F == 0:
                seq, _, ssrc = struct.unpack("!HII", data[2:12])
                self.wall.append(time.time())
                self.packets.append((time.monotonic(), ssrc, seq, data[12:]))

    def pcm(self, until: float | None = None) -> np.ndarray:
        chunks = [ULAW_DECODE[np.frombuffer(p, dtype=np.uint8)]
                  for t, _, _, p in list(self.packets) if until is None or t <= until]
        return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)

    def first_tone_wall(self) -> float:
        """Wall-clock arrival of the first 20 ms packet carrying the tone."""
        for wall, (_, _, _, payload) in zip(self.wall, list(self.packets), strict=False):
            frame = ULAW_DECODE[np.frombuffer(payload, dtype=np.uint8)].astype(np.float64)
            if np.sqrt(np.mean(frame ** 2)) > 3000:
                return wall
        raise AssertionError("no packet of the tone")

    def wait_for_tone(self, timeout_s: float = 10) -> float:
        """When 0.3 s of the tone had arrived (monotonic), else AssertionError."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pcm = self.pcm()
            if pcm.shape[0] >= 2400 and _tone(pcm[-2400:]) > 2000:
                return time.monotonic()
            time.sleep(0.05)
        raise AssertionError(f"no {TONE_HZ} Hz tone in {len(self.packets)} RTP packets")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def _tone(pcm: np.ndarray) -> float:
    return tone_levels(pcm, 8000, {"t": TONE_HZ})["t"]


@pytest.fixture(scope="module")
def media_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    """The interop node, with an answer timeout long enough for a loaded machine (the app's
    commands all run inside it: early media does not extend it)."""
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(
        sip_port=0, internal_http_port=0, rtp_port_min=base, rtp_port_max=base + 199,
        node_id=f"preanswer-{random.randrange(16**6):06x}", poll_wait_s=1, heartbeat_s=2,
        inbound_answer_timeout_s=25)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def tone_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 1 kHz tone (1.5 s, 8 kHz WAV) on a loopback HTTP server, for `play`."""
    root = tmp_path_factory.mktemp("preanswer")
    t = np.arange(int(8000 * 1.5)) / 8000
    with wave.open(str(root / "tone.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((8000 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16).tobytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tone.wav"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sink() -> Iterator[RtpSink]:
    s = RtpSink()
    yield s
    s.close()


def _caller(sipp: Callable[..., Sipp], tmp_path: Path, template: str, media_node: LocalNode,
            sink: RtpSink, number: str) -> tuple[Sipp, Path]:
    scenario = tmp_path / "uac_early.xml"
    scenario.write_text(template.replace("{rtp_port}", str(sink.port)))
    trace = tmp_path / "messages.log"
    caller = sipp("-sf", str(scenario), "-s", number, "-trace_msg", "-message_file", str(trace),
                  target=f"127.0.0.1:{media_node.sip_port}")
    return caller, trace


def _sdp_of(trace: Path, status: int) -> str:
    """The SDP body of the response ``status`` sipp received (from its message trace)."""
    text = trace.read_text(errors="replace")
    match = re.search(rf"received \[\d+\] bytes :\s*\n\s*SIP/2.0 {status} .*?\r?\n\r?\n(v=0.*?)"
                      r"(?:\n-{10,}|\Z)", text, re.S)
    assert match, f"no {status} with SDP in sipp's trace:\n{text[-3000:]}"
    return match.group(1).strip()


def _received_at(trace: Path, status: int) -> float:
    """The wall-clock time sipp received the (first) response ``status`` (its trace)."""
    text = trace.read_text(errors="replace")
    match = re.search(rf"-{{10,}} (\S+ \S+)\s*\nUDP message received \[\d+\] bytes :\s*\n"
                      rf"\s*SIP/2.0 {status} ", text)
    assert match, f"no {status} in sipp's trace"
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_pre_answer_plays_before_the_200_then_answer_keeps_the_stream(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path,
        sink: RtpSink, tone_url: str) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller, trace = _caller(sipp, tmp_path, UAC_ANSWERED, media_node, sink, number)
    call_id = api.wait_event_for_number(number)
    refused = api.action(call_id, "play", {"url": tone_url})
    assert refused.status_code == 409, refused.text  # ringing, no early media yet
    assert refused.json()["error"]["code"] == "action_not_allowed"
    assert not sink.packets  # nothing is sent toward a caller before pre_answer

    assert api.action(call_id, "pre_answer").status_code == 202
    early = api.call(call_id)  # written before the command's answer
    assert early["status"] == "initiated" and early["answered_at"] is None, early
    assert early["pre_answered_at"] is not None
    again = api.action(call_id, "pre_answer")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_pre_answered"
    gather = api.action(call_id, "gather", {"max_digits": 1})
    assert gather.status_code == 409, gather.text  # only play and speak in early media
    assert api.action(call_id, "play", {"url": tone_url}).status_code == 202

    heard_at = sink.wait_for_tone()
    assert api.call(call_id)["status"] == "initiated"  # heard, and still not answered
    api.wait_event(call_id, "call.playback.ended")
    early_packets = len(sink.packets)
    assert api.action(call_id, "answer").status_code == 202
    api.wait_status(call_id, {"in_progress"})
    late = api.action(call_id, "pre_answer")
    assert late.status_code == 409 and late.json()["error"]["code"] == "call_not_ringing"
    time.sleep(0.5)  # some media after the 200
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})
    assert caller.wait() == 0, caller.output()

    before = sink.pcm(until=heard_at)[-2400:]  # the last 0.3 s heard before the answer
    levels = tone_levels(before, 8000, {"tone": TONE_HZ, "low": 600, "high": 1400})
    assert levels["tone"] > 2000 and levels["tone"] > 10 * max(levels["low"], levels["high"])
    ssrcs = {ssrc for _, ssrc, _, _ in sink.packets}
    assert len(ssrcs) == 1, ssrcs  # one RTP stream from the 183 through the 200 to the BYE
    seqs = [seq for _, _, seq, _ in sink.packets]
    assert len(sink.packets) > early_packets + 10
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs)), seqs[:50]
    assert _sdp_of(trace, 183) == _sdp_of(trace, 200)  # the same SDP, same o= version
    assert sink.first_tone_wall() < _received_at(trace, 200) - 0.5  # seen by sipp's clock
    types = api.event_types(call_id)
    order = ["call.initiated", "call.early_media.started", "call.playback.started",
             "call.playback.ended", "call.answered", "call.completed"]
    assert [t for t in types if t in order] == order, types
    started = api.wait_event(call_id, "call.early_media.started")
    assert started["details"] == {"sip_status": 183, "sample_rate": 8000}
    assert done["pre_answered_at"] < done["answered_at"], done


def test_reject_after_pre_answer_sends_486_and_the_call_was_never_answered(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path,
        sink: RtpSink) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller, _ = _caller(sipp, tmp_path, UAC_REJECTED, media_node, sink, number)
    call_id = api.wait_event_for_number(number)
    assert api.action(call_id, "pre_answer").status_code == 202
    deadline = time.monotonic() + 5
    while len(sink.packets) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sink.packets) >= 5  # the sender runs from the 183 (silence until a play)
    assert api.action(call_id, "reject", {"cause": "busy"}).status_code == 202
    done = api.wait_status(call_id, {"busy", "failed"})
    assert caller.wait() == 0, caller.output()  # it got the 486 (after the 183) and ACKed
    assert (done["status"], done["end_reason"], done["sip_cause"]) == (
        "busy", "rejected_busy", 486), done
    assert done["answered_at"] is None and done["duration_s"] == 0, done
    assert done["pre_answered_at"] is not None
    types = api.event_types(call_id)
    assert "call.answered" not in types
    assert types.index("call.early_media.started") < types.index("call.busy")
    after = len(sink.packets)
    time.sleep(0.3)
    assert len(sink.packets) - after <= 2  # the stream stopped with the refusal
    ended = api.action(call_id, "pre_answer")
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "call_already_ended"


def test_pre_answer_on_an_answered_or_outbound_call_is_refused(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas")
    api.ok(api.post("/v1/trunks", {"name": f"peer-{peer.port}", "host": "127.0.0.1",
                                   "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call_id = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550177"}))["id"]
    api.wait_status(call_id, {"in_progress"})
    refused = api.action(call_id, "pre_answer")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "early_media_not_supported"
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    assert api.wait_status(call_id, {"completed"})["pre_answered_at"] is None


def test_an_app_answers_call_initiated_with_pre_answer_play_answer(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path,
        sink: RtpSink, tone_url: str) -> None:
    """The same in a webhook answer: the notice plays in early media, then the answer."""
    def script(event: dict[str, object]) -> Answer:
        if event["type"] == "call.initiated":
            return commands({"action": "pre_answer"}, {"action": "play", "url": tone_url},
                            {"action": "answer"})
        return NO_COMMANDS

    app = IvrApp(script).start()
    try:
        ep = api.ok(api.post("/v1/webhooks", {"url": app.url, "event_types": ["call.*"],
                                              "commands": True}))
        app.secret = ep["secret"]
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        caller, trace = _caller(sipp, tmp_path, UAC_ANSWERED, media_node, sink, number)
        call_id = api.wait_event_for_number(number)
        api.wait_status(call_id, {"in_progress"})
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
        done = api.wait_status(call_id, {"completed"})
        assert caller.wait() == 0, caller.output()
    finally:
        app.stop()
    types = api.event_types(call_id)
    assert "call.command.failed" not in types, types
    assert types.index("call.early_media.started") < types.index("call.playback.ended") < \
        types.index("call.answered"), types
    assert sink.first_tone_wall() < _received_at(trace, 200) - 0.5  # the whole 1.5 s tone
    assert done["pre_answered_at"] < done["answered_at"], done
