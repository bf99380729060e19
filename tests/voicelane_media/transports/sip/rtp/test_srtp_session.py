"""SRTP on real RTP sessions over loopback UDP: audio and RTCP flow encrypted, a packet that
fails authentication is dropped and counted, and too many in a row end the call."""

from __future__ import annotations

import asyncio
import os

import numpy as np
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.rtp.packet import parse_header
from voicelane_media.rtp.srtp import SrtpContext
from voicelane_media.sdp_crypto import AES_CM_128_HMAC_SHA1_80
from voicelane_media.transports.sip.rtp import RtpPortPool

from tests.voicelane_media.helpers import RawPeer, connected_pair, dominant_hz, tone

SUITE = AES_CM_128_HMAC_SHA1_80


async def test_encrypted_audio_and_rtcp_flow_both_ways(pool: RtpPortPool) -> None:
    ka, kb = os.urandom(30), os.urandom(30)
    a, b = await connected_pair(pool, 0, jitter_buffer_ms=60)
    a.set_srtp(SrtpContext(SUITE, ka, kb))
    b.set_srtp(SrtpContext(SUITE, kb, ka))
    heard: list[Int16Array] = []
    b.on_audio = lambda pcm: heard.append(pcm.copy())
    assert await a.play(tone(1000, 0.6)) == 4800
    await asyncio.sleep(0.3)
    received = np.concatenate(heard)
    assert abs(dominant_hz(received[-3200:]) - 1000) < 20
    sa, sb = a.stats(), b.stats()
    assert sa["srtp"] and sb["srtp"] and sb["srtp_auth_failures"] == 0
    assert sb["srtp_packets_unprotected"] >= 30
    assert sa["rtcp_received"] >= 1 and sb["rtcp_received"] >= 1  # SRTCP both ways (0.2 s)


async def test_the_wire_carries_no_plain_g711(pool: RtpPortPool) -> None:
    a = await pool.open_session()
    peer = RawPeer()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: peer, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        a.set_remote("127.0.0.1", port, 0, 101)
        key = os.urandom(30)
        a.set_srtp(SrtpContext(SUITE, key, os.urandom(30)))
        signal = tone(440, 0.2)
        await a.play(signal)
        await asyncio.sleep(0.05)
        audio = [d for _, d in peer.packets if parse_header(d)[0] == 0]
        assert len(audio) >= 10
        assert all(len(d) == 12 + 160 + 10 for d in audio)  # the 80-bit auth tag
        plain = bytes(a.outbound._table[signal[:160].view(np.uint16)])
        assert all(plain[:40] not in d for d in audio)
        check = SrtpContext(SUITE, os.urandom(30), key)  # the peer's view: it can decrypt them
        assert all(check.unprotect(d) is not None for d in audio[:5])
    finally:
        transport.close()


async def test_forged_packets_are_dropped_counted_and_end_the_call_after_the_limit(
        pool: RtpPortPool) -> None:
    ka, kb = os.urandom(30), os.urandom(30)
    a, b = await connected_pair(pool, 0)
    ended: list[str] = []
    b.set_srtp(SrtpContext(SUITE, kb, ka), 20, lambda: ended.append("srtp_auth_failed"))
    a.set_srtp(SrtpContext(SUITE, ka, os.urandom(30)))  # a wrong key for b's stream on a's side
    await asyncio.sleep(0.2)  # good packets from a: counted as fine, b's counter stays 0
    assert b.stats()["srtp_auth_failures"] == 0 and ended == []
    a.set_srtp(SrtpContext(SUITE, os.urandom(30), kb))  # a now sends under a key b does not know
    deadline = asyncio.get_running_loop().time() + 3
    while not ended and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    assert ended == ["srtp_auth_failed"]  # once
    await asyncio.sleep(0.1)
    stats = b.stats()
    assert stats["srtp_auth_failures"] >= 20
    assert ended == ["srtp_auth_failed"]
