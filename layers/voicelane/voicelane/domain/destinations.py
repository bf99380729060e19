"""The one destination check: every number Voicelane dials passes it.

A created call's `to`, a transfer asked by the API, a transfer the agent's tool asks for (a REFER
the carrier carries out, or a second leg this node dials and bridges): each goes through
:func:`check_destination` against the app's `destination_allow_list`. Toll fraud (calls run up
to premium or international-network numbers such as +882/+883) is the reason: a number that
cannot be proven to be inside the allowed prefixes is refused.

- An E.164 number is allowed when it starts with an allowed prefix. Without an allow-list the
  default is the country of the app's own number on the call (the from-number of an outbound
  call, the dialled number of an inbound one); a call with no number of its own (a browser or
  stream leg) dials nothing without an explicit allow-list. `*` allows anywhere.
- A SIP URI whose user part is a telephone number is that number: `sip:+4420...@host` is
  checked as +4420...; a bare digit string longer than :data:`MAX_EXTENSION_DIGITS` (a national
  or `00`/`011`-prefixed number whose country cannot be known) is refused unless the list is
  `*`; a short one is an extension. A SIP URI naming a user (`sip:alice@pbx.example.com`) or
  only a host is not a telephone number and passes.
- Anything else (not E.164, not a SIP URI) is refused unless the list is `*`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from voicelane.domain.errors import Forbidden
from voicelane.domain.phone import country_code, is_e164

MAX_EXTENSION_DIGITS = 6  # no country is reachable in 6 digits (00 + CC + subscriber is more)
_VISUAL = re.compile(r"[-.() ]")  # RFC 3966 visual separators inside a telephone number
_NUMBER = re.compile(r"^\+?\d+$")
WILDCARD = "*"
PREFIX_PATTERN = r"^(\*|\+[1-9]\d{0,14})$"
"""One entry of an allow-list: `*`, or `+` and the first 1-15 digits of an E.164 number."""


def allowed_prefixes(allow_list: list[str] | None, own_number: str | None) -> list[str]:
    """The prefixes in force: the app's list, else the country of its own number, else none."""
    if allow_list:
        return list(allow_list)
    if own_number and is_e164(own_number):
        return ["+" + country_code(own_number)]
    return []


def dialled_number(target: str) -> tuple[str, str | None]:
    """What dialling ``target`` reaches: ``("number", e164)``, ``("extension", None)``,
    ``("sip_user", None)`` (not a telephone number) or ``("unknown", digits)`` (a number whose
    country cannot be known)."""
    if target.lower().startswith(("sip:", "sips:")):
        rest = target.split(":", 1)[1]
        if "@" not in rest:
            return "sip_user", None  # a host only: no telephone number in it
        user = _VISUAL.sub("", unquote(rest.split("@", 1)[0].split(";", 1)[0]))
        if not _NUMBER.fullmatch(user):
            return "sip_user", None
        if user.startswith("+"):
            return ("number", user) if is_e164(user) else ("unknown", user)
        return ("extension", None) if len(user) <= MAX_EXTENSION_DIGITS else ("unknown", user)
    if is_e164(target):
        return "number", target
    return "unknown", target


def destination_allowed(target: str, allow_list: list[str] | None, own_number: str | None) -> bool:
    """Whether dialling ``target`` is allowed (see the module's rules)."""
    prefixes = allowed_prefixes(allow_list, own_number)
    if WILDCARD in prefixes:
        return True
    kind, number = dialled_number(target)
    if kind in ("extension", "sip_user"):
        return True
    if kind == "unknown" or number is None:
        return False
    return any(number.startswith(p) for p in prefixes)


def check_destination(target: str, allow_list: list[str] | None, own_number: str | None) -> None:
    """Raise Forbidden ``destination_not_allowed`` (HTTP 403) unless ``target`` may be dialled."""
    if not destination_allowed(target, allow_list, own_number):
        raise Forbidden(
            "the destination is not in the app's allow-list",
            code="destination_not_allowed",
            details={"to": target, "allow_list": allow_list,
                     "allowed_prefixes": allowed_prefixes(allow_list, own_number)},
        )


def own_number_of(direction: str, from_channel: str, from_: str, to_channel: str,
                  to: str) -> str | None:
    """The app's own telephone number on a call (its country is the default allow-list)."""
    if direction == "inbound":
        return to if to_channel == "pstn" and is_e164(to) else None
    return from_ if from_channel == "pstn" and is_e164(from_) else None
