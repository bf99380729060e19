"""Call lifecycle: status transitions and timeline events, shared by every writer.

Both the control plane (cancel, scheduled dispatch) and the media plane (initiated, ringing,
answered, ended, DTMF...) go through here, so every change is a conditional write with its
event in the same transaction.
"""

from __future__ import annotations

from typing import Any

from voicelane.contracts.calls import CallView
from voicelane.domain.call import EVENT_FOR_STATUS, CallStatus, check_transition
from voicelane.domain.errors import Conflict, NotFound, StaleWrite
from voicelane.domain.ids import new_id
from voicelane.domain.models import Call, CallEvent
from voicelane.ports import CallRepository
from voicelane.services.clock import now_iso

MAX_RETRIES = 5


def make_event(call: Call, event_type: str, details: dict[str, Any] | None = None) -> CallEvent:
    """The next event of `call` (sequence = event_seq + 1), carrying the call as it is now."""
    return CallEvent(
        event_id=new_id("evt"),
        call_id=call.call_id,
        app_id=call.app_id,
        type=event_type,
        sequence=call.event_seq + 1,
        created_at=now_iso(),
        data=CallView.of(call).to_json(),
        details=details or {},
    )


class CallLifecycle:
    """Applies transitions with optimistic concurrency (re-read and retry when stale)."""

    def __init__(self, calls: CallRepository) -> None:
        self.calls = calls

    def load(self, call_id: str, app_id: str | None = None) -> Call:
        call = self.calls.get(call_id)
        if call is None or (app_id is not None and call.app_id != app_id):
            raise NotFound("call not found", code="call_not_found", details={"call_id": call_id})
        return call

    def transition(
        self,
        call_id: str,
        target: CallStatus,
        changes: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        *,
        expect_node: str | None = None,
        event_type: str | None = None,
    ) -> Call:
        """Move the call to `target` and record its event; IllegalTransition if not allowed."""
        for _ in range(MAX_RETRIES):
            call = self.load(call_id)
            check_transition(call.status, target)
            if expect_node is not None and call.media_node not in (None, expect_node):
                raise Conflict("the call belongs to another media node", code="not_owner")
            updated = call.model_copy(update={"status": target, **(changes or {})})
            event = make_event(updated, event_type or EVENT_FOR_STATUS[target], details)
            updated = updated.model_copy(update={"event_seq": event.sequence})
            try:
                self.calls.transition(call, target, changes or {}, event)
                return updated
            except StaleWrite:
                continue
        raise Conflict("the call is changing too fast; retry", code="concurrent_update")

    def record_event(
        self, call_id: str, event_type: str, details: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> CallEvent:
        """Append a non-status event (DTMF, playback, recording...) to the timeline; with
        `changes`, fields of the call (not its status) change in the same write."""
        for _ in range(MAX_RETRIES):
            call = self.load(call_id)
            shown = call.model_copy(update=changes) if changes else call
            event = make_event(shown, event_type, details)
            try:
                self.calls.append_event(call, event, changes)
                return event
            except StaleWrite:
                continue
        raise Conflict("the call is changing too fast; retry", code="concurrent_update")
