"""An inbound call a routing rule dials onward (forward, ring_all, round_robin).

The caller keeps ringing while the rule's targets are dialled as legs of the call
(``calls/legs.py``: a call record each, linked by ``parent_call_id``, through the allow-list,
the app's calls-per-second pacing and the trunks with failover). ``ring_all`` dials them all at
once: the first leg up wins, every other leg still ringing is hung up (a CANCEL; its record
ends ``canceled`` / ``answered_elsewhere``), and a leg whose 200 crossed that CANCEL is ACKed
and released with a BYE. ``forward`` and ``round_robin`` dial one target after another, each
for the rule's ``timeout_s``. The winner is bridged to the caller (``calls/bridge.py``) once the
caller's leg is answered; the call ends when either side hangs up. When nobody answers the
caller gets 480. Each target's outcome is a ``call.routing.target`` event of the caller's call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call
from voicelane.domain.phone import is_e164
from voicelane.domain.routing import DIALLING_ACTIONS

from .call import LiveCall
from .legs import DialedLeg
from .transfer import run_bridge

log = logging.getLogger(__name__)
LEG_PURPOSE = "routing"


class OnwardHost(Protocol):
    """What routing onward needs of the node's calls (``manager.CallManager``)."""

    async def dial_leg(self, parent: LiveCall, to: str, *, purpose: str,
                       from_: str | None = None,
                       on_live: Callable[[LiveCall], None] | None = None) -> DialedLeg: ...

    async def answer(self, live: LiveCall) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    def spawn_max_duration(self, live: LiveCall) -> None: ...


def dials_onward(call: Call) -> bool:
    """A routing rule sends this call to numbers or SIP URIs (not to an agent, bot or app)."""
    return call.routing_rule is not None and call.routing_rule.action in DIALLING_ACTIONS


def result_of(leg: DialedLeg) -> str:
    """A target's outcome as ``call.routing.target`` says it."""
    if leg.answered:
        return "answered"
    ending = leg.ending
    reason = ending.reason if ending is not None else "failed"
    if reason == "answered_elsewhere" and ending is not None and ending.cause == 200:
        return "answered_late_released"  # its 200 crossed our CANCEL: ACKed, then BYE
    return {"answered_elsewhere": "canceled", "parent_ended": "canceled",
            "destination_not_allowed": "not_allowed", "no_answer": "no_answer",
            "busy": "busy"}.get(reason, "failed")


class _Race:
    """Targets ringing at once for one caller; :meth:`run` gives the first leg answered."""

    def __init__(self, host: OnwardHost, caller: LiveCall, targets: list[str],
                 timeout_s: float) -> None:
        self.host = host
        self.caller = caller
        self.targets = targets
        self.timeout_s = timeout_s
        self.ringing: dict[str, LiveCall] = {}
        self.over: str | None = None  # why legs still dialling must stop

    def _started(self, target: str) -> Callable[[LiveCall], None]:
        def started(leg: LiveCall) -> None:
            self.ringing[target] = leg
            if self.over is not None:  # dialled after the race ended: stop it at once
                leg.spawn(leg.hangup(self.over))
                return
            asyncio.get_running_loop().call_later(self.timeout_s, self._timeout, leg)
        return started

    def _timeout(self, leg: LiveCall) -> None:
        if leg.answered_at is None and not leg.finished:
            leg.spawn(leg.hangup("no_answer"))

    async def _dial(self, target: str) -> DialedLeg:
        caller_id = self.caller.call.from_ if is_e164(self.caller.call.from_) else None
        return await self.host.dial_leg(self.caller, target, purpose=LEG_PURPOSE,
                                        from_=caller_id, on_live=self._started(target))

    def _report(self, target: str, leg: DialedLeg, result: str | None = None) -> None:
        details: dict[str, object] = {"to": target, "result": result or result_of(leg)}
        if leg.call is not None:
            details["leg_call_id"] = leg.call.call_id
        if leg.ending is not None and leg.ending.cause is not None:
            details["sip_status"] = leg.ending.cause
        self.caller.spawn(self.caller.record_event("call.routing.target", details))

    async def run(self) -> tuple[str, LiveCall] | None:
        pending = {asyncio.ensure_future(self._dial(t)): t for t in self.targets}
        winner: tuple[str, LiveCall] | None = None
        try:
            while pending and winner is None:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    target = pending.pop(task)
                    leg = task.result()
                    if leg.live is not None and winner is None:
                        winner = (target, leg.live)
                        self._report(target, leg)
                    elif leg.live is not None:  # two answers in one tick: the later goes
                        self.host.spawn(self._release(target, leg))
                    else:
                        self._report(target, leg)
        finally:  # a winner, or the caller left while they rang (this task cancelled)
            self.over = "answered_elsewhere" if winner is not None else "parent_ended"
            for target in pending.values():
                leg_live = self.ringing.get(target)
                if leg_live is not None:
                    leg_live.spawn(leg_live.hangup(self.over))
            if pending:
                self.host.spawn(self._reap(pending))
        return winner

    async def _reap(self, pending: dict[asyncio.Task[DialedLeg], str]) -> None:
        for task, target in pending.items():
            try:
                leg = await task
            except Exception:
                log.exception("routing leg to %s failed", target)
                continue
            if leg.live is not None:
                await self._release(target, leg)
            else:
                self._report(target, leg)

    async def _release(self, target: str, leg: DialedLeg) -> None:
        assert leg.live is not None
        await leg.live.hangup("answered_elsewhere")
        self._report(target, leg, "answered_late_released")


async def _ring(host: OnwardHost, live: LiveCall) -> tuple[str, LiveCall] | None:
    match = live.call.routing_rule
    assert match is not None and match.targets
    timeout_s = float(match.timeout_s or 30)
    if match.action == "ring_all":
        return await _Race(host, live, list(match.targets), timeout_s).run()
    for target in match.targets:  # forward (one target) and round robin: in turn
        won = await _Race(host, live, [target], timeout_s).run()
        if won is not None:
            return won
    return None


async def route_onward(host: OnwardHost, live: LiveCall) -> None:
    """Ring the call's targets, bridge the first that answers, run the call to its end."""
    match = live.call.routing_rule
    assert match is not None
    await live.record_event("call.routing.dialing", {
        "targets": match.targets, "mode": "all_at_once" if match.action == "ring_all"
        else "in_turn"})
    dial = asyncio.ensure_future(_ring(host, live))
    canceled = asyncio.ensure_future(live.transport.canceled.wait())
    ended = asyncio.ensure_future(live.ended.wait())
    await asyncio.wait({dial, canceled, ended}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in (canceled, ended):
        waiter.cancel()
    if not dial.done():  # the caller left (or the app hung up) while the targets rang
        dial.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dial
        if not live.finished:
            await live.finish(CallStatus.CANCELED, "hangup_by_caller", 487)
        return
    won = dial.result()
    if won is None:
        cause = await live.transport.reject("not_answered")
        await live.finish(CallStatus.NO_ANSWER, "targets_not_answered", cause)
        return
    await _bridged(host, live, *won)


async def _bridged(host: OnwardHost, live: LiveCall, target: str, leg: LiveCall) -> None:
    await host.answer(live)
    if live.finished or live.answered_at is None:  # the caller went just as the target answered
        await leg.hangup("parent_ended")
        return
    host.spawn_max_duration(live)
    if live.status_write is not None:  # call.answered is stored first: the timeline reads so
        await asyncio.wait([live.status_write])
    # the caller (or the app) ended it, or the target did and the caller followed
    await run_bridge(live, leg, {"to": target})
    await live.finish(live.completed_status, live.hangup_reason or "hangup", None)
