"""Ringing a browser identity (phone to browser): what the calls ask of the transport that
holds browsers' registrations (``transports/webrtc/clients.py``), below both so neither
imports the other (``calls/browser_phone.py`` drives it)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from voicelane.domain.models import Call

from .base import Transport


@dataclass(frozen=True)
class RingOutcome:
    """How ringing a browser identity ended: ``answered`` (with the browser's connected
    transport, and ``gone``, set when the browser hangs up), ``unregistered``, ``rejected``,
    ``timeout`` or ``canceled``."""

    result: str
    transport: Transport | None = None
    gone: asyncio.Event | None = None


class ClientRinger(Protocol):
    """Rings the browsers registered for an identity."""

    async def ring(self, call: Call, identity: str, timeout_s: float,
                   canceled: asyncio.Event) -> RingOutcome:
        """Offer ``call`` to every registration of ``identity`` in the call's app; returns
        once one answered (and connected), all rejected, ``canceled`` was set, or timeout."""
        ...

    def ended(self, call_id: str, reason: str | None) -> None:
        """The call is over: tell the browsers that were offered it."""
        ...
