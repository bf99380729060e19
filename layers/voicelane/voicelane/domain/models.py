"""Stored records of the control plane (apps, keys, numbers, agents, calls, events)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voicelane.domain.agent import AgentSpec
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.call_control import CommandFallback
from voicelane.domain.machine_detection import MachineDetection
from voicelane.domain.routing import RoutingMatch, RoutingRule
from voicelane.domain.stream import StreamSpec
from voicelane.domain.transfer import ConnectPrompt


class RateLimits(BaseModel):
    """Requests per minute per API key and route class."""

    model_config = ConfigDict(extra="forbid")

    create_call: int = Field(default=10, ge=1, le=100_000)
    sessions: int = Field(default=30, ge=1, le=100_000)
    reads: int = Field(default=60, ge=1, le=100_000)
    lists: int = Field(default=30, ge=1, le=100_000)
    writes: int = Field(default=60, ge=1, le=100_000)


class App(BaseModel):
    app_id: str
    name: str
    created_at: str
    max_concurrent_calls: int = 10
    active_calls: int = 0
    destination_allow_list: list[str] | None = None
    # Calls placed per second (None: the platform's VOICELANE_CALLS_PER_SECOND, default 1).
    calls_per_second: int | None = Field(default=None, ge=1, le=1000)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    allow_private_webhooks: bool = False


class ApiKey(BaseModel):
    key_id: str
    app_id: str
    mode: str  # test | live
    key_hash: str
    prefix: str  # first characters, for display
    created_at: str
    revoked: bool = False


class Number(BaseModel):
    number: str
    app_id: str
    agent_id: str | None = None
    client: str | None = None  # inbound calls ring this browser identity (a softphone)
    stream: StreamSpec | None = None  # every inbound call to the number streams to a bot
    command_fallback: CommandFallback | None = None  # when the app's answer does not come
    routing: list[RoutingRule] | None = None  # ordered rules; none match: the fields above
    created_at: str


class Agent(AgentSpec):
    agent_id: str
    app_id: str
    created_at: str
    updated_at: str


class Call(BaseModel):
    """A call as stored. `event_seq` is the sequence of its latest event (gap-free)."""

    call_id: str
    app_id: str
    direction: Direction
    status: CallStatus
    from_: str = Field(alias="from")
    to: str
    from_channel: Channel
    to_channel: Channel
    agent_id: str | None = None
    agent: AgentSpec | None = None
    context: dict[str, Any] | None = None
    max_duration_s: int = 600
    recording: bool = False
    webhook_url: str | None = None
    webhook_commands: bool = False  # answers from webhook_url may carry commands
    stream: StreamSpec | None = None  # started when the call is answered
    machine_detection: MachineDetection | None = None  # the call's, else its agent's at creation
    answered_by: str | None = None  # human | machine | fax | silence, once detected
    early_media: str | None = None  # what a 183 played before the answer, classified
    routing_rule: RoutingMatch | None = None  # the number's rule that took an inbound call
    metadata: dict[str, str] = Field(default_factory=dict)
    client_state: str | None = None
    duration_s: float | None = None
    end_reason: str | None = None
    sip_cause: int | None = None
    created_at: str
    scheduled_at: str | None = None
    started_at: str | None = None
    answered_at: str | None = None
    pre_answered_at: str | None = None  # an inbound call's early media began (pre_answer, 183)
    ended_at: str | None = None
    media_node: str | None = None
    session_id: str | None = None
    parent_call_id: str | None = None  # the call this leg was dialled for (transfer, conference...)
    leg_purpose: str | None = None  # why: transfer, warm_transfer, conference, click_to_call...
    bridged_call_id: str | None = None  # the leg this call's audio is bridged to, while it is
    connect_to: str | None = None  # click-to-call: the second party, dialled once this answers
    connect_prompt: ConnectPrompt | None = None  # what the first party hears before that
    caller_id: str | None = None  # a browser's call to a phone: the app's number the phone sees
    sip_headers: dict[str, str] | None = None
    quality: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    event_seq: int = 0

    model_config = ConfigDict(populate_by_name=True)


class CallEvent(BaseModel):
    """One entry of a call's timeline, written in the same transaction as its state change."""

    event_id: str
    call_id: str
    app_id: str
    type: str
    sequence: int
    created_at: str
    data: dict[str, Any] = Field(default_factory=dict, description="The call as the API shows it.")
    details: dict[str, Any] = Field(
        default_factory=dict, description="What is specific to this event (digit, sip cause...)."
    )


class MediaNode(BaseModel):
    """A media-plane process: where live commands for its calls are sent."""

    node_id: str
    internal_url: str
    sip_address: str | None = None
    capacity: int = 100
    live_calls: int = 0
    status: str = "active"  # active | draining
    started_at: str
    heartbeat_at: float  # epoch seconds


class Trunk(BaseModel):
    """A SIP trunk of an app; outbound PSTN calls try trunks in priority order."""

    trunk_id: str
    app_id: str
    name: str
    host: str
    port: int = 5060
    transport: str = "udp"  # udp | tcp | tls
    username: str | None = None
    password: str | None = None
    priority: int = 10
    # Where the carrier's INVITEs come from (IP networks), besides the address of `host`:
    # inbound calls to the app's numbers from anywhere else are refused with 403.
    inbound_addresses: list[str] = Field(default_factory=list)
    # SDES-SRTP (RFC 4568): off | optional (SRTP when the peer takes it) | mandatory (never
    # plain RTP: plain offers are refused with 488, our offers are RTP/SAVP only).
    srtp: str = "off"
    # Codecs offered and accepted on this trunk, most preferred first (voicelane.domain.codecs);
    # None: the media node's default (G.711).
    codecs: list[str] | None = None
    created_at: str
    updated_at: str | None = None
