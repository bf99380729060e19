"""Live call commands: POST /v1/calls/{id}/actions/{action}; one body model per action."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicelane.domain.storable import JsonInt, StorableFloat
from voicelane.domain.stream import StreamSpec
from voicelane.domain.transfer import TARGET_PATTERN, WarmTransferSpec


class ActionBody(BaseModel):
    """What every command body takes."""

    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Makes the command idempotent: a retry with the same id returns the first result.",
    )


class Empty(ActionBody):
    """A command without parameters (answer, pre_answer, hangup, hold, record_start...)."""


class Reject(ActionBody):
    """reject: refuse an inbound call with a cause."""

    cause: str = Field(default="rejected", pattern=r"^(rejected|busy|unavailable)$")


class Play(ActionBody):
    """play: an audio file, from a URL or an S3 key (exactly one)."""

    # exactly one of the two is a string (null is the same as leaving it out)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["url"], "properties": {"url": {"type": "string"}}},
        {"required": ["s3_key"], "properties": {"s3_key": {"type": "string"}}},
    ]})

    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    s3_key: str | None = Field(default=None, max_length=1024)
    loop: JsonInt = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> Play:
        if (self.url is None) == (self.s3_key is None):
            raise ValueError("give exactly one of url or s3_key")
        return self


class Speak(ActionBody):
    """speak: text to speech."""

    text: str = Field(min_length=1, max_length=3000)
    voice: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)


class Gather(ActionBody):
    """gather: collect digits or speech."""

    max_digits: JsonInt = Field(default=1, ge=1, le=128)
    terminator: str | None = Field(default="#", pattern=r"^[0-9*#]$")
    timeout_s: StorableFloat = Field(default=5, ge=0.001, le=120)
    input: str = Field(default="dtmf", pattern=r"^(dtmf|speech|dtmf_speech)$")
    prompt_text: str | None = Field(default=None, max_length=3000)


class SendDtmf(ActionBody):
    """send_dtmf: send digits to the far end."""

    digits: str = Field(pattern=r"^[0-9*#A-Dw]{1,64}$")


class Transfer(ActionBody):
    """transfer: a cold transfer to a number or SIP URI (REFER, else dial and bridge)."""

    to: str = Field(
        min_length=2, max_length=256, pattern=TARGET_PATTERN,
        description="An E.164 number or a SIP URI",
    )


class WarmTransfer(ActionBody, WarmTransferSpec):
    """warm_transfer: hold the caller, dial `to`, whisper to it alone, then bridge (or take
    the caller back when it does not answer or declines); events call.transfer.initiated,
    target_answered, whispered, then bridged, or declined or failed; see docs/transfers.md."""

    def spec(self) -> WarmTransferSpec:
        return WarmTransferSpec.model_validate(self.model_dump(exclude={"command_id"}))


class StreamStart(ActionBody, StreamSpec):
    """stream_start: stream the call to a bot's WebSocket (Voicelane plays the provider)."""

    def spec(self) -> StreamSpec:
        return StreamSpec.model_validate(self.model_dump(exclude={"command_id"}))


class StreamStop(ActionBody):
    """stream_stop: end one stream (its `stream_id` from call.streaming.started), or all."""

    stream_id: str | None = Field(default=None, min_length=1, max_length=64)


class JoinConference(ActionBody):
    """join_conference: the call joins a conference (on the media node the call is on)."""

    conference_id: str = Field(min_length=1, max_length=64, pattern=r"^conf_[0-9a-z]{26}$")
    moderator: bool = Field(default=False, description="With the conference's "
                            "`end_on_moderator_leave`, its leaving ends the conference")
    muted: bool = Field(default=False, description="Join muted: the others do not hear it")


ACTIONS: dict[str, type[ActionBody]] = {
    "answer": Empty,
    "pre_answer": Empty,
    "reject": Reject,
    "hangup": Empty,
    "play": Play,
    "speak": Speak,
    "gather": Gather,
    "send_dtmf": SendDtmf,
    "hold": Empty,
    "unhold": Empty,
    "transfer": Transfer,
    "warm_transfer": WarmTransfer,
    "record_start": Empty,
    "record_stop": Empty,
    "record_pause": Empty,
    "record_resume": Empty,
    "stream_start": StreamStart,
    "stream_stop": StreamStop,
    "join_conference": JoinConference,
}


def parse_action(action: str, body: dict[str, Any]) -> ActionBody:
    """The validated body of `action` (ValueError/ValidationError for bad input)."""
    return ACTIONS[action].model_validate(body)


class CommandResult(BaseModel):
    """The node's answer to a live command; its outcome arrives later as call events.

    `accepted`: sent to the call's media node. `completed`: done at once (hanging up a call
    that has not started). A retry with the same `command_id` returns the first result.
    """

    call_id: str
    action: str
    command_id: str | None
    status: str = Field(description="accepted or completed")
