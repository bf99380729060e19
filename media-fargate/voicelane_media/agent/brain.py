"""The brain processor: conversation memory, the LLM stream, and tool calls.

Memory holds the system prompt (with the call context), every caller turn, and every agent
reply as far as the caller heard it: after a barge-in the reply is cut to `heard_text`.

An engine failure never ends the call: an LLM error mid-stream (or an STT failure reported as
`EngineFailed`) is recorded and the agent says `LoopSettings.fallback_reply`; a failing tool
gives the LLM a `tool_failed` result.

Preemptive generation: on `TurnPaused` (the caller paused, their words are in, the endpointer
has not decided) the brain starts the LLM on a fork of its engine (`preemptive.Prefetch`) and
keeps what it streams in memory. The `UserTurn` that follows with the same words, on the same
conversation, replays it as the reply's first round; anything else (`TurnResumed`, other
words, a barge-in, a keyed digit) throws it away. Its text is pushed, and its tool calls run,
only once the turn is final. The prepared reply's first sentence goes to the TTS as
`SpeechPrepare` (synthesised into memory, played only if the reply starts with it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from voicelane_media.agent.frames import (
    DTMF,
    AgentReplyDone,
    AgentTurnTruncated,
    Direction,
    EngineFailed,
    Frame,
    Interruption,
    LLMToken,
    PlayoutDone,
    SpeechPrepare,
    TurnPaused,
    TurnResumed,
    UserTurn,
)
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.preemptive import PreemptionStats, Prefetch
from voicelane_media.agent.providers import (
    ChatMessage,
    LLMEngine,
    LLMEvent,
    SpeculativeLLM,
    TextDelta,
    ToolCallRequest,
)
from voicelane_media.agent.recorder import ConversationRecorder
from voicelane_media.agent.settings import LoopSettings
from voicelane_media.agent.speech import first_sentence
from voicelane_media.agent.tools import ToolRunner
from voicelane_media.agent.transcript import ToolCallRecord


def system_prompt(base: str, context: dict[str, Any] | None) -> str:
    """The agent's system prompt with the call's context appended as JSON."""
    if not context:
        return base
    return (
        f"{base}\n\nCall context (JSON): {json.dumps(context, sort_keys=True, default=str)}".strip()
    )


class Brain(Processor):
    """Turns caller turns into streamed replies (LLMToken frames) and runs tool calls."""

    def __init__(
        self,
        llm: LLMEngine,
        tools: ToolRunner,
        recorder: ConversationRecorder,
        settings: LoopSettings,
        prompt: str,
    ) -> None:
        super().__init__()
        self.llm = llm
        self.tools = tools
        self.recorder = recorder
        self.settings = settings
        self.messages: list[ChatMessage] = [ChatMessage(role="system", content=prompt)]
        self._turn_ids = itertools.count(1)
        self._replies: dict[int, ChatMessage] = {}
        self._dtmf = ""
        self._dtmf_task: asyncio.Task[None] | None = None
        self.replying = False
        self.unplayed: set[int] = set()
        self.speech_end: dict[int, float] = {}
        self.preemption = PreemptionStats()
        self._prefetch: Prefetch | None = None
        self._speech: asyncio.Task[None] | None = None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, UserTurn):
            self.recorder.caller_turn(frame.text, frame.started_at, frame.speech_end_at)
            self.messages.append(ChatMessage(role="user", content=frame.text))
            await self.reply(frame, self._take_prefetch(frame.text))
        elif isinstance(frame, TurnPaused):
            self._prepare(frame.text)
        elif isinstance(frame, TurnResumed):
            self._discard()
        elif isinstance(frame, DTMF):
            self._on_dtmf(frame)
        elif isinstance(frame, EngineFailed):
            if not self.replying:  # the caller spoke and was not understood: say so
                await self.say(self.settings.fallback_reply)
        elif isinstance(frame, AgentTurnTruncated):
            self._truncate(frame)
            await self.push(frame, direction)
        elif isinstance(frame, PlayoutDone):
            self.unplayed.discard(frame.turn_id)
            await self.push(frame, direction)
        elif isinstance(frame, Interruption):
            await self._interrupt(frame)
        else:
            await super().process(frame, direction)

    def _prepare(self, text: str) -> None:
        """Start the LLM on the paused turn (see the module docstring)."""
        if self.replying or not isinstance(self.llm, SpeculativeLLM):
            return
        if self._prefetch is not None and self._prefetch.text == text:
            return
        self._discard()
        history = [*self.history(), ChatMessage(role="user", content=text)]
        self._prefetch = Prefetch(self.llm.fork(), history, self.tools.specs, text)
        self.preemption.started += 1
        self._speech = self.spawn(self._prepare_speech(self._prefetch), name="speech-prepare")

    async def _prepare_speech(self, prefetch: Prefetch) -> None:
        """Hand the prepared reply's first sentence to the TTS once the LLM has written it
        (or the whole reply, when it ends without a tool call and without a sentence break)."""
        text = ""
        try:
            async for event in prefetch.events():
                if not isinstance(event, TextDelta):
                    return  # a tool call: what is said next depends on its result
                text += event.text
                if (sentence := first_sentence(text)) is not None:
                    break
            else:
                sentence = text.strip() or None
        except Exception:  # the LLM failed: the reply will say so, nothing to prepare
            return
        if sentence is not None and self._prefetch is prefetch:
            await self.push(SpeechPrepare(text=sentence))

    def _discard(self) -> None:
        if self._speech is not None:
            self._speech.cancel()
            self._speech = None
        if self._prefetch is not None:
            self._prefetch.cancel()
            self._prefetch = None
            self.preemption.discarded += 1

    def _take_prefetch(self, text: str) -> Prefetch | None:
        """The prepared reply, if it was prepared for this turn's words and conversation."""
        prefetch = self._prefetch
        if prefetch is None or not prefetch.matches(text, self.history()):
            self._discard()
            return None
        self._prefetch = None
        self.preemption.used += 1
        return prefetch

    async def reply(self, user_turn: UserTurn | None = None, prefetch: Prefetch | None = None) -> int:
        """Start the next reply in the background; returns its turn id. `prefetch` is the
        reply's first round prepared during the caller's pause (it matched the turn)."""
        await self.cancel_inflight()
        turn_id = next(self._turn_ids)
        self.replying = True
        self.unplayed.add(turn_id)
        if user_turn is not None:
            self.speech_end[turn_id] = user_turn.speech_end_at
        self.spawn(self._reply(turn_id, user_turn, prefetch), name=f"reply-{turn_id}")
        return turn_id

    async def say(self, text: str) -> int:
        """Speak a fixed text (greeting, inactivity prompt) as an agent turn, kept in memory."""
        self._discard()
        turn_id = next(self._turn_ids)
        self.replying = True
        self.unplayed.add(turn_id)
        self.spawn(self._say(turn_id, text), name=f"say-{turn_id}")
        return turn_id

    async def _say(self, turn_id: int, text: str) -> None:
        message = ChatMessage(role="assistant", content=text)
        self.messages.append(message)
        self._replies[turn_id] = message
        self.recorder.agent_turn_started(turn_id, time.monotonic())
        self.recorder.agent_turn_finished(turn_id, text, time.monotonic(), [])
        await self.push(LLMToken(text=text, turn_id=turn_id))
        await self.push(AgentReplyDone(turn_id=turn_id, text=text))
        self.replying = False

    async def _reply(
        self, turn_id: int, user_turn: UserTurn | None, prefetch: Prefetch | None = None
    ) -> None:
        started = time.monotonic()
        self.recorder.agent_turn_started(turn_id, started)
        metrics = self.recorder.turn_metrics(turn_id)
        if user_turn is not None:
            metrics.stt_final_ms = round(
                (user_turn.stt_final_at - user_turn.speech_end_at) * 1000, 1
            )
            metrics.endpoint_ms = round((user_turn.at - user_turn.speech_end_at) * 1000, 1)
            metrics.turn_detection = user_turn.turn_detection
            metrics.end_of_turn_probability = user_turn.end_of_turn_probability
            if user_turn.waited_ms is not None:
                self.recorder.endpoint_waited(turn_id, user_turn.waited_ms)
            metrics.preemptive = prefetch is not None
        message = ChatMessage(role="assistant", content="")
        self.messages.append(message)
        self._replies[turn_id] = message
        parts = [message]
        records: list[ToolCallRecord] = []
        try:
            for _ in range(self.settings.max_tool_rounds):
                calls: list[ToolCallRequest] = []
                events: AsyncIterator[LLMEvent] = (
                    prefetch.events() if prefetch is not None
                    else self.llm.stream(self.history(), self.tools.specs)
                )
                try:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            if metrics.llm_first_token_ms is None:
                                metrics.llm_first_token_ms = round(
                                    (time.monotonic() - started) * 1000, 1
                                )
                            message.content += event.text
                            await self.push(LLMToken(text=event.text, turn_id=turn_id))
                        else:
                            calls.append(event)
                except Exception as exc:  # a cloud LLM failing must not end the call
                    self.recorder.engine_error("llm", exc)
                    await self._fallback(message, turn_id)
                    break
                if prefetch is not None:  # its round is over: the engine takes its state
                    if isinstance(self.llm, SpeculativeLLM):
                        self.llm.adopt(prefetch.engine)
                    prefetch = None
                if not calls:
                    break
                message.tool_calls.extend(calls)
                # Ends the sentence before the tool: TTS speaks it while the tool runs, and the
                # text after the tool is not glued to it ("for you.You are").
                await self.push(LLMToken(text=" ", turn_id=turn_id))
                for call in calls:
                    result = await self._run_tool(call)
                    records.append(
                        ToolCallRecord(name=call.name, arguments=call.arguments, result=result)
                    )
                    self.messages.append(
                        ChatMessage(
                            role="tool",
                            content=json.dumps(result, default=str),
                            tool_call_id=call.call_id,
                            name=call.name,
                        )
                    )
                if self.tools.end_requested or self.tools.transferred_to:
                    break
                message = ChatMessage(role="assistant", content="")
                self.messages.append(message)
                parts.append(message)
        finally:
            if prefetch is not None:  # cancelled or failed before its round was over
                prefetch.cancel()
            text = " ".join(part.content.strip() for part in parts if part.content.strip())
            self.recorder.agent_turn_finished(turn_id, text, time.monotonic(), records)
            self.replying = False
        await self.push(AgentReplyDone(turn_id=turn_id, text=text))

    async def _fallback(self, message: ChatMessage, turn_id: int) -> None:
        """Finish the reply with the fallback sentence (after what was already said)."""
        said = message.content.rstrip()
        text = self.settings.fallback_reply
        if said and said[-1] not in ".!?":
            text = ". " + text
        elif said:
            text = " " + text
        message.content = said + text
        await self.push(LLMToken(text=text, turn_id=turn_id))

    async def _run_tool(self, call: ToolCallRequest) -> Any:
        try:
            return await self.tools.run(call.name, call.arguments)
        except Exception as exc:  # e.g. the leg refused a transfer: the LLM hears about it
            self.recorder.engine_error("tool", exc)
            return {"error": "tool_failed", "message": type(exc).__name__}

    def history(self) -> list[ChatMessage]:
        """Memory as the LLM sees it (the reply being generated is left out while empty)."""
        return [m for m in self.messages if m.role != "assistant" or m.content or m.tool_calls]

    async def _interrupt(self, frame: Interruption) -> None:
        self._discard()
        await self.cancel_inflight()
        self.replying = False
        pending = set(self.unplayed)
        await self.push(frame)  # the output reports what was heard of turns with audio
        now = time.monotonic()
        for turn_id in sorted(pending & self.unplayed):
            self._truncate(
                AgentTurnTruncated(
                    turn_id=turn_id,
                    heard_text="",
                    played_ms=0.0,
                    stopped_at=now,
                    confirmed_at=frame.confirmed_at,
                )
            )

    def _truncate(self, frame: AgentTurnTruncated) -> None:
        self.unplayed.discard(frame.turn_id)
        message = self._replies.get(frame.turn_id)
        if message is None:
            return
        message.content = frame.heard_text
        if not frame.heard_text and not message.tool_calls and message in self.messages:
            self.messages.remove(message)
        self.recorder.agent_truncated(
            frame.turn_id,
            frame.heard_text,
            frame.stopped_at,
            (frame.stopped_at - frame.confirmed_at) * 1000,
        )

    def _on_dtmf(self, frame: DTMF) -> None:
        self.recorder.activity()
        if frame.digit == "#" and self._dtmf:
            self._commit_dtmf_soon(0.0)
            return
        self._dtmf += frame.digit
        self._commit_dtmf_soon(self.settings.dtmf_timeout_ms / 1000.0)

    def _commit_dtmf_soon(self, delay: float) -> None:
        if self._dtmf_task is not None:
            self._dtmf_task.cancel()
        self._dtmf_task = asyncio.create_task(self._commit_dtmf(delay))

    async def _commit_dtmf(self, delay: float) -> None:
        await asyncio.sleep(delay)
        digits, self._dtmf = self._dtmf, ""
        now = time.monotonic()
        self.recorder.caller_turn(f"DTMF {digits}", now, now, role="dtmf")
        self.messages.append(ChatMessage(role="user", content=f"[keyed digits] {digits}"))
        self._discard()
        await self.reply(UserTurn(text=digits, speech_end_at=now, stt_final_at=now, started_at=now))

    async def close(self) -> None:
        self._discard()
        if self._dtmf_task is not None:
            self._dtmf_task.cancel()
        await super().close()
