"""The call manager: claims queued calls, accepts inbound ones, and owns every live call.

It runs each call from its first signal to its end the same way on any transport: outbound
(claim, dial, answered, wait for the end) and inbound (ring, answer at once for an agent or
wait for the app's answer/reject commands, 480 after the answer timeout), and media streams
(:meth:`CallManager.accept`: a call claimed by the node's WebSocket endpoint, answered at
once). Outbound and SIP inbound transports come from the :class:`TransportRoom` the node
plugs in."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.clock import now_iso
from voicelane.domain.conference import Conference
from voicelane.domain.models import Call, Number
from voicelane.domain.stream import StreamSpec

from voicelane_media.settings import MediaSettings
from voicelane_media.transports.base import CallHost, ClientRinger, Transport

from .agent_runner import start_agent
from .browser_phone import call_phone, calls_a_phone, ring_client
from .call import LiveCall
from .conference import ConferenceHub
from .conference_agent import AgentSeating
from .conference_routing import joins_conference, route_to_conference, seat_bridged
from .legs import DialedLeg, dial_leg
from .machine_detection import DetectionRun
from .placement import AppCommandsHook, detects_machines, place_outbound, unattended
from .ports import BotStreamFactory, ControlPort
from .routing import dials_onward, route_onward
from .streams import StreamRefused, open_stream
from .warm_transfer import plug_transfers

log = logging.getLogger(__name__)


class TransportRoom(Protocol):
    """What the manager needs from a transport's room: a transport for a claimed outbound
    call, inbound calls offered back through :class:`CallHost`, and a stop for new ones."""

    def attach(self, host: CallHost) -> None: ...

    async def open_outbound(self, call: Call) -> Transport: ...

    def stop_accepting(self) -> None: ...

    async def close(self) -> None:
        """Cancel call set-ups still in the transport's hands (the node is stopping)."""
        ...


class CallManager:
    """Live calls of this node, keyed by call id."""

    def __init__(self, settings: MediaSettings, control: ControlPort, room: TransportRoom,
                 bot_streams: BotStreamFactory | None = None) -> None:
        self.settings = settings
        self.control = control
        self.room = room
        self.bot_streams = bot_streams  # streams to customers' bots (stream_start)
        self.app_commands: AppCommandsHook | None = None  # webhook answers with commands
        self.clients: ClientRinger | None = None  # browsers registered here (phone to browser)
        self.calls: dict[str, LiveCall] = {}
        self.draining = False
        self.claiming = 0  # requests received and being claimed (not yet live calls)
        self.all_done = asyncio.Event()
        self.all_done.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.seating = AgentSeating(self)  # agents in conferences (the node plugs its seats)
        self.conferences = ConferenceHub(  # its participants are dialled from here
            control, lambda parent, to, from_: self.dial_leg(parent, to, purpose="conference",
                                                             from_=from_), self.seating)
        room.attach(self)

    # -- bookkeeping ----------------------------------------------------------------------

    @property
    def live_calls(self) -> int:
        return len(self.calls)

    @property
    def limit(self) -> int:
        return min(self.settings.capacity, self.settings.max_concurrent)

    def has_capacity(self) -> bool:
        return not self.draining and self.live_calls + self.claiming < self.limit

    def try_reserve(self) -> bool:
        if not self.has_capacity():
            return False
        self.claiming += 1
        return True

    def unreserve(self) -> None:
        self.claiming -= 1

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    def adopt(self, call: Call, transport: Transport) -> LiveCall:
        live = LiveCall(self.control, call, transport, self.release)
        plug_transfers(self, live)
        self.calls[live.call_id] = live
        self.all_done.clear()
        return live

    def release(self, live: LiveCall) -> None:
        self.calls.pop(live.call_id, None)
        if not self.calls:
            self.all_done.set()

    def spawn_max_duration(self, live: LiveCall) -> None:
        async def limit() -> None:
            await asyncio.sleep(live.call.max_duration_s)
            if not live.finished:
                await live.hangup("max_duration")

        live.spawn(limit())

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
            delay_s = await self.control.pace_dial(call_id)
            if delay_s > 0:  # the app's calls-per-second cap: placed later, never dropped
                log.info("call %s deferred %d s (calls per second)", call_id, delay_s)
                await self.control.defer_request(call_id, receipt, delay_s)
                return
            call = await self.control.claim(call_id)
            await self.control.delete_request(receipt)
            if call is None:
                log.info("call %s not claimed (already taken, canceled or unknown)", call_id)
                return
        finally:
            self.claiming -= 1
        self.spawn(self._run_outbound(call))

    async def _run_outbound(self, call: Call) -> None:
        try:
            await self.place_outbound(call)
        except Exception:
            log.exception("outbound call %s crashed", call.call_id)
            live = self.calls.get(call.call_id)
            if live is not None and not live.finished:
                await live.hangup("media_node_error")
                await live.finish(CallStatus.FAILED if live.answered_at is None
                                  else CallStatus.COMPLETED, "media_node_error", None)

    async def place_outbound(self, call: Call) -> None:
        """Dial a claimed call and keep it until it ends (``calls/placement.py``)."""
        await place_outbound(self, call)

    async def dial_leg(self, parent: LiveCall, to: str, *, purpose: str,
                       from_: str | None = None, timeout_s: float | None = None,
                       on_live: Callable[[LiveCall], None] | None = None) -> DialedLeg:
        """A leg of ``parent`` dialled from this node (``calls/legs.py``)."""
        return await dial_leg(self, parent, to, purpose=purpose, from_=from_,
                              timeout_s=timeout_s, on_live=on_live)

    # -- inbound --------------------------------------------------------------------------

    async def inbound(self, number: Number, caller: str, headers: dict[str, str],
                      transport: Transport) -> None:
        """An inbound call the transport accepted: its record, then the call to its end."""
        call = await self.control.create_inbound(number, caller, headers)
        live = self.adopt(call, transport)
        try:
            await transport.ring()
            if call.agent_id or call.stream is not None:  # an agent or a bot takes it at once
                await self.answer(live)
            elif dials_onward(call):  # a routing rule forwards it: bridged once a target answers
                await route_onward(self, live)
            elif joins_conference(call):  # a routing rule: the conference of that name
                await route_to_conference(self, live)
            elif number.client is not None:  # a browser identity: ring it, answer or refuse
                await ring_client(self, live, number.client)
            else:
                decided = self.app_commands is not None and await self.app_commands.decide(
                    live, "call.initiated", call.event_seq)
                if not decided or (live.answered_at is None and not live.finished):
                    await self._wait_for_app(live)  # answer/reject by REST, else 480
            if live.answered_at is not None and not live.finished:
                self.spawn_max_duration(live)
                await live.ended.wait()
                await self.completed(live)
        except Exception:
            log.exception("inbound call %s crashed", call.call_id)
            await live.hangup("media_node_error")
            await live.finish(CallStatus.COMPLETED if live.answered_at else CallStatus.FAILED,
                              "media_node_error", None)

    async def seat_bridged(self, conference: Conference, call: Call,
                           transport: Transport) -> None:
        """Another node bridges ``call`` into a conference of this node
        (``calls/conference_routing.py``)."""
        await seat_bridged(self, conference, call, transport)

    async def accept(self, call: Call, transport: Transport) -> None:
        """A media stream claimed its session's call: answered at once, run to its end."""
        live = self.adopt(call, transport)
        try:
            await self.answer(live)
            if live.answered_at is not None and not live.finished:
                self.spawn_max_duration(live)
                await live.ended.wait()
                await self.completed(live)
        except Exception:
            log.exception("stream call %s crashed", call.call_id)
            await live.hangup("media_node_error")
            await live.finish(CallStatus.COMPLETED if live.answered_at else CallStatus.FAILED,
                              "media_node_error", None)

    async def _wait_for_app(self, live: LiveCall) -> None:
        """Wait for ``answer``/``reject`` (commands) or the caller's CANCEL, else 480."""
        canceled = asyncio.ensure_future(live.transport.canceled.wait())
        decided = asyncio.ensure_future(live.ended.wait())
        answered = asyncio.ensure_future(live.up.wait())
        done, pending = await asyncio.wait({canceled, decided, answered},
                                           timeout=self.settings.inbound_answer_timeout_s,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if live.answered_at is not None or live.finished:
            return
        if canceled in done:
            await live.finish(CallStatus.CANCELED, "hangup_by_caller", 487)
        elif not done:
            cause = await live.transport.reject("not_answered")
            await live.finish(CallStatus.NO_ANSWER, "not_answered", cause)

    async def answer(self, live: LiveCall) -> None:
        """Answer an inbound call (the agent's at once, the app's on its command)."""
        ending = await live.transport.answer()
        if ending is not None:
            await live.finish(ending.status, ending.reason, ending.cause)
            return
        await self.answered(live)

    async def reject(self, live: LiveCall, reason: str) -> None:
        """The app refuses the call: busy -> 486 (busy), unavailable -> 480, else 603."""
        cause = await live.transport.reject(reason)
        if reason == "busy":
            await live.finish(CallStatus.BUSY, "rejected_busy", cause)
        elif reason == "unavailable":
            await live.finish(CallStatus.FAILED, "rejected_unavailable", cause)
        else:
            await live.finish(CallStatus.FAILED, "rejected", cause)

    # -- both -----------------------------------------------------------------------------

    async def answered(self, live: LiveCall) -> None:
        """The call is up: record it, start recording, greet if an agent owns it."""
        live.answered_at = time.monotonic()
        live.up.set()
        live.status = CallStatus.IN_PROGRESS
        previous = live.status_write
        answered_at = now_iso()

        async def write_answered() -> Call | None:
            if previous is not None:
                await asyncio.wait([previous])  # ringing first (even if it failed), then answered
            return await self.control.transition(live.call_id, CallStatus.IN_PROGRESS,
                                                 {"answered_at": answered_at}, {})

        # The caller hears the greeting without waiting for the answered write (a DynamoDB
        # round trip); events of the call wait for it (see AgentRun._on_event), so the
        # timeline still reads answered first.
        live.status_write = asyncio.ensure_future(write_answered())
        if live.call.recording:
            live.start_recording()
        detection = live.call.machine_detection
        if detection is not None and detects_machines(live.call):
            # Nobody greets before it is known who answered; the run starts what follows.
            live.spawn(DetectionRun(live, detection, lambda: self._detected(live),
                                    lambda: self._ask_who_answered(live)).run())
            return
        await self._start_media(live)

    async def _detected(self, live: LiveCall) -> None:
        """Detection let the call go on: what talks to the callee, or (no agent or bot) the
        app's commands, asked at the event that says who answered."""
        await self._start_media(live)
        await self._ask_who_answered(live)

    async def _ask_who_answered(self, live: LiveCall) -> None:
        event = live.detection_event
        if (self.app_commands is not None and unattended(live.call) and event is not None
                and not live.finished):
            await self.app_commands.decide(live, event.type, event.sequence)

    async def _start_media(self, live: LiveCall) -> None:
        """What talks to the callee: the call's bot stream, its agent, or its greeting; a
        browser calling a phone gets the phone (``calls/browser_phone.py``)."""
        if calls_a_phone(live.call):
            self.spawn(call_phone(self, live))
            return
        stream = live.call.stream
        if stream is not None and self._start_stream(live, stream) and stream.bidirectional:
            return  # the bot speaks; it owns the call's audio
        if await start_agent(live):  # the agent greets and converses
            return
        greeting = await self._greeting(live)
        if greeting:
            live.spawn(live.speak(greeting, None))

    def _start_stream(self, live: LiveCall, spec: StreamSpec) -> bool:
        """The call's (or its number's) stream, at the answer; a refusal becomes its event."""
        try:
            open_stream(live, spec, self.bot_streams)
        except StreamRefused as exc:
            live.spawn(live.record_event("call.streaming.failed", {
                "stream_id": None, "reason": exc.code, "attempts": 0}))
            if spec.hangs_up_on_failure:
                live.spawn(live.hangup("stream_failed"))
            return False
        return True

    async def _greeting(self, live: LiveCall) -> str | None:
        call = live.call
        if call.agent is not None:
            return call.agent.greeting or None
        if call.agent_id:
            agent = await self.control.agent(call.app_id, call.agent_id)
            if agent is not None:
                if agent.recording and not live.recording:
                    live.start_recording()
                return agent.greeting or None
        return None

    async def completed(self, live: LiveCall) -> None:
        await live.finish(live.completed_status, live.hangup_reason or "hangup", None)

    # -- drain ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """No new claims or inbound calls; wait for live calls to end (or hit max duration)."""
        self.draining = True
        self.room.stop_accepting()
        await self.all_done.wait()

    async def shutdown(self) -> None:
        await self.conferences.close()
        for live in list(self.calls.values()):
            await live.hangup("media_node_shutdown")
            await live.finish(CallStatus.COMPLETED if live.answered_at else CallStatus.FAILED,
                              "media_node_shutdown", None)
        for task in list(self._tasks):
            task.cancel()
        await self.room.close()
