"""Early media on outbound calls, with sipp as the carrier: a 183 Session Progress with SDP,
then RTP before any answer. The platform listens, classifies what it hears, and acts on it:
special information tones (the network's "not in service" intercept) cancel the call at once
as `number_unreachable`; a ringback before a 200 is reported and the call goes on."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode
from voicelane_media.sim import greetings

from tests.interop.conference_peers import pcm_pcap
from tests.interop.sipp_helpers import Api, Sipp, free_udp_port, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]

_SDP = """
      v=0
      o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000"""

_PROGRESS = f"""  <recv request="INVITE">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="CSeq:" check_it="true" assign_to="cseq"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 183 Session Progress
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]
{_SDP}
    ]]>
  </send>
  <nop><action><exec play_pcap_audio="{{pcap}}"/></action></nop>
"""

# The intercept: SIT and an announcement, then (if nobody cancels) 404 after 8 s.
UAS_INTERCEPT = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="carrier intercept">
{_PROGRESS}  <recv request="CANCEL" timeout="8000" ontimeout="not_found"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$cseq]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK" next="done"/>
  <label id="not_found"/>
  <send>
    <![CDATA[
      SIP/2.0 404 Not Found
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$cseq]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
  <label id="done"/>
</scenario>
"""

# Ringback for 2.6 s, then the callee answers and waits for our BYE.
UAS_RINGBACK_THEN_ANSWER = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="ringback then answer">
{_PROGRESS}  <pause milliseconds="2600"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$cseq]
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]
{_SDP}
    ]]>
  </send>
  <recv request="ACK"/>
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
</scenario>
"""


def _carrier(sipp: Callable[..., Sipp], tmp_path: Path, name: str, template: str,
             audio: np.ndarray) -> Sipp:
    pcap = pcm_pcap(tmp_path / f"{name}.pcap", audio)
    scenario = tmp_path / f"{name}.xml"
    scenario.write_text(template.replace("{pcap}", str(pcap)))
    return sipp("-sf", str(scenario), "-mi", "127.0.0.1", "-mp", str(free_udp_port()))


def _call(api: Api, port: int) -> str:
    api.ok(api.post("/v1/trunks", {"name": f"carrier-{port}", "host": "127.0.0.1",
                                   "port": port, "transport": "udp"}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    return str(api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550142"}))["id"])


def test_an_intercept_announcement_fails_the_call_at_once_as_unreachable(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    intercept = greetings.concat(
        greetings.special_information_tones(),
        greetings.speech("The number you have dialled is not in service."))
    carrier = _carrier(sipp, tmp_path, "intercept", UAS_INTERCEPT, intercept)
    started = time.monotonic()
    call_id = _call(api, carrier.port)
    done = api.wait_status(call_id, {"failed", "no_answer", "completed"}, timeout_s=30)
    took = time.monotonic() - started
    assert (done["status"], done["end_reason"]) == ("failed", "number_unreachable"), done
    assert done["early_media"] == "special_information_tone"
    early = api.wait_event(call_id, "call.early_media")["details"]
    assert early["kind"] == "special_information_tone"
    assert early["decided_ms"] < 2000  # at the third tone, not after the 2 s window
    types = api.event_types(call_id)
    assert "call.answered" not in types
    assert types.index("call.ringing") < types.index("call.early_media") < types.index(
        "call.failed")
    assert took < 8.0, took  # canceled: the carrier's 404 (8 s) never came
    assert carrier.wait() == 0, carrier.output()  # it saw CANCEL, answered 487, got the ACK


def test_a_ringback_before_the_answer_is_reported_and_the_call_goes_on(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    carrier = _carrier(sipp, tmp_path, "ringback", UAS_RINGBACK_THEN_ANSWER,
                       greetings.ringback_us(1)[:8000 * 3])
    call_id = _call(api, carrier.port)
    api.wait_status(call_id, {"in_progress"}, timeout_s=30)
    early = api.wait_event(call_id, "call.early_media")["details"]
    assert early["kind"] == "ringback", early
    assert early["ringback_ms"] >= 1000
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})
    assert (done["end_reason"], done["early_media"]) == ("hangup_by_api", "ringback")
    types = api.event_types(call_id)
    assert types.index("call.early_media") < types.index("call.answered")
    assert done["quality"]["packets_received"] > 0
    assert carrier.wait() == 0, carrier.output()
