"""Playback sources: espeak-ng speech and WAV files over real HTTP, resampled to 8 kHz mono."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from voicelane.adapters import aws
from voicelane.adapters.artifacts import recordings_bucket
from voicelane.settings import get_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.media import AudioError
from voicelane_media.media.audio import wav_to_pcm8k
from voicelane_media.node.control import ControlPlane
from voicelane_media.transports.sip.rtp import RtpPortPool

from tests.voicelane_media.helpers import connected_pair, dominant_hz


def wav_bytes(samples: Int16Array, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(samples, channels).astype("<i2").tobytes())
    return out.getvalue()


TONE_16K = (8000 * np.sin(2 * np.pi * 700 * np.arange(16000) / 16000)).astype(np.int16)


@pytest.fixture
def http_wav() -> Iterator[str]:
    body = wav_bytes(TONE_16K, 16000, channels=2)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/tone.wav":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_play_url_fetches_resamples_and_plays(pool: RtpPortPool, http_wav: str) -> None:
    a, b = await connected_pair(pool)
    heard: list[Int16Array] = []
    b.on_audio = lambda pcm: heard.append(pcm.copy())
    played = await a.play_url(f"{http_wav}/tone.wav")
    await asyncio.sleep(0.15)
    assert played == 8000  # 1 s of 16 kHz stereo -> 8000 samples at 8 kHz mono
    assert abs(dominant_hz(np.concatenate(heard)) - 700) < 10
    with pytest.raises(AudioError, match="404"):
        await a.play_url(f"{http_wav}/missing.wav")


async def test_play_s3_key_reads_the_stages_recordings_bucket_when_the_setting_is_empty(
        pool: RtpPortPool, local_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    # locally (and in AWS unless overridden) VOICELANE_RECORDINGS_BUCKET is empty: the bucket is
    # the stage's, as the control plane stores recordings (adapters.artifacts.recordings_bucket)
    monkeypatch.delenv("VOICELANE_RECORDINGS_BUCKET", raising=False)
    get_settings.cache_clear()
    try:
        # the node reads stored audio through its gateway (MediaNode sets pool.objects)
        pool.objects = ControlPlane(local_platform.container.media_gateway, "sources-test")
        await _play_from_the_stage_bucket(pool)
    finally:
        get_settings.cache_clear()


async def _play_from_the_stage_bucket(pool: RtpPortPool) -> None:
    settings = get_settings()
    assert settings.recordings_bucket == ""
    bucket = recordings_bucket(settings)
    aws.client("s3", settings).put_object(Bucket=bucket, Key="prompts/tone.wav",
                                          Body=wav_bytes(TONE_16K, 16000))
    a, b = await connected_pair(pool)
    heard: list[Int16Array] = []
    b.on_audio = lambda pcm: heard.append(pcm.copy())
    assert await a.play_url("prompts/tone.wav") == 8000
    assert await a.play_url(f"s3://{bucket}/prompts/tone.wav") == 8000
    await asyncio.sleep(0.15)
    assert abs(dominant_hz(np.concatenate(heard)) - 700) < 10
    with pytest.raises(AudioError, match="cannot read"):
        await a.play_url("prompts/missing.wav")


def test_wav_decoding_rejects_garbage_and_resamples() -> None:
    with pytest.raises(AudioError):
        wav_to_pcm8k(b"not a wav at all")
    pcm = wav_to_pcm8k(wav_bytes(TONE_16K, 16000))
    assert pcm.dtype == np.int16 and len(pcm) == 8000
    assert abs(dominant_hz(pcm) - 700) < 10


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
async def test_speak_synthesizes_speech_and_plays_it(pool: RtpPortPool) -> None:
    a, b = await connected_pair(pool)
    heard: list[Int16Array] = []
    b.on_audio = lambda pcm: heard.append(pcm.copy())
    played = await a.speak("Hello from Voicelane")
    await asyncio.sleep(0.15)
    assert 8000 < played < 8000 * 5  # one to five seconds of speech
    energy = np.abs(np.concatenate(heard).astype(np.int32))
    assert energy.mean() > 200  # not silence
    with pytest.raises(AudioError):
        await a.speak("hi", voice="--evil")
