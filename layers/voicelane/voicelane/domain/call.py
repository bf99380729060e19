"""The call state machine and the events its transitions produce."""

from __future__ import annotations

from enum import StrEnum

from voicelane.domain.errors import IllegalTransition


class CallStatus(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELED = "canceled"
    VOICEMAIL = "voicemail"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Channel(StrEnum):
    PSTN = "pstn"
    WEBRTC = "webrtc"
    WEBSOCKET = "websocket"
    WHATSAPP = "whatsapp"
    AGENT = "agent"  # an AI agent's seat in a conference (a leg made on the media node)


S = CallStatus

TERMINAL: frozenset[CallStatus] = frozenset(
    {S.COMPLETED, S.FAILED, S.BUSY, S.NO_ANSWER, S.CANCELED, S.VOICEMAIL}
)

# Calls that hold a slot of the app's concurrent-call cap.
ACTIVE: frozenset[CallStatus] = frozenset({S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS})

# Calls a media node holds (claimed and not ended).
LIVE: frozenset[CallStatus] = frozenset({S.INITIATED, S.RINGING, S.IN_PROGRESS})

TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    S.SCHEDULED: frozenset({S.QUEUED, S.CANCELED, S.FAILED}),
    S.QUEUED: frozenset({S.INITIATED, S.CANCELED, S.FAILED}),
    S.INITIATED: frozenset(
        {S.RINGING, S.IN_PROGRESS, S.FAILED, S.BUSY, S.NO_ANSWER, S.CANCELED}
    ),
    S.RINGING: frozenset({S.IN_PROGRESS, S.FAILED, S.BUSY, S.NO_ANSWER, S.CANCELED, S.VOICEMAIL}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.VOICEMAIL}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.BUSY: frozenset(),
    S.NO_ANSWER: frozenset(),
    S.CANCELED: frozenset(),
    S.VOICEMAIL: frozenset(),
}

# Initial statuses a call record may be created in.
INITIAL: frozenset[CallStatus] = frozenset({S.QUEUED, S.SCHEDULED, S.INITIATED})

EVENT_FOR_STATUS: dict[CallStatus, str] = {
    S.QUEUED: "call.queued",
    S.SCHEDULED: "call.scheduled",
    S.INITIATED: "call.initiated",
    S.RINGING: "call.ringing",
    S.IN_PROGRESS: "call.answered",
    S.COMPLETED: "call.completed",
    S.FAILED: "call.failed",
    S.BUSY: "call.busy",
    S.NO_ANSWER: "call.no_answer",
    S.CANCELED: "call.canceled",
    S.VOICEMAIL: "call.voicemail",
}


def can_transition(current: CallStatus, target: CallStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: CallStatus, target: CallStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is an edge of the state machine."""
    if not can_transition(current, target):
        raise IllegalTransition(
            f"a {current.value} call cannot become {target.value}",
            details={"from": current.value, "to": target.value},
        )


def is_terminal(status: CallStatus) -> bool:
    return status in TERMINAL
