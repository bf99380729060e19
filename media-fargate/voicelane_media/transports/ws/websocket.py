"""Voicelane's own WebSocket dialect (``websocket``), for custom clients.

Audio is binary: each binary message is PCM16 mono little-endian at the session's sample rate
(8000, 16000, 24000 or 48000 Hz), a whole number of samples, at most ``MAX_FRAME_MS`` long.
Control is JSON text, flat objects with an ``event``:

- client -> Voicelane: ``start`` {stream_id?, call_id?, sample_rate?, custom_parameters?}
  (optional; a sample_rate other than the session's is refused), ``dtmf`` {digit},
  ``mark`` {name}, ``clear``, ``stop`` {reason?};
- Voicelane -> client: binary audio, ``mark`` {name} (echoed once the audio before it has
  played), ``clear`` (drop the audio queued).

In the provider role (Voicelane streaming a call to a customer's server) Voicelane sends
``connected``, ``start``, binary audio, ``dtmf``, ``mark`` echoes and ``stop``, and reads the
server's binary audio, ``mark`` and ``clear``. Documented for users in docs/media-streams.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import wire
from .frames import (
    MAX_MESSAGE_BYTES,
    Encoding,
    StreamClear,
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamMessage,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)

SAMPLE_RATES = (8000, 16000, 24000, 48000)
MAX_FRAME_MS = 1000


def max_frame_bytes(sample_rate: int) -> int:
    return min(sample_rate * 2 * MAX_FRAME_MS // 1000, MAX_MESSAGE_BYTES)


def _audio(message: bytes, sample_rate: int) -> bytes:
    limit = max_frame_bytes(sample_rate)
    if len(message) > limit:
        raise StreamProtocolError("frame_too_large", f"{len(message)} bytes of audio, limit {limit}")
    if not message or len(message) % 2:
        raise StreamProtocolError("bad_payload", "PCM16 frame must be a non-zero, even length")
    return message


def _control(message: str) -> tuple[str, wire.JsonObject]:
    wire.check_size(message)
    msg = wire.load_object(message)
    event = wire.event_of(msg)
    if event == "media":
        raise StreamProtocolError("text_not_expected", "audio travels in binary messages")
    return event, msg


def _common(event: str, msg: wire.JsonObject) -> StreamMessage | None:
    if event == "mark":
        return StreamMark(wire.req_str(msg, "name"))
    if event == "clear":
        return StreamClear()
    raise StreamProtocolError("unknown_event", f"websocket event {event[:40]!r}")


class WebSocketDialect:
    """Binary PCM16 audio at one fixed rate, JSON control messages."""

    name = "websocket"
    binary_media = True

    def __init__(self, sample_rate: int = 16000) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"websocket sample_rate must be one of {SAMPLE_RATES}")
        self.encoding: Encoding = "l16"
        self.sample_rate = sample_rate

    def parse(self, message: str | bytes) -> StreamMessage | None:
        if isinstance(message, bytes):
            return StreamMedia(_audio(message, self.sample_rate))
        event, msg = _control(message)
        if event == "connected":  # what Voicelane sends first when it streams to a server
            return StreamConnected()
        if event == "start":
            rate = wire.opt_int(msg, "sample_rate")
            if rate not in (None, self.sample_rate):
                raise StreamProtocolError("wrong_codec", f"session runs at {self.sample_rate} Hz")
            return StreamStart(
                stream_id=wire.opt_str(msg, "stream_id") or "",
                call_ref=wire.opt_str(msg, "call_id") or "",
                encoding="l16",
                sample_rate=self.sample_rate,
                custom_parameters=wire.str_map(msg, "custom_parameters"),
            )
        if event == "dtmf":
            return StreamDtmf(wire.digit(wire.req_str(msg, "digit")))
        if event == "stop":
            return StreamStop(wire.opt_str(msg, "reason"))
        return _common(event, msg)

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> bytes:
        if (encoding or "l16") != "l16" or (sample_rate or self.sample_rate) != self.sample_rate:
            raise StreamProtocolError("wrong_codec", f"websocket carries l16/{self.sample_rate}")
        return _audio(payload, self.sample_rate)

    def mark(self, stream_id: str, name: str) -> str:
        return wire.dumps({"event": "mark", "name": name})

    def clear(self, stream_id: str) -> str:
        return wire.dumps({"event": "clear"})

    def provider_side(self, start: StreamStart) -> WebSocketStream:
        return WebSocketStream(start, self.sample_rate)


@dataclass
class WebSocketStream:
    """Voicelane streaming one call to a customer's server in its own dialect."""

    start_frame: StreamStart
    sample_rate: int

    def connected(self) -> str:
        return wire.dumps({"event": "connected", "protocol": "voicelane", "version": "1"})

    def start(self) -> str:
        s = self.start_frame
        return wire.dumps({"event": "start", "stream_id": s.stream_id, "call_id": s.call_ref,
                           "encoding": "l16", "sample_rate": self.sample_rate,
                           "custom_parameters": dict(s.custom_parameters)})

    def media(self, payload: bytes, *, timestamp_ms: int, track: str = "inbound") -> bytes:
        return _audio(payload, self.sample_rate)

    def dtmf(self, digit: str) -> str:
        return wire.dumps({"event": "dtmf", "digit": wire.digit(digit)})

    def mark(self, name: str) -> str:
        return wire.dumps({"event": "mark", "name": name})

    def cleared(self) -> None:
        return None

    def stop(self, reason: str | None = None) -> str:
        return wire.dumps({"event": "stop", "reason": reason} if reason else {"event": "stop"})

    def parse_bot(self, message: str | bytes) -> StreamMessage | None:
        if isinstance(message, bytes):
            return StreamMedia(_audio(message, self.sample_rate))
        event, msg = _control(message)
        return _common(event, msg)

