"""Calls API contracts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from voicelane.contracts.common import PSTN_IS_E164, URL_SCHEMA, IsoDateTime
from voicelane.domain.agent import AgentSpec
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.errors import ValidationFailed
from voicelane.domain.ids import IDENTIFIER_PATTERN
from voicelane.domain.machine_detection import MachineDetection
from voicelane.domain.models import Call, CallEvent
from voicelane.domain.routing import RoutingMatch
from voicelane.domain.storable import JSON_INTEGER, CallContext
from voicelane.domain.stream import StreamSpec
from voicelane.domain.transfer import TARGET_PATTERN, ConnectPrompt
from voicelane.resources import EVENT_BUS

_METADATA_KEY = r"^[A-Za-z0-9_.-]{1,40}$"


class CreateCallRequest(BaseModel):
    """An outbound call: who calls whom, and what runs on it (an agent, or live commands)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"allOf": PSTN_IS_E164})

    from_: str = Field(alias="from", min_length=1, max_length=128,
                       json_schema_extra={"pattern": IDENTIFIER_PATTERN},
                       description="E.164 (+14155550100) on the pstn channel, else an "
                                   "identifier of 1-128 letters, digits or _.:@+-")
    to: str = Field(min_length=1, max_length=128, json_schema_extra={"pattern": IDENTIFIER_PATTERN},
                    description="E.164 on the pstn channel, else an identifier like `from`")
    from_channel: Channel = Channel.PSTN
    to_channel: Channel = Channel.PSTN
    agent_id: str | None = Field(default=None, max_length=64)
    agent: AgentSpec | None = None
    context: CallContext | None = None
    max_duration_s: Annotated[int, Field(ge=60, le=7200), JSON_INTEGER] | None = None
    recording: StrictBool | None = None
    scheduled_at: IsoDateTime | None = None
    webhook_url: str | None = Field(default=None, max_length=2048,
                                    json_schema_extra=URL_SCHEMA)
    webhook_commands: StrictBool = Field(
        default=False, description="Answers from webhook_url to call.answered and "
                                   "call.gather.ended may carry commands (docs/webhooks.md).")
    stream: StreamSpec | None = Field(
        default=None, description="Stream the call to a bot's WebSocket once it is answered "
                                  "(Voicelane plays Twilio, Telnyx, Plivo or our dialect).")
    machine_detection: MachineDetection | None = Field(
        default=None, description="Answering-machine detection on answer (default: the "
                                  "agent's); see docs/machine-detection.md.")
    connect_to: str | None = Field(
        default=None, min_length=2, max_length=256, pattern=TARGET_PATTERN,
        description="Click-to-call: once `to` answers, dial this second party (E.164 or SIP "
                    "URI) and bridge the two; both see `from` as caller ID (docs/transfers.md).")
    connect_prompt: ConnectPrompt | None = Field(
        default=None, description="Click-to-call: spoken or played to `to` once it answers, "
                                  "before `connect_to` is dialled.")
    metadata: dict[str, str] = Field(default_factory=dict, json_schema_extra={
        "maxProperties": 16, "propertyNames": {"pattern": _METADATA_KEY},
        "additionalProperties": {"type": "string", "maxLength": 256}})
    client_state: str | None = Field(default=None, max_length=4096)
    sip_headers: dict[str, str] = Field(
        default_factory=dict, description="Custom X- headers for the outbound INVITE (at most 32).",
        json_schema_extra={
            "maxProperties": 32, "propertyNames": {"pattern": r"^X-[A-Za-z0-9-]{1,64}$"},
            "additionalProperties": {"type": "string", "maxLength": 512,
                                     "pattern": r"^[^\r\n]*$"}},
    )

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        if len(v) > 16:
            raise ValueError("metadata has at most 16 keys")
        for key, value in v.items():
            if not re.fullmatch(_METADATA_KEY, key):
                raise ValueError(f"metadata key {key!r} must match {_METADATA_KEY}")
            if len(value) > 256:
                raise ValueError(f"metadata value of {key!r} is longer than 256 characters")
        return v

    @field_validator("sip_headers")
    @classmethod
    def _x_headers(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        if len(v) > 32:
            raise ValueError("sip_headers has at most 32 headers")
        for key, value in v.items():
            if not re.fullmatch(r"X-[A-Za-z0-9-]{1,64}", key):
                raise ValueError(f"sip header {key!r} must be an X- header")
            if "\r" in value or "\n" in value or len(value) > 512:
                raise ValueError(f"sip header {key!r} has an invalid value")
        return v


class CallView(BaseModel):
    """A call as the API shows it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    app_id: str
    direction: Direction
    status: CallStatus
    from_: str = Field(alias="from")
    to: str
    from_channel: Channel
    to_channel: Channel
    agent_id: str | None
    agent: AgentSpec | None
    context: dict[str, Any] | None
    max_duration_s: int
    recording: bool
    webhook_url: str | None
    webhook_commands: bool = False
    stream: StreamSpec | None = None
    machine_detection: MachineDetection | None = None
    answered_by: str | None = Field(
        default=None, description="Who answered, once detected: human, machine, fax, silence.")
    early_media: str | None = Field(
        default=None, description="What the network played before an outbound call's answer "
        "(SIP 183 with SDP), classified: ringback, announcement, special_information_tone, "
        "silence. Set when the call ends; the `call.early_media` event tells it at once.")
    routing_rule: RoutingMatch | None = Field(
        default=None, description="The number's routing rule that took this inbound call.")
    duration_s: float | None
    end_reason: str | None
    sip_cause: int | None
    metadata: dict[str, str]
    client_state: str | None
    quality: dict[str, Any] | None
    metrics: dict[str, Any] | None
    session_id: str | None
    parent_call_id: str | None = Field(
        default=None, description="The call this leg was dialled for (a transfer target, a "
                                  "conference participant, click-to-call's second leg).")
    leg_purpose: str | None = Field(
        default=None, description="Why the leg was dialled: transfer, warm_transfer, "
                                  "conference, click_to_call, forward, browser_to_phone.")
    bridged_call_id: str | None = Field(
        default=None, description="The call whose audio this call is bridged to, while it is.")
    connect_to: str | None = Field(
        default=None, description="Click-to-call: the second party dialled once `to` answers.")
    connect_prompt: ConnectPrompt | None = None
    caller_id: str | None = Field(
        default=None, description="A browser's call to a phone (a webrtc session with `to`): "
                                  "the app's number its phone leg shows.")
    created_at: str
    scheduled_at: str | None
    started_at: str | None
    answered_at: str | None
    pre_answered_at: str | None = Field(
        default=None, description="When `pre_answer` started early media on this inbound "
        "call (SIP 183 with SDP; `call.early_media.started`). The status stays `initiated` "
        "until the answer (`answered_at`); a call rejected or left in early media has none.")
    ended_at: str | None

    @classmethod
    def of(cls, call: Call) -> CallView:
        data = call.model_dump(by_alias=False)
        data["id"] = data.pop("call_id")
        return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class CallList(BaseModel):
    """A page of calls, newest first; pass `next_cursor` as `cursor` for the next page."""

    data: list[CallView]
    limit: int
    offset: int
    next_cursor: str | None


class CallEventView(BaseModel):
    """One entry of a call's timeline; `data` is the call as it was after the event."""

    id: str
    type: str
    sequence: int
    created_at: str
    data: dict[str, Any]
    details: dict[str, Any] = Field(
        default_factory=dict, description="What is specific to this event (digit, sip cause...)."
    )

    @classmethod
    def of(cls, event: CallEvent) -> CallEventView:
        return cls(
            id=event.event_id,
            type=event.type,
            sequence=event.sequence,
            created_at=event.created_at,
            data=event.data,
            details=event.details,
        )


class CallEventList(BaseModel):
    """A call's timeline, in sequence order."""

    data: list[CallEventView]


class CallRequestMessage(BaseModel):
    """The body of a `call-requests` SQS message."""

    call_id: str
    app_id: str


class DispatchScheduledCommand(BaseModel):
    """The payload of a scheduled call's one-time EventBridge Scheduler schedule (the
    dispatch-scheduled function's event); other keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    call_id: str = Field(min_length=1, max_length=64)
    app_id: str = Field(min_length=1, max_length=64)


class CreateCallCommand(BaseModel):
    """The payload of a direct invoke of create-call, and the detail of a `voicelane.CreateCall`
    EventBridge event."""

    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(min_length=1, max_length=64)
    call: CreateCallRequest
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)

    @classmethod
    def from_event(cls, event: Any) -> tuple[CreateCallCommand, str]:
        """The command in a create-call event and where it came from (`eventbridge` or
        `invoke`). An EventBridge event without an idempotency_key uses its event id, so a
        redelivered event creates the call once."""
        if not isinstance(event, dict):
            raise ValidationFailed("the event must be a JSON object", code="invalid_event")
        if "detail-type" not in event:
            return cls.model_validate(event), "invoke"
        if event["detail-type"] != EVENT_BUS.create_call_detail_type:
            raise ValidationFailed(
                f"unexpected detail-type {event['detail-type']!r}",
                code="unsupported_event",
                details={"expected": EVENT_BUS.create_call_detail_type},
            )
        command = cls.model_validate(event.get("detail") or {})
        if command.idempotency_key is None and event.get("id"):
            command = command.model_copy(update={"idempotency_key": f"eventbridge:{event['id']}"})
        return command, "eventbridge"
