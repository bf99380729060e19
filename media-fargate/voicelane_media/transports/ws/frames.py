"""The dialect-neutral vocabulary of a WebSocket media stream, and the shape of a dialect.

A dialect (``twilio``, ``telnyx``, ``plivo``, ``websocket``) turns one provider's messages into
these frames and back. Everything here is pure and synchronous: no sockets, no clocks, no
asyncio; the WebSocket transport above owns the connection and feeds messages in.

Two directions, two roles:

- caller side (Voicelane is the media endpoint, the provider connects to us): the
  :class:`Dialect` parses what the provider sends (:meth:`Dialect.parse`) and serializes what
  we send back (:meth:`Dialect.media`, :meth:`Dialect.mark`, :meth:`Dialect.clear`);
- provider side (Voicelane plays the provider toward a customer's bot, and tests play the
  provider toward us): a :class:`ProviderSide` from :meth:`Dialect.provider_side` produces
  exactly what the provider sends and parses what a bot sends back (:meth:`ProviderSide.parse_bot`).

Audio payloads: :attr:`StreamMedia.payload` holds the codec's bytes as the call carries them:
G.711 codes for ``pcmu``/``pcma``, and for ``l16`` 16-bit signed samples in **little-endian**
order (the order numpy and the rest of the media plane use). A dialect whose provider puts L16
on the wire in network byte order (Telnyx, per RFC 3551's L16) swaps the bytes both ways.

Every rejection is a :class:`StreamProtocolError` with a machine-readable ``code``, so the
transport can close with a reason or count a drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

__all__ = [
    "DTMF_DIGITS",
    "MAX_MESSAGE_BYTES",
    "Dialect",
    "Encoding",
    "ErrorCode",
    "ProviderSide",
    "StreamClear",
    "StreamConnected",
    "StreamDtmf",
    "StreamMark",
    "StreamMedia",
    "StreamMessage",
    "StreamProtocolError",
    "StreamStart",
    "StreamStop",
]

# One WebSocket message, checked before any JSON parsing. 256 KiB holds a bot's playAudio of
# about 12 s of base64 mu-law; a provider's own 20 ms media message is a few hundred bytes.
MAX_MESSAGE_BYTES = 256 * 1024

DTMF_DIGITS = "0123456789*#ABCD"

Encoding: TypeAlias = Literal["pcmu", "pcma", "l16"]

ErrorCode: TypeAlias = Literal[
    "malformed_json",  # not UTF-8, not JSON, or not a JSON object
    "unknown_event",  # an "event" this dialect does not know
    "missing_field",  # a required field is absent
    "bad_payload",  # a field has the wrong type or value (base64, digit, odd-length L16, ...)
    "wrong_codec",  # an encoding or sample rate this dialect does not carry
    "frame_too_large",  # over MAX_MESSAGE_BYTES, or a binary audio frame over its limit
    "binary_not_expected",  # a binary message where the dialect speaks text only
    "text_not_expected",  # a text message where the dialect wants binary (our media)
]


class StreamProtocolError(ValueError):
    """A message that breaks its dialect's protocol; ``code`` says how (see :data:`ErrorCode`)."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail


@dataclass(frozen=True)
class StreamConnected:
    """The provider's first message: the socket is open and speaks the dialect."""


@dataclass(frozen=True)
class StreamStart:
    """Stream metadata, once per stream: who it is, and the audio format that follows."""

    stream_id: str
    call_ref: str  # the provider's id of the call (Twilio callSid, Telnyx call_control_id, ...)
    encoding: Encoding
    sample_rate: int
    tracks: tuple[str, ...] = ("inbound",)
    custom_parameters: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class StreamMedia:
    """One chunk of audio (see the module docstring for the payload's byte layout).

    ``sequence`` is the provider's media chunk counter (Twilio, Telnyx and Plivo ``chunk``),
    which counts media messages only, so it has no gaps for interleaved dtmf or marks.
    ``timestamp_ms`` is the provider's media timestamp: milliseconds since the stream started
    for Twilio and Telnyx, Unix time in milliseconds for Plivo; None for ours.
    """

    payload: bytes
    sequence: int | None = None
    timestamp_ms: int | None = None
    track: str = "inbound"


@dataclass(frozen=True)
class StreamDtmf:
    """A key the caller pressed: one of ``0-9 * # A-D``."""

    digit: str


@dataclass(frozen=True)
class StreamMark:
    """A named point in the played audio: sent after media, echoed once it has played."""

    name: str


@dataclass(frozen=True)
class StreamClear:
    """Drop the audio queued for playout (barge-in)."""


@dataclass(frozen=True)
class StreamStop:
    """The stream ended (the call hung up or the stream was stopped)."""

    reason: str | None = None


StreamMessage: TypeAlias = (
    StreamConnected | StreamStart | StreamMedia | StreamDtmf | StreamMark | StreamClear | StreamStop
)


class ProviderSide(Protocol):
    """One stream as the provider runs it: what the provider sends, and what a bot sends back.

    Instances keep the provider's counters (sequence numbers, chunks), one per stream.
    ``connected`` and ``cleared`` return None where the provider sends no such message.
    """

    def connected(self) -> str | None: ...

    def start(self) -> str: ...

    def media(self, payload: bytes, *, timestamp_ms: int, track: str = "inbound") -> str | bytes: ...

    def dtmf(self, digit: str) -> str: ...

    def mark(self, name: str) -> str: ...

    def cleared(self) -> str | None: ...

    def stop(self, reason: str | None = None) -> str: ...

    def parse_bot(self, message: str | bytes) -> StreamMessage | None: ...


class Dialect(Protocol):
    """One provider's WebSocket media protocol, caller side; one instance per connection.

    ``parse`` returns None for a known message that carries nothing for the call (a provider's
    ``error`` report, Plivo's ``clearedAudio``) and raises :class:`StreamProtocolError` for
    anything else it cannot take. After a :class:`StreamStart`, ``encoding`` and
    ``sample_rate`` are the stream's format, which ``media`` uses by default.
    """

    name: str
    binary_media: bool
    encoding: Encoding
    sample_rate: int

    def parse(self, message: str | bytes) -> StreamMessage | None: ...

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> str | bytes: ...

    def mark(self, stream_id: str, name: str) -> str: ...

    def clear(self, stream_id: str) -> str: ...

    def provider_side(self, start: StreamStart) -> ProviderSide: ...
