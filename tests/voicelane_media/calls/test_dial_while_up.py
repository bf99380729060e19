"""``transfer.dial_while_up`` against the in-memory gateway: a leg still ringing when its
call ends (or when whoever waits for it is cancelled, as a call's end cancels its tasks) is
hung up at once and its record ends ``canceled`` / ``parent_ended``. The sipp proof (the
CANCEL on the wire) is in ``tests/interop/test_sipp_transfers.py``."""

from __future__ import annotations

import asyncio

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call
from voicelane_media.calls.transfer import dial_while_up
from voicelane_media.transports.base import Ending, Transport

from tests.voicelane_media.calls.test_call import FakeTransport
from tests.voicelane_media.calls.test_legs import LegRoom, setup


class RingingTransport(FakeTransport):
    """Rings until hung up, then ends as a SIP leg whose CANCEL was answered 487."""

    def __init__(self) -> None:
        super().__init__(8000)
        self.connected = False
        self._hung_up = asyncio.Event()

    async def dial(self) -> Ending | None:
        await self._hung_up.wait()
        return Ending(CallStatus.CANCELED, self.hangups[0], 487)

    async def hangup(self, reason: str) -> None:
        await super().hangup(reason)
        self._hung_up.set()


class RingingRoom(LegRoom):
    async def open_outbound(self, call: Call) -> Transport:
        transport = RingingTransport()
        self.opened.append((call, transport))
        return transport


async def _until(check: object, seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if callable(check) and check():
            return
        await asyncio.sleep(0.01)


async def test_the_call_ending_hangs_up_its_ringing_leg_at_once() -> None:
    gateway, manager, _, parent = await setup()
    manager.room = room = RingingRoom()
    live = manager.calls[parent.call_id]
    dialing = asyncio.ensure_future(dial_while_up(manager, live, "+14155550142",
                                                  purpose="warm_transfer", timeout_s=60))
    await _until(lambda: room.opened)
    assert not dialing.done()  # ringing
    live.ended.set()  # the caller hangs up
    dialed = await asyncio.wait_for(dialing, 1)
    assert dialed.live is None and dialed.call is not None
    assert dialed.ending == Ending(CallStatus.CANCELED, "parent_ended")
    leg_id = dialed.call.call_id
    await _until(lambda: gateway.get_call(leg_id).status == CallStatus.CANCELED)  # type: ignore[union-attr]
    leg = gateway.get_call(leg_id)
    assert leg is not None and (leg.status, leg.end_reason) == (CallStatus.CANCELED,
                                                               "parent_ended")
    assert room.opened[0][1].hangups == ["parent_ended"]  # type: ignore[attr-defined]


async def test_a_cancelled_waiter_still_hangs_up_the_leg_and_ends_its_record() -> None:
    gateway, manager, _, parent = await setup()
    manager.room = room = RingingRoom()
    live = manager.calls[parent.call_id]
    dialing = asyncio.ensure_future(dial_while_up(manager, live, "+14155550142",
                                                  purpose="click_to_call"))
    await _until(lambda: room.opened)
    dialing.cancel()  # what a call's finish does to its tasks
    await asyncio.gather(dialing, return_exceptions=True)
    leg_id = room.opened[0][0].call_id
    await _until(lambda: gateway.get_call(leg_id).status == CallStatus.CANCELED)  # type: ignore[union-attr]
    assert gateway.get_call(leg_id).end_reason == "parent_ended"  # type: ignore[union-attr]
