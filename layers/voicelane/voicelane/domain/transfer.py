"""What a warm transfer takes (the `warm_transfer` command and agent tool), what click-to-call
plays between its two legs, and the shape of a transfer target; shared by the API's
validation and the media node that carries them out.

A warm transfer: the caller hears hold music; the target is dialled (allow-list, trunks with
failover, calls-per-second pacing); once it answers it may get DTMF (an extension), hears the
whisper (text spoken to it alone), and with `accept_prompt` is asked to press 1 to take the
call or 2 to decline; then the two are bridged. A target that does not answer, rejects or
declines returns the caller to whoever runs the call (the agent hears it as its tool result).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from voicelane.domain.storable import StorableFloat
from voicelane.domain.webhooks import NOT_IN_URL

# E.164 or a SIP URI; NOT_IN_URL rather than \s so the schema's regex and pydantic's agree
TARGET_PATTERN = rf"^(\+[1-9]\d{{1,14}}|sips?:[^{NOT_IN_URL}<>]+)$"
DEFAULT_ACCEPT_PROMPT = "Press 1 to take the call, or 2 to decline."
DECLINE_DIGIT = "2"


class WarmTransferSpec(BaseModel):
    """A warm transfer of a live call to `to`."""

    # the rule of _one_whisper, in the schema too (a schema-valid body is accepted)
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"summary": {"const": True}}, "required": ["summary"]},
        "then": {"properties": {"whisper": {"type": "null"}}}})

    to: str = Field(min_length=2, max_length=256, pattern=TARGET_PATTERN,
                    description="The target: an E.164 number or a SIP URI.")
    whisper: str | None = Field(
        default=None, min_length=1, max_length=3000,
        description="Spoken (TTS) to the target alone once it answers; the caller hears "
                    "hold music meanwhile.")
    summary: StrictBool = Field(
        default=False, description="Whisper the call agent's own summary of the conversation "
                                   "(the call must run an agent); instead of `whisper`.")
    dtmf: str | None = Field(
        default=None, pattern=r"^[0-9*#A-Dw]{1,32}$",
        description="Digits sent to the target once it answers, before the whisper (an "
                    "extension); `w` waits half a second.")
    accept_prompt: StrictBool = Field(
        default=False, description="After the whisper, ask the target to press 1 to take the "
                                   "call or 2 to decline (no digit in `accept_timeout_s`: "
                                   "taken).")
    accept_timeout_s: StorableFloat = Field(default=8, ge=1, le=60)
    timeout_s: StorableFloat = Field(
        default=30, ge=5, le=120,
        description="How long the target may ring before the caller is taken back.")
    hold_music_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^(https?|s3)://",
        description="What the caller hears while held (default: a soft tone).")

    @model_validator(mode="after")
    def _one_whisper(self) -> WarmTransferSpec:
        if self.summary and self.whisper is not None:
            raise ValueError("give whisper or summary, not both")
        return self


class ConnectPrompt(BaseModel):
    """Click-to-call: what the first party hears once it answers, before the second party is
    dialled: `text` spoken (TTS) or audio at `url` (exactly one)."""

    # exactly one of the two is a string (null is the same as leaving it out), as _one_source
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["url"], "properties": {"url": {"type": "string"}}},
    ]})

    text: str | None = Field(default=None, min_length=1, max_length=3000)
    url: str | None = Field(default=None, max_length=2048, pattern=r"^(https?|s3)://")
    voice: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_source(self) -> ConnectPrompt:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of text or url")
        return self
