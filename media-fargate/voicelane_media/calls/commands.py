"""Live call commands on this node. Each is accepted at once (or refused with 409 when the
call's state does not allow it) and reports its results as call events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Forbidden
from voicelane.domain.stream import StreamSpec
from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.transports.base import EarlyMediaRefused

from .agent_runner import agent_spec_for
from .call import LiveCall
from .conference import JoinRefused
from .gather import Gather
from .manager import CallManager
from .speech_gather import gather_speech
from .streams import StreamRefused, open_stream, stop_streams

log = logging.getLogger(__name__)
DTMF_DIGITS = set("0123456789*#ABCDabcd")


class CommandError(Exception):
    """A refused command: HTTP status, machine-readable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _require_answered(leg: LiveCall, action: str) -> None:
    if leg.finished or not leg.transport.connected:
        raise CommandError(409, "call_not_answered", f"{action} needs an answered, live call")


def _require_media(leg: LiveCall, action: str) -> None:
    """play and speak: an answered call, or an inbound one in early media (pre_answer)."""
    if leg.finished or not (leg.transport.connected or leg.transport.early_media):
        raise CommandError(409, "call_not_answered",
                           f"{action} needs an answered call or one in early media (pre_answer)")


def _text(body: dict[str, Any], name: str, limit: int = 4096) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise CommandError(422, "invalid_argument", f"{name} must be a non-empty string")
    return value


# -- gather ----------------------------------------------------------------------------------

async def gather(leg: LiveCall, body: dict[str, Any], manager: CallManager | None = None) -> None:
    """DTMF digits, or with `input` speech / dtmf_speech the spoken answer too
    (speech_gather.py); emits call.gather.ended with digits (speech too when asked) and reason."""
    max_digits = body.get("max_digits", 1)
    terminator = body.get("terminator", "#")
    timeout_s = body.get("timeout_s", body.get("timeout", 5))
    g = Gather(int(max_digits), terminator, float(timeout_s))
    leg.gather = g
    prompt = body.get("prompt_text") or body.get("speak")
    if isinstance(prompt, str) and prompt:
        leg.spawn(_prompt(leg, prompt, str(body.get("voice") or "en-us")))
    if body.get("input", "dtmf") in ("speech", "dtmf_speech"):
        details = await _gather_speech(leg, body, g)
    else:
        reason = await g.run()  # digits are read once the gather has ended
        details = {"digits": g.digits, "reason": reason}
    leg.gather = None
    event = await leg.recorded_event("call.gather.ended", details)
    if manager is not None and manager.app_commands is not None and event is not None:
        await manager.app_commands.decide(leg, event.type, event.sequence)


async def _prompt(leg: LiveCall, text: str, voice: str) -> None:
    await leg.say(text, voice)


async def _gather_speech(leg: LiveCall, body: dict[str, Any], digits: Gather) -> dict[str, Any]:
    try:
        return await gather_speech(leg, body, digits, await agent_spec_for(leg))
    except (RuntimeError, ValueError, ImportError) as exc:  # no STT engine on this node
        log.warning("speech gather on call %s cannot run: %s", leg.call_id, exc)
        return {"digits": digits.digits, "speech": "", "reason": "stt_unavailable"}


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


Task = asyncio.Task[None]
# A handler checks the call's state (CommandError) and starts the command; it returns the task
# that carries it out, if any (a webhook answer's list waits for it before the next command).
Handler = Callable[[CallManager, LiveCall, dict[str, Any]], Awaitable[Task | None]]


async def _answer(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    if not leg.transport.ringing or leg.finished:
        raise CommandError(409, "call_not_ringing", "answer needs an inbound call not yet answered")
    return leg.spawn(manager.answer(leg))


async def _pre_answer(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    """183 with SDP and media toward the caller, then its record, all before the command's
    reply: the app's next play or speak (through the API, which reads the record) finds the
    call in early media."""
    if leg.finished:
        raise CommandError(409, "call_ended", "the call has already ended")
    try:
        ending = await leg.transport.pre_answer()
    except EarlyMediaRefused as exc:
        raise CommandError(409, exc.code, exc.message) from None
    if ending is not None:  # the caller gave up meanwhile
        return leg.spawn(leg.finish(ending.status, ending.reason, ending.cause))
    await leg.control.record_pre_answer(leg.call_id, {
        "sip_status": 183, "sample_rate": leg.transport.sample_rate})
    return None


async def _reject(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    if not leg.transport.ringing or leg.finished:
        raise CommandError(409, "call_not_ringing", "reject needs an inbound call not yet answered")
    return leg.spawn(manager.reject(leg, str(body.get("cause") or body.get("reason") or "rejected")))


async def _hangup(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    if leg.finished:
        raise CommandError(409, "call_ended", "the call has already ended")
    pending_inbound = leg.transport.ringing
    await leg.hangup("hangup_by_api")
    if pending_inbound:
        return leg.spawn(leg.finish(CallStatus.CANCELED, "hangup_by_api", 603))
    return None


async def _play(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_media(leg, "play")
    url = body.get("url") or body.get("s3_key")
    if not isinstance(url, str) or not url:
        raise CommandError(422, "invalid_argument", "play needs url (http(s) or s3://) or s3_key")
    return leg.spawn(leg.play(url))


async def _speak(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_media(leg, "speak")
    return leg.spawn(leg.speak(_text(body, "text"), body.get("voice")))


async def _gather(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_answered(leg, "gather")
    _validate_gather(body)
    if leg.gather is not None:
        raise CommandError(409, "gather_in_progress", "a gather is already running")
    return leg.spawn(gather(leg, body, manager))


async def _send_dtmf(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_answered(leg, "send_dtmf")
    digits = _text(body, "digits", 64)
    if not set(digits) <= DTMF_DIGITS | {"w"}:
        raise CommandError(422, "invalid_argument", "digits may contain 0-9, *, #, A-D, w")
    return leg.spawn(leg.send_dtmf(digits))


async def _hold(manager: CallManager, leg: LiveCall, body: dict[str, Any],
                hold: bool = True) -> Task | None:
    _require_answered(leg, "hold" if hold else "unhold")
    if leg.on_hold == hold:
        raise CommandError(409, "already_on_hold" if hold else "not_on_hold",
                           "the call is already in that hold state")
    leg.on_hold = hold

    async def run() -> None:
        failure = await leg.transport.hold(hold)
        if failure is None:
            await leg.record_event("call.hold" if hold else "call.unhold", {"by": "api"})
        else:
            leg.on_hold = not hold
            await leg.record_event("call.hold.failed" if hold else "call.unhold.failed", failure)

    return leg.spawn(run())


async def _unhold(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    return await _hold(manager, leg, body, hold=False)


async def _transfer(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_answered(leg, "transfer")
    to = _text(body, "to", 256)
    try:
        await leg.check_destination(to)
    except Forbidden as exc:
        raise CommandError(403, exc.code, exc.message) from exc
    return leg.spawn(leg.transfer(to))


async def _warm_transfer(manager: CallManager, leg: LiveCall,
                         body: dict[str, Any]) -> Task | None:
    _require_answered(leg, "warm_transfer")
    try:
        spec = WarmTransferSpec.model_validate({k: v for k, v in body.items() if k != "command_id"})
    except ValidationError as exc:
        raise CommandError(422, "invalid_argument", str(exc.errors()[0]["msg"])) from None
    if spec.summary and leg.summary_hook is None:
        raise CommandError(409, "no_agent_summary", "summary needs an agent running on the call")
    if leg.bridged_to is not None:
        raise CommandError(409, "already_bridged", "the call is bridged to another call already")
    try:
        await leg.check_destination(spec.to)
    except Forbidden as exc:
        raise CommandError(403, exc.code, exc.message) from exc

    async def run() -> None:
        await leg.warm_transfer(spec)  # its outcome is in the call's events

    return leg.spawn(run())


async def _record(leg: LiveCall, op: str) -> Task | None:
    _require_answered(leg, f"record_{op}")
    if op == "start":
        if leg.recording:
            raise CommandError(409, "already_recording", "the call is already being recorded")
        leg.start_recording()
        return None
    if not leg.recording:
        raise CommandError(409, "not_recording", "the call is not being recorded")
    if op == "stop":
        return leg.spawn(leg.save_recording())
    if op == "pause":
        leg.pause_recording()
    else:
        leg.resume_recording()
    return None


def _recorder(op: str) -> Handler:
    async def run(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
        return await _record(leg, op)

    return run


async def _stream_start(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    _require_answered(leg, "stream_start")
    try:
        spec = StreamSpec.model_validate({k: v for k, v in body.items() if k != "command_id"})
    except ValidationError as exc:
        raise CommandError(422, "invalid_argument", str(exc.errors()[0]["msg"])) from None
    try:
        open_stream(leg, spec, manager.bot_streams)
    except StreamRefused as exc:
        raise CommandError(409, exc.code, exc.message) from None
    return None


async def _stream_stop(manager: CallManager, leg: LiveCall, body: dict[str, Any]) -> Task | None:
    stream_id = body.get("stream_id")
    if stream_id is not None and not isinstance(stream_id, str):
        raise CommandError(422, "invalid_argument", "stream_id must be a string")
    if not stop_streams(leg, stream_id, "stream_stop"):
        raise CommandError(409, "no_stream", "no such stream is running on the call")
    return None


async def _join_conference(manager: CallManager, leg: LiveCall,
                           body: dict[str, Any]) -> Task | None:
    """The join write is made before the answer, so a refusal (on another node, ended,
    full) is this command's 409, not a later event."""
    _require_answered(leg, "join_conference")
    conference_id = _text(body, "conference_id", 64)
    try:
        await manager.conferences.join(leg, conference_id, moderator=body.get("moderator") is True,
                                       muted=body.get("muted") is True)
    except JoinRefused as exc:
        raise CommandError(exc.status, exc.code, exc.message) from None
    return None


ACTIONS: dict[str, Handler] = {
    "answer": _answer, "pre_answer": _pre_answer, "reject": _reject, "hangup": _hangup, "play": _play, "speak": _speak,
    "gather": _gather, "send_dtmf": _send_dtmf, "hold": _hold, "unhold": _unhold,
    "transfer": _transfer, "warm_transfer": _warm_transfer,
    "record_start": _recorder("start"), "record_stop": _recorder("stop"),
    "record_pause": _recorder("pause"), "record_resume": _recorder("resume"),
    "stream_start": _stream_start, "stream_stop": _stream_stop,
    "join_conference": _join_conference,
}

CONFERENCE_ACTIONS = ("dial", "mute", "unmute", "hold", "unhold", "kick", "end")


async def conference_action(manager: CallManager, conference_id: str, action: str,
                            body: dict[str, Any]) -> dict[str, Any]:
    """An action on a conference of this node (the internal API): accepted at once; a dial
    runs on, its answer joins the room."""
    if action not in CONFERENCE_ACTIONS:
        raise CommandError(404, "unknown_action", f"unknown action {action!r}")
    hub = manager.conferences
    try:
        hub.room(conference_id)
        flags = {"moderator": body.get("moderator") is True, "muted": body.get("muted") is True}
        if action == "dial" and body.get("agent_id") is not None:  # an agent takes a seat
            manager.spawn(hub.seat(conference_id, _text(body, "agent_id", 64), **flags))
        elif action == "dial":
            to = _text(body, "to", 256)
            from_ = body.get("from")
            manager.spawn(hub.dial(conference_id, to, from_ if isinstance(from_, str) else None,
                                   **flags))
        else:
            call_id = body.get("call_id")
            music = body.get("music_url")
            await hub.act(conference_id, action, call_id if isinstance(call_id, str) else None,
                          music if isinstance(music, str) else None)
    except JoinRefused as exc:
        raise CommandError(exc.status, exc.code, exc.message) from None
    return {"accepted": True, "action": action, "conference_id": conference_id}


async def execute(manager: CallManager, call_id: str, action: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    """Run ``action`` on a live call of this node; a repeated ``command_id`` replays."""
    result, _ = await start(manager, call_id, action, body)
    return result


async def start(manager: CallManager, call_id: str, action: str,
                body: dict[str, Any]) -> tuple[dict[str, Any], Task | None]:
    """:func:`execute`, also returning the task carrying the command out (None when it was
    done at once or is a replay)."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise CommandError(404, "unknown_action", f"unknown action {action!r}")
    leg = manager.calls.get(call_id)
    if leg is None:
        raise CommandError(404, "call_not_here", "this node holds no live call with that id")
    command_id = body.get("command_id")
    if isinstance(command_id, str) and command_id in leg.command_ids:
        return leg.command_ids[command_id], None
    task = await handler(manager, leg, body)
    result = {"accepted": True, "action": action, "call_id": call_id}
    if isinstance(command_id, str):
        leg.command_ids[command_id] = result
    return result, task
