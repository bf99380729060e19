"""Dialling a call's routing targets (``transports.base.DialPlan``): one after another, or all
at once as a parallel fork (RFC 3261 16.7 as a forking proxy does it: the first 2xx wins,
every other INVITE still pending gets a CANCEL, and a 2xx that crossed the CANCEL is ACKed and
released at once with a BYE).

Each target passes the call's gate first (destination allow-list, calls-per-second slot);
a number goes out through the app's trunks in priority order, failing over on 5xx and
timeouts like an outbound call; a SIP URI goes straight to its host. Every target's outcome
is a ``call.routing.target`` event of the call."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from voicelane_media import sdp
from voicelane_media.sip.message import SipRequest, SipResponse, make_response
from voicelane_media.transports.base import AudioTap, CallEvents, DialGate, DialPlan, LiveSource

from .context import SipContext
from .dialog import Dialog, peer_for_uri
from .outbound import fails_over
from .routes import routes_for
from .rtp import PortsExhausted, RtpSession
from .sockets import Peer
from .transactions import ServerTransaction
from .uac import Credentials, OutgoingInvite

log = logging.getLogger(__name__)


def result_of(status: int | None, *, abandoned: bool, timed_out: bool) -> str:
    """A target's outcome as its event says it."""
    if status is not None and 200 <= status < 300:
        return "answered"
    if timed_out:
        return "no_answer"
    if abandoned:
        return "canceled"
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


async def _bye(dialog: Dialog, reason: str) -> None:
    with contextlib.suppress(Exception):
        await dialog.bye(reason)


class TargetLeg:
    """An answered target: its dialog and RTP session, mixed with the caller by a bridge."""

    sample_rate = 8000  # G.711

    def __init__(self, ctx: SipContext, session: RtpSession, dialog: Dialog,
                 target: str) -> None:
        self.ctx = ctx
        self.session = session
        self.dialog = dialog
        self.target = target
        self.ended = asyncio.Event()
        dialog.handler = self

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None:
        if request.method == "BYE":
            await tx.respond(make_response(request, 200))
            self.ctx.ua.forget(dialog)
            dialog.ended = True
            self.ended.set()
        elif request.method in ("INFO", "OPTIONS", "NOTIFY"):
            await tx.respond(make_response(request, 200))
        elif request.method == "INVITE":  # hold from a bridged target: not offered yet
            await tx.respond(make_response(request, 488, "Not Acceptable Here (bridged leg)"))
        else:
            await tx.respond(make_response(request, 501))

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.session.add_audio_tap(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.session.remove_audio_tap(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.session.set_live_source(source)

    async def hangup(self) -> None:
        """BYE (once), unless the target already ended the dialog."""
        self.ended.set()
        with contextlib.suppress(Exception):  # its transport gone: nothing more to tell it
            await self.dialog.bye()

    async def close(self) -> None:
        await self.session.close()


class _Attempt:
    """One target: its INVITE through each way out in turn until one answers or refuses."""

    def __init__(self, dialler: TargetDialler, target: str) -> None:
        self.dialler = dialler
        self.target = target
        self.invite: OutgoingInvite | None = None
        self.abandoned = False
        self.timed_out = False

    def abandon(self, timed_out: bool = False) -> None:
        """Give up on this target (CANCEL, once a provisional answer has come)."""
        if not self.abandoned:
            self.abandoned = True
            self.timed_out = timed_out
            if self.invite is not None:
                self.invite.cancel()

    async def run(self) -> TargetLeg | None:
        d = self.dialler
        if not await d.gate(self.target):
            d.report(self.target, "not_allowed", None)
            return None
        try:
            session = await d.ctx.pool.open_session()
        except PortsExhausted:
            d.report(self.target, "failed", None)
            return None
        timer = asyncio.get_running_loop().call_later(d.plan.timeout_s, self.abandon, True)
        status: int | None = None
        try:
            offer = sdp.make_offer(d.ctx.settings.advertised_host, session.local_port)
            for peer, uri, credentials in await d.ways_out(self.target):
                if self.abandoned:
                    break
                self.invite = d.invite(peer, uri, credentials, offer.serialize())
                if self.abandoned:  # abandoned while the INVITE was being built
                    self.invite.cancel()
                try:
                    response = await self.invite.send()
                except OSError as exc:
                    log.info("target %s unreachable via %s: %s", self.target, peer, exc)
                    continue
                status = response.status
                if 200 <= status < 300:
                    leg = self._answered(session, offer, response)
                    if leg is not None:
                        return leg
                    status = 488
                    break
                if self.abandoned or not fails_over(response, self.invite.got_provisional):
                    break
        finally:
            timer.cancel()
        await session.close()
        d.report(self.target, result_of(status, abandoned=self.abandoned,
                                        timed_out=self.timed_out), status)
        return None

    def _answered(self, session: RtpSession, offer: sdp.SessionDescription,
                  response: SipResponse) -> TargetLeg | None:
        assert self.invite is not None and self.invite.dialog is not None
        dialog = self.invite.dialog
        try:
            negotiated = sdp.accept_answer(offer, sdp.SessionDescription.parse(response.body))
        except sdp.SdpError as exc:
            log.warning("target %s: unusable SDP answer: %s", self.target, exc)
            self.dialler.ctx.ua.layer.spawn(_bye(dialog, "SIP;cause=488"))
            return None
        session.set_remote(negotiated.remote_address or dialog.peer.host,
                           negotiated.remote_port, negotiated.codec.payload_type,
                           negotiated.telephone_event)
        return TargetLeg(self.dialler.ctx, session, dialog, self.target)


class TargetDialler:
    """Dials a :class:`DialPlan` for the call ``events``; :meth:`run` returns the leg that
    answered first, or None. Cancelling :meth:`run` cancels every pending INVITE."""

    def __init__(self, ctx: SipContext, events: CallEvents, plan: DialPlan,
                 gate: DialGate) -> None:
        self.ctx = ctx
        self.events = events
        self.plan = plan
        self.gate = gate
        self.attempts: list[_Attempt] = []

    def report(self, target: str, result: str, status: int | None) -> None:
        details: dict[str, object] = {"to": target, "result": result}
        if status is not None:
            details["sip_status"] = status
        self.events.spawn(self.events.record_event("call.routing.target", details))

    async def ways_out(self, target: str) -> list[tuple[Peer, str, Credentials | None]]:
        """(next hop, request URI, credentials) to try for ``target``, in order."""
        if target.lower().startswith(("sip:", "sips:")):
            return [(peer_for_uri(target, "UDP"), target, None)]
        trunks = await self.ctx.control.trunks(self.events.call.app_id)
        ways = []
        for route in routes_for(list(trunks), self.ctx.settings.fallback_trunk):
            uri = f"sip:{target}@{route.host}:{route.port}"
            if route.transport == "TCP":
                uri += ";transport=tcp"
            ways.append((Peer(route.transport, route.host, route.port), uri, route.credentials))
        return ways

    def invite(self, peer: Peer, uri: str, credentials: Credentials | None,
               offer: bytes) -> OutgoingInvite:
        host = self.ctx.settings.advertised_host
        caller = self.plan.caller_id
        from_uri = caller if caller.startswith(("sip:", "sips:")) else f"sip:{caller}@{host}"
        return OutgoingInvite(self.ctx.ua, request_uri=uri, peer=peer, from_uri=from_uri,
                              to_uri=uri, sdp=offer, credentials=credentials,
                              headers=[("X-Voicelane-Call-Id", self.events.call_id)])

    async def run(self) -> TargetLeg | None:
        if self.plan.all_at_once:
            return await self._race(self.plan.targets)
        for target in self.plan.targets:
            leg = await self._race([target])
            if leg is not None:
                return leg
        return None

    def abandon(self) -> None:
        for attempt in self.attempts:
            attempt.abandon()

    async def _race(self, targets: list[str]) -> TargetLeg | None:
        """Ring ``targets`` at once; the first leg up wins. However this ends (a winner, all
        refused, or cancelled because the caller left), every attempt still pending is
        abandoned and reaped in the background: a 2xx that comes anyway is released."""
        self.attempts = [_Attempt(self, target) for target in targets]
        pending = {asyncio.ensure_future(a.run()): a for a in self.attempts}
        winner: TargetLeg | None = None
        try:
            while pending and winner is None:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    pending.pop(task)
                    leg = task.result()
                    if leg is not None and winner is None:
                        winner = leg
                        self.report(leg.target, "answered", 200)
                    elif leg is not None:  # two 2xx in the same tick: the later one goes
                        self.ctx.ua.layer.spawn(self._release(leg))
        finally:
            for attempt in pending.values():
                attempt.abandon()
            if pending:  # they end on their 487 (or on a 2xx that crossed the CANCEL)
                self.ctx.ua.layer.spawn(self._reap(list(pending)))
        return winner

    async def _reap(self, tasks: list[asyncio.Future[TargetLeg | None]]) -> None:
        for task in tasks:
            with contextlib.suppress(Exception):
                leg = await task
                if leg is not None:
                    await self._release(leg)

    async def _release(self, leg: TargetLeg) -> None:
        """A 2xx after another target won: ACKed already (the UAC does), now BYE."""
        log.info("call %s: %s answered after another target; releasing it",
                 self.events.call_id, leg.target)
        await leg.hangup()
        await leg.close()
        self.report(leg.target, "answered_late_released", 200)
