"""Amazon Transcribe streaming through the real `amazon-transcribe` SDK client (request
serialisation, SigV4 signing of the request and of every audio event, event-stream framing and
parsing). Only its HTTP/2 session is replaced, by a fake service that decodes the signed audio
events the client sends and answers with TranscriptEvent messages."""

from __future__ import annotations

import asyncio

import pytest
from amazon_transcribe.auth import StaticCredentialResolver
from amazon_transcribe.client import TranscribeStreamingClient
from voicelane.domain.agent import AgentSpec
from voicelane_media.agent.cloud.settings import TranscribeSettings
from voicelane_media.agent.cloud.transcribe import TranscribeSTT

from tests.voicelane_media.agent.cloud_wire import FakeTranscribeService, TranscribeScript


def transcribe_client(service: FakeTranscribeService) -> TranscribeStreamingClient:
    client = TranscribeStreamingClient(
        region="eu-west-1", credential_resolver=StaticCredentialResolver("AKIDEXAMPLE", "secret")
    )
    client._session_manager = service  # the SDK's HTTP boundary
    return client


def frames(ms: int, sample_rate: int) -> list[bytes]:
    one = sample_rate * 20 // 1000 * 2
    return [bytes([n % 251]) * one for n in range(ms // 20)]


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_partials_become_interims_and_finals_the_final(rate: int):
    second = rate * 2  # bytes in one second of PCM16
    service = FakeTranscribeService(
        TranscribeScript(
            partials=[(second // 5, "book"), (second // 2, "book a table")],
            finals=["Book a table.", "For two."],
        )
    )
    stt = TranscribeSTT.for_agent(
        AgentSpec(language="en-GB"),
        TranscribeSettings(chunk_ms=100, partial_results_stability=None),
    )
    stt.client = transcribe_client(service)
    stream = stt.open_stream(rate)
    audio = frames(800, rate)
    results = []

    async def read() -> None:
        async for result in stream.results():
            results.append(result)

    reader = asyncio.create_task(read())
    for frame in audio:
        await stream.push(frame)
        await asyncio.sleep(0.001)
    # Interim text arrives while the caller is still speaking.
    for _ in range(200):
        if results:
            break
        await asyncio.sleep(0.005)
    assert results and results[0].text == "book" and not results[0].is_final
    await stream.finish()
    await asyncio.wait_for(reader, 3)
    await stream.aclose()

    texts = [(r.text, r.is_final) for r in results]
    assert ("book a table", False) in texts
    assert texts[-1] == ("Book a table. For two.", True)
    assert [r for r in results if r.is_final] == [results[-1]]
    url, headers = service.requests[0]
    assert url == "https://transcribestreaming.eu-west-1.amazonaws.com/stream-transcription"
    assert headers["x-amzn-transcribe-language-code"] == "en-GB"
    assert headers["x-amzn-transcribe-sample-rate"] == str(rate)
    assert headers["x-amzn-transcribe-media-encoding"] == "pcm"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "secret" not in str(headers)
    assert service.audio == b"".join(audio)  # every byte arrived, in order
    assert service.audio_events == 8  # 100 ms audio events, not one per 20 ms frame


async def test_a_failed_stream_still_ends_the_turn_with_a_final():
    class Refusing(FakeTranscribeService):
        async def make_request(self, *args, **kwargs):
            raise ConnectionError("no route")

    stt = TranscribeSTT(
        TranscribeSettings(), client=transcribe_client(Refusing(TranscribeScript()))
    )
    stream = stt.open_stream(16000)
    await stream.push(frames(40, 16000)[0])
    await stream.finish()
    results = [r async for r in stream.results()]
    await stream.aclose()
    assert [(r.text, r.is_final) for r in results] == [("", True)]


async def test_request_settings():
    stt = TranscribeSTT(
        TranscribeSettings(vocabulary_name="menu", partial_results_stability="medium"),
        language="es-US",
        client=object(),
    )
    assert stt.request(8000) == {
        "language_code": "es-US",
        "media_sample_rate_hz": 8000,
        "media_encoding": "pcm",
        "enable_partial_results_stabilization": True,
        "partial_results_stability": "medium",
        "vocabulary_name": "menu",
    }
    with pytest.raises(ValueError):
        stt.open_stream(22050)
