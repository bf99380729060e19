"""What every SIP call leg of a node shares: the user agent, the RTP port pool, the settings
and the two control-plane lookups SIP itself needs (numbers for inbound, trunks for dialling)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voicelane.domain.conference import Conference
from voicelane.domain.models import Call, Number, Trunk

from voicelane_media.settings import MediaSettings

from .rtp import RtpPortPool
from .ua import UserAgent


class SipControl(Protocol):
    """The control-plane lookups of the SIP transport (``node/control.py`` implements them)."""

    async def number(self, e164: str) -> Number | None: ...

    async def trunks(self, app_id: str) -> list[Trunk]: ...

    async def seat_bridge(self, user: str) -> tuple[Conference, Call]:
        """A conference bridge INVITE's Request-URI user, checked (``conference_bridge``)."""
        ...


@dataclass(frozen=True)
class SipContext:
    """The node-wide pieces a SIP leg works with."""

    ua: UserAgent
    pool: RtpPortPool
    settings: MediaSettings
    control: SipControl
