"""Builds the engines an agent asked for (AgentSpec.engines) for one call."""

from __future__ import annotations

from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.local_engines import EspeakTTS, PiperTTS, SileroVAD, WhisperSTT
from voicelane_media.agent.providers import Engines, LLMEngine, STTEngine, TTSEngine
from voicelane_media.agent.scripted import ScriptedDialogue


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here (missing package, model or credentials)."""


def build_engines(spec: AgentSpec) -> Engines:
    """Local engines are built here; cloud engines (transcribe, bedrock, openai, polly) are
    selected by name but not wired in this version and raise EngineUnavailable."""
    choice = spec.engines
    stt: STTEngine
    llm: LLMEngine
    tts: TTSEngine
    if choice.stt == "local":
        stt = WhisperSTT()
    else:
        raise EngineUnavailable(f"stt engine {choice.stt!r} is not available in this build")
    if choice.llm == "scripted":
        llm = ScriptedDialogue(spec.script)
    else:
        raise EngineUnavailable(f"llm engine {choice.llm!r} is not available in this build")
    if choice.tts == "local":
        tts = PiperTTS()
    elif choice.tts == "espeak":
        tts = EspeakTTS()
    else:
        raise EngineUnavailable(f"tts engine {choice.tts!r} is not available in this build")
    return Engines(vad=SileroVAD(), stt=stt, llm=llm, tts=tts, names=choice.model_dump())
