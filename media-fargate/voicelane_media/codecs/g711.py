"""ITU-T G.711 mu-law and A-law in numpy, bit-exact with the reference (Sun g711.c).

Samples are 16-bit linear PCM (``int16``); codes are ``uint8``. Encoding uses a
65536-entry table indexed by the sample's bit pattern, decoding a 256-entry table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]

_BIAS = 0x84
_CLIP = 8159


def _build_ulaw_decode() -> Int16Array:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_alaw_decode() -> Int16Array:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (mantissa << 4) + np.where(exponent == 0, 8, 0x108)
    magnitude = magnitude << np.maximum(exponent - 1, 0)
    out: Int16Array = np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)
    return out


def _build_ulaw_encode() -> UInt8Array:
    pcm = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    pcm = pcm >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), _CLIP) + (_BIAS >> 2)
    seg_end = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(seg_end, pcm, side="left")
    uval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((pcm >> (seg + 1)) & 0x0F))
    return ((uval ^ mask) & 0xFF).astype(np.uint8)


def _build_alaw_encode() -> UInt8Array:
    pcm = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    pcm = pcm >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    seg_end = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(seg_end, pcm, side="left")
    quant = np.where(seg < 2, pcm >> 1, pcm >> np.maximum(seg, 1)) & 0x0F
    aval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | quant)
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


ULAW_DECODE: Int16Array = _build_ulaw_decode()
ALAW_DECODE: Int16Array = _build_alaw_decode()
ULAW_ENCODE: UInt8Array = _build_ulaw_encode()
ALAW_ENCODE: UInt8Array = _build_alaw_encode()
for _table in (ULAW_DECODE, ALAW_DECODE, ULAW_ENCODE, ALAW_ENCODE):
    _table.setflags(write=False)


def _as_index(samples: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    arr = np.asarray(samples)
    if arr.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {arr.dtype}")
    return arr.view(np.uint16)


def ulaw_encode(samples: npt.ArrayLike) -> UInt8Array:
    """int16 PCM -> mu-law codes."""
    return ULAW_ENCODE[_as_index(samples)]


def alaw_encode(samples: npt.ArrayLike) -> UInt8Array:
    """int16 PCM -> A-law codes."""
    return ALAW_ENCODE[_as_index(samples)]


def ulaw_decode(codes: npt.ArrayLike) -> Int16Array:
    """mu-law codes (uint8) -> int16 PCM."""
    return ULAW_DECODE[np.asarray(codes, dtype=np.uint8)]


def alaw_decode(codes: npt.ArrayLike) -> Int16Array:
    """A-law codes (uint8) -> int16 PCM."""
    return ALAW_DECODE[np.asarray(codes, dtype=np.uint8)]


def _pcm(samples: npt.ArrayLike | bytes) -> Int16Array:
    if isinstance(samples, bytes | bytearray | memoryview):
        return np.frombuffer(samples, dtype="<i2").astype(np.int16)
    return np.asarray(samples, dtype=np.int16)


def pcmu_from_pcm(samples: npt.ArrayLike | bytes) -> bytes:
    """Little-endian int16 PCM bytes (or an int16 array) -> PCMU payload bytes."""
    return ulaw_encode(_pcm(samples)).tobytes()


def pcma_from_pcm(samples: npt.ArrayLike | bytes) -> bytes:
    return alaw_encode(_pcm(samples)).tobytes()


def pcm_from_pcmu(payload: bytes) -> Int16Array:
    return ulaw_decode(np.frombuffer(payload, dtype=np.uint8))


def pcm_from_pcma(payload: bytes) -> Int16Array:
    return alaw_decode(np.frombuffer(payload, dtype=np.uint8))
