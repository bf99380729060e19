"""Amazon Polly TTS against a real botocore client with stubbed responses (botocore Stubber)
whose AudioStream is a real StreamingBody over PCM bytes."""

from __future__ import annotations

import asyncio
import io
import threading

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from voicelane.domain.agent import AgentSpec
from voicelane_media.agent.cloud.polly import PollyTTS
from voicelane_media.agent.cloud.settings import PollySettings


def polly_client():
    return boto3.client(
        "polly", region_name="eu-west-1", aws_access_key_id="AK", aws_secret_access_key="SK"
    )


def pcm_ramp(samples: int) -> bytes:
    return b"".join((i % 3000).to_bytes(2, "little", signed=True) for i in range(samples))


class GatedRaw(io.RawIOBase):
    """A response body that delivers `first` bytes, then waits for `release` before the rest."""

    def __init__(self, data: bytes, first: int) -> None:
        self.data, self.first, self.pos = data, first, 0
        self.release = threading.Event()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.first and not self.release.wait(5):
            raise TimeoutError("never released")
        end = len(self.data) if size < 0 else self.pos + size
        if self.pos < self.first:
            end = min(end, self.first)
        chunk, self.pos = self.data[self.pos : end], min(end, len(self.data))
        return chunk


async def test_pcm_request_and_chunks_follow_the_body():
    client = polly_client()
    audio = pcm_ramp(8000 * 3 // 10 + 1) + b"\x01"  # 300 ms at 8 kHz plus an odd trailing byte
    stubber = Stubber(client)
    stubber.add_response(
        "synthesize_speech",
        {
            "AudioStream": StreamingBody(io.BytesIO(audio), len(audio)),
            "ContentType": "audio/pcm",
            "RequestCharacters": 12,
        },
        expected_params={
            "Text": "Hello there.",
            "OutputFormat": "pcm",
            "SampleRate": "8000",
            "VoiceId": "Matthew",
            "Engine": "standard",
        },
    )
    tts = PollyTTS.for_agent(
        AgentSpec(voice="Matthew:standard"),
        PollySettings(sample_rate=8000, chunk_ms=100),
    )
    tts.client = client
    with stubber:
        chunks = [c async for c in tts.synthesize("Hello there.")]
    stubber.assert_no_pending_responses()
    assert {c.sample_rate for c in chunks} == {8000}
    assert [len(c.pcm) for c in chunks][:3] == [1600, 1600, 1600]  # 100 ms of PCM16 each
    assert all(len(c.pcm) % 2 == 0 for c in chunks)  # never half a sample
    assert b"".join(c.pcm for c in chunks) == audio[: len(audio) - len(audio) % 2]


async def test_first_audio_is_yielded_before_polly_finishes_sending():
    client = polly_client()
    audio = pcm_ramp(16000)  # 1 s at 16 kHz
    raw = GatedRaw(audio, first=3200)
    stubber = Stubber(client)
    stubber.add_response(
        "synthesize_speech",
        {"AudioStream": StreamingBody(raw, len(audio)), "ContentType": "audio/pcm"},
        expected_params={
            "Text": "A long sentence.",
            "OutputFormat": "pcm",
            "SampleRate": "16000",
            "VoiceId": "Lea",
            "Engine": "neural",
        },
    )
    tts = PollyTTS.for_agent(
        AgentSpec(language="fr-FR"),
        PollySettings(),
    )
    tts.client = client
    with stubber:
        stream = tts.synthesize("A long sentence.")
        first = await asyncio.wait_for(anext(stream), 2)
        assert first.pcm == audio[:3200] and not raw.release.is_set()
        raw.release.set()
        rest = [c async for c in stream]
    assert first.pcm + b"".join(c.pcm for c in rest) == audio


def test_voice_setting_validation():
    with pytest.raises(ValueError, match="unknown Polly engine"):
        PollyTTS(PollySettings(), voice="Joanna:turbo", client=object())
    default = PollyTTS(PollySettings(voice_id="Ruth", engine="generative"), client=object())
    assert (default.voice_id, default.engine) == ("Ruth", "generative")
