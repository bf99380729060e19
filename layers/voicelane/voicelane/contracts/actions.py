"""Live call commands: POST /v1/calls/{id}/actions/{action}; one body model per action."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Makes the command idempotent: a retry with the same id returns the first result.",
    )


class Empty(ActionBody):
    pass


class Reject(ActionBody):
    cause: str = Field(default="rejected", pattern=r"^(rejected|busy|unavailable)$")


class Play(ActionBody):
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    s3_key: str | None = Field(default=None, max_length=1024)
    loop: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> Play:
        if (self.url is None) == (self.s3_key is None):
            raise ValueError("give exactly one of url or s3_key")
        return self


class Speak(ActionBody):
    text: str = Field(min_length=1, max_length=3000)
    voice: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)


class Gather(ActionBody):
    max_digits: int = Field(default=1, ge=1, le=128)
    terminator: str | None = Field(default="#", pattern=r"^[0-9*#]$")
    timeout_s: float = Field(default=5, gt=0, le=120)
    input: str = Field(default="dtmf", pattern=r"^(dtmf|speech|dtmf_speech)$")
    prompt_text: str | None = Field(default=None, max_length=3000)


class SendDtmf(ActionBody):
    digits: str = Field(pattern=r"^[0-9*#A-Dw]{1,64}$")


class Transfer(ActionBody):
    to: str = Field(
        min_length=2, max_length=256,
        pattern=r"^(\+[1-9]\d{1,14}|sips?:[^\s<>]+)$",
        description="An E.164 number or a SIP URI",
    )


ACTIONS: dict[str, type[ActionBody]] = {
    "answer": Empty,
    "reject": Reject,
    "hangup": Empty,
    "play": Play,
    "speak": Speak,
    "gather": Gather,
    "send_dtmf": SendDtmf,
    "hold": Empty,
    "unhold": Empty,
    "transfer": Transfer,
    "record_start": Empty,
    "record_stop": Empty,
    "record_pause": Empty,
    "record_resume": Empty,
}


def parse_action(action: str, body: dict[str, Any]) -> ActionBody:
    """The validated body of `action` (ValueError/ValidationError for bad input)."""
    return ACTIONS[action].model_validate(body)
