"""Live call commands on this node. Each is accepted at once (or refused with 409 when the
call's state does not allow it) and reports its results as call events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .call import CallLeg

if TYPE_CHECKING:
    from .manager import CallManager

log = logging.getLogger(__name__)
DTMF_DIGITS = set("0123456789*#ABCDabcd")


class CommandError(Exception):
    """A refused command: HTTP status, machine-readable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _require_answered(leg: CallLeg, action: str) -> None:
    if leg.finished or leg.dialog is None or leg.dialog.ended:
        raise CommandError(409, "call_not_answered", f"{action} needs an answered, live call")


def _text(body: dict[str, Any], name: str, limit: int = 4096) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise CommandError(422, "invalid_argument", f"{name} must be a non-empty string")
    return value


# -- media actions ---------------------------------------------------------------------------

async def speak(leg: CallLeg, text: str, voice: str | None) -> None:
    control = leg.manager.control
    await control.record_event(leg.call_id, "call.speak.started", {"text": text, "voice": voice})
    started = time.monotonic()
    try:
        played = await leg.session.speak(text, voice or "en-us")
    except ValueError as exc:  # AudioError: bad voice, TTS failure
        await control.record_event(leg.call_id, "call.speak.ended",
                                   {"status": "failed", "error": str(exc)[:200]})
        return
    await control.record_event(leg.call_id, "call.speak.ended", {
        "status": "completed", "played_samples": played, "duration_s": round(played / 8000, 3),
        "elapsed_s": round(time.monotonic() - started, 3)})


async def play(leg: CallLeg, url: str) -> None:
    control = leg.manager.control
    await control.record_event(leg.call_id, "call.playback.started", {"url": url})
    try:
        played = await leg.session.play_url(url)
    except Exception as exc:  # unreadable media is the app's problem, reported as an event
        await control.record_event(leg.call_id, "call.playback.ended",
                                   {"url": url, "status": "failed", "error": str(exc)[:200]})
        return
    await control.record_event(leg.call_id, "call.playback.ended", {
        "url": url, "status": "completed", "played_samples": played,
        "duration_s": round(played / 8000, 3)})


class Gather:
    """Collects DTMF digits until max_digits, the terminator, or the inter-digit timeout."""

    def __init__(self, max_digits: int, terminator: str | None, timeout_s: float) -> None:
        self.max_digits = max_digits
        self.terminator = terminator
        self.timeout_s = timeout_s
        self.digits = ""
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.on_digit: Callable[[], None] | None = None  # a speech gather's no-input timer
        self._kick = asyncio.Event()

    def feed(self, digit: str) -> None:
        if self.result.done():
            return
        if self.on_digit is not None:
            self.on_digit()
        if self.terminator and digit == self.terminator:
            self.result.set_result("terminator")
            return
        self.digits += digit
        self._kick.set()
        if len(self.digits) >= self.max_digits:
            self.result.set_result("max_digits")

    def cancel(self) -> None:
        if not self.result.done():
            self.result.set_result("hangup")

    async def run(self) -> str:
        while not self.result.done():
            self._kick.clear()
            try:
                await asyncio.wait_for(self._kick.wait(), timeout=self.timeout_s)
            except TimeoutError:
                if not self.result.done():
                    self.result.set_result("timeout")
        return self.result.result()


async def gather(leg: CallLeg, body: dict[str, Any]) -> None:
    """DTMF digits, or with `input` speech / dtmf_speech the spoken answer too
    (speech_gather.py); emits call.gather.ended with digits (speech too when asked) and reason."""
    max_digits = body.get("max_digits", 1)
    terminator = body.get("terminator", "#")
    timeout_s = body.get("timeout_s", body.get("timeout", 5))
    g = Gather(int(max_digits), terminator, float(timeout_s))
    leg.gather = g
    prompt = body.get("prompt_text") or body.get("speak")
    if isinstance(prompt, str) and prompt:
        leg.spawn(leg.session.speak(prompt, str(body.get("voice") or "en-us")))
    if body.get("input", "dtmf") in ("speech", "dtmf_speech"):
        details = await _gather_speech(leg, body, g)
    else:
        reason = await g.run()  # digits are read once the gather has ended
        details = {"digits": g.digits, "reason": reason}
    leg.gather = None
    await leg.manager.control.record_event(leg.call_id, "call.gather.ended", details)


async def _gather_speech(leg: CallLeg, body: dict[str, Any], digits: Gather) -> dict[str, Any]:
    from .agent_runner import agent_spec_for
    from .speech_gather import gather_speech

    try:
        return await gather_speech(leg, body, digits, await agent_spec_for(leg.manager, leg))
    except (RuntimeError, ValueError, ImportError) as exc:  # no STT engine on this node
        log.warning("speech gather on call %s cannot run: %s", leg.call_id, exc)
        return {"digits": digits.digits, "speech": "", "reason": "stt_unavailable"}


async def send_dtmf(leg: CallLeg, digits: str) -> None:
    """RFC 4733 digits; ``w`` waits half a second (IVR navigation)."""
    for i, chunk in enumerate(digits.split("w")):
        if i:
            await asyncio.sleep(0.5)
        if chunk:
            try:
                await leg.session.send_dtmf(chunk)
            except ValueError as exc:
                await leg.manager.control.record_event(
                    leg.call_id, "call.dtmf.failed", {"digits": digits, "error": str(exc)})
                return
    await leg.manager.control.record_event(leg.call_id, "call.dtmf.sent", {"digits": digits})


# -- validation + dispatch -----------------------------------------------------------------

def _validate_gather(body: dict[str, Any]) -> None:
    max_digits = body.get("max_digits", 1)
    if not isinstance(max_digits, int) or not 1 <= max_digits <= 128:
        raise CommandError(422, "invalid_argument", "max_digits must be 1-128")
    term = body.get("terminator")
    if term is not None and (not isinstance(term, str) or term not in DTMF_DIGITS):
        raise CommandError(422, "invalid_argument", "terminator must be one DTMF digit")
    timeout = body.get("timeout_s", body.get("timeout", 5))
    if not isinstance(timeout, int | float) or not 0.5 <= timeout <= 120:
        raise CommandError(422, "invalid_argument", "timeout_s must be 0.5-120")
    if body.get("input", "dtmf") not in ("dtmf", "speech", "dtmf_speech"):
        raise CommandError(422, "invalid_argument", "input must be dtmf, speech or dtmf_speech")


Handler = Callable[[CallLeg, dict[str, Any]], Awaitable[None]]


async def _answer(leg: CallLeg, body: dict[str, Any]) -> None:
    from voicelane_media.transports.sip.inbound import answer

    if leg.incoming is None or leg.dialog is not None or leg.finished:
        raise CommandError(409, "call_not_ringing", "answer needs an inbound call not yet answered")
    leg.spawn(answer(leg))


async def _reject(leg: CallLeg, body: dict[str, Any]) -> None:
    from voicelane_media.transports.sip.inbound import reject

    if leg.incoming is None or leg.dialog is not None or leg.finished:
        raise CommandError(409, "call_not_ringing", "reject needs an inbound call not yet answered")
    leg.spawn(reject(leg, str(body.get("cause") or body.get("reason") or "rejected")))


async def _hangup(leg: CallLeg, body: dict[str, Any]) -> None:
    from voicelane.domain.call import CallStatus

    if leg.finished:
        raise CommandError(409, "call_ended", "the call has already ended")
    pending_inbound = leg.incoming is not None and leg.dialog is None
    await leg.hangup("hangup_by_api")
    if pending_inbound:
        leg.spawn(leg.finish(CallStatus.CANCELED, "hangup_by_api", 603))


async def _play(leg: CallLeg, body: dict[str, Any]) -> None:
    _require_answered(leg, "play")
    url = body.get("url") or body.get("s3_key")
    if not isinstance(url, str) or not url:
        raise CommandError(422, "invalid_argument", "play needs url (http(s) or s3://) or s3_key")
    leg.spawn(play(leg, url))


async def _speak(leg: CallLeg, body: dict[str, Any]) -> None:
    _require_answered(leg, "speak")
    leg.spawn(speak(leg, _text(body, "text"), body.get("voice")))


async def _gather(leg: CallLeg, body: dict[str, Any]) -> None:
    _require_answered(leg, "gather")
    _validate_gather(body)
    if leg.gather is not None:
        raise CommandError(409, "gather_in_progress", "a gather is already running")
    leg.spawn(gather(leg, body))


async def _send_dtmf(leg: CallLeg, body: dict[str, Any]) -> None:
    _require_answered(leg, "send_dtmf")
    digits = _text(body, "digits", 64)
    if not set(digits) <= DTMF_DIGITS | {"w"}:
        raise CommandError(422, "invalid_argument", "digits may contain 0-9, *, #, A-D, w")
    leg.spawn(send_dtmf(leg, digits))


async def _hold(leg: CallLeg, body: dict[str, Any], hold: bool = True) -> None:
    _require_answered(leg, "hold" if hold else "unhold")
    if leg.on_hold == hold:
        raise CommandError(409, "already_on_hold" if hold else "not_on_hold",
                           "the call is already in that hold state")
    leg.on_hold = hold

    async def run() -> None:
        assert leg.dialog is not None
        direction = "sendonly" if hold else "sendrecv"
        response = await leg.dialog.reinvite(leg.local_sdp(direction).serialize())
        if 200 <= response.status < 300:
            leg.session.set_direction(direction)
            await leg.manager.control.record_event(
                leg.call_id, "call.hold" if hold else "call.unhold", {"by": "api"})
        else:
            leg.on_hold = not hold
            await leg.manager.control.record_event(
                leg.call_id, "call.hold.failed" if hold else "call.unhold.failed",
                {"sip_status": response.status})

    leg.spawn(run())


async def _unhold(leg: CallLeg, body: dict[str, Any]) -> None:
    await _hold(leg, body, hold=False)


async def _transfer(leg: CallLeg, body: dict[str, Any]) -> None:
    from voicelane_media.transports.sip.transfer import transfer

    _require_answered(leg, "transfer")
    leg.spawn(transfer(leg, _text(body, "to", 256)))


async def _record(leg: CallLeg, body: dict[str, Any], op: str) -> None:
    _require_answered(leg, f"record_{op}")
    if op == "start":
        if leg.recording:
            raise CommandError(409, "already_recording", "the call is already being recorded")
        leg.session.start_recording()
        leg.recording = True
        leg.recording_started = time.monotonic()
        return
    if not leg.recording:
        raise CommandError(409, "not_recording", "the call is not being recorded")
    if op == "stop":
        leg.spawn(leg.manager.save_recording(leg))
    elif op == "pause":
        leg.session.pause_recording()
    else:
        leg.session.resume_recording()


def _recorder(op: str) -> Handler:
    async def run(leg: CallLeg, body: dict[str, Any]) -> None:
        await _record(leg, body, op)

    return run


ACTIONS: dict[str, Handler] = {
    "answer": _answer, "reject": _reject, "hangup": _hangup, "play": _play, "speak": _speak,
    "gather": _gather, "send_dtmf": _send_dtmf, "hold": _hold, "unhold": _unhold,
    "transfer": _transfer, "record_start": _recorder("start"), "record_stop": _recorder("stop"),
    "record_pause": _recorder("pause"), "record_resume": _recorder("resume"),
}


async def execute(manager: CallManager, call_id: str, action: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    """Run ``action`` on a live call of this node; a repeated ``command_id`` replays."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise CommandError(404, "unknown_action", f"unknown action {action!r}")
    leg = manager.legs.get(call_id)
    if leg is None:
        raise CommandError(404, "call_not_here", "this node holds no live call with that id")
    command_id = body.get("command_id")
    if isinstance(command_id, str) and command_id in leg.command_ids:
        return leg.command_ids[command_id]
    await handler(leg, body)
    result = {"accepted": True, "action": action, "call_id": call_id}
    if isinstance(command_id, str):
        leg.command_ids[command_id] = result
    return result

