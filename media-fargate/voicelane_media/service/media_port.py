"""The media side the signalling service drives: ``voicelane_media.media`` (RTP sessions with
pacing, jitter buffer, RTCP stats, DTMF, recorder, TTS, bridging)."""

from __future__ import annotations

from voicelane_media.media import RtpPortPool, RtpSession

MediaSession = RtpSession
MediaPool = RtpPortPool


def open_pool(host: str, port_min: int, port_max: int) -> MediaPool:
    return RtpPortPool(host, port_min, port_max)
