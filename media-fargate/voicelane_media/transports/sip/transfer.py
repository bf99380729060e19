"""REFER (RFC 3515): ask the peer to call the transfer target itself, and wait for the final
status its NOTIFYs report. Whether to transfer, and what to do when the peer refuses (dial the
target and bridge), is the call's business (``calls/transfer.py``)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from voicelane_media.transports.base import Referral

from .dialog import Dialog

REFER_WAIT_S = 30.0


class Referring(Protocol):
    """What a REFER needs of the SIP leg it runs on (``leg.SipLeg``, which imports this)."""

    dialog: Dialog | None
    refer_result: asyncio.Future[int] | None


def refer_target(to: str, host: str, port: int) -> str:
    return to if to.startswith(("sip:", "sips:")) else f"sip:{to}@{host}:{port}"


async def refer(leg: Referring, to: str) -> Referral:
    """Send REFER for ``to`` (a number goes to the peer's own host); a refusal comes back at
    once, an accepted REFER once a NOTIFY carries a final status (408 after 30 s)."""
    assert leg.dialog is not None
    peer = leg.dialog.next_hop()
    target = refer_target(to, peer.host, peer.port)
    leg.refer_result = asyncio.get_running_loop().create_future()
    response = await leg.dialog.request("REFER", [("Refer-To", f"<{target}>"),
                                                   ("Referred-By", leg.dialog.local_uri)])
    if not 200 <= response.status < 300:
        return Referral(False, response.status)
    try:
        final = await asyncio.wait_for(leg.refer_result, timeout=REFER_WAIT_S)
    except TimeoutError:
        final = 408
    return Referral(True, final)
