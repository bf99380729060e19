"""The SIP/RTP transport of a node as the calls see it: inbound INVITEs offered to the node's
calls, SIP legs for claimed outbound calls, and the stop for new calls when the node drains."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from voicelane.domain.models import Call

from voicelane_media.transports.base import CallHost

from .context import SipContext
from .inbound import offer_inbound
from .outbound import OutboundSipLeg
from .ua import IncomingInvite

log = logging.getLogger(__name__)


class SipRoom:
    """Plugs the user agent and the RTP pool into a ``calls.manager.CallManager``."""

    def __init__(self, ctx: SipContext) -> None:
        self.ctx = ctx
        self.host: CallHost | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        ctx.ua.on_invite = self.on_invite

    def attach(self, host: CallHost) -> None:
        self.host = host

    def stop_accepting(self) -> None:
        self.ctx.ua.accepting = False

    async def open_outbound(self, call: Call) -> OutboundSipLeg:
        return OutboundSipLeg(self.ctx, await self.ctx.pool.open_session())

    def on_invite(self, incoming: IncomingInvite) -> None:
        host = self.host
        if host is None or not host.has_capacity():
            self._spawn(incoming.reject(503, "Service Unavailable (node at capacity or draining)"))
            return
        self._spawn(offer_inbound(self.ctx, host, incoming))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("inbound call task failed", exc_info=task.exception())

    async def close(self) -> None:
        """Cancel inbound set-ups still running (the node is stopping)."""
        for task in list(self._tasks):
            task.cancel()
