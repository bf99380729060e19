"""What the calls of a node need from the control plane (``node/control.py``'s ControlPlane
implements it). Owned here so ``calls/`` never imports the node that wires it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.call_control import AppAnswer
from voicelane.domain.conference import Conference
from voicelane.domain.models import Agent, App, Call, CallEvent, Number
from voicelane.domain.stream import StreamSpec
from voicelane.media_gateway import ConferenceRoute
from voicelane.settings import Settings

from voicelane_media.transports.base import CallEvents, Transport

UrlGuard = Callable[[str], Awaitable[None]]  # raises ValueError for a URL not to connect to


class ControlPort(Protocol):
    """The control-plane methods live calls use (state changes, events, lookups, storage)."""

    @property
    def settings(self) -> Settings:
        """The control plane's settings (local mode decides whether metrics are emitted)."""
        ...

    async def claim(self, call_id: str) -> Call | None: ...

    async def transition(self, call_id: str, target: CallStatus,
                         changes: dict[str, Any] | None = None,
                         details: dict[str, Any] | None = None) -> Call | None: ...

    async def record_event(self, call_id: str, event_type: str,
                           details: dict[str, Any] | None = None) -> CallEvent | None: ...

    async def record_bridge(self, call_id: str, bridged_call_id: str | None, event_type: str,
                            details: dict[str, Any]) -> CallEvent | None:
        """Set (None: clear) the call's ``bridged_call_id`` with its event, in one write."""
        ...

    async def record_pre_answer(self, call_id: str,
                                details: dict[str, Any]) -> CallEvent | None:
        """Set the call's ``pre_answered_at`` with its ``call.early_media.started`` event, in
        one write (the status does not change: the call is not answered)."""
        ...

    async def ask_app(self, call_id: str, sequence: int,
                      fallback_url: str | None) -> AppAnswer:
        """The app's answer with commands to the call's event ``sequence`` (never raises; a
        deadline past the answer timeout gives ``failed``/``webhook_timeout``)."""
        ...

    async def number(self, e164: str) -> Number | None: ...

    async def create_inbound(self, number: Number, caller: str,
                             sip_headers: dict[str, str]) -> Call: ...

    async def create_leg(self, parent: Call, to: str, from_: str, purpose: str,
                         agent_id: str | None = None) -> Call:
        """A new outbound call record for a leg ``parent`` dials, initiated on this node
        (with ``agent_id``: that agent's seat in a conference, channel ``agent``)."""
        ...

    async def agent(self, app_id: str, agent_id: str) -> Agent | None: ...

    async def open_conference(self, call_id: str) -> ConferenceRoute:
        """The conference the call's routing rule names, found or created, if the call may
        join it: here, or over a bridge to its node (Conflict with a code otherwise)."""
        ...

    async def conference_left_reason(self, conference_id: str, call_id: str) -> str | None:
        """Why the call left the conference (None: it has not, or unknown)."""
        ...

    async def join_conference(self, conference_id: str, call_id: str, *, moderator: bool,
                              muted: bool) -> Conference:
        """The call joins on this node (conditional write; Conflict/NotFound with codes)."""
        ...

    async def leave_conference(self, conference_id: str, call_id: str,
                               reason: str) -> Conference | None: ...

    async def set_conference_flag(self, conference_id: str, call_id: str, flag: str,
                                  value: bool) -> Conference | None: ...

    async def end_conference(self, conference_id: str, reason: str) -> Conference | None: ...

    async def save_conference_recording(self, conference: Conference, wav: bytes,
                                        duration_s: float) -> None: ...

    async def save_conference_track(self, conference: Conference, call_id: str,
                                    agent_id: str | None, wav: bytes, duration_s: float,
                                    offset_s: float) -> None:
        """One participant's track of the conference recording (``offset_s`` into the mix)."""
        ...

    async def allows_private_urls(self, app_id: str) -> bool: ...

    async def app(self, app_id: str) -> App | None:
        """The call's app (its destination allow-list governs every number the node dials)."""
        ...

    async def save_recording(self, call: Call, wav: bytes, duration_s: float) -> str: ...

    async def save_transcript(self, call: Call, content: dict[str, Any], reason: str | None,
                              transferred_to: str | None) -> None: ...

    async def read_object(self, key: str, max_bytes: int) -> bytes: ...

    async def receive_requests(self, wait_s: int, max_messages: int) -> list[dict[str, Any]]: ...

    async def delete_request(self, receipt_handle: str) -> None: ...

    async def pace_dial(self, call_id: str) -> int:
        """Seconds before the call may be dialled under its app's calls-per-second cap."""
        ...

    async def pace_leg(self, call_id: str, leg: str) -> int:
        """Seconds before a new leg of a live call may be dialled under the cap (its slot is
        taken or reserved now)."""
        ...

    async def defer_request(self, call_id: str, receipt_handle: str, delay_s: int) -> None: ...

    async def release_requests(self, messages: list[dict[str, Any]]) -> None: ...

    def call_id_of(self, message: dict[str, Any]) -> str | None: ...


class BotStreamHandle(Protocol):
    """One stream of a call to a customer's bot (``transports/ws/bot_stream.py``)."""

    stream_id: str

    async def run(self) -> None:
        """Connect, stream, reconnect within the budget; report ``call.streaming.*``."""
        ...

    def stop(self, reason: str = "stream_stop") -> None: ...


class BotStreamFactory(Protocol):
    """Makes a call's stream to a bot (the node plugs in the WebSocket one)."""

    def __call__(self, call: CallEvents, transport: Transport, spec: StreamSpec,
                 stream_id: str, guard: UrlGuard) -> BotStreamHandle: ...
