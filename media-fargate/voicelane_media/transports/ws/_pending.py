"""Interim: the shape of the dialect serializers (``frames.py``), declared here until the
``wsdialects`` branch lands; the transport is written against these names only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

Encoding: TypeAlias = Literal["pcmu", "pcma", "l16"]
MAX_MESSAGE_BYTES = 256 * 1024


class StreamProtocolError(ValueError):
    """A message that breaks its dialect's protocol; ``code`` says how."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class StreamConnected:
    """The provider's first message."""


@dataclass(frozen=True)
class StreamStart:
    """Stream metadata, once per stream."""

    stream_id: str
    call_ref: str
    encoding: Encoding
    sample_rate: int
    tracks: tuple[str, ...] = ("inbound",)
    custom_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamMedia:
    """One chunk of audio (codec bytes; L16 little-endian)."""

    payload: bytes
    sequence: int | None = None
    timestamp_ms: int | None = None
    track: str = "inbound"


@dataclass(frozen=True)
class StreamDtmf:
    """A key the caller pressed."""

    digit: str


@dataclass(frozen=True)
class StreamMark:
    """A named point in the played audio, echoed once played."""

    name: str


@dataclass(frozen=True)
class StreamClear:
    """Drop the audio queued for playout."""


@dataclass(frozen=True)
class StreamStop:
    """The stream ended."""

    reason: str | None = None


StreamMessage: TypeAlias = (
    StreamConnected | StreamStart | StreamMedia | StreamDtmf | StreamMark | StreamClear | StreamStop
)


class Dialect(Protocol):
    """One provider's WebSocket media protocol, caller side; one instance per connection."""

    name: str
    binary_media: bool
    encoding: Encoding
    sample_rate: int

    def parse(self, message: str | bytes) -> StreamMessage | None: ...

    def media(self, stream_id: str, payload: bytes, *, encoding: Encoding | None = None,
              sample_rate: int | None = None) -> str | bytes: ...

    def mark(self, stream_id: str, name: str) -> str: ...

    def clear(self, stream_id: str) -> str: ...
