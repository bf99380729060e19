"""A media stream to a customer's bot: Voicelane plays the provider (Twilio, Telnyx, Plivo or
our own WebSocket dialect) toward a ``ws(s)://`` URL the app names.

The same spec is the ``stream_start`` command's body, a call's ``stream`` (started when the
call is answered) and a number's ``stream`` (every inbound call to the number goes straight to
the bot). Two kinds, as at Twilio:

- bidirectional (``<Connect><Stream>``): the bot hears the caller and speaks; it owns the
  call's audio, so it excludes an agent on the same call;
- one-way (``<Start><Stream>``, a fork): the bot only listens, to the caller or to both
  tracks (analytics, live transcription), beside whatever else runs on the call.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from voicelane.domain.storable import JsonInt
from voicelane.domain.webhooks import NOT_IN_URL

STREAM_URL_CODE = "stream_url_not_allowed"
STREAM_SAMPLE_RATES = (8000, 16000, 24000, 48000)


class StreamDialect(StrEnum):
    TWILIO = "twilio"
    TELNYX = "telnyx"
    PLIVO = "plivo"
    WEBSOCKET = "websocket"


class StreamTracks(StrEnum):
    INBOUND = "inbound"  # the caller's audio
    BOTH = "both"  # the caller's and what the call plays to the caller


# `_coherent` below as JSON Schema (an absent field has its default: twilio, bidirectional).
_NOT_WEBSOCKET = {"not": {"const": "websocket"}}
_COHERENCE: list[Any] = [
    {"if": {"properties": {"dialect": _NOT_WEBSOCKET}},
     "then": {"properties": {"sample_rate": {"type": "null"}}}},
    {"if": {"properties": {"tracks": {"const": "both"}}, "required": ["tracks"]},
     "then": {"required": ["bidirectional"],
              "properties": {"bidirectional": {"const": False}, "dialect": _NOT_WEBSOCKET}}},
]


class StreamSpec(BaseModel):
    """Where and how to stream a call's audio to a bot."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": _COHERENCE})

    url: str = Field(min_length=6, max_length=2048, pattern=rf"^wss?://[^{NOT_IN_URL}]+$",
                     description="The bot's WebSocket URL: wss://, or ws:// for an app that "
                                 "allows private URLs (local development).")
    dialect: StreamDialect = Field(default=StreamDialect.TWILIO,
                                   description="Which provider's messages the bot speaks.")
    bidirectional: StrictBool = Field(default=True,
                                description="The bot's audio is played to the caller.")
    tracks: StreamTracks = Field(default=StreamTracks.INBOUND,
                                 description="both: one-way streams only.")
    custom_parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Sent in the start message (Twilio customParameters, Telnyx "
                    "custom_parameters, Plivo extra_headers); at most 32.",
        json_schema_extra={"maxProperties": 32,
                           "propertyNames": {"minLength": 1, "maxLength": 64},
                           "additionalProperties": {"type": "string", "maxLength": 512}})
    sample_rate: JsonInt | None = Field(
        default=None, description="websocket dialect only: 8000, 16000 (default), 24000 or 48000.",
        json_schema_extra={"enum": [*STREAM_SAMPLE_RATES, None]})
    on_failure: Literal["continue", "hangup"] | None = Field(
        default=None,
        description="When the bot cannot be reached or drops the connection for good: "
                    "hang up (default for bidirectional streams) or continue the call "
                    "(default for one-way streams).")

    @field_validator("custom_parameters")
    @classmethod
    def _small_parameters(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 32:
            raise ValueError("custom_parameters has at most 32 entries")
        for key, item in value.items():
            if not 1 <= len(key) <= 64 or len(item) > 512:
                raise ValueError(f"custom parameter {key[:64]!r}: name 1-64, value <= 512 chars")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> StreamSpec:
        if self.bidirectional and self.tracks == StreamTracks.BOTH:
            raise ValueError("tracks 'both' is for one-way streams (bidirectional false)")
        if self.tracks == StreamTracks.BOTH and self.dialect == StreamDialect.WEBSOCKET:
            raise ValueError("the websocket dialect's binary frames carry one track: inbound")
        if self.sample_rate is not None:
            if self.dialect != StreamDialect.WEBSOCKET:
                raise ValueError("sample_rate is for the websocket dialect; providers use 8000")
            if self.sample_rate not in STREAM_SAMPLE_RATES:
                raise ValueError(f"sample_rate must be one of {STREAM_SAMPLE_RATES}")
        return self

    @property
    def hangs_up_on_failure(self) -> bool:
        if self.on_failure is not None:
            return self.on_failure == "hangup"
        return self.bidirectional


def redacted_url(url: str) -> str:
    """The URL without its query string and user info (a bot's token is often in either),
    for events and logs."""
    head = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = head.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
