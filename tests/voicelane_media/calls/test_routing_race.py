"""The ring-all race of calls/routing.py on fake legs (one layer, no sockets; the sipp tests in
tests/interop/test_sipp_routing.py are the proof over SIP): the first leg up wins, the legs
still ringing are hung up as answered_elsewhere, a leg past the rule's timeout as no_answer,
every ringing leg as parent_ended when the caller leaves, and a late answer is released."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from voicelane.domain.call import CallStatus
from voicelane_media.calls.legs import DialedLeg
from voicelane_media.calls.routing import _Race, result_of
from voicelane_media.transports.base import Ending

pytestmark = pytest.mark.timeout(10)
TASKS: set[asyncio.Future[None]] = set()  # kept until the test's loop ends


class FakeLeg:
    """A leg's live call as the race uses it: answered or hung up."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.call_id = f"leg-{target}"
        self.answered_at: float | None = None
        self.finished = False
        self.hung_up: list[str] = []
        self.hung_up_event = asyncio.Event()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        TASKS.add(asyncio.ensure_future(coro))

    async def hangup(self, reason: str) -> None:
        self.hung_up.append(reason)
        self.hung_up_event.set()


class FakeCaller:
    def __init__(self) -> None:
        self.call_id = "call-caller"
        self.call = type("C", (), {"from_": "+14155550100", "call_id": "call-caller"})()
        self.events: list[tuple[str, dict[str, Any]]] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        TASKS.add(asyncio.ensure_future(coro))

    async def record_event(self, event_type: str, details: dict[str, Any]) -> None:
        self.events.append((event_type, details))


class FakeHost:
    """``dial_leg`` plays each target's script: answer after a delay, or ring until hung up
    (then answer anyway when ``late``)."""

    def __init__(self, scripts: dict[str, tuple[str, float]]) -> None:
        self.scripts = scripts
        self.legs: dict[str, FakeLeg] = {}

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        TASKS.add(asyncio.ensure_future(coro))

    async def dial_leg(self, parent: Any, to: str, *, purpose: str, from_: str | None = None,
                       on_live: Callable[[Any], None] | None = None) -> DialedLeg:
        leg = self.legs[to] = FakeLeg(to)
        assert on_live is not None and purpose == "routing" and from_ == "+14155550100"
        on_live(leg)
        kind, delay = self.scripts[to]
        if kind == "answers":
            await asyncio.sleep(delay)
            leg.answered_at = 1.0
            return DialedLeg(leg, None, None)  # type: ignore[arg-type]
        await leg.hung_up_event.wait()
        if kind == "late":  # its 200 crossed our CANCEL
            await asyncio.sleep(delay)
            leg.finished = True
            return DialedLeg(None, Ending(CallStatus.CANCELED, leg.hung_up[0], 200), None)
        leg.finished = True
        reason = leg.hung_up[0]
        status = CallStatus.NO_ANSWER if reason == "no_answer" else CallStatus.CANCELED
        return DialedLeg(None, Ending(status, reason, 487), None)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def _results(caller: FakeCaller) -> dict[str, str]:
    return {d["to"]: d["result"] for t, d in caller.events if t == "call.routing.target"}


async def test_the_first_answer_wins_and_the_others_are_hung_up_as_answered_elsewhere() -> None:
    host = FakeHost({"a": ("answers", 0.05), "b": ("rings", 0), "c": ("late", 0.05)})
    caller = FakeCaller()
    won = await _Race(host, caller, ["a", "b", "c"], 5.0).run()  # type: ignore[arg-type]
    assert won is not None and won[0] == "a"
    await _settle()
    await asyncio.sleep(0.1)
    assert host.legs["b"].hung_up == ["answered_elsewhere"]
    assert host.legs["c"].hung_up == ["answered_elsewhere"]
    assert _results(caller) == {"a": "answered", "b": "canceled",
                                "c": "answered_late_released"}


async def test_a_leg_ringing_past_the_timeout_is_hung_up_as_no_answer() -> None:
    host = FakeHost({"a": ("rings", 0)})
    caller = FakeCaller()
    assert await _Race(host, caller, ["a"], 0.05).run() is None  # type: ignore[arg-type]
    await _settle()
    assert host.legs["a"].hung_up == ["no_answer"]
    assert _results(caller) == {"a": "no_answer"}


async def test_when_the_caller_leaves_every_ringing_leg_is_hung_up_as_parent_ended() -> None:
    host = FakeHost({"a": ("rings", 0), "b": ("rings", 0)})
    caller = FakeCaller()
    race = asyncio.ensure_future(_Race(host, caller, ["a", "b"], 5.0).run())  # type: ignore[arg-type]
    await _settle()
    race.cancel()
    with pytest.raises(asyncio.CancelledError):
        await race
    await _settle()
    assert host.legs["a"].hung_up == ["parent_ended"] == host.legs["b"].hung_up
    assert _results(caller) == {"a": "canceled", "b": "canceled"}


def test_result_of_names_each_ending() -> None:
    def ended(reason: str, cause: int | None = None) -> DialedLeg:
        return DialedLeg(None, Ending(CallStatus.FAILED, reason, cause), None)

    assert result_of(ended("destination_not_allowed")) == "not_allowed"
    assert result_of(ended("busy", 486)) == "busy"
    assert result_of(ended("answered_elsewhere", 487)) == "canceled"
    assert result_of(ended("answered_elsewhere", 200)) == "answered_late_released"
    assert result_of(ended("trunk_failure")) == "failed"
