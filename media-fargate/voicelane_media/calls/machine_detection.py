"""Answering-machine detection on an answered outbound call: feeds the callee's audio to the
pure detector (``voicelane_media.amd``), reports what it found, and acts on it.

    if detection is enabled:                                  # from CallManager.answered
        live.spawn(DetectionRun(live, spec, proceed).run())   # proceed = start agent/stream

- The callee's 20 ms frames come from the transport's audio tap; each is scored by silero VAD
  (the agent loop's VAD); at each pause in the callee's speech what was said so far goes to
  the local STT (Whisper tiny.en, in a thread) and its transcript back to the detector.
- ``call.machine.detection.ended`` (result, confidence, decide_ms, reason, transcript) and, when
  the greeting's end is wanted, ``call.machine.greeting.ended`` (beep found or not) are call
  events like any other (CallLifecycle.record_event: the outbox).
- A call screener (``screening_phrase:...``) on a call whose agent answers screeners: the
  agent says its name and purpose and waits for the person (``calls/screening.py``); then
  ``proceed``, as for a person (or, when it was a voicemail after all, as for a machine).
- A person or silence: ``proceed`` (the agent greets only now). A fax: hang up. A machine:
  the call will end as ``voicemail``; then ``hangup``, ``leave_message`` (after the greeting's
  end: speak the message, hang up; with ``message.generate`` the agent writes it while the
  greeting plays), ``continue`` (``proceed``, after the greeting's end when one is wanted) or
  ``webhook`` (nothing: the app decides with commands).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import numpy as np
from voicelane.domain.call import CallStatus
from voicelane.domain.machine_detection import (
    DetectionMode,
    DetectionResult,
    MachineAction,
    MachineDetection,
)

from voicelane_media.agent.engines import build_llm
from voicelane_media.agent.machine_lines import voicemail_message, voicemail_template
from voicelane_media.agent.providers import VADEngine
from voicelane_media.amd import (
    Decision,
    DetectorSettings,
    GreetingEnd,
    MachineDetector,
    PhraseKind,
    match_phrase,
)
from voicelane_media.amd.screening import ScreeningStep
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16

from .agent_runner import agent_spec_for
from .call import LiveCall
from .screening import ScreeningAnswer

log = logging.getLogger(__name__)
MAX_TRANSCRIBED_S = 12  # of greeting sent to the STT (a decision comes long before)
# No frame for this long counts as silence (the clock keeps going): before media flows, and
# when it stops (a held leg). Once it flows, an event-loop stall must not add time that the
# late frames will bring anyway.
FRAME_WAIT_S = 0.1
STALL_WAIT_S = 1.0
WORDS_WAIT_MS = 3_000  # a long greeting's words, on a call that answers screeners

Transcriber = Callable[[bytes], str]  # PCM16 16 kHz -> text; synchronous, run in a thread


class DetectionEngines(Protocol):
    def vad(self) -> VADEngine: ...

    def transcriber(self) -> Transcriber | None: ...


class LocalDetectionEngines:
    """silero VAD and Whisper tiny.en, as the local agent uses (None without the model)."""

    def vad(self) -> VADEngine:
        from voicelane_media.agent.local_engines import SileroVAD

        return SileroVAD()

    def transcriber(self) -> Transcriber | None:
        try:
            from voicelane_media.agent.local_engines import WhisperSTT

            return WhisperSTT().transcribe
        except (ImportError, RuntimeError) as exc:
            log.warning("machine detection runs without a transcript: %s", exc)
            return None


_engines: DetectionEngines = LocalDetectionEngines()


def set_detection_engines(engines: DetectionEngines | None) -> None:
    """Choose the VAD and STT of every detection in this process (None = the local ones)."""
    global _engines
    _engines = engines or LocalDetectionEngines()


def detector_settings(spec: MachineDetection) -> DetectorSettings:
    return DetectorSettings(timeout_ms=spec.timeout_ms,
                            speech_threshold_ms=spec.speech_threshold_ms,
                            greeting_timeout_ms=spec.greeting_timeout_ms,
                            wait_for_beep=spec.mode == DetectionMode.DETECT_BEEP)


class DetectionRun:
    """One detection on one call, from the answer to the decision (and the greeting's end)."""

    def __init__(self, live: LiveCall, spec: MachineDetection,
                 proceed: Callable[[], Awaitable[None]],
                 hand_over: Callable[[], Awaitable[None]] | None = None) -> None:
        self.live = live
        self.spec = spec
        self.proceed = proceed  # the call goes on as for a person (agent, stream, app)
        self.hand_over = hand_over  # action "webhook" on a machine: the app decides
        self.rate = live.transport.sample_rate
        call = live.call
        self.answers_screening = spec.answers_screening(bool(call.agent or call.agent_id))
        self.detector = MachineDetector(detector_settings(spec), self.rate,
                                        want_greeting_end=spec.waits_for_beep)
        self._frames: asyncio.Queue[Int16Array] = asyncio.Queue()
        self._heard = bytearray()  # the callee's audio since it first spoke, for the STT
        self._stt: asyncio.Task[str] | None = None
        self._media_flows = False
        self._message: asyncio.Task[str] | None = None  # message.generate: the agent's words

    async def run(self) -> None:
        """Detect and act; a detection that cannot run (no VAD model...) fails open: it is
        reported as ``call.machine.detection.failed`` and the call goes on as for a person."""
        try:
            await self._run()
        except Exception as exc:
            log.exception("machine detection on call %s failed", self.live.call_id)
            if self.detector.decision is None and not self.live.ended.is_set():
                await self._event("call.machine.detection.failed",
                                  {"error": type(exc).__name__, "message": str(exc)[:200]})
                await self.proceed()

    async def _run(self) -> None:
        self.live.transport.add_audio_tap(self._frames.put_nowait)
        try:
            vad = await asyncio.to_thread(_engines.vad)
            transcriber = await asyncio.to_thread(_engines.transcriber)
            decision = await self._until(lambda: self.detector.decision is not None, vad,
                                         transcriber)
            if decision is None:
                return
            await self._report(decision)
            prompt = await self._screener_words(decision, vad, transcriber)
            agent = await agent_spec_for(self.live) if prompt is not None else None
            if prompt is not None and agent is not None:
                self.live.completed_status = CallStatus.VOICEMAIL  # until the person comes on
                step = await ScreeningAnswer(live=self.live, agent=agent, detector=self.detector,
                                             frames=self._next_frames, record=self._event,
                                             prompt_text=prompt).run(vad, transcriber)
                if not await self._screened(step):
                    return
            await self._act(decision)
            detector = self.detector
            if not detector.done:
                await self._until(lambda: detector.done, vad, None)
            # (found already, maybe, while a screener's words were listened for)
            if detector.want_greeting_end and detector.greeting_end is not None:
                await self._greeting_ended(detector.greeting_end)
        finally:
            self.live.transport.remove_audio_tap(self._frames.put_nowait)
            if self._stt is not None:
                self._stt.cancel()
            if self._message is not None:
                self._message.cancel()

    async def _until(self, finished: Callable[[], bool], vad: VADEngine,
                     transcriber: Transcriber | None) -> Decision | None:
        """Feed frames until ``finished()``; the decision (None when the call ended first)."""
        detector = self.detector
        while not finished():
            if self.live.ended.is_set():
                return None
            frames = await self._next_frames()
            for frame in frames:
                detector.feed(frame, vad.speech_probability(frame.tobytes(), self.rate))
                if detector.decision is None:
                    self._listen(frame, transcriber)
                if finished():
                    break
            if self._stt is not None and self._stt.done() and detector.decision is None:
                text = "" if self._stt.cancelled() or self._stt.exception() else self._stt.result()
                self._stt = None
                detector.transcript(text)
        return detector.decision

    async def _next_frames(self) -> list[Int16Array]:
        wait_s = STALL_WAIT_S if self._media_flows else FRAME_WAIT_S
        try:
            frame = await asyncio.wait_for(self._frames.get(), wait_s)
        except TimeoutError:  # no media (not yet, or a held leg): time still runs
            return [_silence(self.rate)] * int(wait_s * 1000 / 20)
        self._media_flows = True
        return [frame]

    def _listen(self, frame: Int16Array, transcriber: Transcriber | None) -> None:
        """Keep the callee's speech; transcribe it at each pause (one STT job at a time)."""
        detector = self.detector
        if detector.speech.onset_ms is None or transcriber is None:
            return
        if len(self._heard) < MAX_TRANSCRIBED_S * self.rate * 2:
            self._heard += frame.tobytes()
        if detector.utterance_ended and self._stt is None:
            audio = resample_pcm16(bytes(self._heard), self.rate, 16000)
            self._stt = asyncio.ensure_future(asyncio.to_thread(transcriber, audio))
            detector.transcript_pending = True

    # -- what was found -------------------------------------------------------------------

    async def _event(self, name: str, details: dict[str, Any]) -> None:
        pending = self.live.status_write
        if pending is not None and not pending.done():
            await asyncio.wait([pending])  # call.answered first in the timeline
        event = await self.live.recorded_event(name, details)
        if event is not None and name.startswith("call.machine.detection."):
            self.live.detection_event = event  # what the app is asked at (who answered)

    async def _report(self, decision: Decision) -> None:
        live = self.live
        live.answered_by = decision.result.value
        log.info("call %s answered by %s (%.2f, %d ms, %s)", live.call_id, decision.result,
                 decision.confidence, decision.decide_ms, decision.reason)
        await self._event("call.machine.detection.ended", decision.details())
        if self._generates_message(decision):  # written now, spoken after the beep
            self._message = asyncio.ensure_future(self._write_message())

    async def _screener_words(self, decision: Decision, vad: VADEngine,
                              transcriber: Transcriber | None) -> str | None:
        """The screener's words when a screener answered and the agent answers screeners, else
        None. A screener's prompt is long: decided as a ``long_greeting`` before a transcript
        came, its words are waited for (at most ``WORDS_WAIT_MS`` of audio) before the machine
        action runs, so the agent does not hang up on a person's screener."""
        if not self.answers_screening:
            return None
        if decision.reason.startswith("screening_phrase:"):
            return decision.transcript
        if decision.reason != "long_greeting" or transcriber is None:
            return None
        detector, deadline = self.detector, self.detector.elapsed_ms + WORDS_WAIT_MS
        asked_at = None
        while detector.elapsed_ms < deadline and not self.live.ended.is_set():
            if self._stt is None:  # all that was heard so far, now (not at the next pause)
                audio = resample_pcm16(bytes(self._heard), self.rate, 16000)
                self._stt = asyncio.ensure_future(asyncio.to_thread(transcriber, audio))
                asked_at = detector.elapsed_ms
            for frame in await self._next_frames():
                detector.feed(frame, vad.speech_probability(frame.tobytes(), self.rate))
                if detector.voiced and len(self._heard) < MAX_TRANSCRIBED_S * self.rate * 2:
                    self._heard += frame.tobytes()
            if not self._stt.done():
                continue
            stt, self._stt = self._stt, None
            text = "" if stt.cancelled() or stt.exception() else stt.result()
            found = match_phrase(text)
            if found is not None and found[0] == PhraseKind.SCREENING:
                return text
            if asked_at is not None:  # a transcript of the whole long greeting: no screener
                return None
        return None

    async def _screened(self, step: ScreeningStep | None) -> bool:
        """After the screening: True when the machine handling applies after all."""
        live = self.live
        if step == ScreeningStep.PERSON:
            live.answered_by = DetectionResult.HUMAN.value  # the person came on the line
            live.completed_status = CallStatus.COMPLETED
            self.detector.want_greeting_end = False
            await self.proceed()
            return False
        if step == ScreeningStep.TIMEOUT:
            await live.hangup("screening_unanswered")
            return False
        if step == ScreeningStep.VOICEMAIL:
            end = self.detector.greeting_end
            if end is not None and not end.beep:  # a pause in the screener's words, not the end
                self.detector.restart_greeting_end()
            return True
        return False  # the call ended

    async def _act(self, decision: Decision) -> None:
        live, spec = self.live, self.spec
        if decision.result in (DetectionResult.HUMAN, DetectionResult.SILENCE):
            self.detector.want_greeting_end = False
            await self.proceed()
        elif decision.result == DetectionResult.FAX:
            self.detector.want_greeting_end = False
            await live.hangup("fax_detected")
        else:
            live.completed_status = CallStatus.VOICEMAIL
            if spec.action == MachineAction.HANGUP:
                self.detector.want_greeting_end = False
                await live.hangup("machine_detected")
            elif spec.action == MachineAction.CONTINUE and not spec.waits_for_beep:
                await self.proceed()
            elif spec.action == MachineAction.WEBHOOK and self.hand_over is not None:
                await self.hand_over()

    async def _greeting_ended(self, end: GreetingEnd) -> None:
        live, spec = self.live, self.spec
        await self._event("call.machine.greeting.ended",
                          {"result": "beep_detected" if end.beep else "ended", **end.details()})
        if spec.action == MachineAction.LEAVE_MESSAGE and spec.message is not None:
            text = spec.message.text
            if self._message is not None:
                text = await self._message
            if text:
                await live.speak(text, spec.message.voice)
            if not live.ended.is_set():
                await live.hangup("voicemail_left")
        elif spec.action == MachineAction.CONTINUE:
            await self.proceed()


    def _generates_message(self, decision: Decision) -> bool:
        spec = self.spec
        return (decision.result == DetectionResult.MACHINE and spec.message is not None
                and spec.message.generate and spec.action == MachineAction.LEAVE_MESSAGE)

    async def _write_message(self) -> str:
        """The agent's voicemail message from the call's context (``message.generate``)."""
        agent = await agent_spec_for(self.live)
        if agent is None:  # refused on write; a stored agent deleted since
            return ""
        try:
            llm = await asyncio.to_thread(build_llm, agent)
            return await voicemail_message(llm, agent, self.live.call.context)
        except Exception:
            log.exception("the agent of call %s could not write its message", self.live.call_id)
            return voicemail_template(agent, self.live.call.context)


def _silence(rate: int) -> Int16Array:
    frame: Int16Array = np.zeros(rate // 50, dtype=np.int16)
    return frame
