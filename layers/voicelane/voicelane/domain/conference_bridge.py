"""Node-to-node bridges into a conference: a caller that a ``conference`` routing rule sends to
a conference living on another media node is answered where it arrived and bridged to the
conference's node over a SIP leg, which that node seats in the room as the caller.

The leg's Request-URI names what it may do: ``sip:confbridge-<token>@<node's SIP address>``,
the token signed with the platform's internal secret (the one the control plane's commands to
nodes carry), naming the conference and the caller's call, valid for ``TTL_S``. A node seats
only a bridge whose token checks out and whose conference lives on it: dialling a node with a
made-up (or stale) user joins nothing (403).
"""

from __future__ import annotations

from voicelane.domain.conference import Conference
from voicelane.domain.errors import Unauthenticated
from voicelane.domain.models import MediaNode
from voicelane.domain.tokens import sign, verify

USER_PREFIX = "confbridge-"
TOKEN_KIND = "conference_bridge"
TTL_S = 30  # from the answer on one node to the INVITE on the other: seconds at most


def bridge_uri(conference: Conference, call_id: str, owner: MediaNode, secret: str) -> str:
    """The SIP URI a node dials to seat ``call_id`` in ``conference`` on ``owner``."""
    token = sign({"ct": TOKEN_KIND, "conference_id": conference.conference_id,
                  "call_id": call_id}, secret, TTL_S)
    return f"sip:{USER_PREFIX}{token}@{owner.sip_address}"


def is_bridge_user(user: str) -> bool:
    """The Request-URI user of an INVITE is a conference bridge's (not a number)."""
    return user.startswith(USER_PREFIX)


def check_bridge_user(user: str, secret: str) -> tuple[str, str]:
    """The (conference id, caller's call id) a bridge INVITE's user names; Unauthenticated
    when it is not one we signed, is for something else, or has expired."""
    claims = verify(user.removeprefix(USER_PREFIX), secret)
    conference_id, call_id = claims.get("conference_id"), claims.get("call_id")
    if claims.get("ct") != TOKEN_KIND or not isinstance(conference_id, str) \
            or not isinstance(call_id, str):
        raise Unauthenticated("not a conference bridge token", code="invalid_token")
    return conference_id, call_id
