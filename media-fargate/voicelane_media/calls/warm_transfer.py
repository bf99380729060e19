"""A warm transfer: the caller on hold with music, the target dialled, told who is coming (a
whisper only it hears, optionally after DTMF to reach an extension), optionally asked to
accept (DTMF 2 declines), then bridged to the caller. When the target does not answer,
rejects, hangs up or declines, the music stops and the caller is back with whoever runs the
call: the outcome is returned (the agent's tool result) and recorded as events.

Events on the caller's call, in order: ``call.transfer.initiated``, then
``call.transfer.target_answered``, ``call.transfer.whispered`` (when there was something to
say) and ``call.transfer.bridged`` (with ``call.bridged`` on both calls), or at any step
``call.transfer.declined`` / ``call.transfer.failed`` with a ``reason``. A caller who hangs up
while the target still rings ends the transfer at once: the target's INVITE is CANCELled (its
leg ends ``canceled`` / ``parent_ended``) and the reason is ``caller_hangup``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from voicelane.domain.errors import Forbidden
from voicelane.domain.transfer import DECLINE_DIGIT, DEFAULT_ACCEPT_PROMPT, WarmTransferSpec

from .call import LiveCall
from .gather import Gather
from .hold import HoldMusic
from .transfer import LegDialer, cold_transfer, dial_while_up, failure, run_bridge

log = logging.getLogger(__name__)


class _Gone(Exception):
    """One side hung up while the transfer was being set up."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def whisper_text(live: LiveCall, spec: WarmTransferSpec) -> str | None:
    """What the target hears: the given text, or the call agent's summary."""
    if not spec.summary:
        return spec.whisper
    if live.summary_hook is None:
        return None
    try:
        return (await live.summary_hook()).strip() or None
    except Exception:  # no summary is better than no transfer
        log.exception("summary of %s failed", live.call_id)
        return None


async def warm_transfer(dialer: LegDialer, live: LiveCall,
                        spec: WarmTransferSpec) -> dict[str, Any]:
    """Carry out ``spec`` on ``live``; returns ``{"ok": True, "bridged": True, ...}`` or
    ``{"ok": False, "error": reason, ...}`` with the caller taken off hold."""
    base: dict[str, Any] = {"to": spec.to, "kind": "warm"}
    try:
        await live.check_destination(spec.to)
    except Forbidden as exc:
        await live.record_event("call.transfer.failed", {**base, "reason": exc.code})
        return {"ok": False, "error": exc.code, "message": exc.message}
    await live.record_event("call.transfer.initiated", base)
    text = await whisper_text(live, spec)
    hold = HoldMusic(live, spec.hold_music_url)
    hold.start()
    target: LiveCall | None = None
    try:
        try:
            dialed = await dial_while_up(dialer, live, spec.to, purpose="warm_transfer",
                                         timeout_s=spec.timeout_s)
        except asyncio.CancelledError:  # the caller's end cancels its tasks: say why, still
            dialer.spawn(live.record_event("call.transfer.failed", {
                **base, "reason": "caller_hangup" if live.ended.is_set() else "canceled"}))
            raise
        target = dialed.live
        if target is None:
            details = failure(dialed)
            if live.ended.is_set():  # the caller left while the target rang (it is CANCELled)
                details["reason"] = "caller_hangup"
            return await _back(live, hold, "call.transfer.failed", {**base, **details})
        base["target_call_id"] = target.call_id
        await live.record_event("call.transfer.target_answered", base)
        declined = await _introduce(live, target, spec, text, base)
        if declined:
            await target.hangup("transfer_declined")
            return await _back(live, hold, "call.transfer.declined",
                               {**base, "reason": "declined"})
        if live.ended.is_set() or target.ended.is_set():
            raise _Gone("caller_hangup" if live.ended.is_set() else "target_hangup")
    except Exception as exc:  # a side hung up, or the whisper could not be spoken
        reason = exc.reason if isinstance(exc, _Gone) else "whisper_failed"
        if not isinstance(exc, _Gone):
            log.exception("warm transfer of %s to %s failed", live.call_id, spec.to)
        if target is not None and not target.ended.is_set():
            await target.hangup("transfer_failed")
        return await _back(live, hold, "call.transfer.failed", {**base, "reason": reason})
    await hold.stop()
    if live.agent_hand_over is not None:  # the agent (whoever asked) leaves the caller
        live.agent_hand_over(spec.to)
    await live.record_event("call.transfer.bridged", base)
    dialer.spawn(run_bridge(live, target, {"to": spec.to, "purpose": "warm_transfer"}))
    return {"ok": True, "bridged": True, "target_call_id": target.call_id}


async def _introduce(live: LiveCall, target: LiveCall, spec: WarmTransferSpec,
                     text: str | None, base: dict[str, Any]) -> bool:
    """DTMF, whisper and accept prompt on the target's leg; True when it declined. With
    `accept_prompt`, the target's digits count from its answer: a 2 during the whisper
    declines at once (the whisper stops), no digit by the prompt's timeout accepts."""
    gather = Gather(1, None, float(spec.accept_timeout_s)) if spec.accept_prompt else None
    target.gather = gather
    try:
        if spec.dtmf:
            await _step(live, target, target.send_dtmf(spec.dtmf), gather)
        if text:
            played = await _step(live, target, target.say(text), gather)
            await live.record_event("call.transfer.whispered", {
                **base, "characters": len(text),
                "duration_s": round(played / target.transport.sample_rate, 3)})
        if gather is None:
            return False
        if not gather.result.done():
            await _step(live, target, target.say(DEFAULT_ACCEPT_PROMPT), gather)
        if not gather.result.done():
            await _step(live, target, gather.run(), None)
    except _Declined:
        target.transport.stop_playback()
    finally:
        target.gather = None
    return gather is not None and gather.digits == DECLINE_DIGIT


class _Declined(Exception):
    """The target pressed the decline digit while something was still playing to it."""


async def _step(live: LiveCall, target: LiveCall, work: Any, gather: Gather | None) -> Any:
    """Await ``work`` unless either call ends first (``_Gone``) or the target presses a
    digit (``_Declined`` for the decline digit; any other only ends the wait for it)."""
    job = asyncio.ensure_future(work)
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(side.ended.wait())
                                          for side in (live, target)]
    if gather is not None:
        waiters.append(asyncio.ensure_future(asyncio.shield(gather.result)))
    try:
        await asyncio.wait({job, *waiters}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if live.ended.is_set() or target.ended.is_set():
        job.cancel()
        raise _Gone("caller_hangup" if live.ended.is_set() else "target_hangup")
    if gather is not None and gather.digits == DECLINE_DIGIT:
        job.cancel()
        raise _Declined
    if not job.done():  # another digit: the target takes the call, the whisper plays on
        return await _step(live, target, job, None)
    return job.result()


async def _back(live: LiveCall, hold: HoldMusic, event: str,
                details: dict[str, Any]) -> dict[str, Any]:
    """Off hold, the outcome recorded; what the agent is told."""
    await hold.stop()
    await live.record_event(event, details)
    reason = details.get("reason", "failed")
    return {"ok": False, "error": reason, "message": _MESSAGES.get(reason, _MESSAGES["failed"]),
            **{k: v for k, v in details.items() if k in ("sip_status", "target_call_id")}}


_MESSAGES = {
    "declined": "The person you tried declined the call; you are back with the caller.",
    "no_answer": "Nobody answered; you are back with the caller.",
    "busy": "The line was busy; you are back with the caller.",
    "target_hangup": "The person you tried hung up; you are back with the caller.",
    "caller_hangup": "The caller hung up before the transfer was complete.",
    "failed": "The transfer could not be completed; you are back with the caller.",
}


def plug_transfers(dialer: LegDialer, live: LiveCall) -> None:
    """Give ``live`` its cold and warm transfers, dialled through ``dialer``."""

    async def cold(to: str) -> None:
        await cold_transfer(dialer, live, to)

    async def warm(spec: WarmTransferSpec) -> dict[str, Any]:
        return await warm_transfer(dialer, live, spec)

    live.transfer_hook = cold
    live.warm_transfer_hook = warm
