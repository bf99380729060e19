"""Call set-up edges the transport split settles: a claimed call with no media port still ends,
an INVITE with no media port gets 503, and a caller who hangs up while an agent call is being
answered ends it canceled (it used to stay live on the node)."""

from __future__ import annotations

import asyncio
from typing import Any

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call, Number
from voicelane_media import sdp
from voicelane_media.calls.manager import CallManager
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.base import CallHost, Ending, Transport
from voicelane_media.transports.sip.context import SipContext
from voicelane_media.transports.sip.inbound import InboundSipLeg, offer_inbound
from voicelane_media.transports.sip.rtp import PortsExhausted, RtpPortPool

from tests.voicelane_media.calls.test_call import FakeControl, FakeTransport, _call


class Room:
    """A transport room whose outbound transports come from ``make`` (or fail)."""

    def __init__(self, make: Any = None) -> None:
        self.make = make
        self.host: CallHost | None = None

    def attach(self, host: CallHost) -> None:
        self.host = host

    async def open_outbound(self, call: Call) -> Transport:
        if self.make is None:
            raise PortsExhausted("no free RTP port pair")
        transport: Transport = self.make()
        return transport

    def stop_accepting(self) -> None: ...

    async def close(self) -> None: ...


class InboundControl(FakeControl):
    async def create_inbound(self, number: Number, caller: str,
                             sip_headers: dict[str, str]) -> Call:
        return _call().model_copy(update={"agent_id": "agent_1"})

    async def agent(self, app_id: str, agent_id: str) -> None:
        return None


class CancelledAnswer(FakeTransport):
    async def answer(self) -> Ending | None:
        return Ending(CallStatus.CANCELED, "hangup_by_caller", 487)


def _manager(control: FakeControl, room: Room) -> CallManager:
    return CallManager(MediaSettings(), control, room)  # type: ignore[arg-type]  # fake control


async def test_a_claimed_call_without_a_media_port_still_ends_failed() -> None:
    control = FakeControl()
    manager = _manager(control, Room())
    await manager.place_outbound(_call("outbound"))
    assert [(t[1], t[2]["end_reason"]) for t in control.transitions] == [
        (CallStatus.FAILED, "media_node_error")]
    assert manager.calls == {}


async def test_an_agent_call_canceled_while_answering_ends_canceled() -> None:
    control = InboundControl()
    manager = _manager(control, Room())
    number = Number(number="+15550002", app_id="app_1", agent_id="agent_1",
                    created_at="2026-12-04T00:00:00Z")
    await asyncio.wait_for(manager.inbound(number, "+15550001", {}, CancelledAnswer()), 5)
    assert [(t[1], t[2]["end_reason"], t[2]["sip_cause"]) for t in control.transitions] == [
        (CallStatus.CANCELED, "hangup_by_caller", 487)]
    assert manager.calls == {}


class FakeInvite:
    """The parts of an IncomingInvite that set-up reads, with what it answered."""

    def __init__(self, body: bytes) -> None:
        self.number = "+15550002"
        self.peer = type("Peer", (), {"host": "127.0.0.1"})()
        self.request = type("Request", (), {"body": body})()
        self.canceled = asyncio.Event()
        self.rejected: list[tuple[int, str | None]] = []

    async def reject(self, status: int, reason: str | None = None) -> None:
        self.rejected.append((status, reason))


class Lookups:
    async def number(self, e164: str) -> Number:
        return Number(number=e164, app_id="app_1", created_at="2026-12-04T00:00:00Z")

    async def trunks(self, app_id: str) -> list[Any]:
        return []


class FullPool:
    async def open_session(self) -> None:
        raise PortsExhausted("no free RTP port pair")


async def test_an_invite_without_a_media_port_gets_503() -> None:
    invite = FakeInvite(sdp.make_offer("127.0.0.1", 40000).serialize())
    ctx = SipContext(None, FullPool(), MediaSettings(sip_trusted_sources="127.0.0.0/8"),  # type: ignore[arg-type]
                     Lookups())
    await offer_inbound(ctx, None, invite)  # type: ignore[arg-type]  # the fakes above
    assert invite.rejected == [(503, "Service Unavailable (no free media ports)")]


async def test_the_sip_leg_does_not_answer_a_canceled_invite(pool: RtpPortPool) -> None:
    invite = FakeInvite(b"")
    invite.canceled.set()
    ctx = SipContext(None, pool, MediaSettings(), Lookups())  # type: ignore[arg-type]
    offer = sdp.make_offer("127.0.0.1", 40000)
    leg = InboundSipLeg(ctx, await pool.open_session(), invite, offer)  # type: ignore[arg-type]
    assert await leg.answer() == Ending(CallStatus.CANCELED, "hangup_by_caller", 487)
    assert leg.dialog is None
    await leg.close()


async def test_a_queued_call_to_a_destination_no_longer_allowed_is_not_dialled() -> None:
    # Created when the app allowed it (or queued without the API): the node checks again.
    opened: list[FakeTransport] = []

    def make() -> FakeTransport:
        opened.append(FakeTransport())
        return opened[-1]

    control = FakeControl()  # its app has no allow-list: the from-number's country (+1)
    manager = _manager(control, Room(make))
    await manager.place_outbound(_call("outbound").model_copy(update={"to": "+88212345678"}))
    assert [(t[1], t[2]["end_reason"]) for t in control.transitions] == [
        (CallStatus.FAILED, "destination_not_allowed")]
    assert opened == [] and manager.calls == {}
