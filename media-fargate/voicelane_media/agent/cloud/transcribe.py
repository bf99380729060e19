"""Amazon Transcribe streaming STT (the `amazon-transcribe` SDK, HTTP/2 event streams).

One transcription stream per caller utterance (VAD segment): audio is buffered into
`chunk_ms` audio events, partial results become interim transcripts, and the non-partial
results of the utterance, joined, become its final once the input stream has ended and
Transcribe has closed the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.cloud.settings import TranscribeSettings
from voicelane_media.agent.providers import TranscriptResult

log = logging.getLogger(__name__)


_LOCK = threading.Lock()


def shared_client(region: str, endpoint_url: str | None) -> Any:
    """One SDK client per region/endpoint in the process (it owns an HTTP/2 connection cache);
    engines are built in worker threads, so creation is serialised."""
    with _LOCK:
        return _client(region, endpoint_url)


@functools.lru_cache(maxsize=8)
def _client(region: str, endpoint_url: str | None) -> Any:
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver

    resolver = StaticEndpointResolver(endpoint_url) if endpoint_url else None  # type: ignore[no-untyped-call]
    return TranscribeStreamingClient(region=region, endpoint_resolver=resolver)


class TranscribeStream:
    """One utterance on one Transcribe stream (opened at once, so setup overlaps speech)."""

    def __init__(self, owner: TranscribeSTT, sample_rate: int) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError("Transcribe streaming takes PCM at 8000 or 16000 Hz here")
        self.owner = owner
        self.sample_rate = sample_rate
        self._chunk_bytes = sample_rate * owner.settings.chunk_ms // 1000 * 2
        self._pending = bytearray()
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._results: asyncio.Queue[TranscriptResult | None] = asyncio.Queue()
        self._finals: list[str] = []
        self._task = asyncio.get_running_loop().create_task(self._run(), name="transcribe")

    async def push(self, pcm: bytes) -> None:
        self._pending += pcm
        if len(self._pending) >= self._chunk_bytes:
            self._audio.put_nowait(bytes(self._pending))
            self._pending.clear()

    async def finish(self) -> None:
        if self._pending:
            self._audio.put_nowait(bytes(self._pending))
            self._pending.clear()
        self._audio.put_nowait(None)

    async def results(self) -> AsyncIterator[TranscriptResult]:
        while (item := await self._results.get()) is not None:
            yield item

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _run(self) -> None:
        try:
            request = self.owner.request(self.sample_rate)
            stream = await self.owner.client.start_stream_transcription(**request)
            writer = asyncio.create_task(self._write(stream.input_stream), name="transcribe-in")
            reader = asyncio.create_task(self._read(stream.output_stream), name="transcribe-out")
            try:
                await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
                if writer.done():
                    writer.result()
                    # The caller's turn ended: Transcribe sends the last results, then closes.
                    await asyncio.wait_for(reader, self.owner.settings.final_timeout_s)
                reader.result()
            finally:
                for task in (writer, reader):
                    task.cancel()
                await asyncio.gather(writer, reader, return_exceptions=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the caller's turn goes on with what was recognised
            log.warning("transcribe stream failed: %s", type(error).__name__)
        finally:
            self._results.put_nowait(TranscriptResult(text=self.text(), is_final=True))
            self._results.put_nowait(None)

    async def _read(self, output_stream: Any) -> None:
        async for event in output_stream:
            self._on_event(event)

    async def _write(self, input_stream: Any) -> None:
        while (chunk := await self._audio.get()) is not None:
            await input_stream.send_audio_event(audio_chunk=chunk)
        await input_stream.end_stream()

    def _on_event(self, event: Any) -> None:
        transcript = getattr(event, "transcript", None)
        for result in getattr(transcript, "results", None) or []:
            if not result.alternatives:
                continue
            text = (result.alternatives[0].transcript or "").strip()
            if result.is_partial:
                if text:
                    joined = " ".join([*self._finals, text])
                    self._results.put_nowait(TranscriptResult(text=joined, is_final=False))
            elif text:
                self._finals.append(text)
                self._results.put_nowait(TranscriptResult(text=self.text(), is_final=False))

    def text(self) -> str:
        """The non-partial results of this utterance so far, joined."""
        return " ".join(self._finals)


class TranscribeSTT:
    """Streaming STT on Amazon Transcribe (needs transcribe:StartStreamTranscription)."""

    def __init__(
        self,
        settings: TranscribeSettings | None = None,
        language: str = "en-US",
        client: Any | None = None,
    ) -> None:
        self.settings = settings or TranscribeSettings()
        self.language = language
        self.client = client or shared_client(self.settings.region, self.settings.endpoint_url)

    @classmethod
    def for_agent(
        cls, spec: AgentSpec, settings: TranscribeSettings | None = None
    ) -> TranscribeSTT:
        return cls(settings, language=spec.language)

    def request(self, sample_rate: int) -> dict[str, Any]:
        """start_stream_transcription arguments for PCM16 at `sample_rate`."""
        params: dict[str, Any] = {
            "language_code": self.language,
            "media_sample_rate_hz": sample_rate,
            "media_encoding": "pcm",
        }
        if self.settings.partial_results_stability:
            params["enable_partial_results_stabilization"] = True
            params["partial_results_stability"] = self.settings.partial_results_stability
        if self.settings.vocabulary_name:
            params["vocabulary_name"] = self.settings.vocabulary_name
        return params

    def open_stream(self, sample_rate: int) -> TranscribeStream:
        return TranscribeStream(self, sample_rate)


def reset_clients() -> None:
    """Forget the shared SDK clients (tests replace a client's HTTP session)."""
    _client.cache_clear()
