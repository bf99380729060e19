"""Audio sources for playback: WAV decoding to 8 kHz mono (codecs.resample), espeak-ng synthesis,
and fetching a WAV over HTTP(S) or from the recordings bucket."""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Protocol

import numpy as np
import numpy.typing as npt
from voicelane.media_gateway import ObjectUnreadable

from voicelane_media.codecs.g711 import ALAW_DECODE, ULAW_DECODE, Int16Array
from voicelane_media.codecs.resample import resample, to_int16

RATE = 8000
MAX_AUDIO_BYTES = 64 * 1024 * 1024
MAX_TEXT = 5000
_VOICE = re.compile(r"^[A-Za-z0-9_+\-]{1,40}$")
FloatArray = npt.NDArray[np.float64]


class AudioError(ValueError):
    """Audio that cannot be fetched, decoded or synthesized (the message says why)."""


class ObjectReader(Protocol):
    """Reads stored objects: the recordings bucket, s3:// URLs (the node's ControlPlane does,
    through the media gateway, off the event loop)."""

    async def read_object(self, key: str, max_bytes: int) -> bytes: ...


def decode_wav(data: bytes) -> tuple[FloatArray, int]:
    """RIFF/WAVE -> (mono float samples in [-1, 1], sample rate). PCM 8/16/24/32-bit, float,
    A-law and mu-law; tolerates the unknown data size that streaming writers (espeak-ng) emit."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8: pos + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                raise AudioError("truncated fmt chunk")
            tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", body)
            fmt = (tag, channels, rate, block_align, bits)
            if fmt[0] == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in the GUID
                fmt = (struct.unpack_from("<H", body, 24)[0], *fmt[1:])
        elif chunk == b"data":
            if fmt is None:
                raise AudioError("data chunk before fmt chunk")
            return _samples(body, fmt), fmt[2]
        pos += 8 + size + (size & 1)
    raise AudioError("no data chunk")


def _samples(body: bytes, fmt: tuple[int, ...]) -> FloatArray:
    tag, channels, rate, _, bits = fmt
    if not channels or not 1000 <= rate <= 384000:
        raise AudioError(f"unsupported WAV: {channels} channels at {rate} Hz")
    width = bits // 8
    if tag in (6, 7) and bits == 8:
        table = ALAW_DECODE if tag == 6 else ULAW_DECODE
        x = table[np.frombuffer(body, dtype=np.uint8)].astype(np.float64) / 32768.0
    elif tag == 1 and bits == 8:
        x = (np.frombuffer(body, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif tag == 1 and bits in (16, 32):
        n = len(body) // width * width
        x = np.frombuffer(body[:n], dtype=f"<i{width}").astype(np.float64) / float(1 << (bits - 1))
    elif tag == 1 and bits == 24:
        raw = np.frombuffer(body[: len(body) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        x = np.where(value & 0x800000, value - (1 << 24), value).astype(np.float64) / float(1 << 23)
    elif tag == 3 and bits in (32, 64):
        n = len(body) // width * width
        x = np.frombuffer(body[:n], dtype=f"<f{width}").astype(np.float64)
    else:
        raise AudioError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    frames = x.shape[0] // channels
    return np.asarray(x[: frames * channels].reshape(frames, channels).mean(axis=1), np.float64)


def to_pcm8k(x: FloatArray, rate: int) -> Int16Array:
    """Float samples at `rate` -> 8 kHz int16 (the RTP session's rate)."""
    return to_int16(resample(x, rate, RATE))


def wav_to_pcm8k(data: bytes) -> Int16Array:
    """Any supported WAV -> 8 kHz mono int16."""
    samples, rate = decode_wav(data)
    return to_pcm8k(samples, rate)


def wav_to_pcm(data: bytes, rate: int = RATE) -> Int16Array:
    """Any supported WAV -> mono int16 at ``rate``, resampled once from the file's own rate
    (a transport's native rate: audio is never resampled twice on its way out)."""
    samples, source = decode_wav(data)
    return to_int16(resample(samples, source, rate))


async def synthesize(text: str, voice: str = "en-us", rate: int = RATE) -> Int16Array:
    """espeak-ng in a subprocess (text on stdin, WAV on stdout) -> mono int16 at ``rate``."""
    if not text.strip():
        return np.zeros(0, dtype=np.int16)
    if len(text) > MAX_TEXT:
        raise AudioError(f"text longer than {MAX_TEXT} characters")
    if not _VOICE.match(voice):
        raise AudioError(f"invalid voice name {voice!r}")
    try:
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", voice, "--stdout",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError as exc:
        raise AudioError("espeak-ng is not installed (apt-get install espeak-ng)") from exc
    out, err = await proc.communicate(text.encode("utf-8"))
    if proc.returncode != 0 or not out:
        raise AudioError(f"espeak-ng failed: {err.decode(errors='replace').strip()[:200]}")
    return wav_to_pcm(out, rate)


async def fetch(url_or_s3_key: str, objects: ObjectReader | None = None) -> bytes:
    """The bytes of an http(s) URL, or of an s3://bucket/key or a key in the recordings
    bucket read through ``objects`` (the node's media gateway)."""
    if url_or_s3_key.startswith(("http://", "https://")):
        import httpx

        try:
            async with httpx.AsyncClient(timeout=15.0, follow_redirects=True) as client, \
                    client.stream("GET", url_or_s3_key) as response:
                if response.status_code != 200:
                    raise AudioError(f"GET {url_or_s3_key} answered {response.status_code}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_AUDIO_BYTES:
                        raise AudioError("audio file larger than 64 MB")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise AudioError(f"cannot fetch {url_or_s3_key}: {exc}") from exc
    if objects is None:
        raise AudioError(f"no object store to read {url_or_s3_key!r} from")
    try:
        return await objects.read_object(url_or_s3_key, MAX_AUDIO_BYTES)
    except ObjectUnreadable as exc:
        raise AudioError(exc.message) from exc


async def load(url_or_s3_key: str, rate: int = RATE,
               objects: ObjectReader | None = None) -> Int16Array:
    """Fetch and decode a WAV to mono int16 at ``rate`` (decoding runs off the event loop);
    recordings-bucket keys and s3:// URLs are read through ``objects``."""
    data = await fetch(url_or_s3_key, objects)
    return await asyncio.to_thread(wav_to_pcm, data, rate)
