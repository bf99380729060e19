"""A simulated phone: a SIP UA that answers the platform's call and plays a scripted caller.

It is built on the project's own SIP user agent (`service.ua.UserAgent`) and RTP sessions
(`media.RtpPortPool`), on its own loopback port: point an app's trunk at it (POST /v1/trunks)
and every call the platform places to it is answered. The phone then speaks its script:

    script = [CallerLine("I'd like to book an appointment on Tuesday"),          # after the agent
              CallerLine("What are your opening hours?", when="barge_in"),     # while it talks
              CallerLine("No thanks, goodbye")]
    phone = PhoneThread(script).start()          # its own thread and event loop
    ...                                          # create the call through the API
    report = phone.wait(90)                      # what was said, heard, and when

"after_agent" lines wait until the agent has spoken and then been silent for `silence_ms`;
"barge_in" lines start once the agent has talked for `barge_after_ms`. The phone's uplink
can go through an `ImpairedRelay` (loss, jitter). A REFER is accepted (202 + NOTIFY 200).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from voicelane_media import sdp
from voicelane_media.settings import MediaSettings
from voicelane_media.sip.message import SipRequest, make_response
from voicelane_media.transports.sip.dialog import Dialog
from voicelane_media.transports.sip.rtp import RtpPortPool, RtpSession
from voicelane_media.transports.sip.transactions import ServerTransaction
from voicelane_media.transports.sip.ua import IncomingInvite, UserAgent

from .impair import ImpairedRelay, Impairment
from .voice import RATE, Ears, speech_bounds, synthesize_8k

log = logging.getLogger(__name__)


@dataclass
class CallerLine:
    """One thing the caller says (or keys, with `dtmf`)."""

    text: str
    when: Literal["after_agent", "barge_in"] = "after_agent"
    barge_after_ms: float = 1200.0
    dtmf: str | None = None
    # Pre-rendered 8 kHz int16 audio to play instead of synthesising `text` (pauses, noise,
    # a cough), with `bounds`: seconds from its start to the first and past the last voice.
    audio: Any = None
    bounds: tuple[float, float] | None = None
    silence_ms: float | None = None  # "after_agent": this line's agent-quiet wait


@dataclass
class LineResult:
    """When a line was said and how the agent reacted, as heard on the phone."""

    text: str
    when: str
    started_at: float  # the first voiced frame of the line left the phone
    ended_at: float  # the last voiced frame left the phone
    waited_out: bool = False  # the agent never went quiet: spoken at the timeout
    agent_reply_ms: float | None = None  # end of this line -> first agent audio heard
    agent_stop_ms: float | None = None  # barge-in: start of this line -> agent audio stopped


@dataclass
class PhoneReport:
    """What happened on the phone: lines, agent speech heard, who hung up, the audio heard."""

    answered_at: float | None = None
    lines: list[LineResult] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    hung_up_by: str | None = None
    refer_to: str | None = None
    invite_headers: dict[str, str] = field(default_factory=dict)
    greeting_started_at: float | None = None  # a callee with a recorded greeting played it
    heard: Any = None  # int16 8 kHz numpy array of everything received
    heard_times: list[float] = field(default_factory=list)  # each 20 ms frame's arrival

    def heard_between(self, start: float, end: float) -> Any:
        """The audio heard between two monotonic times (a span of agent speech)."""
        if self.heard is None or not self.heard_times:
            return None
        size = len(self.heard) // len(self.heard_times)
        first = next((i for i, at in enumerate(self.heard_times) if at >= start), None)
        last = next((i for i, at in enumerate(self.heard_times) if at >= end),
                    len(self.heard_times))
        return self.heard[(first or 0) * size:last * size] if first is not None else None
    relay: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        base = self.answered_at or 0.0
        return {
            "lines": [{"text": ln.text, "when": ln.when,
                       "start_s": round(ln.started_at - base, 2),
                       "end_s": round(ln.ended_at - base, 2),
                       "agent_reply_ms": ln.agent_reply_ms, "agent_stop_ms": ln.agent_stop_ms,
                       "waited_out": ln.waited_out} for ln in self.lines],
            "agent_speech": [[round(a - base, 2), round(b - base, 2)] for a, b in self.spans],
            "hung_up_by": self.hung_up_by, "refer_to": self.refer_to, "relay": self.relay,
        }


class SimulatedPhone:
    """The phone's asyncio side; use `PhoneThread` from synchronous code."""

    def __init__(self, script: list[CallerLine], *, impairment: Impairment | None = None,
                 voice: str = "piper", silence_ms: float = 900.0, wait_s: float = 25.0,
                 hangup_wait_s: float = 20.0, rtp_ports: tuple[int, int] = (46000, 46999),
                 greeting: Any = None, background: Callable[[], Any] | None = None) -> None:
        self.script = script
        # Line noise: a source of 160-sample frames sent whenever the caller is not talking.
        self.background = background
        self.greeting = greeting  # int16 8 kHz audio played at the answer (an answering machine)
        self.impairment = impairment or Impairment()
        self.voice = voice
        self.silence_ms = silence_ms
        self.wait_s = wait_s
        self.hangup_wait_s = hangup_wait_s
        self.ua = UserAgent(MediaSettings(sip_host="127.0.0.1", sip_port=0,
                                          advertised_host="127.0.0.1", node_id="sim-phone",
                                          user_agent="voicelane-sim-phone/0.1"),
                            on_invite=self._on_invite)
        self.pool = RtpPortPool("127.0.0.1", *rtp_ports)
        self.report = PhoneReport()
        self.ears = Ears()
        self.done: asyncio.Future[PhoneReport] | None = None
        self._audio: list[Any] = []
        self._ended = asyncio.Event()
        self._busy = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return self.ua.port

    async def start(self) -> SimulatedPhone:
        self.done = asyncio.get_running_loop().create_future()
        self._audio = [line.audio if line.audio is not None
                       else await synthesize_8k(line.text, self.voice) if not line.dtmf else None
                       for line in self.script]
        await self.ua.start()
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ua.stop()
        await self.pool.close()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- signalling --------------------------------------------------------------------------
    def _on_invite(self, incoming: IncomingInvite) -> None:
        if self._busy:
            self._spawn(incoming.reject(486))
            return
        self._busy = True
        self._spawn(self._answer(incoming))

    async def _answer(self, incoming: IncomingInvite) -> None:
        self.report.invite_headers = {k: v for k, v in incoming.request.headers
                                      if k.lower().startswith("x-")}
        session = await self.pool.open_session()
        relay = await ImpairedRelay(self.impairment).start()
        try:
            offer = sdp.SessionDescription.parse(incoming.request.body)
            answer, negotiated = sdp.answer(offer, sdp.DEFAULT_CODECS, "127.0.0.1", relay.port)
        except sdp.SdpError:
            await incoming.reject(488)
            return
        relay.phone = ("127.0.0.1", session.local_port)
        relay.node = (negotiated.remote_address or "127.0.0.1", negotiated.remote_port)
        session.set_remote("127.0.0.1", relay.port, negotiated.codec.payload_type,
                           negotiated.telephone_event)
        session.on_audio = self.ears.hear
        await incoming.ring(180)
        await asyncio.sleep(0.2)
        dialog = await incoming.answer(answer.serialize())
        dialog.handler = self
        self.report.answered_at = time.monotonic()
        if self.background is not None:  # pulled on the session's clock between lines
            session.set_live_source(self.background)
        try:
            if self.greeting is not None:
                await self._play_greeting(session, dialog)
            else:
                await self._converse(session, dialog)
        finally:
            self.report.spans = [(s.start, s.end) for s in self.ears.spans]
            self.report.heard = self.ears.audio()
            self.report.heard_times = list(self.ears.times)
            self.report.relay = {"forwarded": relay.forwarded, "dropped": relay.dropped}
            relay.close()
            await session.close()
            if self.done is not None and not self.done.done():
                self.done.set_result(self.report)

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None:
        if request.method == "BYE":
            await tx.respond(make_response(request, 200))
            self.ua.forget(dialog)
            dialog.ended = True
            self.report.hung_up_by = self.report.hung_up_by or "platform"
            self._ended.set()
        elif request.method == "REFER":
            self.report.refer_to = (request.headers.get("Refer-To") or "").strip("<>")
            await tx.respond(make_response(request, 202))
            self._spawn(self._notify_transfer(dialog))
        else:
            await tx.respond(make_response(request, 200))

    async def _notify_transfer(self, dialog: Dialog) -> None:
        await asyncio.sleep(0.1)
        await dialog.request("NOTIFY", [("Event", "refer"),
                                        ("Subscription-State", "terminated;reason=noresource")],
                             b"SIP/2.0 200 OK\r\n", "message/sipfrag;version=2.0")

    # -- the conversation --------------------------------------------------------------------
    async def _play_greeting(self, session: RtpSession, dialog: Dialog) -> None:
        """A callee that is a recording: play it at once, then wait for the platform's BYE
        (``hangup_wait_s`` after the recording ended, else hang up). With a script too, its
        lines follow the recording (a call screener, then the person coming on the line)."""
        self.report.greeting_started_at = time.monotonic()
        playing = asyncio.ensure_future(session.play(self.greeting))
        ended = asyncio.ensure_future(self._ended.wait())
        await asyncio.wait({playing, ended}, return_when=asyncio.FIRST_COMPLETED)
        if not playing.done():  # hung up on mid-greeting: the machine stops too
            session.stop_playback()
        await asyncio.gather(playing, return_exceptions=True)
        ended.cancel()
        if self.script:
            await self._converse(session, dialog, since=self.report.greeting_started_at)
            return
        try:
            await asyncio.wait_for(self._ended.wait(), timeout=self.hangup_wait_s)
        except TimeoutError:
            self.report.hung_up_by = "phone"
            await dialog.bye()
        await asyncio.sleep(0.1)

    async def _converse(self, session: RtpSession, dialog: Dialog,
                        since: float | None = None) -> None:
        last_end = time.monotonic() if since is None else since
        for line, audio in zip(self.script, self._audio, strict=True):
            if self._ended.is_set():
                break
            if line.when == "barge_in":
                waited_out = not await self._agent_talking_for(last_end, line.barge_after_ms)
            else:
                waited_out = not await self._agent_done(last_end, line.silence_ms)
            if self._ended.is_set():
                break
            onset, offset = (line.bounds or speech_bounds(audio)) if audio is not None \
                else (0.0, 0.0)
            if line.when == "barge_in" and audio is not None and onset > 0.02:
                # Speak at once, as a person cutting in does: the line's leading silence
                # (100-250 ms of TTS padding) would let the agent end its sentence first,
                # leaving nothing to stop and no stop time.
                skip = onset - 0.02
                audio = audio[int(skip * RATE):]
                onset, offset = onset - skip, offset - skip
            began = time.monotonic()
            result = LineResult(line.text, line.when, began + onset, 0.0, waited_out)
            if line.dtmf:
                await session.send_dtmf(line.dtmf)
            elif audio is not None:
                await session.play(audio)
            last_end = time.monotonic()
            result.ended_at = began + offset if audio is not None else last_end
            self.report.lines.append(result)
            if line.when == "barge_in":
                self._spawn(self._measure_stop(result))
            self._spawn(self._measure_reply(result))
        try:
            await asyncio.wait_for(self._ended.wait(), timeout=self.hangup_wait_s)
        except TimeoutError:
            self.report.hung_up_by = "phone"
            await dialog.bye()
        await asyncio.sleep(0.1)

    async def _agent_done(self, since: float, silence_ms: float | None = None) -> bool:
        """Wait until the agent spoke after `since` and has been quiet for silence_ms."""
        deadline = time.monotonic() + self.wait_s
        quiet_ms = self.silence_ms if silence_ms is None else silence_ms
        while time.monotonic() < deadline and not self._ended.is_set():
            spoke = any(span.end > since for span in self.ears.spans)
            if spoke and self.ears.silent_for_ms() >= quiet_ms:
                return True
            await asyncio.sleep(0.02)
        return False

    async def _agent_talking_for(self, since: float, ms: float) -> bool:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline and not self._ended.is_set():
            spans = [s for s in self.ears.spans if s.start > since]
            now = time.monotonic()
            # ... and is voiced now: a barge-in that starts in the pause between two of the
            # agent's sentences has nothing to stop, and its stop time would read near 0.
            if (spans and self.ears.speaking and (now - spans[-1].start) * 1000 >= ms
                    and now - self.ears.last_voice_at < 0.03):
                return True
            await asyncio.sleep(0.01)
        return False

    async def _measure_stop(self, result: LineResult) -> None:
        """Barge-in as heard: from the start of our line to the agent's last audible frame."""
        spans = [s for s in self.ears.spans if s.start <= result.started_at]
        if not spans:
            return
        span = spans[-1]
        while self.ears.speaking and self.ears.spans[-1] is span:
            await asyncio.sleep(0.02)
        if span.end >= result.started_at:
            result.agent_stop_ms = round((span.end - result.started_at) * 1000, 1)

    async def _measure_reply(self, result: LineResult) -> None:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline and not self._ended.is_set():
            later = [s for s in self.ears.spans if s.start > result.ended_at]
            if later:
                result.agent_reply_ms = round((later[0].start - result.ended_at) * 1000, 1)
                return
            await asyncio.sleep(0.02)


class PhoneThread:
    """A `SimulatedPhone` on its own event loop in a daemon thread (for sync callers)."""

    def __init__(self, script: list[CallerLine], **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._options = options
        self._script = script
        self.phone: SimulatedPhone | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sim-phone", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.phone = SimulatedPhone(self._script, **self._options)
            self.loop.run_until_complete(self.phone.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    def start(self, timeout_s: float = 60) -> PhoneThread:
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error is not None:
            raise RuntimeError(f"the simulated phone did not start: {self._error}")
        return self

    @property
    def port(self) -> int:
        assert self.phone is not None
        return self.phone.port

    def wait(self, timeout_s: float) -> PhoneReport:
        """Block until the call on the phone is over; its report."""
        assert self.phone is not None and self.phone.done is not None
        done = self.phone.done

        async def result() -> PhoneReport:
            return await done

        return asyncio.run_coroutine_threadsafe(result(), self.loop).result(timeout_s)

    def stop(self) -> None:
        if self.phone is not None and self.loop.is_running():
            phone = self.phone
            try:
                asyncio.run_coroutine_threadsafe(phone.stop(), self.loop).result(10)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()


def heard_seconds(report: PhoneReport) -> float:
    return 0.0 if report.heard is None else float(len(report.heard)) / RATE
