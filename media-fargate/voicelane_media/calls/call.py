"""A live call on this node, whatever carries it: its status and how it ends (once, through
:meth:`LiveCall.finish`), its commands' state, recording, gather, the agent, limits, quality
and metrics. Signalling and media belong to its :class:`~voicelane_media.transports.base.Transport`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from voicelane.domain.call import CallStatus
from voicelane.domain.clock import now_iso
from voicelane.domain.destinations import check_destination, own_number_of
from voicelane.domain.models import Call, CallEvent
from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.media import audio
from voicelane_media.transports.base import Transport

from .gather import Gather
from .ports import BotStreamHandle, ControlPort
from .recording import CallRecorder

log = logging.getLogger(__name__)
LEG_PACING_MAX_WAIT_S = 10  # a caller waits this long at most for a leg's CPS slot (legs.py)
STREAM_STOP_WAIT_S = 3.0  # what a stream gets at the call's end to send its stop and close
TransferHook = Callable[[str], Awaitable[None]]
WarmTransferHook = Callable[[WarmTransferSpec], Awaitable[dict[str, Any]]]
SummaryHook = Callable[[], Awaitable[str]]


class LiveCall:
    """One call and its transport; ends exactly once through :meth:`finish`.

    It is the transport's :class:`~voicelane_media.transports.base.CallEvents`: the transport
    reports digits, hold and hangups here, and the call turns them into call events."""

    def __init__(self, control: ControlPort, call: Call, transport: Transport,
                 on_finished: Callable[[LiveCall], None]) -> None:
        self.control = control
        self.call = call
        self.transport = transport
        self._on_finished = on_finished
        self.status = call.status
        self.answered_at: float | None = None
        self.up = asyncio.Event()  # answered (set with answered_at)
        self.ended = asyncio.Event()
        self.finished = False
        self.hangup_reason: str | None = None  # set when this side ends the call
        self.local_hangup_reason: str | None = None  # the same, never the remote's BYE
        self.on_hold = False
        self.recording = False  # a recording runs (paused or not) until saved
        self.recording_started: float | None = None
        self.recorder: CallRecorder | None = None
        self.command_ids: dict[str, dict[str, Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.gather: Gather | None = None
        self.status_write: asyncio.Future[Any] | None = None  # an in-flight status change
        self.early_media_write: asyncio.Task[None] | None = None  # lands before the end
        self.agent_task: asyncio.Task[None] | None = None  # the AI agent running on this call
        self.agent_masks_dtmf = False  # its spec's dtmf_events is `masked`
        self.metrics: dict[str, Any] | None = None  # the agent's per-turn metrics
        self.streams: dict[str, BotStreamHandle] = {}  # to customers' bots (calls/streams.py)
        self.stream_tasks: dict[str, asyncio.Task[None]] = {}
        self.bot_stream_id: str | None = None  # the bidirectional one, which owns the audio
        self.early_media: str | None = None  # the 183's media, classified (transports/sip)
        self.answered_by: str | None = None  # machine detection's result (calls/machine_detection)
        self.detection_event: CallEvent | None = None  # call.machine.detection.ended / .failed
        self.completed_status = CallStatus.COMPLETED  # VOICEMAIL once a machine answered
        self.bridged_to: str | None = None  # the call this one's audio is bridged to
        self.caller_held = False  # on hold for a transfer (calls/hold.py): the agent waits
        # Plugged in by the node's CallManager (calls/transfer.py, calls/warm_transfer.py):
        self.transfer_hook: TransferHook | None = None
        self.warm_transfer_hook: WarmTransferHook | None = None
        self.summary_hook: SummaryHook | None = None  # the running agent's summary
        self.agent_hand_over: Callable[[str], None] | None = None  # ends it, not the call
        self._digit_write: asyncio.Task[None] | None = None  # the last digit's event write
        transport.bind(self)

    @property
    def call_id(self) -> str:
        return str(self.call.call_id)

    @property
    def bot_owns_audio(self) -> bool:
        """A bidirectional stream to a bot runs: the bot, not an agent, speaks."""
        sid = self.bot_stream_id
        return sid is not None and not self.stream_tasks[sid].done()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def record_event(self, event_type: str, details: dict[str, Any]) -> None:
        await self.control.record_event(self.call_id, event_type, details)

    async def recorded_event(self, event_type: str, details: dict[str, Any]) -> CallEvent | None:
        """:meth:`record_event`, returning the stored event (None when it was not stored)."""
        return await self.control.record_event(self.call_id, event_type, details)

    async def check_destination(self, to: str) -> None:
        """Raise Forbidden ``destination_not_allowed`` unless the app may dial ``to`` (its
        allow-list, read now: a list narrowed during the call applies at once)."""
        app = await self.control.app(self.call.app_id)
        c = self.call
        own = c.caller_id or own_number_of(c.direction, c.from_channel, c.from_, c.to_channel,
                                           c.to)  # a browser's call: the number it shows
        check_destination(to, app.destination_allow_list if app else None, own)

    async def wait_for_dial_slot(self, leg: str) -> bool:
        """Take a slot of the app's calls-per-second cap for a new ``leg`` of this call (the
        same pacing path as a queued call's dial; ``calls/legs.py`` asks it for every leg it
        dials) and wait for its second; False, without waiting, when the first free second is
        more than LEG_PACING_MAX_WAIT_S away."""
        delay_s = await self.control.pace_leg(self.call_id, leg)
        if delay_s > LEG_PACING_MAX_WAIT_S:
            log.warning("call %s: no calls-per-second slot for %s within %d s", self.call_id,
                        leg, LEG_PACING_MAX_WAIT_S)
            return False
        if delay_s > 0:
            await asyncio.sleep(delay_s)  # the reserved second: the INVITE counts there
        return True

    # -- what the transport reports -------------------------------------------------------

    def dtmf_received(self, digit: str) -> None:
        masked = (self.agent_masks_dtmf and self.agent_task is not None
                  and not self.agent_task.done())
        details: dict[str, object] = {"masked": True} if masked else {"digit": digit}
        previous = self._digit_write

        async def write() -> None:  # in the order keyed: digits can arrive 1 ms apart
            if previous is not None:
                await asyncio.wait([previous])
            await self.record_event("call.dtmf.received", details)

        self._digit_write = self.spawn(write())
        if self.gather is not None:
            self.gather.feed(digit)

    def remote_hangup(self) -> None:
        # the far end is the caller on an inbound call, and on a browser's own call (a webrtc
        # session calling a phone is outbound, but its transport's far end is the browser)
        caller = self.call.direction == "inbound" or self.call.from_channel == "webrtc"
        remote = "hangup_by_caller" if caller else "hangup_by_callee"
        self.hangup_reason = self.hangup_reason or remote
        self.ended.set()

    def hold_changed(self, held: bool, by: str) -> None:
        if held != self.on_hold:
            self.on_hold = held
            self.spawn(self.record_event("call.hold" if held else "call.unhold", {"by": by}))

    def early_media_heard(self, details: dict[str, Any]) -> None:
        self.early_media = str(details["kind"])
        # finish waits for it: a SIT ends the call at once, and its event must come first
        self.early_media_write = self.spawn(self.record_event("call.early_media", details))

    def ringing(self, status: int) -> None:
        self.status = CallStatus.RINGING
        # Kept so `answered` can wait for it: the 200 often follows the 180 at once.
        self.status_write = asyncio.ensure_future(self.control.transition(
            self.call_id, CallStatus.RINGING, {}, {"sip_status": status}))

    # -- media actions (with their call events) -------------------------------------------

    async def say(self, text: str, voice: str | None = None) -> int:
        """Synthesize and play ``text``; samples played (AudioError on a TTS failure). The
        TTS output is resampled once, straight to the transport's native rate."""
        pcm = await audio.synthesize(text, voice or "en-us", self.transport.sample_rate)
        return await self.transport.play(pcm)

    async def speak(self, text: str, voice: str | None) -> None:
        await self.record_event("call.speak.started", {"text": text, "voice": voice})
        started = time.monotonic()
        try:
            played = await self.say(text, voice)
        except ValueError as exc:  # AudioError: bad voice, TTS failure
            await self.record_event("call.speak.ended",
                                    {"status": "failed", "error": str(exc)[:200]})
            return
        await self.record_event("call.speak.ended", {
            "status": "completed", "played_samples": played,
            "duration_s": round(played / self.transport.sample_rate, 3),
            "elapsed_s": round(time.monotonic() - started, 3)})

    async def play(self, url: str) -> None:
        await self.record_event("call.playback.started", {"url": url})
        try:
            played = await self.transport.play(
                await audio.load(url, self.transport.sample_rate, objects=self.control))
        except Exception as exc:  # unreadable media is the app's problem, reported as an event
            await self.record_event("call.playback.ended",
                                    {"url": url, "status": "failed", "error": str(exc)[:200]})
            return
        await self.record_event("call.playback.ended", {
            "url": url, "status": "completed", "played_samples": played,
            "duration_s": round(played / self.transport.sample_rate, 3)})

    async def send_dtmf(self, digits: str) -> None:
        """Digits out; ``w`` waits half a second (IVR navigation)."""
        for i, chunk in enumerate(digits.split("w")):
            if i:
                await asyncio.sleep(0.5)
            if chunk:
                try:
                    await self.transport.send_dtmf(chunk)
                except ValueError as exc:
                    await self.record_event("call.dtmf.failed",
                                            {"digits": digits, "error": str(exc)})
                    return
        await self.record_event("call.dtmf.sent", {"digits": digits})

    # -- transfers (carried out by calls/transfer.py and calls/warm_transfer.py) -------------

    async def transfer(self, to: str) -> None:
        """Cold transfer: REFER, else dial ``to`` and bridge; reported as call events."""
        if self.transfer_hook is None:
            await self.record_event("call.transfer.failed", {"to": to, "reason": "not_supported"})
            return
        await self.transfer_hook(to)

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]:
        """Hold, dial, whisper, bridge; the outcome (``bridged`` or why not) for the agent."""
        if self.warm_transfer_hook is None:
            return {"ok": False, "error": "not_supported"}
        return await self.warm_transfer_hook(spec)

    # -- recording ------------------------------------------------------------------------

    def start_recording(self) -> None:
        """Record both directions from the transport's taps (caller left, platform right)."""
        self.recorder = CallRecorder(self.transport.sample_rate)
        self.recorder.start()
        self._tap_recorder(self.recorder)
        self.recording = True
        self.recording_started = time.monotonic()

    def pause_recording(self) -> None:
        """Stop feeding the recording; the paused time is left out of it."""
        recorder = self.recorder
        if recorder is not None and recorder.active and not recorder.paused:
            self._untap_recorder(recorder)
            recorder.pause()

    def resume_recording(self) -> None:
        recorder = self.recorder
        if recorder is not None and recorder.active and recorder.paused:
            recorder.resume()
            self._tap_recorder(recorder)

    def _tap_recorder(self, recorder: CallRecorder) -> None:
        self.transport.add_audio_tap(recorder.caller)
        self.transport.add_playout_tap(recorder.playout)

    def _untap_recorder(self, recorder: CallRecorder) -> None:
        self.transport.remove_audio_tap(recorder.caller)
        self.transport.remove_playout_tap(recorder.playout)

    async def save_recording(self) -> None:
        """Stop the recorder, upload the WAV, emit call.recording.saved."""
        self.recording = False
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            if not recorder.paused:
                self._untap_recorder(recorder)
            duration = recorder.duration_s
            wav = recorder.stop()
            key = await self.control.save_recording(self.call, wav, duration)
        except Exception:
            log.exception("recording of %s could not be saved", self.call_id)
            return
        await self.record_event("call.recording.saved", {"s3_key": key,
                                                         "duration_s": round(duration, 3),
                                                         "channels": 2, "format": "wav"})

    # -- ending ---------------------------------------------------------------------------

    async def hangup(self, reason: str) -> None:
        """End from this side (the transport sends BYE, CANCEL or a refusal)."""
        if self.hangup_reason is None:  # this side ends it first (not after the peer's BYE)
            self.local_hangup_reason = reason
        self.hangup_reason = self.hangup_reason or reason
        await self.transport.hangup(reason)
        self.ended.set()

    def quality(self) -> dict[str, Any]:
        try:
            stats = dict(self.transport.stats())
        except Exception:  # stats never block the end of a call
            log.exception("stats failed for %s", self.call_id)
            return {}
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.items()}

    async def finish(self, target: CallStatus, end_reason: str, cause: int | None) -> None:
        """Final transition with duration, end_reason, cause (SIP) and quality; once."""
        if self.finished:
            return
        self.finished = True
        self.ended.set()
        if self.gather is not None:
            self.gather.cancel()
        self.transport.stop_playback()
        streams = [task for task in self.stream_tasks.values() if not task.done()]
        if streams:  # each sends its stop and reports call.streaming.stopped (they watch ended)
            await asyncio.wait(streams, timeout=STREAM_STOP_WAIT_S)
        if self.recording:
            await self.save_recording()
        if self.agent_task is not None:  # it stores the transcript and metrics before the end
            await asyncio.wait({self.agent_task}, timeout=15)
        quality = self.quality()
        duration = round(time.monotonic() - self.answered_at, 3) if self.answered_at else 0.0
        changes: dict[str, Any] = {"end_reason": end_reason, "ended_at": now_iso(),
                                   "duration_s": duration, "quality": quality}
        if cause is not None:
            changes["sip_cause"] = cause
        if self.metrics is not None:
            changes["metrics"] = self.metrics
        if self.answered_by is not None:
            changes["answered_by"] = self.answered_by
        if self.bridged_to is not None:  # a bridge ends with the call
            changes["bridged_call_id"] = None
        if self.early_media is not None:
            changes["early_media"] = self.early_media
        details = {"end_reason": end_reason, "sip_cause": cause, "duration_s": duration,
                   "quality": quality}
        if self.early_media_write is not None and not self.early_media_write.done():
            await asyncio.wait([self.early_media_write], timeout=5)
        if self.status_write is not None:
            # An earlier status write that failed must not keep the call from ending.
            await asyncio.wait([self.status_write])
            if not self.status_write.cancelled() and self.status_write.exception() is not None:
                log.warning("status write of %s failed: %r", self.call_id,
                            self.status_write.exception())
        await self.control.transition(self.call_id, target, changes, details)
        for task in list(self.tasks):
            if task is not asyncio.current_task():
                task.cancel()
        try:
            await self.transport.close()
        finally:
            self._on_finished(self)
