"""Click-to-call: an outbound call with a second party (``connect_to``). Once the first party
(``to``) answers it hears the call's ``connect_prompt`` (spoken or played), then the second
party is dialled as a leg of the call (``CallManager.dial_leg``, purpose ``click_to_call``:
allow-list, trunks with failover, pacing, a record of its own) and the two are bridged.

Both legs show the app's number (the call's ``from``) as caller ID, never each other's: the
first leg because it is the call's own ``from``, the second because ``dial_leg`` is given it.
When the second party does not answer, the first is told nothing more and hung up
(``connect_failed``), with ``call.connect.failed`` saying why. When the first party hangs up
while the second still rings, the second's INVITE is CANCELled at once (its leg ends
``canceled`` / ``parent_ended``) and ``call.connect.failed`` says ``first_party_hangup``.
"""

from __future__ import annotations

import asyncio

from voicelane.domain.models import Call

from .call import LiveCall
from .transfer import LegDialer, dial_while_up, failure, run_bridge

FIRST_PARTY_HANGUP = "first_party_hangup"


def connects(call: Call) -> bool:
    return call.connect_to is not None


async def connect(dialer: LegDialer, live: LiveCall) -> None:
    """The answered first leg ``live``: prompt, dial the second party, bridge."""
    to, prompt = live.call.connect_to, live.call.connect_prompt
    assert to is not None
    if prompt is not None and prompt.text:
        await live.speak(prompt.text, prompt.voice)
    elif prompt is not None and prompt.url:
        await live.play(prompt.url)
    if live.ended.is_set():
        return
    await live.record_event("call.connect.initiated", {"connect_to": to})
    try:
        dialed = await dial_while_up(dialer, live, to, purpose="click_to_call",
                                     from_=live.call.from_)
    except asyncio.CancelledError:  # the first party's end cancels its tasks: say why, still
        dialer.spawn(live.record_event("call.connect.failed", {
            "connect_to": to, "reason": FIRST_PARTY_HANGUP}))
        raise
    if dialed.live is None:
        details = failure(dialed)
        gone = live.ended.is_set()  # the first party left while the second rang
        if gone:
            details["reason"] = FIRST_PARTY_HANGUP
        await live.record_event("call.connect.failed", {"connect_to": to, **details})
        if not gone:
            await live.hangup("connect_failed")
        return
    await run_bridge(live, dialed.live, {"to": to, "purpose": "click_to_call"})
