"""The media plane's one port to the control plane.

Everything a media node asks of the control plane goes through :class:`MediaGateway`: claim a
queued call or a media-stream session, apply a status transition with its event (the same conditional transaction and
outbox as the API), append an event, create an inbound call, the directory reads a call needs,
save a transcript or a recording, read an audio object, the ``call-requests`` queue, and the
node registry. Methods are synchronous (boto3 is); the media node runs them in worker threads.

Implementations: ``voicelane.adapters.media_gateway.ServiceMediaGateway`` over DynamoDB, SQS
and S3, and the same class over dictionaries in ``voicelane.adapters.memory_media_gateway``
(unit tests). A media node gets one from :func:`voicelane.media_gateway.aws.aws_media_gateway`
(or a test's container) and never imports the adapters.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.call_control import AppAnswer
from voicelane.domain.conference import Conference, ConferenceTrack
from voicelane.domain.errors import VoicelaneError
from voicelane.domain.models import Agent, App, Call, CallEvent, MediaNode, Number, Trunk

if TYPE_CHECKING:
    from voicelane.settings import Settings

RECORDING_SAMPLE_RATE = 8000  # of a recording whose WAV header cannot be read (G.711 calls)


def wav_sample_rate(wav: bytes) -> int:
    """The sample rate a WAV's header states (a call is recorded at its transport's rate),
    else :data:`RECORDING_SAMPLE_RATE`."""
    try:
        with wave.open(io.BytesIO(wav)) as w:
            return w.getframerate() or RECORDING_SAMPLE_RATE
    except (wave.Error, EOFError):
        return RECORDING_SAMPLE_RATE


class ObjectUnreadable(VoicelaneError):
    """An audio object could not be read: no such key, not an S3 key, too large, no access."""

    code = "object_unreadable"


@dataclass(frozen=True)
class CallRequest:
    """One received ``call-requests`` message: the call to dial (None when the body names
    none: delete it) and the handle that deletes or releases the message."""

    call_id: str | None
    receipt_handle: str


@dataclass(frozen=True)
class RecordingMetadata:
    """What is stored about a call's recording (served by GET /v1/calls/{id}/recording)."""

    call_id: str
    app_id: str
    s3_key: str
    duration_s: float
    size_bytes: int
    created_at: str
    channels: int = 2
    format: str = "wav"
    sample_rate: int = RECORDING_SAMPLE_RATE


@dataclass(frozen=True)
class TranscriptRecord:
    """A call's redacted agent transcript (served by GET /v1/calls/{id}/transcript).

    ``content`` is the transcript itself (``turns``, ``metrics``, ...) as the agent wrote it."""

    call_id: str
    app_id: str
    agent_id: str | None
    reason: str | None
    transferred_to: str | None
    created_at: str
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConferenceRoute:
    """Where a call a ``conference`` routing rule took goes: into ``conference`` on this node,
    or (``bridge_uri``) over a SIP leg to the node the conference lives on."""

    conference: Conference
    created: bool  # the call's rule created the conference just now
    bridge_uri: str | None = None


class MediaGateway(Protocol):
    """What a media node needs of the control plane (all methods block; run them in threads).

    Call writes follow the platform's invariants: every status change is a conditional write
    on a legal transition with its event in the same transaction, and events get gap-free
    sequences per call."""

    @property
    def settings(self) -> Settings:
        """The control plane's settings (stage, local mode, internal token)."""
        ...

    # -- calls --------------------------------------------------------------------------
    def get_call(self, call_id: str) -> Call | None: ...

    def claim(self, call_id: str, node_id: str) -> Call | None:
        """queued -> initiated with ``media_node = node_id``; None when the call is not (or no
        longer) queued: another node or an earlier delivery took it, or it was canceled."""
        ...

    def claim_session(self, session_id: str, token_claims: dict[str, Any],
                      node_id: str) -> Call | None:
        """Connect a media-stream session on ``node_id``: the claims of its verified token
        must name it; the session goes pending -> connected and its call queued -> initiated
        (conditional writes, so a token connects once). None when the token is another
        session's or app's, or the session was already connected, expired or canceled."""
        ...

    def transition(self, call_id: str, target: CallStatus, changes: dict[str, Any],
                   details: dict[str, Any], node_id: str | None = None) -> Call:
        """Move the call to ``target`` with its event. Raises IllegalTransition, Conflict
        (another node owns it, or it changed too fast) or NotFound."""
        ...

    def record_event(self, call_id: str, event_type: str,
                     details: dict[str, Any]) -> CallEvent:
        """Append a non-status event (DTMF, agent turn...). Raises Conflict or NotFound."""
        ...

    def record_bridge(self, call_id: str, bridged_call_id: str | None, event_type: str,
                      details: dict[str, Any]) -> CallEvent:
        """Set (or, with None, clear) the call's ``bridged_call_id`` and append its event in
        one write (``call.bridged`` / ``call.unbridged``). Raises Conflict or NotFound."""
        ...

    def record_pre_answer(self, call_id: str, details: dict[str, Any]) -> CallEvent:
        """Set the call's ``pre_answered_at`` and append ``call.early_media.started`` in one
        write (an inbound call's early media; its status does not change). Raises Conflict
        or NotFound."""
        ...

    def create_inbound(self, number: Number, caller: str, sip_headers: dict[str, str],
                       node_id: str) -> Call:
        """The inbound call record (initiated on ``node_id``) with its call.initiated event.
        Raises NotFound (``app_not_found``) when the number's app is missing and
        LimitExceeded when the app is at its concurrent-call cap."""
        ...

    def create_leg(self, parent_call_id: str, to: str, from_: str, node_id: str,
                   purpose: str, agent_id: str | None = None) -> Call:
        """An outbound leg for a live call (``parent_call_id``), initiated on ``node_id``, with
        its call.initiated event; it takes a concurrent-call slot of the parent's app. With
        ``agent_id`` the leg is that agent's seat in a conference (channel ``agent``). Raises
        NotFound (the parent or its app is gone) and LimitExceeded (the app is at its cap)."""
        ...

    def ask_app(self, call_id: str, sequence: int, fallback_url: str | None = None) -> AppAnswer:
        """POST the call's event ``sequence`` to the endpoint that answers with commands (or
        to ``fallback_url``) and return its validated answer (``no_target``: nobody opted in).
        Blocks for up to the answer timeout; the caller enforces its own deadline too."""
        ...

    # -- conferences (services/conferences.py: conditional writes with their events) ----

    def get_conference(self, conference_id: str) -> Conference | None: ...

    def open_conference(self, call_id: str, node_id: str) -> ConferenceRoute:
        """The conference the call's ``conference`` routing rule names (the app's conference
        of that name not ended, else a new one), if the call may join it now: here, or over
        a bridge to the conference's node. Raises Conflict (``conference_full``,
        ``conference_on_other_node`` when that node cannot be reached) and NotSupported (the
        call has no conference rule)."""
        ...

    def seat_bridge(self, user: str, node_id: str) -> tuple[Conference, Call]:
        """The conference and the caller's call a bridge INVITE's Request-URI user names, if
        the conference lives on ``node_id`` and may take the caller. Raises Unauthenticated
        (not a token we signed, or expired), NotFound and Conflict (with codes)."""
        ...

    def conference_left_reason(self, conference_id: str, call_id: str) -> str | None:
        """Why the call left the conference (``kicked``, ``conference_ended``...), if it did."""
        ...

    def join_conference(self, conference_id: str, call_id: str, node_id: str, *,
                        moderator: bool, muted: bool) -> Conference:
        """The call joins (the conference's node becomes ``node_id`` if it had none). Raises
        NotFound (``conference_not_found``) and Conflict (``conference_ended``,
        ``conference_on_other_node``, ``conference_full``, ``already_in_conference``)."""
        ...

    def leave_conference(self, conference_id: str, call_id: str,
                         reason: str) -> Conference | None:
        """The participant left (None: it had already)."""
        ...

    def set_conference_flag(self, conference_id: str, call_id: str, flag: str,
                            value: bool) -> Conference | None:
        """``muted`` or ``held`` of a participant, with its event (None: already so)."""
        ...

    def end_conference(self, conference_id: str, reason: str) -> Conference: ...

    def save_conference_recording(self, conference: Conference, wav: bytes,
                                  duration_s: float) -> RecordingMetadata:
        """Store the mixed WAV and its record; ``conference.recording.saved`` follows."""
        ...

    def save_conference_track(self, conference: Conference, call_id: str,
                              agent_id: str | None, wav: bytes, duration_s: float,
                              offset_s: float) -> ConferenceTrack:
        """Store one participant's track and its record; ``conference.recording.saved``
        (``kind`` track) follows."""
        ...

    # -- directory ----------------------------------------------------------------------
    def number(self, e164: str) -> Number | None: ...
    def app(self, app_id: str) -> App | None: ...
    def agent(self, app_id: str, agent_id: str) -> Agent | None: ...
    def trunks(self, app_id: str) -> list[Trunk]: ...

    # -- artifacts ----------------------------------------------------------------------
    def save_transcript(self, record: TranscriptRecord) -> None: ...

    def save_recording(self, call: Call, wav: bytes, duration_s: float) -> RecordingMetadata:
        """Store the WAV object and the record that points at it (its ``sample_rate`` the
        WAV header's)."""
        ...

    def read_object(self, key: str, max_bytes: int) -> bytes:
        """An object by key in the recordings bucket, or by ``s3://bucket/key``. Raises
        ObjectUnreadable (missing, malformed key, larger than ``max_bytes``, no access)."""
        ...

    # -- call-requests queue ------------------------------------------------------------
    def receive_requests(self, wait_s: int, max_messages: int) -> list[CallRequest]: ...
    def delete_request(self, receipt_handle: str) -> None: ...

    def release_request(self, receipt_handle: str) -> None:
        """Make a received request visible again at once (another node takes it)."""
        ...

    def pace_dial(self, call_id: str) -> int:
        """Seconds before the queued call may be dialled under its app's calls-per-second cap:
        0 when it took (or holds) a slot of this second, else the delay to the second reserved
        for it (services/pacing.py). A call or app not found: 0 (the claim sorts it out)."""
        ...

    def pace_leg(self, call_id: str, leg: str) -> int:
        """Seconds before a new ``leg`` of the live call ``call_id`` (a bridged transfer's
        INVITE) may be dialled: the same cap and counters as :meth:`pace_dial`, so every call
        Voicelane places counts. The slot is taken, or reserved ahead, by this call."""
        ...

    def defer_request(self, call_id: str, receipt_handle: str, delay_s: int) -> None:
        """Send the request for ``call_id`` again, visible after ``delay_s``, and delete the
        received one (a fresh message: deferring never counts toward the dead-letter queue)."""
        ...

    # -- node registry ------------------------------------------------------------------
    def register_node(self, node_id: str, internal_url: str, capacity: int,
                      sip_address: str) -> MediaNode: ...
    def heartbeat(self, node: MediaNode, live_calls: int, status: str) -> MediaNode: ...
    def deregister_node(self, node_id: str) -> None: ...
