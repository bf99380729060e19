"""G.722 and Opus through PyAV: a tone survives the round trip (frequency, SNR), framing and
RTP clocks follow RFC 3551 / RFC 7587, and a corrupt payload is a CodecError, not a crash."""

from __future__ import annotations

import numpy as np
import pytest
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.wideband import (
    CodecError,
    G722Codec,
    OpusCodec,
    WidebandCodec,
    wideband_codec,
)

RATE = 16000
FRAME = 320


def tone(freq: float, seconds: float = 1.0, level: float = 0.3) -> Int16Array:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)


def peak_hz(x: Int16Array) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.size)))
    return float(np.argmax(spectrum) * RATE / x.size)


def round_trip(codec: WidebandCodec, pcm: Int16Array) -> tuple[list[bytes], Int16Array]:
    payloads = [codec.encode(pcm[i:i + FRAME]) for i in range(0, pcm.size, FRAME)]
    out = np.concatenate([codec.decode(p) for p in payloads])
    return payloads, out


def snr_db(ref: Int16Array, out: Int16Array) -> float:
    """SNR after aligning for the codec's delay (best lag within 10 ms)."""
    ref_f, out_f = ref.astype(np.float64), out.astype(np.float64)
    best = -np.inf
    for lag in range(0, 160):
        a, b = ref_f[: ref_f.size - lag - 800], out_f[lag: lag + ref_f.size - lag - 800]
        a, b = a[1600:], b[1600:]  # skip the start-up of the predictor / range coder
        noise = np.sum((a - b) ** 2)
        best = max(best, 10 * np.log10(np.sum(a ** 2) / max(noise, 1e-9)))
    return float(best)


@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0, 6500.0])
def test_g722_tone_round_trip(freq: float) -> None:
    pcm = tone(freq)
    payloads, out = round_trip(G722Codec(), pcm)
    assert {len(p) for p in payloads} == {160}  # 64 kbit/s: 160 bytes per 20 ms
    assert out.size == pcm.size
    assert abs(peak_hz(out[1600:]) - freq) < 20  # above 4 kHz too: G.711 could not carry it
    assert snr_db(pcm, out) > 15  # measured 47 dB at 1 kHz, 22 dB at 5 kHz


@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0, 6500.0])
def test_opus_tone_round_trip(freq: float) -> None:
    pcm = tone(freq)
    payloads, out = round_trip(OpusCodec(), pcm)
    assert all(10 < len(p) < 200 for p in payloads)  # ~32 kbit/s: ~80 bytes per 20 ms
    assert out.size == pcm.size  # 960 samples at 48 kHz -> 320 at 16 kHz per frame
    assert abs(peak_hz(out[1600:]) - freq) < 20
    assert snr_db(pcm, out) > 6  # perceptual codec: measured 13 dB at 1 kHz, 8 dB at 5 kHz


def test_rtp_clocks_follow_the_rfcs() -> None:
    g722, opus = G722Codec(), OpusCodec()
    # RFC 3551 4.5.2: G.722 samples at 16 kHz but its RTP clock is 8000
    assert (g722.pcm_rate, g722.rtp_clock, g722.frame_ts, g722.frame_samples) == (16000, 8000, 160, 320)
    # RFC 7587: the Opus RTP clock is 48000 whatever the encoder's rate
    assert (opus.pcm_rate, opus.rtp_clock, opus.frame_ts, opus.frame_samples) == (16000, 48000, 960, 320)


def test_silence_payloads_decode_to_silence() -> None:
    for codec in (G722Codec(), OpusCodec()):
        out = codec.decode(codec.silence())
        assert out.size == FRAME
        assert np.abs(out.astype(np.int32)).max() < 200


def test_corrupt_payload_is_a_codec_error() -> None:
    codec = OpusCodec()
    with pytest.raises(CodecError):
        codec.decode(b"")
    with pytest.raises(CodecError):
        codec.decode(b"\xff\xfe\x01")  # an Opus code 3 packet with a bad frame count
    assert codec.decode(codec.encode(tone(1000, 0.02))).size == FRAME  # still usable after


def test_codec_by_sdp_name() -> None:
    assert isinstance(wideband_codec("G722"), G722Codec)
    assert isinstance(wideband_codec("OPUS"), OpusCodec)
    assert wideband_codec("PCMU") is None
