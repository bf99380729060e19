"""Plivo Audio Streams (``<Stream bidirectional="true">``) as a Voicelane dialect.

Shapes from Plivo's "Stream Event Protocol" / audio streaming reference
(https://www.plivo.com/docs/voice/audio-streaming/audio-streaming,
https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference), the
``checkpoint`` page (https://plivo.com/docs/voice/xml/the-stream-element/checkpoint-event) and
the ``<Stream>`` XML reference (https://docs.plivo.com/docs/voice/xml/audiostream):

- Plivo -> app: ``start`` {sequenceNumber, start {callId, streamId, accountId, tracks,
  mediaFormat {encoding, sampleRate}}, extra_headers}; ``media`` {sequenceNumber, streamId,
  media {track, timestamp (Unix ms, a string), chunk, payload}, extra_headers}; ``dtmf``
  {sequenceNumber, streamId, dtmf {digit, ...}}; ``playedStream`` {streamId, name} (a
  checkpoint was played); ``clearedAudio`` {streamId}; and ``stop`` where it is sent. Counters
  are JSON numbers here, not strings.
- app -> Plivo: ``playAudio`` {media {contentType, sampleRate, payload}} (Pipecat's
  ``PlivoFrameSerializer`` adds ``streamId``, and so do we), ``checkpoint`` {streamId, name},
  ``clearAudio`` {streamId}.

Codecs (the ``contentType`` attribute): ``audio/x-mulaw;rate=8000``, ``audio/x-l16;rate=8000``
and ``audio/x-l16;rate=16000``. Plivo does not state L16's byte order; we take it as the
little-endian PCM it is in practice and pass it through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import wire
from .frames import (
    Encoding,
    StreamClear,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamMessage,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)

_CONTENT: dict[str, Encoding] = {"audio/x-mulaw": "pcmu", "audio/x-l16": "l16"}
_NAMES = {v: k for k, v in _CONTENT.items()}
_RATES: dict[Encoding, tuple[int, ...]] = {"pcmu": (8000,), "l16": (8000, 16000)}


def _format(content_type: str, rate: int) -> Encoding:
    encoding = _CONTENT.get(content_type.split(";")[0].strip().lower())
    if encoding is None or rate not in _RATES[encoding]:
        raise StreamProtocolError("wrong_codec", f"plivo {content_type[:40]} at {rate} Hz")
    return encoding


def _check_format(encoding: Encoding, rate: int) -> None:
    if rate not in _RATES.get(encoding, ()):
        raise StreamProtocolError("wrong_codec", f"plivo {encoding} at {rate} Hz")


def parse_extra_headers(value: str) -> dict[str, str]:
    """``extraHeaders`` as Plivo forwards them: ``k=v`` pairs split by ``;`` (or ``,``)."""
    out: dict[str, str] = {}
    for part in value.replace(",", ";").split(";"):
        key, sep, val = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = val.strip()
    return out


def _play_audio(stream_id: str, payload: bytes, encoding: Encoding, rate: int) -> str:
    return wire.dumps({"event": "playAudio",
                       "media": {"contentType": _NAMES[encoding], "sampleRate": rate,
                                 "payload": wire.b64(payload)},
                       "streamId": stream_id})


class PlivoDialect:
    """Plivo's JSON dialect; learns the stream's codec from its ``start``."""

    name = "plivo"
    binary_media = False

    def __init__(self) -> None:
        self.encoding: Encoding = "pcmu"
        self.sample_rate = 8000

    def parse(self, message: str | bytes) -> StreamMessage | None:
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "start":
            start = _parse_start(msg)
            self.encoding, self.sample_rate = start.encoding, start.sample_rate
            return start
        if event == "media":
            media = wire.obj(msg, "media")
            payload = wire.b64_payload(media)
            if self.encoding == "l16" and len(payload) % 2:
                raise StreamProtocolError("bad_payload", "L16 payload has an odd number of bytes")
            return StreamMedia(payload=payload, sequence=wire.opt_int(media, "chunk"),
                               timestamp_ms=wire.opt_int(media, "timestamp"),
                               track=wire.opt_str(media, "track") or "inbound")
        if event == "dtmf":
            return StreamDtmf(wire.digit(wire.req_str(wire.obj(msg, "dtmf"), "digit")))
        if event == "playedStream":
            return StreamMark(wire.req_str(msg, "name"))
        if event == "clearedAudio":
            return None  # the acknowledgement of our clearAudio
        if event == "stop":
            return StreamStop()
        raise StreamProtocolError("unknown_event", f"plivo event {event[:40]!r}")

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> str:
        enc, rate = encoding or self.encoding, sample_rate or self.sample_rate
        _check_format(enc, rate)
        return _play_audio(stream_id, payload, enc, rate)

    def mark(self, stream_id: str, name: str) -> str:
        return wire.dumps({"event": "checkpoint", "streamId": stream_id, "name": name})

    def clear(self, stream_id: str) -> str:
        return wire.dumps({"event": "clearAudio", "streamId": stream_id})

    def provider_side(self, start: StreamStart, *, account_id: str = "MA" + "X" * 18
                      ) -> PlivoStream:
        return PlivoStream(start, account_id)


def _parse_start(msg: wire.JsonObject) -> StreamStart:
    start = wire.obj(msg, "start")
    fmt = wire.obj(start, "mediaFormat")
    rate = wire.req_int(fmt, "sampleRate")
    encoding = _format(wire.req_str(fmt, "encoding"), rate)
    headers = wire.opt_str(msg, "extra_headers")
    return StreamStart(
        stream_id=wire.req_str(start, "streamId"),
        call_ref=wire.req_str(start, "callId"),
        encoding=encoding,
        sample_rate=rate,
        tracks=wire.str_list(start, "tracks", ("inbound",)),
        custom_parameters=parse_extra_headers(headers) if headers else {},
    )


@dataclass
class PlivoStream:
    """One stream as Plivo runs it: ``sequenceNumber`` per message, ``chunk`` per media."""

    start_frame: StreamStart
    account_id: str
    counters: wire.StreamCounters = field(default_factory=wire.StreamCounters)

    def _next(self) -> int:
        return self.counters.next_message()

    @property
    def _sid(self) -> str:
        return self.start_frame.stream_id

    def _headers(self) -> dict[str, str]:
        params = self.start_frame.custom_parameters
        return {"extra_headers": ";".join(f"{k}={v}" for k, v in params.items())} if params else {}

    def connected(self) -> None:
        return None  # Plivo's first message is start

    def start(self) -> str:
        s = self.start_frame
        _check_format(s.encoding, s.sample_rate)
        return wire.dumps({
            "event": "start",
            "sequenceNumber": self._next(),
            "start": {"callId": s.call_ref, "streamId": s.stream_id, "accountId": self.account_id,
                      "tracks": list(s.tracks),
                      "mediaFormat": {"encoding": _NAMES[s.encoding], "sampleRate": s.sample_rate}},
            **self._headers(),
        })

    def media(self, payload: bytes, *, timestamp_ms: int, track: str = "inbound") -> str:
        chunk = self.counters.next_chunk()  # Plivo numbers media per stream, one track
        return wire.dumps({
            "event": "media",
            "sequenceNumber": self._next(),
            "streamId": self._sid,
            "media": {"track": track, "timestamp": str(timestamp_ms), "chunk": chunk,
                      "payload": wire.b64(payload)},
            **self._headers(),
        })

    def dtmf(self, digit: str) -> str:
        return wire.dumps({"event": "dtmf", "sequenceNumber": self._next(), "streamId": self._sid,
                           "dtmf": {"track": "inbound", "digit": wire.digit(digit)}})

    def mark(self, name: str) -> str:
        return wire.dumps({"event": "playedStream", "sequenceNumber": self._next(),
                           "streamId": self._sid, "name": name})

    def cleared(self) -> str:
        return wire.dumps({"event": "clearedAudio", "sequenceNumber": self._next(),
                           "streamId": self._sid})

    def stop(self, reason: str | None = None) -> str:
        return wire.dumps({"event": "stop", "sequenceNumber": self._next(), "streamId": self._sid})

    def parse_bot(self, message: str | bytes) -> StreamMessage | None:
        """What a bot sends Plivo: ``playAudio``, ``checkpoint``, ``clearAudio`` (``sendDTMF``
        is known and ignored here)."""
        msg = wire.load_text(message)
        event = wire.event_of(msg)
        if event == "playAudio":
            media = wire.obj(msg, "media")
            rate = wire.req_int(media, "sampleRate")
            encoding = _format(wire.req_str(media, "contentType"), rate)
            s = self.start_frame
            if (encoding, rate) != (s.encoding, s.sample_rate):
                raise StreamProtocolError("wrong_codec", f"playAudio in {encoding}/{rate}, "
                                          f"stream is {s.encoding}/{s.sample_rate}")
            return StreamMedia(wire.b64_payload(media))
        if event == "checkpoint":
            return StreamMark(wire.req_str(msg, "name"))
        if event == "clearAudio":
            return StreamClear()
        if event == "sendDTMF":
            return None
        raise StreamProtocolError("unknown_event", f"plivo bot event {event[:40]!r}")
