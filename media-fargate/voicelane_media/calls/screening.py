"""A call screener answered an agent's outbound call ("the person you are calling is using a
screening service, please say your name and why you are calling"): the agent answers with its
name and the call's purpose, then waits, saying nothing more, until the person comes on.

    step = await ScreeningAnswer(live, spec, detector, frames, record).run(vad, transcriber)
    # PERSON: the agent's greeting and conversation start now; VOICEMAIL: it was a voicemail
    # after all (the machine action applies); TIMEOUT: nobody came; None: the call ended

Driven from ``calls/machine_detection.DetectionRun`` after its decision (``machine``,
``reason: screening_phrase:...``), on the same audio tap; the pure state is
``amd/screening.ScreeningTracker``. The answer is written by the agent's brain from the call's
context (``agent/machine_lines.py``) while the screener is still talking, spoken with the
call's TTS once the screener is quiet, and reported as ``call.screening.answered``; the
outcome is ``call.screening.ended`` (``result``: ``person``, ``voicemail`` or ``timeout``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.engines import build_llm
from voicelane_media.agent.machine_lines import screening_answer, screening_template
from voicelane_media.agent.providers import VADEngine
from voicelane_media.amd import MachineDetector, PhraseKind, match_phrase
from voicelane_media.amd.phrases import shared_with_voicemail
from voicelane_media.amd.screening import ScreeningSettings, ScreeningStep, ScreeningTracker
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16

from .call import LiveCall

log = logging.getLogger(__name__)
Transcriber = Callable[[bytes], str]
Frames = Callable[[], Awaitable[list[Int16Array]]]
Record = Callable[[str, dict[str, Any]], Awaitable[None]]
MAX_HEARD_S = 12


class ScreeningAnswer:
    """The agent's side of one call screening, from the detection's decision to the person."""

    def __init__(self, live: LiveCall, agent: AgentSpec, detector: MachineDetector,
                 frames: Frames, record: Record, prompt_text: str,
                 settings: ScreeningSettings | None = None) -> None:
        self.live = live
        self.agent = agent
        self.detector = detector  # fed on: a beep, the greeting's end if it was a voicemail
        self.frames = frames
        self.record = record
        self.prompt_text = prompt_text  # the screener's words that decided it
        self.tracker = ScreeningTracker(settings or ScreeningSettings())
        self.rate = live.transport.sample_rate
        self._heard = bytearray()  # the prompt, then each utterance after the answer
        self._stt: asyncio.Task[str] | None = None
        self._speaking: asyncio.Task[None] | None = None
        self._last_text = ""  # the callee's last words transcribed

    async def run(self, vad: VADEngine, transcriber: Transcriber | None) -> ScreeningStep | None:
        started = time.monotonic()
        answer = asyncio.ensure_future(self._write_answer())
        try:
            step = await self._listen(vad, transcriber, answer, started)
        finally:
            for task in (answer, self._stt, self._speaking):
                if task is not None and not task.done():
                    task.cancel()
        if step is not None and step != ScreeningStep.PROMPT_ENDED:
            await self.record("call.screening.ended", {
                "result": step.value, "waited_ms": round((time.monotonic() - started) * 1000),
                "transcript": self._last_text or None})
        return step

    async def _listen(self, vad: VADEngine, transcriber: Transcriber | None,
                      answer: asyncio.Task[str], started: float) -> ScreeningStep | None:
        tracker, detector = self.tracker, self.detector
        while tracker.result is None:
            if self.live.ended.is_set():
                return None
            for frame in await self.frames():
                detector.feed(frame, vad.speech_probability(frame.tobytes(), self.rate))
                step = tracker.feed(detector.voiced, detector.beep_ended)
                if detector.voiced and len(self._heard) < MAX_HEARD_S * self.rate * 2:
                    self._heard += frame.tobytes()
                if step == ScreeningStep.PROMPT_ENDED:
                    if await self._voicemail_after_all(transcriber):
                        return tracker.finish(ScreeningStep.VOICEMAIL)
                    self._speaking = asyncio.ensure_future(self._answer(answer, started))
                elif tracker.utterance_ended:
                    self._transcribe(transcriber)
                if tracker.result is not None:
                    break
            if self._speaking is not None and self._speaking.done():
                self._speaking = None
                self._heard.clear()  # the prompt: what comes next is listened to afresh
                self._last_text = ""
                tracker.answered()
            if self._stt is not None and self._stt.done():
                text = "" if self._stt.cancelled() or self._stt.exception() else self._stt.result()
                self._stt = None
                self._last_text = text.strip()
                self._heard.clear()
                tracker.transcript(text)
        return tracker.result

    async def _voicemail_after_all(self, transcriber: Transcriber | None) -> bool:
        """The words that decided "screening" are ones a voicemail greeting says too ("the
        person you are calling ..."): the whole prompt, transcribed, settles it."""
        if transcriber is None or not shared_with_voicemail(self.prompt_text):
            return False
        audio = resample_pcm16(bytes(self._heard), self.rate, 16000)
        try:
            text = await asyncio.to_thread(transcriber, audio)
        except Exception:
            log.exception("screening prompt of call %s not transcribed", self.live.call_id)
            return False
        self._last_text = text.strip()
        found = match_phrase(f"{self.prompt_text} {text}")
        return found is not None and found[0] == PhraseKind.VOICEMAIL

    def _transcribe(self, transcriber: Transcriber | None) -> None:
        if transcriber is None:
            self.tracker.transcript("")  # no STT: whoever speaks after the answer is the person
            return
        audio = resample_pcm16(bytes(self._heard), self.rate, 16000)
        self._stt = asyncio.ensure_future(asyncio.to_thread(transcriber, audio))

    async def _write_answer(self) -> str:
        try:
            llm = await asyncio.to_thread(build_llm, self.agent)
            return await screening_answer(llm, self.agent, self.live.call.context)
        except Exception:
            log.exception("the agent of call %s could not write its screening answer",
                          self.live.call_id)
            return screening_template(self.agent, self.live.call.context)

    async def _answer(self, answer: asyncio.Task[str], started: float) -> None:
        text = await answer
        await self.live.speak(text, None)
        await self.record("call.screening.answered", {
            "text": text, "answered_ms": round((time.monotonic() - started) * 1000),
            "prompt": self.prompt_text or None})

