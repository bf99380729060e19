"""Telnyx media streaming (``stream_url`` / ``streaming_start``, RTP bidirectional mode).

Shapes from Telnyx's "Stream call media over WebSocket" AsyncAPI page
(https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket) and
"Media Streaming" guide (https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming);
the codecs and rates from the ``streaming_start`` command
(https://developers.telnyx.com/api-reference/call-commands/streaming-start):

- Telnyx -> app: ``connected`` {version}; ``start`` {sequence_number, start {user_id,
  call_control_id, client_state, from, to, media_format {encoding, sample_rate, channels}},
  stream_id}; ``media`` {sequence_number, media {track, chunk, timestamp, payload}, stream_id};
  ``dtmf`` {stream_id, occurred_at, sequence_number, dtmf {digit}}; ``mark`` {.., mark {name}};
  ``error`` {.., payload {code, title, detail}}; ``stop`` {sequence_number, stop {user_id,
  call_control_id}, stream_id}. Counters are strings. ``media_format.encoding`` is a codec
  name (``PCMU``, ``PCMA``, ``L16``, what Pipecat compares against) or, in the ``streaming_start``
  page's older example, a MIME name (``audio/x-mulaw``); both are accepted, codec names sent.
- app -> Telnyx: ``media`` {media {payload}} (base64 RTP payload, 20 ms to 30 s), ``mark``
  {mark {name}}, ``clear``; Pipecat's ``TelnyxFrameSerializer`` (``pipecat/serializers/telnyx.py``)
  sends exactly these, without a stream_id.

"Media frame order is not guaranteed": :class:`Reorderer` puts media back in ``chunk`` order
within a small window. Codecs: PCMU and PCMA at 8 kHz, L16 at 8 or 16 kHz where the start's
``media_format`` says so. L16 travels in network byte order (RFC 3551; Pipecat swaps it too);
frames carry it little-endian (see ``frames``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import wire
from .frames import (
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

_NAMES: dict[Encoding, str] = {"pcmu": "PCMU", "pcma": "PCMA", "l16": "L16"}
# the codec names of streaming_start, and the MIME names of the older start example
_ENCODINGS: dict[str, Encoding] = {
    "PCMU": "pcmu", "PCMA": "pcma", "L16": "l16",
    "AUDIO/X-MULAW": "pcmu", "AUDIO/X-ALAW": "pcma", "AUDIO/L16": "l16", "AUDIO/X-L16": "l16",
}
_RATES: dict[Encoding, tuple[int, ...]] = {"pcmu": (8000,), "pcma": (8000,), "l16": (8000, 16000)}


def _check_format(encoding: Encoding, sample_rate: int) -> None:
    if sample_rate not in _RATES.get(encoding, ()):
        raise StreamProtocolError("wrong_codec", f"telnyx {encoding} at {sample_rate} Hz")


def _to_wire(payload: bytes, encoding: Encoding) -> bytes:
    return wire.swap16(payload) if encoding == "l16" else payload


class TelnyxDialect:
    """Telnyx's JSON dialect; learns the stream's codec from its ``start``."""

    name = "telnyx"
    binary_media = False

    def __init__(self) -> None:
        self.encoding: Encoding = "pcmu"
        self.sample_rate = 8000

    def parse(self, message: str | bytes) -> StreamMessage | None:
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "connected":
            return StreamConnected()
        if event == "start":
            start = _parse_start(msg)
            self.encoding, self.sample_rate = start.encoding, start.sample_rate
            return start
        if event == "media":
            return _parse_media(wire.obj(msg, "media"), self.encoding)
        if event == "dtmf":
            return StreamDtmf(wire.digit(wire.req_str(wire.obj(msg, "dtmf"), "digit")))
        if event == "mark":
            return StreamMark(wire.req_str(wire.obj(msg, "mark"), "name"))
        if event == "stop":
            return StreamStop()
        if event == "error":
            return None  # Telnyx reports a bad frame of ours; the transport logs, the call goes on
        raise StreamProtocolError("unknown_event", f"telnyx event {event[:40]!r}")

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> str:
        enc = encoding or self.encoding
        _check_format(enc, sample_rate or self.sample_rate)
        return wire.dumps({"event": "media",
                           "media": {"payload": wire.b64(_to_wire(payload, enc))}})

    def mark(self, stream_id: str, name: str) -> str:
        return wire.dumps({"event": "mark", "mark": {"name": name}})

    def clear(self, stream_id: str) -> str:
        return wire.dumps({"event": "clear"})

    def provider_side(self, start: StreamStart, *, user_id: str = "3E6F995F-85F7-4705-9741-53B116D28237"
                      ) -> TelnyxStream:
        return TelnyxStream(start, user_id)


def _parse_start(msg: wire.JsonObject) -> StreamStart:
    start = wire.obj(msg, "start")
    fmt = wire.obj(start, "media_format")
    name = wire.req_str(fmt, "encoding")
    encoding = _ENCODINGS.get(name.upper())
    rate = wire.req_int(fmt, "sample_rate")
    if encoding is None or wire.opt_int(fmt, "channels") not in (None, 1):
        raise StreamProtocolError("wrong_codec", f"telnyx stream in {name[:40]}")
    _check_format(encoding, rate)
    return StreamStart(
        stream_id=wire.req_str(msg, "stream_id"),
        call_ref=wire.req_str(start, "call_control_id"),
        encoding=encoding,
        sample_rate=rate,
        tracks=wire.str_list(start, "tracks", ("inbound",)),
        custom_parameters=wire.str_map(start, "custom_parameters"),
    )


def _parse_media(media: wire.JsonObject, encoding: Encoding) -> StreamMedia:
    payload = wire.b64_payload(media)
    return StreamMedia(
        payload=wire.swap16(payload) if encoding == "l16" else payload,
        sequence=wire.opt_int(media, "chunk"),
        timestamp_ms=wire.opt_int(media, "timestamp"),
        track=wire.opt_str(media, "track") or "inbound",
    )


@dataclass
class Reorderer:
    """Puts media back in ``sequence`` order per track, waiting at most ``window`` chunks.

    ``push`` returns the chunks now deliverable, in order. A chunk older than the next one
    expected (late beyond the window, or a duplicate) is dropped and counted; when more than
    ``window`` chunks wait behind a gap, the gap is given up and delivery resumes after it.
    Media without a sequence passes straight through.
    """

    window: int = 8
    dropped: int = 0
    _next: dict[str, int] = field(default_factory=dict)
    _held: dict[str, dict[int, StreamMedia]] = field(default_factory=dict)

    def push(self, media: StreamMedia) -> list[StreamMedia]:
        seq = media.sequence
        if seq is None:
            return [media]
        track = media.track
        expected = self._next.get(track)
        held = self._held.setdefault(track, {})
        if expected is None:
            expected = seq
        if seq < expected or seq in held:
            self.dropped += 1
            return []
        held[seq] = media
        out: list[StreamMedia] = []
        while held:
            if expected in held:
                out.append(held.pop(expected))
                expected += 1
            elif len(held) > self.window:
                expected = min(held)  # give up the gap
            else:
                break
        self._next[track] = expected
        return out

    def flush(self) -> list[StreamMedia]:
        """Everything still held, in order (at the end of the stream)."""
        out: list[StreamMedia] = []
        for track, held in self._held.items():
            out.extend(held[k] for k in sorted(held))
            if held:
                self._next[track] = max(held) + 1
            held.clear()
        return out


@dataclass
class TelnyxStream:
    """One stream as Telnyx runs it: ``sequence_number`` per message, ``chunk`` per track."""

    start_frame: StreamStart
    user_id: str
    counters: wire.StreamCounters = field(default_factory=wire.StreamCounters)

    def _next(self) -> str:
        return str(self.counters.next_message())

    @property
    def _sid(self) -> str:
        return self.start_frame.stream_id

    def connected(self) -> str:
        return wire.dumps({"event": "connected", "version": "1.0.0"})

    def start(self) -> str:
        s = self.start_frame
        _check_format(s.encoding, s.sample_rate)
        body: wire.JsonObject = {
            "user_id": self.user_id,
            "call_control_id": s.call_ref,
            "media_format": {"encoding": _NAMES[s.encoding], "sample_rate": s.sample_rate,
                             "channels": 1},
        }
        if s.custom_parameters:
            body["custom_parameters"] = dict(s.custom_parameters)
        return wire.dumps({"event": "start", "sequence_number": self._next(), "start": body,
                           "stream_id": s.stream_id})

    def media(self, payload: bytes, *, timestamp_ms: int, track: str = "inbound") -> str:
        chunk = self.counters.next_chunk(track)
        data = _to_wire(payload, self.start_frame.encoding)
        return wire.dumps({
            "event": "media",
            "sequence_number": self._next(),
            "media": {"track": track, "chunk": str(chunk), "timestamp": str(timestamp_ms),
                      "payload": wire.b64(data)},
            "stream_id": self._sid,
        })

    def dtmf(self, digit: str) -> str:
        return wire.dumps({"event": "dtmf", "stream_id": self._sid,
                           "sequence_number": self._next(), "dtmf": {"digit": wire.digit(digit)}})

    def mark(self, name: str) -> str:
        return wire.dumps({"event": "mark", "sequence_number": self._next(),
                           "stream_id": self._sid, "mark": {"name": name}})

    def cleared(self) -> None:
        return None

    def stop(self, reason: str | None = None) -> str:
        return wire.dumps({"event": "stop", "sequence_number": self._next(),
                           "stop": {"user_id": self.user_id,
                                    "call_control_id": self.start_frame.call_ref},
                           "stream_id": self._sid})

    def parse_bot(self, message: str | bytes) -> StreamMessage | None:
        """What a bot sends Telnyx: ``media`` (in the stream's codec), ``mark``, ``clear``."""
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "media":
            return _parse_media(wire.obj(msg, "media"), self.start_frame.encoding)
        if event == "mark":
            return StreamMark(wire.req_str(wire.obj(msg, "mark"), "name"))
        if event == "clear":
            return StreamClear()
        raise StreamProtocolError("unknown_event", f"telnyx bot event {event[:40]!r}")
