"""G.711 bit-exactness against the ITU-T formulas and a plain port of the Sun g711.c reference."""

from __future__ import annotations

import numpy as np
import pytest
from voicelane_media.codecs import g711


def spec_ulaw_decode(code: int) -> int:
    """G.711 table 2a: complemented code word -> (2m+33)*2^e - 33 in 14-bit units."""
    c = ~code & 0xFF
    sign = -1 if c & 0x80 else 1
    e = (c >> 4) & 7
    m = c & 0xF
    return sign * 4 * ((2 * m + 33) * 2**e - 33)


def spec_alaw_decode(code: int) -> int:
    """G.711 table 1a: even bits inverted; segment 0 is (2m+1), others (2m+33)*2^(e-1)."""
    c = code ^ 0x55
    sign = 1 if c & 0x80 else -1
    e = (c >> 4) & 7
    m = c & 0xF
    mag = (2 * m + 1) if e == 0 else (2 * m + 33) * 2 ** (e - 1)
    return sign * 8 * mag


def _search(val: int, table: list[int]) -> int:
    for i, end in enumerate(table):
        if val <= end:
            return i
    return len(table)


def ref_linear2ulaw(pcm: int) -> int:
    pcm >>= 2
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + (0x84 >> 2)
    seg = _search(pcm, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask


def ref_linear2alaw(pcm: int) -> int:
    pcm >>= 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    seg = _search(pcm, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((pcm >> 1) if seg < 2 else (pcm >> seg)) & 0xF
    return aval ^ mask


ALL_CODES = np.arange(256, dtype=np.uint8)
ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)


def test_ulaw_decode_table_matches_spec() -> None:
    assert g711.ulaw_decode(ALL_CODES).tolist() == [spec_ulaw_decode(c) for c in range(256)]
    assert g711.ulaw_decode(np.array([0x00, 0x7F, 0x80, 0xFF], np.uint8)).tolist() == [
        -32124, 0, 32124, 0,
    ]


def test_alaw_decode_table_matches_spec() -> None:
    assert g711.alaw_decode(ALL_CODES).tolist() == [spec_alaw_decode(c) for c in range(256)]
    assert g711.alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A], np.uint8)).tolist() == [
        8, -8, 32256, -32256,
    ]


@pytest.mark.parametrize(
    ("encode", "ref"),
    [(g711.ulaw_encode, ref_linear2ulaw), (g711.alaw_encode, ref_linear2alaw)],
)
def test_encode_all_65536_samples_matches_reference(encode, ref) -> None:  # type: ignore[no-untyped-def]
    expected = np.array([ref(int(s)) for s in ALL_SAMPLES], dtype=np.uint8)
    assert np.array_equal(encode(ALL_SAMPLES), expected)


def test_code_round_trip_and_quantisation_error() -> None:
    # decode then encode returns the same code (except mu-law negative zero 0x7F -> 0xFF)
    assert np.array_equal(g711.alaw_encode(g711.alaw_decode(ALL_CODES)), ALL_CODES)
    u = g711.ulaw_encode(g711.ulaw_decode(ALL_CODES))
    assert np.array_equal(u[ALL_CODES != 0x7F], ALL_CODES[ALL_CODES != 0x7F])
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        back = dec(enc(ALL_SAMPLES)).astype(np.int64)
        err = np.abs(back - ALL_SAMPLES.astype(np.int64))
        # error bounded by half a step of the segment: relative error about 3 %, absolute
        # at most 1024 (top segment, clipping region ~ 32124/32256)
        assert err.max() <= 1024
        small = np.abs(ALL_SAMPLES.astype(np.int64)) < 64
        assert err[small].max() <= 8
        assert np.all(np.sign(back[np.abs(ALL_SAMPLES) > 64]) == np.sign(ALL_SAMPLES[np.abs(ALL_SAMPLES) > 64]))


def test_bytes_helpers_and_dtype_checks() -> None:
    pcm = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    payload = g711.pcmu_from_pcm(pcm.astype("<i2").tobytes())
    assert payload == g711.ulaw_encode(pcm).tobytes() and len(payload) == 5
    assert np.array_equal(g711.pcm_from_pcmu(payload), g711.ulaw_decode(g711.ulaw_encode(pcm)))
    assert g711.pcm_from_pcma(g711.pcma_from_pcm(pcm)).dtype == np.int16
    assert g711.pcmu_from_pcm(np.zeros(160, np.int16)) == b"\xff" * 160
    assert g711.pcma_from_pcm(np.zeros(160, np.int16)) == b"\xd5" * 160
    with pytest.raises(TypeError):
        g711.ulaw_encode(np.zeros(4, dtype=np.float32))
