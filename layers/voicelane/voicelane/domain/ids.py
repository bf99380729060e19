"""Time-sortable identifiers (ULID layout: 48-bit millisecond time + 80 random bits)."""

from __future__ import annotations

import secrets
import time

IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:@+-]{1,128}$"  # an app-chosen name: SIP user, browser id
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def ulid(now_ms: int | None = None) -> str:
    """A 26-character id whose lexical order follows creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(ms, 10) + _encode(secrets.randbits(80), 16)


def ulid_floor(ms: int) -> str:
    """The smallest id created at `ms` (for time-range queries)."""
    return _encode(ms, 10) + "0" * 16


def ulid_ceiling(ms: int) -> str:
    """The largest id created at `ms`."""
    return _encode(ms, 10) + "z" * 16


def ulid_time_ms(value: str) -> int:
    ms = 0
    for ch in value[:10]:
        ms = (ms << 5) | _ALPHABET.index(ch)
    return ms


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """`prefix_` + a time-sortable id, e.g. ``call_01j...``."""
    return f"{prefix}_{ulid(now_ms)}"
