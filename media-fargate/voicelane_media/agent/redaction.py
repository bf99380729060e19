"""Card-number and security-code redaction for transcripts, events and logs.

A card number is a run of 13-19 digits that passes the Luhn check, typed ("4111 1111 ..."),
keyed (DTMF) or spoken ("four one one one ..."; "oh" counts as zero, "double five" as 55).
A security code (3-4 digits) is redacted when card context precedes it: the same text or a
recent turn mentioned a card, CVV, CVC or security code.
"""

from __future__ import annotations

import re

CARD_MASK = "[card number redacted]"
CODE_MASK = "[security code redacted]"

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_MULTIPLIERS = {"double": 2, "triple": 3}
_CONTEXT = re.compile(
    r"\b(card|credit|debit|visa|mastercard|amex|cvv|cvc|cv2|security code|card verification|"
    r"expir\w*|the back)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\d+|[A-Za-z]+|[^\sA-Za-z\d]")
_SEPARATORS = {"-", ".", ",", "/"}


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def has_card_context(text: str) -> bool:
    return bool(_CONTEXT.search(text))


def _digit_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) spans of consecutive digit tokens, spoken or written."""
    runs: list[tuple[int, int, str]] = []
    start: int | None = None
    end = 0
    digits = ""
    pending_multiplier = 1
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        lower = token.lower()
        value: str | None = None
        if token.isdigit():
            value = token
        elif lower in _DIGIT_WORDS and (lower != "o" or start is not None):
            value = _DIGIT_WORDS[lower]
        if value is not None:
            if start is None:
                start = match.start()
            digits += value * pending_multiplier
            pending_multiplier = 1
            end = match.end()
            continue
        if lower in _MULTIPLIERS:
            pending_multiplier = _MULTIPLIERS[lower]
            if start is None:
                start = match.start()
            continue
        if token in _SEPARATORS and start is not None:
            continue
        if start is not None and digits:
            runs.append((start, end, digits))
        start, digits, pending_multiplier = None, "", 1
    if start is not None and digits:
        runs.append((start, end, digits))
    return runs


def redact(text: str, card_context: bool = False) -> str:
    """Mask card numbers, and security codes when there is card context (here or before)."""
    context = card_context or has_card_context(text)
    pieces: list[str] = []
    cursor = 0
    for start, end, digits in _digit_runs(text):
        mask: str | None = None
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            mask = CARD_MASK
        elif 13 <= len(digits) <= 19 and context:
            mask = CARD_MASK  # a near-miss card number after card talk is still a card number
        elif context and 3 <= len(digits) <= 4:
            mask = CODE_MASK
        if mask is not None:
            pieces.append(text[cursor:start])
            pieces.append(mask)
            cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


class Redactor:
    """Redacts a conversation turn by turn, remembering recent card context."""

    def __init__(self, context_turns: int = 3) -> None:
        self._context_turns = context_turns
        self._since_context = context_turns + 1

    def __call__(self, text: str) -> str:
        in_context = self._since_context <= self._context_turns
        result = redact(text, card_context=in_context)
        if has_card_context(text):
            self._since_context = 0
        else:
            self._since_context += 1
        return result
