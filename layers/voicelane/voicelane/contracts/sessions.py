"""Sessions API contracts: browser (webrtc) and bring-your-own-telephony websocket sessions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from voicelane.domain.agent import AgentSpec
from voicelane.domain.ids import IDENTIFIER_PATTERN
from voicelane.domain.storable import JSON_INTEGER, CallContext, JsonInt
from voicelane.domain.stream import STREAM_SAMPLE_RATES
from voicelane.domain.webrtc import IceServer


class ConnectionType(StrEnum):
    """How the media reaches the session: a browser (WebRTC) or a WebSocket media stream in
    a provider's dialect (twilio, telnyx, plivo) or ours (websocket)."""

    WEBRTC = "webrtc"
    TWILIO = "twilio"
    TELNYX = "telnyx"
    PLIVO = "plivo"
    WEBSOCKET = "websocket"


class CreateSessionRequest(BaseModel):
    """A media session: the call it becomes, and what runs on it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={"allOf": [
        {"if": {"properties": {"connection_type": {"const": "websocket"}}},
         "then": {"properties": {"sample_rate": {"enum": [*STREAM_SAMPLE_RATES, None]}}},
         "else": {"properties": {"sample_rate": {"enum": [8000, None]}}}},
    ]})

    connection_type: ConnectionType
    sample_rate: JsonInt | None = Field(default=None, description="websocket only: 8000, 16000 (default), 24000 or 48000")
    agent_id: str | None = Field(default=None, max_length=64)
    agent: AgentSpec | None = None
    context: CallContext | None = None
    identity: str = Field(default="web-user", pattern=IDENTIFIER_PATTERN)
    max_duration_s: Annotated[int, Field(ge=60, le=7200), JSON_INTEGER] | None = None
    recording: StrictBool | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=16)
    client_state: str | None = Field(default=None, max_length=4096)
    to: str | None = Field(
        default=None, max_length=32,
        description="webrtc: the phone number (E.164) the browser calls. Once the browser "
                    "connects, the node dials it through the app's trunks (the destination "
                    "allow-list applies) and bridges the two; no agent runs on such a session.")
    from_: str | None = Field(
        default=None, alias="from", max_length=32,
        description="With `to`: the app's number (E.164) the phone sees as the caller.")

    @model_validator(mode="after")
    def _rate(self) -> CreateSessionRequest:
        if self.connection_type == ConnectionType.WEBSOCKET:
            if self.sample_rate is None:
                self.sample_rate = 16000
            if self.sample_rate not in STREAM_SAMPLE_RATES:
                raise ValueError(f"sample_rate must be one of {STREAM_SAMPLE_RATES}")
        elif self.sample_rate not in (None, 8000):
            raise ValueError("sample_rate applies to websocket sessions only")
        return self


class TelnyxStreaming(BaseModel):
    """The parameters to put in Telnyx's ``streaming_start`` command (or on a dial)."""

    stream_url: str
    stream_track: str = "inbound_track"
    stream_bidirectional_mode: str = "rtp"
    stream_bidirectional_codec: str = "PCMU"


class ConnectInstructions(BaseModel):
    """What to paste into the provider (or a client) so its stream reaches this session.

    The token rides in the URL's query string, except for Twilio, whose stream URL takes no
    query string: there it is a ``<Parameter name="token">`` of the TwiML (the stream's
    ``start`` message carries it as a custom parameter)."""

    url: str = Field(description="The wss:// URL to connect to (token included, Twilio aside).")
    twiml: str | None = Field(default=None, description="twilio: <Connect><Stream> TwiML.")
    plivo_xml: str | None = Field(default=None, description="plivo: <Stream bidirectional> XML.")
    telnyx: TelnyxStreaming | None = Field(default=None,
                                           description="telnyx: streaming_start parameters.")


class SessionView(BaseModel):
    """A session as the API shows it: where to connect and (once) the token to connect with."""

    id: str
    call_id: str
    connection_type: ConnectionType
    sample_rate: int | None
    connect_url: str = Field(description=(
        "Stream sessions: the wss:// URL of the media stream. webrtc: the signalling URL "
        "(POST the SDP offer as application/sdp with the token as Bearer; 201 with the SDP "
        "answer and a Location to DELETE to hang up)."))
    token: str | None = Field(default=None, description="Returned once, at creation.")
    ice_servers: list[IceServer] | None = Field(
        default=None, description="webrtc: the RTCConfiguration.iceServers to use (STUN/TURN).")
    instructions: ConnectInstructions | None = Field(
        default=None, description="Stream sessions, at creation: what to give the provider.")
    expires_at: str
    created_at: str
    status: str


class CreateClientTokenRequest(BaseModel):
    """A browser identity's registration: the softphone that holds it rings for calls to
    numbers routed to that identity (a number's ``client``)."""

    model_config = ConfigDict(extra="forbid")

    identity: str = Field(pattern=IDENTIFIER_PATTERN, description="The browser identity, e.g. alice")
    ttl_s: Annotated[int, Field(ge=60, le=86400), JSON_INTEGER] | None = Field(
        default=None, description="Token lifetime (default VOICELANE_CLIENT_TOKEN_TTL_S, 3600)")


class ClientTokenView(BaseModel):
    """What the customer's backend hands its browser: never an API key."""

    identity: str
    token: str = Field(description="Bearer for the registration WebSocket and for answering.")
    register_url: str = Field(description=(
        "The WebSocket to hold open (append ?token=...): the node sends {type: incoming, "
        "call_id, from, to, answer_url} for each call, the browser answers by POSTing an SDP "
        "offer to answer_url (Bearer token) or sends {type: reject, call_id}."))
    ice_servers: list[IceServer]
    expires_at: str
