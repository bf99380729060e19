"""The pure parts of the WebRTC leg: offer checks (each refusal's code), PCM <-> frames, the
host-address restriction and the ICE servers handed to aiortc."""

from __future__ import annotations

import aioice.ice
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicelane.domain.webrtc import IceServer, signalling_url
from voicelane_media.transports.webrtc.audio import FRAME_SAMPLES, audio_frame, mono_pcm
from voicelane_media.transports.webrtc.ice import restrict_host_addresses, rtc_configuration
from voicelane_media.transports.webrtc.offer import MAX_OFFER_BYTES, check_offer

OFFER = "\r\n".join([
    "v=0", "o=- 3900000000 3900000000 IN IP4 0.0.0.0", "s=-", "t=0 0",
    "a=group:BUNDLE 0", "m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "c=IN IP4 0.0.0.0",
    "a=mid:0", "a=sendrecv", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
    "a=fingerprint:sha-256 00:11:22", "a=setup:actpass", ""])


def _without(prefix: str) -> bytes:
    return "\r\n".join(line for line in OFFER.split("\r\n")
                       if not line.startswith(prefix)).encode()


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"", 400, "malformed_sdp"), (b"hello", 400, "malformed_sdp"),
    (b"\xff\xfe\x00", 400, "malformed_sdp"), (b"v=0\r\ns=-\r\n", 400, "malformed_sdp"),
    (OFFER.replace("t=0 0", "garbage").encode(), 400, "malformed_sdp"),
    (b"x" * (MAX_OFFER_BYTES + 1), 413, "offer_too_large"),
    (_without("m=audio"), 422, "no_audio"),
    (_without("a=rtpmap:111"), 422, "no_common_codec"),
    (_without("a=fingerprint"), 422, "not_webrtc"), (_without("a=ice-pwd"), 422, "not_webrtc"),
])
def test_each_refused_offer_has_its_code(body: bytes, status: int, code: str) -> None:
    _, problem = check_offer(body)
    assert problem is not None and (problem.status, problem.code) == (status, code)


def test_a_webrtc_offer_passes_in_either_line_ending() -> None:
    assert check_offer(OFFER.encode())[1] is None
    assert check_offer(OFFER.replace("\r\n", "\n").encode())[1] is None


@given(st.binary(max_size=2048))
def test_any_bytes_get_an_answer_never_an_exception(body: bytes) -> None:
    _, problem = check_offer(body)
    assert problem is None or problem.status in (400, 413, 422)


def test_frames_round_trip_as_mono_48k() -> None:
    pcm = (np.sin(np.arange(FRAME_SAMPLES) / 7) * 8000).astype(np.int16)
    frame = audio_frame(pcm, pts=960)
    assert (frame.sample_rate, frame.samples, frame.pts) == (48000, FRAME_SAMPLES, 960)
    assert np.array_equal(mono_pcm(frame), pcm)


def test_stereo_frames_are_averaged_to_mono() -> None:
    import av

    left = np.full(FRAME_SAMPLES, 1000, np.int16)
    right = np.full(FRAME_SAMPLES, 3000, np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
    frame.sample_rate = 48000
    assert np.array_equal(mono_pcm(frame), np.full(FRAME_SAMPLES, 2000, np.int16))


def test_host_addresses_are_restricted_and_restored() -> None:
    original = aioice.ice.get_host_addresses
    try:
        restrict_host_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
        with pytest.raises(ValueError):
            restrict_host_addresses(["not-an-ip"])
        restrict_host_addresses([])
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    finally:
        aioice.ice.get_host_addresses = original


def test_no_ice_servers_means_no_stun_at_all() -> None:
    assert rtc_configuration([]).iceServers == []  # not aiortc's default public STUN
    turn = IceServer(urls=["turn:turn.example.com:3478"], username="u", credential="p")
    (server,) = rtc_configuration([turn]).iceServers or []
    assert (server.urls, server.username, server.credential) == (
        ["turn:turn.example.com:3478"], "u", "p")


@pytest.mark.parametrize(("base", "url"), [
    ("ws://127.0.0.1:8081/v1/media", "http://127.0.0.1:8081/v1/media/webrtc/sess_1"),
    ("wss://media.example.com/v1/media/", "https://media.example.com/v1/media/webrtc/sess_1"),
])
def test_the_signalling_url_is_on_the_stream_listener(base: str, url: str) -> None:
    assert signalling_url(base, "sess_1") == url


def test_ice_servers_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError
    from voicelane.settings import Settings

    monkeypatch.setenv("VOICELANE_WEBRTC_ICE_SERVERS",
                       '[{"urls": ["stun:stun.example.com:3478"]}]')
    assert Settings().webrtc_ice_servers == [IceServer(urls=["stun:stun.example.com:3478"])]
    monkeypatch.setenv("VOICELANE_WEBRTC_ICE_SERVERS", '[{"urls": []}]')
    with pytest.raises(ValidationError):
        Settings()
