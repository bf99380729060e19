"""Wideband RTP codecs, G.722 and Opus, through PyAV (ffmpeg's ``adpcm_g722`` and ``libopus``):
pure and synchronous, one 20 ms frame in, one RTP payload out, and back.

Both run at 16 kHz at the transport boundary (``pcm_rate``), so the agent gets wideband audio,
whatever the RTP clock says:

- G.722 (RFC 3551 section 4.5.2): samples at 16 kHz, but its RTP clock rate is 8000 for
  historical reasons, so a 20 ms frame (320 samples, 160 bytes at 64 kbit/s) advances the RTP
  timestamp by 160, as G.711 does. Its bytes map one to one onto timestamp units, so the jitter
  buffer can re-frame other packet times like G.711 (``sample_payload``).
- Opus (RFC 7587): the RTP clock is always 48000 (``opus/48000/2`` in SDP) whatever the encoder's
  rate, so a 20 ms frame advances the timestamp by 960. We encode mono 16 kHz (the encoder
  signals the bandwidth in-band), and decode at 48 kHz (ffmpeg's libopus decoder always outputs
  48 kHz), resampled once to 16 kHz with the media plane's resampler (an exact 3:1 ratio).

A codec object is stateful (ADPCM predictor, Opus range coder): one per RTP stream direction.
A payload that does not decode raises :class:`CodecError` (the receiver counts it and conceals).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

import av
import av.error
import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_int16

PCM_RATE = 16000
FRAME_SAMPLES = PCM_RATE // 50  # 20 ms at 16 kHz
OPUS_DECODE_RATE = 48000
OPUS_BITRATE = 32000  # mono wideband voice; RFC 7587 section 3.1.1 suggests 20-32 kbit/s


class CodecError(ValueError):
    """A payload that does not decode (corrupt, or not this codec)."""


class WidebandCodec(Protocol):
    """What an RTP stream needs of a wideband codec (see the module doc)."""

    name: str  # as in SDP rtpmap (G722, opus)
    pcm_rate: int  # PCM16 rate at the transport boundary
    rtp_clock: int  # RTP timestamp units per second
    frame_ts: int  # RTP timestamp units per 20 ms frame
    frame_samples: int  # PCM samples per 20 ms frame at pcm_rate
    sample_payload: bool  # payload bytes are timestamp units (a partial frame can be spliced)

    def encode(self, pcm: Int16Array) -> bytes:
        """One 20 ms frame (``frame_samples`` int16 samples) -> one RTP payload."""
        ...

    def decode(self, payload: bytes) -> Int16Array:
        """One RTP payload -> int16 samples at ``pcm_rate`` (``frame_samples`` for 20 ms)."""
        ...

    def silence(self) -> bytes:
        """The payload of a 20 ms silent frame (fills a partly received frame)."""
        ...


def _encoder(name: str, rate: int, bit_rate: int | None = None,
             options: dict[str, str] | None = None) -> av.AudioCodecContext:
    ctx = av.CodecContext.create(name, "w")
    assert isinstance(ctx, av.AudioCodecContext)
    ctx.sample_rate = rate
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.time_base = Fraction(1, rate)
    if bit_rate:
        ctx.bit_rate = bit_rate
    ctx.options = options or {}
    ctx.open()
    return ctx


def _decoder(name: str, rate: int) -> av.AudioCodecContext:
    ctx = av.CodecContext.create(name, "r")
    assert isinstance(ctx, av.AudioCodecContext)
    ctx.sample_rate = rate
    ctx.layout = "mono"
    ctx.open()
    return ctx


class _AvCodec:
    """Shared frame plumbing: int16 in, packets out; packets in, mono int16 out."""

    name = ""
    pcm_rate = PCM_RATE
    frame_samples = FRAME_SAMPLES

    def __init__(self, encoder: av.AudioCodecContext, decoder: av.AudioCodecContext) -> None:
        self._enc = encoder
        self._dec = decoder
        self._pts = 0

    def encode(self, pcm: Int16Array) -> bytes:
        samples = np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self._enc.sample_rate
        frame.pts = self._pts
        self._pts += samples.shape[1]
        return b"".join(bytes(packet) for packet in self._enc.encode(frame))

    def _decode_raw(self, payload: bytes) -> Int16Array:
        if not payload:
            raise CodecError(f"empty {self.name} payload")
        try:
            frames = self._dec.decode(av.Packet(payload))
        except (av.error.FFmpegError, ValueError) as exc:
            raise CodecError(f"{self.name} payload does not decode: {exc}") from None
        parts = [_mono_int16(frame) for frame in frames]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def decode(self, payload: bytes) -> Int16Array:
        return self._decode_raw(payload)


def _mono_int16(frame: av.AudioFrame) -> Int16Array:
    data = frame.to_ndarray()
    if data.dtype != np.int16:  # float planar or packed: [-1, 1]
        data = np.clip(np.round(data.astype(np.float64) * 32767.0), -32768, 32767)
    if frame.format.is_planar:
        mono = data.mean(axis=0) if data.shape[0] > 1 else data[0]
    else:  # packed: interleaved channels in one row
        channels = len(frame.layout.channels)
        mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
    return np.asarray(mono, dtype=np.int16)


class G722Codec(_AvCodec):
    """G.722 at 64 kbit/s: 320 samples at 16 kHz <-> 160 bytes, RTP clock 8000."""

    name = "G722"
    rtp_clock = 8000
    frame_ts = 160
    sample_payload = True

    def __init__(self) -> None:
        super().__init__(_encoder("adpcm_g722", PCM_RATE), _decoder("g722", PCM_RATE))

    def silence(self) -> bytes:
        return G722Codec().encode(np.zeros(FRAME_SAMPLES, np.int16))


class OpusCodec(_AvCodec):
    """Opus, mono voice at 16 kHz and 32 kbit/s (in-band FEC on), RTP clock 48000."""

    name = "opus"
    rtp_clock = 48000
    frame_ts = 960
    sample_payload = False

    def __init__(self, bit_rate: int = OPUS_BITRATE) -> None:
        super().__init__(
            _encoder("libopus", PCM_RATE, bit_rate,
                     {"application": "voip", "frame_duration": "20", "fec": "1"}),
            _decoder("libopus", OPUS_DECODE_RATE))

    def decode(self, payload: bytes) -> Int16Array:
        return resample_int16(self._decode_raw(payload), OPUS_DECODE_RATE, PCM_RATE)

    def silence(self) -> bytes:
        return OpusCodec().encode(np.zeros(FRAME_SAMPLES, np.int16))


def wideband_codec(name: str) -> WidebandCodec | None:
    """A fresh codec for an SDP encoding name (case-insensitive), None for G.711 and others."""
    key = name.lower()
    if key == "g722":
        return G722Codec()
    if key == "opus":
        return OpusCodec()
    return None
