"""An inbound call a ``conference`` routing rule sends into a conference by name.

As Twilio's ``<Dial><Conference>name</Conference></Dial>``: the control plane finds the app's
conference of that name that has not ended, or creates it with the rule's settings (the name
is a conditional write, so two first callers make one conference); the caller is answered
and joins it on this node (the join is the conference's conditional write, with its
``conference.participant.joined``), and stays until it hangs up or the conference ends.

A conference lives on the node of its first participant. A caller that reaches another node
is refused before it is answered, with ``480`` and ``end_reason`` ``conference_on_other_node``
(a full conference: ``486``, ``conference_full``); ``call.routing.conference`` on the call says
what happened (``result`` ``joined`` or the refusal's code, ``conference_id``, ``created``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import VoicelaneError
from voicelane.domain.models import Call
from voicelane.domain.routing import ConferenceAction

from .call import LiveCall
from .conference import ConferenceHub, JoinRefused

log = logging.getLogger(__name__)
ATTEMPTS = 3  # a conference that ends between finding it and joining it: a new one, again
# How a refusal before the answer reads on the wire (the transport's reasons) and the record.
REFUSALS = {"conference_full": ("busy", CallStatus.BUSY)}
REFUSED = ("unavailable", CallStatus.FAILED)  # 480: another node, or anything else


class ConferenceHost(Protocol):
    """What the conference action needs of the node's calls (``manager.CallManager``)."""

    conferences: ConferenceHub

    async def answer(self, live: LiveCall) -> None: ...


def joins_conference(call: Call) -> bool:
    """A routing rule sends this call into a conference by name."""
    return call.routing_rule is not None and call.routing_rule.conference is not None


async def route_to_conference(host: ConferenceHost, live: LiveCall) -> None:
    """Find or create the conference, answer, join; or refuse the call with the reason."""
    rule = live.call.routing_rule
    assert rule is not None and rule.conference is not None
    action: ConferenceAction = rule.conference
    for _ in range(ATTEMPTS):
        try:
            conference, created = await live.control.open_conference(live.call_id)
        except VoicelaneError as exc:
            await _refuse(live, exc.code, None)
            return
        if live.answered_at is None:
            await host.answer(live)
            if live.finished or live.answered_at is None:  # the caller left meanwhile
                return
            if live.status_write is not None:  # call.answered is stored first
                await asyncio.wait([live.status_write])
        try:
            await host.conferences.join(live, conference.conference_id,
                                        moderator=action.moderator, muted=action.muted)
        except JoinRefused as exc:
            if exc.code == "conference_ended":  # ended just now: the name is free again
                continue
            await _report(live, exc.code, conference.conference_id, created)
            await live.hangup(exc.code)
            await live.finish(CallStatus.COMPLETED, exc.code, None)
            return
        await _report(live, "joined", conference.conference_id, created)
        return
    await _report(live, "conference_ended", None, False)
    await live.hangup("conference_ended")
    await live.finish(CallStatus.COMPLETED, "conference_ended", None)


async def _report(live: LiveCall, result: str, conference_id: str | None,
                  created: bool) -> None:
    rule = live.call.routing_rule
    name = rule.conference.conference if rule is not None and rule.conference else None
    details: dict[str, object] = {"conference": name, "result": result, "created": created}
    if conference_id is not None:
        details["conference_id"] = conference_id
    await live.record_event("call.routing.conference", details)


async def _refuse(live: LiveCall, code: str, conference_id: str | None) -> None:
    """Refused before the answer: a SIP final response and the code as the end reason."""
    log.info("call %s refused by its conference rule: %s", live.call_id, code)
    await _report(live, code, conference_id, False)
    reason, status = REFUSALS.get(code, REFUSED)
    cause = await live.transport.reject(reason)
    await live.finish(status, code, cause)
