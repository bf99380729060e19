"""Legs a live call dials for itself (``calls/legs.py``) against the in-memory gateway: a
linked call record of their own, the allow-list and the app's cap before any record, and the
leg's own end."""

from __future__ import annotations

import asyncio

from voicelane.adapters.memory_media_gateway import InMemoryMediaGateway
from voicelane.domain.call import CallStatus, Direction
from voicelane.domain.models import App, Call, Number
from voicelane_media.calls.manager import CallManager
from voicelane_media.node.control import ControlPlane
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.base import CallHost, Ending, Transport

from tests.voicelane_media.calls.test_call import FakeTransport

NOW = "2026-12-04T20:00:00.000Z"


class LegRoom:
    """Hands out fake transports for legs and keeps them."""

    def __init__(self) -> None:
        self.opened: list[tuple[Call, FakeTransport]] = []
        self.ending: Ending | None = None

    def attach(self, host: CallHost) -> None:
        pass

    async def open_outbound(self, call: Call) -> Transport:
        transport = FakeTransport(8000)
        transport.dial_ending = self.ending
        self.opened.append((call, transport))
        return transport

    def stop_accepting(self) -> None:
        pass

    async def close(self) -> None:
        pass


async def setup(cap: int = 10, allow: list[str] | None = None) -> tuple[
        InMemoryMediaGateway, CallManager, LegRoom, Call]:
    gateway = InMemoryMediaGateway()
    gateway.add_app(App(app_id="app_1", name="t", created_at=NOW, max_concurrent_calls=cap,
                        destination_allow_list=allow or ["+1"]))
    number = gateway.add_number(Number(number="+14155550199", app_id="app_1", created_at=NOW))
    control = ControlPlane(gateway, "node-1")
    room = LegRoom()
    manager = CallManager(MediaSettings(node_id="node-1"), control, room)
    parent = await control.create_inbound(number, "+14155550123", {})
    manager.adopt(parent, FakeTransport(8000))
    return gateway, manager, room, parent


async def test_a_leg_is_a_linked_call_of_its_own_from_the_apps_number() -> None:
    gateway, manager, _room, parent = await setup()
    dialed = await manager.dial_leg(manager.calls[parent.call_id], "+14155550142",
                                    purpose="warm_transfer")
    assert dialed.answered and dialed.live is not None
    leg = gateway.get_call(dialed.live.call_id)
    assert leg is not None
    assert (leg.direction, leg.from_, leg.to) == (Direction.OUTBOUND, "+14155550199",
                                                  "+14155550142")
    assert (leg.parent_call_id, leg.leg_purpose, leg.media_node) == (
        parent.call_id, "warm_transfer", "node-1")
    events = gateway.events(leg.call_id)
    assert events[0].type == "call.initiated"
    assert events[0].details["parent_call_id"] == parent.call_id
    await asyncio.sleep(0.05)
    assert gateway.get_call(leg.call_id).status == CallStatus.IN_PROGRESS  # type: ignore[union-attr]
    dialed.live.remote_hangup()  # the leg's far end hangs up: it ends on its own
    for _ in range(50):
        await asyncio.sleep(0.01)
        if gateway.get_call(leg.call_id).status == CallStatus.COMPLETED:  # type: ignore[union-attr]
            break
    assert gateway.get_call(leg.call_id).status == CallStatus.COMPLETED  # type: ignore[union-attr]
    assert gateway.get_call(parent.call_id).status == CallStatus.INITIATED  # type: ignore[union-attr]


async def test_a_refused_destination_or_a_full_app_creates_no_record() -> None:
    gateway, manager, room, parent = await setup(cap=1)
    live = manager.calls[parent.call_id]
    refused = await manager.dial_leg(live, "+88212345678", purpose="transfer")
    assert refused.ending is not None and refused.ending.reason == "destination_not_allowed"
    full = await manager.dial_leg(live, "+14155550142", purpose="transfer")  # the parent holds the one slot
    assert full.ending is not None and full.ending.reason == "concurrency_limit_exceeded"
    assert (refused.call, full.call, room.opened) == (None, None, [])
    assert len(gateway.calls.calls) == 1  # type: ignore[attr-defined]


async def test_an_unanswered_leg_ends_with_its_own_status() -> None:
    gateway, manager, room, parent = await setup()
    room.ending = Ending(CallStatus.BUSY, "busy", 486)
    dialed = await manager.dial_leg(manager.calls[parent.call_id], "sip:alice@127.0.0.1:5999",
                                    purpose="conference")
    assert not dialed.answered and dialed.call is not None
    leg = gateway.get_call(dialed.call.call_id)
    assert leg is not None and (leg.status, leg.end_reason, leg.sip_cause) == (
        CallStatus.BUSY, "busy", 486)
