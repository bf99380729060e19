"""The call manager: claims queued calls, accepts inbound ones, and owns every live leg."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from voicelane.domain.call import CallStatus
from voicelane.services.clock import now_iso

from voicelane_media.node.control import ControlPlane
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.sip.inbound import handle_inbound
from voicelane_media.transports.sip.outbound import place_outbound
from voicelane_media.transports.sip.rtp import RtpPortPool
from voicelane_media.transports.sip.ua import IncomingInvite, UserAgent

from .call import CallLeg

log = logging.getLogger(__name__)


class CallManager:
    """Live calls of this node, keyed by call id."""

    def __init__(self, settings: MediaSettings, control: ControlPlane, ua: UserAgent,
                 pool: RtpPortPool) -> None:
        self.settings = settings
        self.control = control
        self.ua = ua
        self.pool = pool
        self.legs: dict[str, CallLeg] = {}
        self.draining = False
        self.claiming = 0  # requests received and being claimed (not yet live legs)
        self.all_done = asyncio.Event()
        self.all_done.set()
        self._tasks: set[asyncio.Task[None]] = set()
        ua.on_invite = self.on_invite

    # -- bookkeeping ----------------------------------------------------------------------

    @property
    def live_calls(self) -> int:
        return len(self.legs)

    @property
    def limit(self) -> int:
        return min(self.settings.capacity, self.settings.max_concurrent)

    def has_capacity(self) -> bool:
        return not self.draining and self.live_calls + self.claiming < self.limit

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    def adopt(self, leg: CallLeg) -> None:
        self.legs[leg.call_id] = leg
        self.all_done.clear()

    def release(self, leg: CallLeg) -> None:
        self.legs.pop(leg.call_id, None)
        if not self.legs:
            self.all_done.set()

    def spawn_max_duration(self, leg: CallLeg) -> None:
        async def limit() -> None:
            await asyncio.sleep(leg.call.max_duration_s)
            if not leg.finished:
                await leg.hangup("max_duration")

        leg.spawn(limit())

    # -- outbound -------------------------------------------------------------------------

    async def poll_forever(self) -> None:
        """Long-poll ``call-requests`` while below capacity and not draining."""
        while not self.draining:
            if not self.has_capacity():
                await asyncio.sleep(0.2)
                continue
            try:
                free = self.limit - self.live_calls - self.claiming
                messages = await self.control.receive_requests(self.settings.poll_wait_s, free)
            except Exception as exc:  # the queue being briefly unreachable must not kill the node
                log.warning("call-requests poll failed: %s", exc)
                await asyncio.sleep(1)
                continue
            if self.draining:  # stopped while the long poll was in flight: hand them back now
                await self.control.release_requests(messages)
                break
            for message in messages:  # claimed concurrently: each claim is its own write
                self.claiming += 1
                self.spawn(self.take(message))

    async def take(self, message: dict[str, Any]) -> None:
        """Claim (conditional write) and dial; a redelivered or foreign call is dropped."""
        try:
            call_id = self.control.call_id_of(message)
            receipt = str(message.get("ReceiptHandle", ""))
            if call_id is None or self.draining:
                if call_id is None:
                    await self.control.delete_request(receipt)
                return  # draining: leave it for another node (visibility timeout)
            call = await self.control.claim(call_id)
            await self.control.delete_request(receipt)
            if call is None:
                log.info("call %s not claimed (already taken, canceled or unknown)", call_id)
                return
        finally:
            self.claiming -= 1
        self.spawn(self._run_outbound(call))

    async def _run_outbound(self, call: Any) -> None:
        try:
            await place_outbound(self, call)
        except Exception:
            log.exception("outbound call %s crashed", call.call_id)
            leg = self.legs.get(call.call_id)
            if leg is not None and not leg.finished:
                await leg.hangup("media_node_error")
                await leg.finish(CallStatus.FAILED if leg.answered_at is None
                                 else CallStatus.COMPLETED, "media_node_error", None)

    async def answered(self, leg: CallLeg) -> None:
        """The call is up: record it, start recording, greet if an agent owns it."""
        leg.answered_at = time.monotonic()
        leg.status = CallStatus.IN_PROGRESS
        previous = leg.status_write
        answered_at = now_iso()

        async def write_answered() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # ringing first (even if it failed), then answered
            await self.control.transition(leg.call_id, CallStatus.IN_PROGRESS,
                                          {"answered_at": answered_at}, {})

        # The caller hears the greeting without waiting for the answered write (a DynamoDB
        # round trip); events of the call wait for it (see AgentRun._on_event), so the
        # timeline still reads answered first.
        leg.status_write = asyncio.ensure_future(write_answered())
        if leg.call.recording:
            leg.session.start_recording()
            leg.recording = True
            leg.recording_started = time.monotonic()
        from .agent_runner import start_agent

        if await start_agent(self, leg):  # the agent greets and converses
            return
        greeting = await self._greeting(leg)
        if greeting:
            from .commands import speak

            leg.spawn(speak(leg, greeting, None))

    async def _greeting(self, leg: CallLeg) -> str | None:
        call = leg.call
        if call.agent is not None:
            return call.agent.greeting or None
        if call.agent_id:
            agent = await self.control.agent(call.app_id, call.agent_id)
            if agent is not None:
                if agent.recording and not leg.recording:
                    leg.session.start_recording()
                    leg.recording = True
                    leg.recording_started = time.monotonic()
                return agent.greeting or None
        return None

    async def completed(self, leg: CallLeg) -> None:
        await leg.finish(CallStatus.COMPLETED, leg.hangup_reason or "hangup", None)

    async def save_recording(self, leg: CallLeg) -> None:
        """Stop the recorder, upload the WAV, emit call.recording.saved."""
        leg.recording = False
        try:
            wav = leg.session.stop_recording()
            duration = max(0.0, (len(wav) - 44) / (8000 * 2 * 2))
            key = await self.control.save_recording(leg.call, wav, duration)
        except Exception:
            log.exception("recording of %s could not be saved", leg.call_id)
            return
        await self.control.record_event(leg.call_id, "call.recording.saved",
                                        {"s3_key": key, "duration_s": round(duration, 3),
                                         "channels": 2, "format": "wav"})

    # -- inbound --------------------------------------------------------------------------

    def on_invite(self, incoming: IncomingInvite) -> None:
        if not self.has_capacity():
            self.spawn(incoming.reject(503, "Service Unavailable (node at capacity or draining)"))
            return
        self.spawn(handle_inbound(self, incoming))

    # -- drain ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """No new claims or inbound calls; wait for live calls to end (or hit max duration)."""
        self.draining = True
        self.ua.accepting = False
        await self.all_done.wait()

    async def shutdown(self) -> None:
        for leg in list(self.legs.values()):
            await leg.hangup("media_node_shutdown")
            await leg.finish(CallStatus.COMPLETED if leg.answered_at else CallStatus.FAILED,
                             "media_node_shutdown", None)
        for task in list(self._tasks):
            task.cancel()
