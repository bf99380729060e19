"""JSON-over-WebSocket helpers shared by the dialects: bounded decoding and typed field access.

Each helper raises :class:`StreamProtocolError` with the matching code, so a dialect's parser
is a straight read of the provider's message shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from .frames import DTMF_DIGITS, MAX_MESSAGE_BYTES, StreamProtocolError

JsonObject = dict[str, Any]


def check_size(message: str | bytes, limit: int = MAX_MESSAGE_BYTES) -> None:
    """Refuse a message over ``limit`` bytes before anything looks inside it."""
    # a str of n characters is at least n UTF-8 bytes; measure exactly only near the limit
    size = len(message) if isinstance(message, bytes) or len(message) * 4 <= limit \
        else len(message.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise StreamProtocolError("frame_too_large", f"{size} bytes, limit {limit}")


def load_text(message: str | bytes) -> JsonObject:
    """A text dialect's message -> its JSON object (binary messages are refused)."""
    if not isinstance(message, str):
        raise StreamProtocolError("binary_not_expected", "this dialect sends JSON text only")
    check_size(message)
    return load_object(message)


def load_object(text: str) -> JsonObject:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StreamProtocolError("malformed_json", str(exc)[:120]) from None
    if not isinstance(value, dict):
        raise StreamProtocolError("malformed_json", "top level is not an object")
    return value


def dumps(value: JsonObject) -> str:
    """Compact, key order as built: the bytes we send are stable for fixtures."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def event_of(message: JsonObject) -> str:
    return req_str(message, "event")


def obj(message: JsonObject, key: str) -> JsonObject:
    value = message.get(key)
    if value is None:
        raise StreamProtocolError("missing_field", f"{key!r} is missing")
    if not isinstance(value, dict):
        raise StreamProtocolError("bad_payload", f"{key!r} is not an object")
    return value


def req_str(message: JsonObject, key: str) -> str:
    value = message.get(key)
    if value is None:
        raise StreamProtocolError("missing_field", f"{key!r} is missing")
    if not isinstance(value, str):
        raise StreamProtocolError("bad_payload", f"{key!r} is not a string")
    return value


def opt_str(message: JsonObject, key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise StreamProtocolError("bad_payload", f"{key!r} is not a string")
    return value


def opt_int(message: JsonObject, key: str) -> int | None:
    """An integer sent as a JSON number or as a decimal string (providers do both)."""
    value = message.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise StreamProtocolError("bad_payload", f"{key!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    raise StreamProtocolError("bad_payload", f"{key!r} is not an integer")


def req_int(message: JsonObject, key: str) -> int:
    value = opt_int(message, key)
    if value is None:
        raise StreamProtocolError("missing_field", f"{key!r} is missing")
    return value


def str_list(message: JsonObject, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = message.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StreamProtocolError("bad_payload", f"{key!r} is not a list of strings")
    return tuple(value)


def str_map(message: JsonObject, key: str) -> dict[str, str]:
    """A flat object of parameters; scalar values become strings, nested values are refused."""
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StreamProtocolError("bad_payload", f"{key!r} is not an object")
    out: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, bool | int | float):
            out[k] = json.dumps(v)
        else:
            raise StreamProtocolError("bad_payload", f"{key!r}.{k} is not a scalar")
    return out


def b64_payload(media: JsonObject, key: str = "payload") -> bytes:
    text = req_str(media, key)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise StreamProtocolError("bad_payload", f"{key!r} is not base64") from None


def b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def digit(value: str) -> str:
    if len(value) != 1 or value.upper() not in DTMF_DIGITS:
        raise StreamProtocolError("bad_payload", f"not a DTMF digit: {value[:8]!r}")
    return value.upper()


def swap16(payload: bytes) -> bytes:
    """16-bit samples between little- and big-endian (L16 on the wire is network order)."""
    if len(payload) % 2:
        raise StreamProtocolError("bad_payload", "L16 payload has an odd number of bytes")
    out = bytearray(payload)
    out[0::2], out[1::2] = payload[1::2], payload[0::2]
    return bytes(out)


@dataclass
class StreamCounters:
    """What a provider numbers on one stream it plays: every message, and each track's media
    chunks, both from 1."""

    messages: int = 0
    chunks: dict[str, int] = field(default_factory=dict)

    def next_message(self) -> int:
        self.messages += 1
        return self.messages

    def next_chunk(self, track: str = "inbound") -> int:
        self.chunks[track] = self.chunks.get(track, 0) + 1
        return self.chunks[track]
