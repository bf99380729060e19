"""Runs the AI agent on an answered call and reports what it did through the control plane.

    if await start_agent(leg):   # from CallManager.answered
        return                            # the agent owns the call's audio now

- The agent is the call's inline `agent` or the stored agent `agent_id` (loaded through the
  control plane); the call's `context` goes into its system prompt.
- Agent events become call events (`agent.turn` -> `call.agent.turn`, ...) through
  CallLifecycle.record_event, so they land in the outbox like every other call event.
- At the end the redacted transcript is stored through the control plane (what
  GET /v1/calls/{id}/transcript serves), `call.transcript.ready` is recorded, and the per-turn
  metrics are handed to the call, which writes them with the call's final transition.
- The agent hears and speaks through the transport's `MediaLeg` (`Transport.media_leg`).
- Outside local mode the per-turn latencies are also printed as CloudWatch EMF (Powertools).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable
from typing import Any

from voicelane.domain.agent import AgentSpec, DtmfEvents

from voicelane_media.agent import AgentOutcome, AgentSession, Engines
from voicelane_media.agent.engines import EngineUnavailable, build_engines
from voicelane_media.agent.summary import summarize

from .call import LiveCall

log = logging.getLogger(__name__)
EngineFactory = Callable[[AgentSpec], Engines]
LATENCY_FIELDS = ("stt_final_ms", "endpoint_ms", "llm_first_token_ms", "tts_first_audio_ms",
                  "voice_to_voice_ms", "platform_added_ms", "barge_in_stop_ms")
_EVENT_NAMES = {"agent.started": "call.agent.started", "agent.turn": "call.agent.turn",
                "agent.tool_called": "call.agent.tool_called",
                "agent.interrupted": "call.agent.interrupted", "agent.ended": "call.agent.ended"}

_engine_factory: EngineFactory = build_engines


def set_engine_factory(factory: EngineFactory | None) -> None:
    """Choose how engines are built for every agent call of this process (None = the agent's
    own choice through `build_engines`). Benchmarks and the phone harness use this."""
    global _engine_factory
    _engine_factory = factory or build_engines


async def agent_spec_for(leg: LiveCall) -> AgentSpec | None:
    """The agent of the call: inline, or stored (with its recording flag applied)."""
    call = leg.call
    if call.agent is not None:
        return call.agent
    if not call.agent_id:
        return None
    agent = await leg.control.agent(call.app_id, call.agent_id)
    if agent is None:
        return None
    return AgentSpec.model_validate(agent.model_dump(include=set(AgentSpec.model_fields)))


async def start_agent(leg: LiveCall) -> bool:
    """Start the agent on an answered call; False when the call has no agent."""
    spec = await agent_spec_for(leg)
    if spec is None:
        return False
    if spec.recording and not leg.recording:
        leg.start_recording()
    task: asyncio.Task[None] = asyncio.ensure_future(AgentRun(leg, spec).run())
    leg.agent_masks_dtmf = spec.dtmf_events == DtmfEvents.MASKED
    leg.agent_task = task
    return True


def summarise(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-turn metrics plus p50/max of each latency over the call."""
    summary: dict[str, Any] = {}
    for name in LATENCY_FIELDS:
        values = sorted(float(m[name]) for m in metrics if m.get(name) is not None)
        if values:
            summary[name] = {"p50": round(statistics.median(values), 1),
                             "max": round(values[-1], 1), "count": len(values)}
    return {"turns": metrics, "summary": summary}


class AgentRun:
    """One agent session on one call leg, and what it leaves behind."""

    def __init__(self, leg: LiveCall, spec: AgentSpec) -> None:
        self.leg = leg
        self.spec = spec
        self.control = leg.control

    async def _on_event(self, event_type: str, details: dict[str, Any]) -> None:
        if event_type == "agent.ended":  # the transcript goes to its own record, not the event
            details = {"reason": details.get("reason"),
                       "transferred_to": details.get("transferred_to"),
                       "turns": len(details.get("turns") or [])}
        name = _EVENT_NAMES.get(event_type, "call." + event_type)
        pending = self.leg.status_write
        if pending is not None and not pending.done():
            # The answered write runs beside the greeting; agent events come after it.
            await asyncio.wait([pending])
        await self.control.record_event(self.leg.call_id, name, details)

    async def run(self) -> None:
        try:
            engines = await asyncio.to_thread(_engine_factory, self.spec)
        except (EngineUnavailable, RuntimeError, ValueError) as exc:
            await self._unavailable(str(exc))
            return
        rtp_leg = self.leg.transport.media_leg()
        allow_private = await self.control.allows_private_urls(self.leg.call.app_id)
        session = AgentSession(self.spec, rtp_leg, engines, context=self.leg.call.context,
                               call_id=self.leg.call_id, on_event=self._on_event,
                               allow_private_tools=allow_private or None,
                               ended_here=lambda: self.leg.local_hangup_reason)
        async def summary() -> str:  # a warm transfer's whisper (summary: true)
            return await summarize(engines.llm, session.transcript)

        self.leg.summary_hook = summary
        self.leg.agent_hand_over = session.hand_over
        try:
            outcome = await session.run()
        except Exception:
            log.exception("agent on call %s crashed", self.leg.call_id)
            await self.leg.hangup("agent_error")
            return
        finally:
            self.leg.summary_hook = None
            self.leg.agent_hand_over = None
        await self._store(outcome)

    async def _unavailable(self, reason: str) -> None:
        """The engines cannot run here: say so in the timeline and fall back to the greeting."""
        log.warning("agent of call %s cannot run: %s", self.leg.call_id, reason)
        await self.control.record_event(self.leg.call_id, "call.agent.failed",
                                        {"error": "engine_unavailable", "message": reason[:300]})
        if self.spec.greeting:
            await self.leg.speak(self.spec.greeting, None)

    async def _store(self, outcome: AgentOutcome) -> None:
        call = self.leg.call
        data = outcome.transcript.as_dict()
        reason = outcome.reason  # this side's reason when it ended the call (AgentSession)
        try:
            await self.control.save_transcript(call, data, reason, outcome.transferred_to)
        except Exception:
            log.exception("transcript of %s could not be stored", call.call_id)
        else:
            await self.control.record_event(call.call_id, "call.transcript.ready",
                                            {"turns": len(data["turns"]),
                                             "reason": reason})
        self.leg.metrics = summarise(data["metrics"])
        if not self.control.settings.local:
            emit_metrics(call.app_id, data["metrics"])


def emit_metrics(app_id: str, metrics: list[dict[str, Any]]) -> None:
    """Per-turn latencies as CloudWatch EMF on stdout (Powertools), one blob per turn: each
    stage in `Voicelane/Agent`, and the voice-to-voice latency as `Voicelane/TurnLatencyMs`."""
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric
    except ImportError:  # the media image may be built without Powertools
        return
    for turn in metrics:
        v2v = turn.get("voice_to_voice_ms")
        if v2v is not None:  # the dashboard's "Agent turn latency" (namespace Voicelane)
            with single_metric(name="TurnLatencyMs", unit=MetricUnit.Milliseconds,
                               value=float(v2v), namespace="Voicelane") as metric:
                metric.add_dimension(name="app_id", value=app_id)
        for name in LATENCY_FIELDS:
            value = turn.get(name)
            if value is None:
                continue
            with single_metric(name=name, unit=MetricUnit.Milliseconds, value=float(value),
                               namespace="Voicelane/Agent") as metric:
                metric.add_dimension(name="app_id", value=app_id)
