"""Builds the engines an agent asked for (AgentSpec.engines) for one call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from voicelane.domain.agent import AgentSpec, TurnDetection

from voicelane_media.agent.cloud.bedrock import BedrockLLM
from voicelane_media.agent.cloud.openai_chat import OpenAIChatLLM
from voicelane_media.agent.cloud.polly import PollyTTS
from voicelane_media.agent.cloud.transcribe import TranscribeSTT
from voicelane_media.agent.denoise import build_suppressor
from voicelane_media.agent.local_engines import EspeakTTS, PiperTTS, SileroVAD, WhisperSTT
from voicelane_media.agent.providers import (
    Engines,
    LLMEngine,
    NoiseSuppressor,
    STTEngine,
    TTSEngine,
)
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.agent.settings import LoopSettings, for_agent
from voicelane_media.agent.smart_turn import SmartTurnAnalyzer

log = logging.getLogger(__name__)


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here (missing package, model or credentials)."""


E = TypeVar("E")


def _cloud(build: Callable[[], E], name: str, package: str) -> E:
    try:
        return build()
    except ImportError as error:
        raise EngineUnavailable(f"engine {name!r} needs the {package!r} package") from error


def build_llm(spec: AgentSpec) -> LLMEngine:
    """The agent's brain alone (the scripted engine or a cloud LLM client): what writes a line
    for it before its session runs (``agent/machine_lines.py``)."""
    choice = spec.engines.llm
    if choice == "scripted":
        return ScriptedDialogue(spec.script)
    if choice == "bedrock":
        return _cloud(lambda: BedrockLLM.for_agent(spec), "bedrock", "boto3")
    if choice == "openai":
        return OpenAIChatLLM.for_agent(spec)
    raise EngineUnavailable(f"llm engine {choice!r} is not available in this build")


def build_engines(spec: AgentSpec) -> Engines:
    """The engines `spec.engines` names: local ones, or cloud ones (voicelane_media.agent.cloud)
    configured from their settings models and the agent's model/voice/language/temperature."""
    choice = spec.engines
    stt: STTEngine
    tts: TTSEngine
    if choice.stt == "local":
        stt = WhisperSTT()
    elif choice.stt == "transcribe":
        stt = _cloud(lambda: TranscribeSTT.for_agent(spec), "transcribe", "amazon-transcribe")
    else:
        raise EngineUnavailable(f"stt engine {choice.stt!r} is not available in this build")
    llm = build_llm(spec)
    if choice.tts == "local":
        tts = PiperTTS()
    elif choice.tts == "espeak":
        tts = EspeakTTS()
    elif choice.tts == "polly":
        tts = _cloud(lambda: PollyTTS.for_agent(spec), "polly", "boto3")
    else:
        raise EngineUnavailable(f"tts engine {choice.tts!r} is not available in this build")
    settings = for_agent(spec, LoopSettings())
    turn: SmartTurnAnalyzer | None = None
    if settings.turn_detection is TurnDetection.SMART_TURN:
        try:
            turn = SmartTurnAnalyzer()
        except Exception as error:  # no model file here: the agent endpoints on silence
            log.warning("smart_turn unavailable, using silence endpointing: %s", error)
    noise: NoiseSuppressor | None = None
    try:
        noise = build_suppressor(settings.noise_suppression.value)
    except Exception as error:  # its wheel is not installed here: the audio goes in as it is
        log.warning("noise suppression %s unavailable: %s", settings.noise_suppression, error)
    return Engines(
        vad=SileroVAD(), stt=stt, llm=llm, tts=tts, names=choice.model_dump(), turn=turn,
        noise=noise,
    )
