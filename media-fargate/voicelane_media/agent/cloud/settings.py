"""Settings of the cloud engines, one pydantic settings model per engine.

AWS engines use the default credential chain (the media task role on Fargate); nothing here
holds AWS keys. The OpenAI-compatible engine's API key is a SecretStr: it is sent as a bearer
token and never logged or shown in a repr.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_region() -> str:
    """The region AWS engines use when their own setting is unset."""
    return (
        os.environ.get("VOICELANE_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


class _AwsEngineSettings(BaseSettings):
    region: str = Field(default_factory=default_region)
    endpoint_url: str | None = Field(
        default=None, description="Override the service endpoint (VPC endpoint, local fake)."
    )
    connect_timeout_s: float = Field(default=3.0, gt=0, le=30)
    read_timeout_s: float = Field(default=15.0, gt=0, le=120)


class PollySettings(_AwsEngineSettings):
    """Amazon Polly TTS (env VOICELANE_POLLY_*). `AgentSpec.voice` "Joanna" or "Joanna:standard"
    overrides voice_id / engine; "default" keeps these."""

    model_config = SettingsConfigDict(env_prefix="VOICELANE_POLLY_", extra="ignore")

    voice_id: str | None = Field(
        default=None, description="Unset: a neural voice for the agent's language (Joanna)."
    )
    engine: Literal["neural", "standard", "generative", "long-form"] = "neural"
    sample_rate: int = Field(default=16000, description="Polly's PCM rates: 8000 or 16000.")
    chunk_ms: int = Field(default=100, ge=20, le=1000, description="Audio per yielded chunk.")

    @field_validator("sample_rate")
    @classmethod
    def _pcm_rate(cls, value: int) -> int:
        if value not in (8000, 16000):
            raise ValueError("Polly PCM is 8000 or 16000 Hz")
        return value


class BedrockSettings(_AwsEngineSettings):
    """Amazon Bedrock ConverseStream (env VOICELANE_BEDROCK_*). `AgentSpec.model` overrides
    model_id unless it is "scripted" or "default"."""

    model_config = SettingsConfigDict(env_prefix="VOICELANE_BEDROCK_", extra="ignore")

    model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"
    max_tokens: int = Field(default=512, ge=1, le=8192)


class TranscribeSettings(_AwsEngineSettings):
    """Amazon Transcribe streaming (env VOICELANE_TRANSCRIBE_*); language from AgentSpec.language.

    Audio is sent in `chunk_ms` events (Transcribe wants 50-200 ms chunks, the loop pushes 20 ms).
    """

    model_config = SettingsConfigDict(env_prefix="VOICELANE_TRANSCRIBE_", extra="ignore")

    chunk_ms: int = Field(default=100, ge=20, le=500)
    partial_results_stability: Literal["low", "medium", "high"] | None = "high"
    vocabulary_name: str | None = None
    final_timeout_s: float = Field(default=5.0, gt=0, le=30)


class OpenAISettings(BaseSettings):
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server, Ollama).

    Env VOICELANE_OPENAI_BASE_URL, VOICELANE_OPENAI_API_KEY, VOICELANE_OPENAI_MODEL.
    `AgentSpec.model` overrides `model` unless it is "scripted" or "default".
    """

    model_config = SettingsConfigDict(env_prefix="VOICELANE_OPENAI_", extra="ignore")

    base_url: str = "https://api.openai.com/v1"
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    max_tokens: int = Field(default=512, ge=1, le=8192)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    read_timeout_s: float = Field(default=30.0, gt=0, le=300)


def agent_model(model: str, fallback: str) -> str:
    """The model an agent asked for, or the engine's default when it named none."""
    return fallback if model in ("", "scripted", "default") else model
