"""AgentSession: runs one agent on one media leg until the call ends.

    session = AgentSession(spec, leg, engines, context=call.context, call_id=call.call_id,
                           on_event=sink)
    outcome = await session.run()      # returns when the agent or the caller ends the call

`on_event(type, details)` receives redacted events as they happen (agent.turn,
agent.tool_called, agent.interrupted, agent.ended); the media service maps them to
CallLifecycle.record_event. `outcome.transcript` is the stored transcript (turns + metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from voicelane.domain.agent import AgentSpec, FirstSpeaker, InactivityAction
from voicelane.domain.url_guard import Resolver

from voicelane_media.agent.brain import Brain, system_prompt
from voicelane_media.agent.denoise import NoiseFilter
from voicelane_media.agent.leg import MediaLeg
from voicelane_media.agent.listen import STTProcessor, VADProcessor
from voicelane_media.agent.pipeline import Pipeline, Processor
from voicelane_media.agent.providers import Engines
from voicelane_media.agent.recorder import ConversationRecorder, EventSink
from voicelane_media.agent.settings import LoopSettings, for_agent
from voicelane_media.agent.speech import OutputProcessor, TTSProcessor
from voicelane_media.agent.tools import ToolRunner
from voicelane_media.agent.transcript import Transcript
from voicelane_media.agent.turns import TurnTaking


@dataclass
class AgentOutcome:
    """How the session ended and what it produced."""

    reason: str
    transcript: Transcript
    transferred_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "transferred_to": self.transferred_to,
            **self.transcript.as_dict(),
        }


class AgentSession:
    """The agent loop for one call: VAD -> STT -> turn-taking -> brain -> TTS -> output."""

    def __init__(
        self,
        spec: AgentSpec,
        leg: MediaLeg,
        engines: Engines,
        context: dict[str, Any] | None = None,
        call_id: str = "",
        on_event: EventSink | None = None,
        settings: LoopSettings | None = None,
        http: httpx.AsyncClient | None = None,
        allow_private_tools: bool | None = None,
        resolver: Resolver | None = None,
        ended_here: Callable[[], str | None] | None = None,
    ) -> None:
        self.spec = spec
        self.leg = leg
        self.engines = engines
        self.settings = for_agent(spec, settings or LoopSettings())
        self.recorder = ConversationRecorder(on_event, endpointing_ms=self.settings.endpointing_ms)
        if allow_private_tools is None:  # the app's allow_private_webhooks, when known
            allow_private_tools = self.settings.allow_private_tool_urls
        self.tools = ToolRunner(
            spec.tools, leg, call_id=call_id, http=http, allow_private=allow_private_tools,
            resolver=resolver,
        )
        self.brain = Brain(
            engines.llm,
            self.tools,
            self.recorder,
            self.settings,
            system_prompt(spec.system_prompt, context),
        )
        self.output = OutputProcessor(leg, self.recorder, self.brain.speech_end.get)
        self.turns = TurnTaking(
            self.settings, self.agent_busy, spec.interruptible, self._caller_active,
            analyzer=engines.turn, on_error=self.recorder.engine_error,
        )
        # The caller's audio is cleaned first, when the agent asked for it: VAD and STT hear
        # the suppressor's output.
        cleaner: list[Processor] = (
            [NoiseFilter(engines.noise, self.recorder.engine_error)] if engines.noise else []
        )
        self.tts = TTSProcessor(engines.tts, leg.sample_rate, self.recorder)
        self.pipeline = Pipeline(
            [
                *cleaner,
                VADProcessor(engines.vad, self.settings),
                STTProcessor(engines.stt, self.settings, self.recorder.engine_error),
                self.turns,
                self.brain,
                self.tts,
                self.output,
            ]
        )
        self._ended = asyncio.Event()
        self.reason = ""
        # Why this side ended the call, when it did (the API's hangup, a transfer completing,
        # the node's max duration): the caller's audio then stops too, but the caller did not
        # hang up, and agent.ended must not say so.
        self._ended_here = ended_here or (lambda: None)
        self._leg_gone = False
        self.handed_over = False  # a warm transfer bridged the caller: the call goes on
        self.caller_active_at = 0.0

    def _caller_active(self) -> None:
        self.caller_active_at = time.monotonic()
        self.recorder.activity()

    @property
    def transcript(self) -> Transcript:
        return self.recorder.transcript

    def agent_busy(self) -> bool:
        return self.brain.replying or bool(self.brain.unplayed) or self.output.playing

    def hand_over(self, target: str) -> None:
        """A warm transfer bridged the caller to ``target``: the agent ends, the call does not."""
        self.handed_over = True
        self.tools.transferred_to = target
        self.end("transferred")

    def end(self, reason: str) -> None:
        if not self._ended.is_set():
            self.reason = reason
            self._ended.set()

    async def run(self) -> AgentOutcome:
        """Run until the agent ends the call, the caller leaves, or a timer fires."""
        self.recorder.event(
            "agent.started",
            {"engines": self.engines.names, "first_speaker": self.spec.first_speaker.value},
        )
        tasks = [
            asyncio.create_task(self._listen(), name="agent-listen"),
            asyncio.create_task(self._watch(), name="agent-watch"),
        ]
        if self.spec.first_speaker is FirstSpeaker.AGENT:
            if self.spec.greeting:
                await self.brain.say(self.spec.greeting)
            else:
                await self.brain.reply()
        try:
            await self._ended.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.pipeline.close()
            await self.engines.aclose()
        if not self._leg_gone and not self.handed_over:
            with contextlib.suppress(Exception):
                await self.leg.hangup(self.reason)
        outcome = AgentOutcome(
            reason=self.reason, transcript=self.transcript, transferred_to=self.tools.transferred_to
        )
        stats = self.brain.preemption  # what preemptive generation cost (requests thrown away)
        self.recorder.event("agent.ended", {**outcome.as_dict(), "preemption": {
            "prepared": stats.started, "used": stats.used, "thrown_away": stats.discarded,
            "speech_prepared": self.tts.prepared, "speech_used": self.tts.prepared_used}})
        await self.recorder.flush()
        return outcome

    async def _listen(self) -> None:
        async for frame in self.leg.inbound():
            await self.pipeline.push(frame)
        self._leg_gone = not self._ended.is_set()
        self.end(self._ended_here() or "caller_hangup")

    async def _watch(self) -> None:
        """Timers: max duration, inactivity (prompt once, then hang up), end_call/transfer."""
        started = time.monotonic()
        max_duration = self.settings.max_duration_s or float(self.spec.max_duration_s)
        inactivity = self.settings.inactivity_timeout_s or float(self.spec.inactivity_timeout_s)
        prompted_at: float | None = None
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if now - started >= max_duration:
                self.end("max_duration")
                return
            busy = self.agent_busy() or self.turns.user_speaking
            if (self.tools.end_requested or self.tools.transferred_to) and not busy:
                self.end("transferred" if self.tools.transferred_to else "agent_ended")
                return
            if busy:
                self.recorder.activity()
                continue
            if prompted_at is not None and self.caller_active_at > prompted_at:
                prompted_at = None  # the caller answered: the next silence gets a prompt again
            if now - self.recorder.last_activity >= inactivity:
                if self.spec.inactivity_action is InactivityAction.PROMPT and prompted_at is None:
                    prompted_at = now
                    await self.brain.say(self._inactivity_prompt())
                    self.recorder.activity()
                else:
                    self.end("inactivity")
                    return

    def _inactivity_prompt(self) -> str:
        script = self.spec.script or {}
        return str(script.get("inactivity_prompt") or self.settings.inactivity_prompt)
