"""Amazon Polly TTS: SynthesizeSpeech as raw PCM (8 or 16 kHz), streamed in small chunks.

The TTS processor hands over one sentence at a time; the response body is read chunk by chunk
in a worker thread, so the first audio goes out while Polly is still sending the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.cloud.aws import aws_client
from voicelane_media.agent.cloud.settings import PollySettings
from voicelane_media.agent.providers import AudioChunk

_ENGINES = ("neural", "standard", "generative", "long-form")
# A neural voice per language for agents that leave `voice` at "default".
_LANGUAGE_VOICES = {
    "en-US": "Joanna", "en-GB": "Amy", "en-AU": "Olivia", "es-ES": "Lucia", "es-US": "Lupe",
    "fr-FR": "Lea", "de-DE": "Vicki", "it-IT": "Bianca", "pt-BR": "Camila", "ja-JP": "Takumi",
}  # fmt: skip


def polly_voice(voice: str, settings: PollySettings, language: str = "") -> tuple[str, str]:
    """(VoiceId, Engine) from AgentSpec.voice: "Joanna", "Joanna:standard" or "default"
    (the settings' voice_id, else a voice for the agent's language, else Joanna)."""
    if not voice or voice == "default":
        name = settings.voice_id or _LANGUAGE_VOICES.get(language, "Joanna")
        return name, settings.engine
    name, _, engine = voice.partition(":")
    if engine and engine not in _ENGINES:
        raise ValueError(f"unknown Polly engine {engine!r} (expected one of {_ENGINES})")
    return name, engine or settings.engine


class PollyTTS:
    """Streaming TTS on Amazon Polly (needs polly:SynthesizeSpeech)."""

    def __init__(
        self,
        settings: PollySettings | None = None,
        voice: str = "default",
        language: str = "",
        client: Any | None = None,
    ) -> None:
        self.settings = settings or PollySettings()
        self.voice_id, self.engine = polly_voice(voice, self.settings, language)
        self.client = client or aws_client(
            "polly",
            self.settings.region,
            self.settings.endpoint_url,
            self.settings.connect_timeout_s,
            self.settings.read_timeout_s,
        )

    @classmethod
    def for_agent(cls, spec: AgentSpec, settings: PollySettings | None = None) -> PollyTTS:
        return cls(settings, voice=spec.voice, language=spec.language)

    def request(self, text: str) -> dict[str, Any]:
        """The SynthesizeSpeech parameters for `text`."""
        return {
            "Text": text,
            "OutputFormat": "pcm",
            "SampleRate": str(self.settings.sample_rate),
            "VoiceId": self.voice_id,
            "Engine": self.engine,
        }

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        rate = self.settings.sample_rate
        chunk_bytes = rate * self.settings.chunk_ms // 1000 * 2
        response = await asyncio.to_thread(self.client.synthesize_speech, **self.request(text))
        body = response["AudioStream"]
        carry = b""
        try:
            while data := await asyncio.to_thread(body.read, chunk_bytes):
                data = carry + data
                cut = len(data) - len(data) % 2  # PCM16: never split a sample
                carry = data[cut:]
                if cut:
                    yield AudioChunk(pcm=data[:cut], sample_rate=rate)
        finally:
            with contextlib.suppress(Exception):
                body.close()
