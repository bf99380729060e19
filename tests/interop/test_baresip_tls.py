"""SIP over TLS with SRTP mandatory, against baresip (a real softphone nobody here wrote).

One media node for the module with a TLS listener on an ephemeral port and a certificate made
now (the same self-signed certificate is baresip's, and each side trusts it as its CA, so
both check the other's certificate). Each test:

- outbound: Voicelane dials baresip through a `transport: tls`, `srtp: mandatory` trunk;
  baresip hears Voicelane's speech (its own recording), then the call is held and resumed
  (re-INVITEs that keep SRTP) and Voicelane still hears baresip's 1300 Hz tone (the call's
  recording, to its last second);
- inbound: baresip dials a number over TLS from a mandatory trunk's address; the same both ways
  with a 700 Hz tone;
- a plain-RTP offer from that trunk's address is refused with 488, and no call is written;
- an INVITE from a TLS trunk's address over UDP is refused with 403 (its keys were in clear).
"""

from __future__ import annotations

import io
import random
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.baresip_helpers import (
    band_ratio,
    requires_baresip,
    speech_rms,
    start_baresip,
    tone_wav,
)
from tests.interop.sipp_helpers import Api, bare_invite, download_recording, new_number, statuses
from tests.interop.tls_certs import CertFiles, self_signed

pytestmark = [requires_baresip, pytest.mark.timeout(90)]
CALLEE = "+14155550123"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_node(local_platform: LocalPlatform, certs: CertFiles) -> Iterator[LocalNode]:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(
        sip_port=0, sip_tls_port=0, sip_tls_certificate=str(certs.cert),
        sip_tls_key=str(certs.key), sip_tls_ca_bundle=str(certs.cert), sip_tls_verify=True,
        internal_http_port=0, rtp_port_min=base, rtp_port_max=base + 199,
        node_id=f"tls-{random.randrange(16**6):06x}", poll_wait_s=1, heartbeat_s=2,
        ring_timeout_s=10, inbound_answer_timeout_s=6)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


def tls_port(node: LocalNode) -> int:
    port = node.node.ua.tls_port
    assert port is not None
    return port


def _mandatory_trunk(api: Api, port: int) -> None:
    api.ok(api.post("/v1/trunks", {"name": f"baresip-{port}", "host": "127.0.0.1", "port": port,
                                   "transport": "tls", "srtp": "mandatory",
                                   "inbound_addresses": ["127.0.0.1"]}))


def _caller_channel(api: Api, call_id: str) -> np.ndarray:
    api.wait_event(call_id, "call.recording.saved")
    _, wav = download_recording(api, call_id)
    with wave.open(io.BytesIO(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return samples[0::2].astype(np.float64)


def _assert_secure(quality: dict[str, object]) -> None:
    assert quality["srtp"] is True, quality
    assert quality["srtp_suite"] == "AES_CM_128_HMAC_SHA1_80"
    assert quality["srtp_auth_failures"] == 0, quality
    assert int(str(quality["srtp_packets_unprotected"])) > 50


def test_outbound_call_to_baresip_over_tls_with_srtp_both_ways(
        api: Api, tls_node: LocalNode, certs: CertFiles, tmp_path: Path) -> None:
    phone = start_baresip(tmp_path / "bs", user=CALLEE, certificate=certs.combined, ca=certs.cert,
                          source=tone_wav(tmp_path / "1300.wav", 1300, 15))
    try:
        _mandatory_trunk(api, phone.tls_port)
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        call_id = api.ok(api.post("/v1/calls", {"from": number, "to": CALLEE,
                                                "recording": True}))["id"]
        api.wait_status(call_id, {"in_progress"}, timeout_s=15)
        assert phone.wait_for("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)", 5)
        api.action(call_id, "speak", {"text": "Hello from Voicelane over TLS.",
                                      "command_id": "s1"})
        api.wait_event(call_id, "call.speak.ended", timeout_s=20)
        for action in ("hold", "unhold"):  # re-INVITEs (RTP/SAVP with our key) keep SRTP up
            assert api.action(call_id, action, {"command_id": action}).status_code in (200, 202)
            api.wait_event(call_id, f"call.{action}")
        time.sleep(1.2)
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
        done = api.wait_status(call_id, {"completed"})
        _assert_secure(done["quality"])
        caller = _caller_channel(api, call_id)
        assert band_ratio(caller[4000:], 1300) > 0.8  # baresip's tone, decrypted, on our side
        assert band_ratio(caller[-8000:], 1300) > 0.8  # still, after the re-INVITEs
        heard = phone.heard()  # (its WAV is complete once the call is over)
        assert speech_rms(heard) > 500, speech_rms(heard)  # our speech, decrypted, on its side
        assert band_ratio(heard, 1300) < 0.2  # and not an echo of its own tone
        log = phone.log
        assert "transport=tls" in log and "Call established" in log
    finally:
        phone.stop()


def _inbound_call(api: Api, number: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
        found = [c for c in calls if c["to"] == number and c["direction"] == "inbound"]
        if found:
            return str(found[0]["id"])
        time.sleep(0.1)
    raise AssertionError(f"no inbound call to {number}")


def test_inbound_call_from_baresip_over_tls_with_srtp_both_ways(
        api: Api, tls_node: LocalNode, certs: CertFiles, tmp_path: Path) -> None:
    _mandatory_trunk(api, 5061)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    phone = start_baresip(tmp_path / "bs", user="caller", certificate=certs.combined,
                          ca=certs.cert, source=tone_wav(tmp_path / "700.wav", 700, 12),
                          command=f"/dial sip:{number}@127.0.0.1:{tls_port(tls_node)}",
                          quit_after_s=30)
    try:
        call_id = _inbound_call(api, number)
        assert api.action(call_id, "answer", {"command_id": "a1"}).status_code in (200, 202)
        api.wait_status(call_id, {"in_progress"})
        api.action(call_id, "record_start", {"command_id": "r1"})
        api.action(call_id, "speak", {"text": "You reached Voicelane, securely.",
                                      "command_id": "s1"})
        api.wait_event(call_id, "call.speak.ended", timeout_s=20)
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
        done = api.wait_status(call_id, {"completed"})
        _assert_secure(done["quality"])
        assert band_ratio(_caller_channel(api, call_id)[4000:], 700) > 0.8
        heard = phone.heard()
        assert speech_rms(heard) > 500, speech_rms(heard)
        assert band_ratio(heard, 700) < 0.2
        assert phone.wait_for("SRTP is Enabled", 1)
    finally:
        phone.stop()


def test_a_plain_rtp_offer_on_a_mandatory_trunk_gets_488(
        api: Api, tls_node: LocalNode, certs: CertFiles, tmp_path: Path) -> None:
    _mandatory_trunk(api, 5061)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    phone = start_baresip(tmp_path / "bs", user="caller", certificate=certs.combined,
                          ca=certs.cert, source=tone_wav(tmp_path / "700.wav", 700, 2),
                          mediaenc=None, quit_after_s=6,
                          command=f"/dial sip:{number}@127.0.0.1:{tls_port(tls_node)}")
    try:
        assert phone.wait_for("488", 8), phone.log
        assert "SRTP required" in phone.log  # the reason phrase says why
        calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
        assert [c for c in calls if c["to"] == number] == []  # refused before any call record
    finally:
        phone.stop()


def test_an_invite_in_clear_from_a_tls_trunk_is_refused(api: Api, tls_node: LocalNode) -> None:
    _mandatory_trunk(api, 5061)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    offer = ("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
             "m=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
             "inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw\n")
    assert statuses(tls_node.sip_port, bare_invite(number, offer))[-1] == 403
    calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
    assert [c for c in calls if c["to"] == number] == []
