"""Twilio Media Streams (``<Connect><Stream>``, bidirectional) as a Voicelane dialect.

Shapes from Twilio's "Media Streams - WebSocket Messages" page
(https://www.twilio.com/docs/voice/media-streams/websocket-messages):

- Twilio -> app: ``connected`` {protocol "Call", version "1.0.0"}; ``start`` {sequenceNumber,
  start {accountSid, streamSid, callSid, tracks, customParameters, mediaFormat {encoding
  "audio/x-mulaw", sampleRate 8000, channels 1}}, streamSid}; ``media`` {sequenceNumber, media
  {track, chunk, timestamp, payload}, streamSid}; ``dtmf`` {streamSid, sequenceNumber, dtmf
  {track "inbound_track", digit}}; ``mark`` {sequenceNumber, streamSid, mark {name}};
  ``stop`` {sequenceNumber, stop {accountSid, callSid}, streamSid}. Counters are strings.
- app -> Twilio: ``media`` {streamSid, media {payload}} (base64 mu-law 8 kHz, no headers),
  ``mark`` {streamSid, mark {name}} (echoed once the audio before it has played, or when a
  ``clear`` drops it), ``clear`` {streamSid}. Twilio refuses binary messages.

What a real bot sends and expects is Pipecat's ``TwilioFrameSerializer``
(``pipecat/serializers/twilio.py``): it reads ``media.payload`` and ``dtmf.digit``, and writes
``media``/``clear`` (and ``mark``) with the ``streamSid`` it took from ``start``.
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

MULAW = "audio/x-mulaw"


class TwilioDialect:
    """Twilio's JSON dialect: base64 mu-law at 8 kHz only."""

    name = "twilio"
    binary_media = False

    def __init__(self) -> None:
        self.encoding: Encoding = "pcmu"
        self.sample_rate = 8000

    # -- caller side: what Twilio sends us, what we send Twilio --
    def parse(self, message: str | bytes) -> StreamMessage | None:
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "connected":
            return StreamConnected()
        if event == "start":
            return _parse_start(wire.obj(msg, "start"))
        if event == "media":
            media = wire.obj(msg, "media")
            return StreamMedia(
                payload=wire.b64_payload(media),
                sequence=wire.opt_int(media, "chunk"),
                timestamp_ms=wire.opt_int(media, "timestamp"),
                track=wire.opt_str(media, "track") or "inbound",
            )
        if event == "dtmf":
            return StreamDtmf(wire.digit(wire.req_str(wire.obj(msg, "dtmf"), "digit")))
        if event == "mark":
            return StreamMark(wire.req_str(wire.obj(msg, "mark"), "name"))
        if event == "stop":
            return StreamStop()
        raise StreamProtocolError("unknown_event", f"twilio event {event[:40]!r}")

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> str:
        _check_format(encoding or "pcmu", sample_rate or 8000)
        return wire.dumps({"event": "media", "streamSid": stream_id,
                           "media": {"payload": wire.b64(payload)}})

    def mark(self, stream_id: str, name: str) -> str:
        return wire.dumps({"event": "mark", "streamSid": stream_id, "mark": {"name": name}})

    def clear(self, stream_id: str) -> str:
        return wire.dumps({"event": "clear", "streamSid": stream_id})

    def provider_side(self, start: StreamStart, *, account_sid: str = "AC" + "0" * 32
                      ) -> TwilioStream:
        return TwilioStream(start, account_sid)


def _check_format(encoding: str, sample_rate: int) -> None:
    if encoding != "pcmu" or sample_rate != 8000:
        raise StreamProtocolError("wrong_codec", f"twilio carries pcmu/8000, not {encoding}/{sample_rate}")


def _parse_start(start: wire.JsonObject) -> StreamStart:
    fmt = wire.obj(start, "mediaFormat")
    encoding = wire.req_str(fmt, "encoding")
    rate = wire.req_int(fmt, "sampleRate")
    if encoding != MULAW or rate != 8000 or wire.opt_int(fmt, "channels") not in (None, 1):
        raise StreamProtocolError("wrong_codec", f"twilio stream in {encoding[:40]}/{rate}")
    return StreamStart(
        stream_id=wire.req_str(start, "streamSid"),
        call_ref=wire.req_str(start, "callSid"),
        encoding="pcmu",
        sample_rate=8000,
        tracks=wire.str_list(start, "tracks", ("inbound",)),
        custom_parameters=wire.str_map(start, "customParameters"),
    )


@dataclass
class TwilioStream:
    """One stream as Twilio runs it: counters as strings, from 1, per message and per track."""

    start_frame: StreamStart
    account_sid: str
    counters: wire.StreamCounters = field(default_factory=wire.StreamCounters)

    def _next(self) -> str:
        return str(self.counters.next_message())

    @property
    def _sid(self) -> str:
        return self.start_frame.stream_id

    def connected(self) -> str:
        return wire.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self) -> str:
        s = self.start_frame
        _check_format(s.encoding, s.sample_rate)
        return wire.dumps({
            "event": "start",
            "sequenceNumber": self._next(),
            "start": {
                "accountSid": self.account_sid,
                "streamSid": s.stream_id,
                "callSid": s.call_ref,
                "tracks": list(s.tracks),
                "customParameters": dict(s.custom_parameters),
                "mediaFormat": {"encoding": MULAW, "sampleRate": 8000, "channels": 1},
            },
            "streamSid": s.stream_id,
        })

    def media(self, payload: bytes, *, timestamp_ms: int, track: str = "inbound") -> str:
        chunk = self.counters.next_chunk(track)
        return wire.dumps({
            "event": "media",
            "sequenceNumber": self._next(),
            "media": {"track": track, "chunk": str(chunk), "timestamp": str(timestamp_ms),
                      "payload": wire.b64(payload)},
            "streamSid": self._sid,
        })

    def dtmf(self, digit: str) -> str:
        return wire.dumps({"event": "dtmf", "streamSid": self._sid, "sequenceNumber": self._next(),
                           "dtmf": {"track": "inbound_track", "digit": wire.digit(digit)}})

    def mark(self, name: str) -> str:
        return wire.dumps({"event": "mark", "sequenceNumber": self._next(),
                           "streamSid": self._sid, "mark": {"name": name}})

    def cleared(self) -> None:
        return None  # Twilio acknowledges a clear by echoing the pending marks

    def stop(self, reason: str | None = None) -> str:
        return wire.dumps({
            "event": "stop",
            "sequenceNumber": self._next(),
            "stop": {"accountSid": self.account_sid, "callSid": self.start_frame.call_ref},
            "streamSid": self._sid,
        })

    def parse_bot(self, message: str | bytes) -> StreamMessage | None:
        """What a Media Streams bot sends back: ``media``, ``mark``, ``clear``."""
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "media":
            return StreamMedia(wire.b64_payload(wire.obj(msg, "media")))
        if event == "mark":
            return StreamMark(wire.req_str(wire.obj(msg, "mark"), "name"))
        if event == "clear":
            return StreamClear()
        raise StreamProtocolError("unknown_event", f"twilio bot event {event[:40]!r}")
