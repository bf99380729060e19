"""E.164 numbers and country calling codes."""

from __future__ import annotations

import re

from voicelane.domain.errors import ValidationFailed

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")

# ITU-T E.164 country calling codes (1 to 3 digits). Longest match wins.
_CC_1 = {"1", "7"}
_CC_2 = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
}


def is_e164(value: str) -> bool:
    return bool(E164_RE.fullmatch(value))  # `$` would accept a trailing newline


def require_e164(value: str, field: str) -> str:
    if not is_e164(value):
        raise ValidationFailed(
            f"{field} must be an E.164 number such as +14155550100",
            code="invalid_phone_number",
            details={"field": field, "value": value},
        )
    return value


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number, e.g. '1' for +1415..., '44' for +4420..."""
    digits = e164.lstrip("+")
    if digits[:1] in _CC_1:
        return digits[:1]
    if digits[:2] in _CC_2:
        return digits[:2]
    return digits[:3]

