"""Two real RTP sessions on loopback UDP talking to each other through the shared 20 ms clock."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Awaitable, Callable
from typing import cast

import numpy as np
import pytest
from voicelane_media.calls.recording import CallRecorder
from voicelane_media.codecs.g711 import (
    Int16Array,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)
from voicelane_media.transports.sip.rtp import RtpPortPool, RtpSession, gather

from tests.voicelane_media.helpers import (
    RawPeer,
    connected_pair,
    dominant_hz,
    find_frames,
    g711_exact_noise,
    tone,
)

PeerFactory = Callable[[], Awaitable[RawPeer]]


@pytest.mark.parametrize("payload_type", [0, 8])
async def test_audio_arrives_bit_exact_through_g711(pool: RtpPortPool, payload_type: int) -> None:
    signal = g711_exact_noise(8000)
    if payload_type == 8:  # A-law quantizes differently: pass the noise through A-law once
        signal = alaw_decode(alaw_encode(signal))
    for _ in range(3):
        a, b = await connected_pair(pool, payload_type, jitter_buffer_ms=100)
        frames: list[Int16Array] = []
        b.on_audio = lambda pcm, frames=frames: frames.append(pcm.copy())
        played = await a.play(signal)
        await asyncio.sleep(0.2)
        buffer = b.inbound.jitter_buffer
        if buffer.late or buffer.dropped or buffer.concealed:
            # a starved loop (a loaded CI machine) filled a gap: not a G.711 question; the
            # pair stops ticking before the next run
            await a.close()
            await b.close()
            continue
        assert played == 8000
        received = np.concatenate(frames)
        assert find_frames(received, signal) >= 0
        assert b.stats()["packets_received"] >= 50
        return
    pytest.fail("every run's jitter buffer filled a gap: the machine starved the event loop")


async def test_play_returns_after_real_time_and_stop_cuts_within_a_frame(pool: RtpPortPool, udp_peer: PeerFactory) -> None:
    a = await pool.open_session()
    peer = await udp_peer()
    a.set_remote("127.0.0.1", peer.port, 0, 101)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await a.play(tone(440, 0.5)) == 4000
    assert loop.time() - started >= 0.45  # paced at 20 ms, not blasted out

    task = asyncio.create_task(a.play(tone(440, 3.0)))
    await asyncio.sleep(0.3)
    stopped_at = loop.time()
    a.stop_playback()
    played = await task
    await asyncio.sleep(0.2)
    assert 0.2 * 8000 <= played <= 0.45 * 8000
    voiced = [t for t, data in peer.packets if data[12:] != b"\xff" * 160 and len(data) == 172]
    assert voiced and voiced[-1] - stopped_at <= 0.040
    # comfort silence keeps flowing after the stop
    assert any(t > stopped_at + 0.1 for t, _ in peer.packets)


async def test_dtmf_each_digit_once_and_gather(pool: RtpPortPool) -> None:
    a, b = await connected_pair(pool)
    digits: list[str] = []
    b.on_dtmf = digits.append
    await a.send_dtmf("159#*0")
    await asyncio.sleep(0.1)
    assert digits == list("159#*0")

    result, _ = await asyncio.gather(gather(b, max_digits=5, terminator="#", timeout=2), a.send_dtmf("42#7"))
    assert (result.digits, result.reason) == ("42", "terminator")
    result, _ = await asyncio.gather(gather(b, max_digits=2, terminator=None, timeout=2), a.send_dtmf("987"))
    assert (result.digits, result.reason) == ("98", "max_digits")
    result = await gather(b, max_digits=3, timeout=0.2)
    assert (result.digits, result.reason) == ("", "timeout")
    with pytest.raises(ValueError):
        await a.send_dtmf("1x")


def _tap(session: RtpSession, recorder: CallRecorder) -> None:
    session.add_audio_tap(recorder.caller)
    session.add_playout_tap(recorder.playout)


def _untap(session: RtpSession, recorder: CallRecorder) -> None:
    session.remove_audio_tap(recorder.caller)
    session.remove_playout_tap(recorder.playout)


@pytest.mark.parametrize("payload_type", [0, 8])
async def test_the_taps_record_the_caller_left_and_what_went_on_the_wire_right(
        pool: RtpPortPool, payload_type: int) -> None:
    # the call's recorder on the session's two taps, paused the way LiveCall pauses it
    platform, caller = await connected_pair(pool, payload_type)
    recorder = CallRecorder(8000)
    recorder.start()
    _tap(platform, recorder)
    await asyncio.gather(platform.play(tone(1000, 1.0)), caller.play(tone(300, 1.0)))
    await asyncio.sleep(0.2)
    _untap(platform, recorder)
    recorder.pause()
    await asyncio.sleep(0.3)  # paused time is left out
    recorder.resume()
    _tap(platform, recorder)
    await asyncio.sleep(0.1)
    _untap(platform, recorder)
    data = recorder.stop()
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    seconds = len(stereo) / 8000
    assert 1.25 <= seconds <= 1.45, seconds  # 1.0 + 0.2 + 0.1 s recorded, not the 0.3 s pause
    left, right = stereo[:, 0], stereo[:, 1]
    assert abs(dominant_hz(left) - 300) < 10 and abs(dominant_hz(right) - 1000) < 10
    # the right channel is exactly what went on the wire: the tone through G.711, from frame 0
    wire = (ulaw_decode(ulaw_encode(tone(1000, 1.0))) if payload_type == 0
            else alaw_decode(alaw_encode(tone(1000, 1.0))))
    assert np.array_equal(right[:8000], wire)
    assert not right[8000:].any()  # silence sent after the playback: silence recorded


async def test_the_playout_tap_keeps_real_time_with_silence_when_nothing_is_sent(
        pool: RtpPortPool) -> None:
    platform, _ = await connected_pair(pool)
    sent: list[Int16Array] = []
    platform.add_playout_tap(sent.append)
    await asyncio.sleep(0.2)  # nothing plays: comfort silence
    platform.set_direction("recvonly")  # held: nothing is sent at all
    await asyncio.sleep(0.2)
    platform.remove_playout_tap(sent.append)
    count = len(sent)
    await asyncio.sleep(0.06)
    assert len(sent) == count  # removed: no more frames
    assert 17 <= count <= 23, count  # one 20 ms frame per tick of the 0.4 s
    assert all(frame.shape == (160,) and not frame.any() for frame in sent)


async def test_hold_stops_sending_and_unhold_resumes(pool: RtpPortPool, udp_peer: PeerFactory) -> None:
    a = await pool.open_session()
    peer = await udp_peer()
    a.set_remote("127.0.0.1", peer.port, 0, 101)
    await asyncio.sleep(0.2)
    for direction in ("inactive", "recvonly"):
        a.set_direction(direction)
        await asyncio.sleep(0.03)
        count = len(peer.packets)
        await asyncio.sleep(0.3)
        assert len(peer.packets) == count, direction
    a.set_direction("sendrecv")
    await asyncio.sleep(0.3)
    assert len(peer.packets) >= count + 10
    with pytest.raises(ValueError):
        a.set_direction("sideways")


class LossyRelay(asyncio.DatagramProtocol):
    """Forwards A<->B and drops every ``drop_every``-th packet from A."""

    def __init__(self, drop_every: int) -> None:
        self.drop_every = drop_every
        self.a: tuple[str, int] | None = None
        self.b: tuple[str, int] = ("", 0)
        self.count = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr[1] == self.b[1]:
            if self.a:
                self.transport.sendto(data, self.a)
            return
        self.a = addr
        self.count += 1
        if self.count % self.drop_every:
            self.transport.sendto(data, self.b)


async def test_stats_count_packets_and_loss_through_a_lossy_relay(pool: RtpPortPool) -> None:
    a = await pool.open_session()
    b = await pool.open_session()
    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(lambda: LossyRelay(10), local_addr=("127.0.0.1", 0))
    relay.b = ("127.0.0.1", b.local_port)
    a.set_remote("127.0.0.1", transport.get_extra_info("sockname")[1], 0, 101)
    b.set_remote("127.0.0.1", 9, 0, 101)  # SDP says discard port: B latches to the relay
    try:
        await asyncio.sleep(1.2)
    finally:
        transport.close()
    stats = b.stats()
    assert stats["packets_received"] >= 45
    assert 8.0 <= stats["loss_pct"] <= 12.0, stats
    assert stats["packets_lost"] == pytest.approx(stats["packets_received"] / 9, abs=2)
    assert 1.0 <= stats["mos"] < 4.4
    assert a.stats()["packets_sent"] >= 55


async def test_rtcp_reports_flow_and_give_round_trip_time(pool: RtpPortPool) -> None:
    a, _b = await connected_pair(pool)  # the pool's RTCP interval is 0.2 s in tests
    await asyncio.sleep(0.8)
    stats = a.stats()
    assert stats["rtcp_sent"] >= 2 and stats["rtcp_received"] >= 2
    assert stats["rtt_ms"] is not None and 0 <= stats["rtt_ms"] < 50
    assert stats["loss_pct"] == 0.0 and stats["remote_loss_pct"] == 0.0
    assert stats["mos"] > 4.0


async def test_symmetric_rtp_latches_to_the_first_source(pool: RtpPortPool, udp_peer: PeerFactory) -> None:
    a, b = await connected_pair(pool)
    b.set_remote("127.0.0.1", 9, 0, 101)  # wrong SDP address (NAT): B must answer A's source
    await asyncio.sleep(0.3)
    assert b.remote == ("127.0.0.1", a.local_port)
    assert a.stats()["packets_received"] >= 5
    intruder = await udp_peer()
    assert intruder.transport is not None
    rejected = b.stats()["packets_rejected"]
    intruder.transport.sendto(b"\x80\x00" + bytes(10) + b"\xff" * 160, ("127.0.0.1", b.local_port))
    intruder.transport.sendto(b"garbage", ("127.0.0.1", b.local_port))
    await asyncio.sleep(0.05)
    assert b.remote == ("127.0.0.1", a.local_port)
    assert b.stats()["packets_rejected"] == rejected + 2


async def test_close_frees_the_port_and_ends_playback(pool: RtpPortPool) -> None:
    a = await pool.open_session()
    a.set_remote("127.0.0.1", 9, 0, 101)
    assert a.local_port % 2 == 0
    task = asyncio.create_task(a.play(tone(500, 5.0)))
    await asyncio.sleep(0.1)
    await a.close()
    assert 0 < await task < 8000
    assert a not in pool.sessions


async def test_undecodable_wideband_payloads_are_counted_in_the_stats(
        pool: RtpPortPool, udp_peer: PeerFactory) -> None:
    from voicelane_media.codecs.wideband import OpusCodec

    good = OpusCodec().encode(np.zeros(320, np.int16))
    bad = b"\xff\xfe\x01"  # an Opus code 3 packet with a bad frame count
    stats = []
    for payload in (good, bad):
        session = await pool.open_session()
        peer = await udp_peer()
        assert peer.transport is not None
        session.set_remote("127.0.0.1", peer.port, 111, None, codecs=(OpusCodec(), OpusCodec()))
        for seq in range(15):
            header = bytes([0x80, 111]) + seq.to_bytes(2, "big") + (seq * 960).to_bytes(4, "big")
            peer.transport.sendto(header + b"\x00\x00\x00\x07" + payload,
                                  ("127.0.0.1", session.local_port))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.4)  # the jitter buffer hands the last frames to the decoder
        stats.append(session.stats())
    decodable, undecodable = stats
    assert decodable["packets_received"] == 15 and decodable["decode_errors"] == 0
    # each payload that reached the decoder failed (a packet late for its frame never does)
    assert undecodable["packets_received"] == 15
    assert 0 < undecodable["decode_errors"] <= 15 - undecodable["late_packets"], undecodable
