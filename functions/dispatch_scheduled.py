"""dispatch-scheduled: the target of the one-time EventBridge Scheduler schedule of a call.

Event: ``{"call_id": ..., "app_id": ...}``. A due scheduled call becomes queued (with its
event) and goes onto `call-requests`; a call that is no longer scheduled (canceled, already
dispatched) is left alone, so a repeated delivery changes nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from voicelane.contracts.calls import DispatchScheduledCommand
from voicelane.lambda_runtime import instrument, observability, validation_error_object

obs = observability("dispatch-scheduled")


def _dispatch(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    from voicelane.container import get_container

    try:
        command = DispatchScheduledCommand.model_validate(event)
    except ValidationError as exc:
        obs.count("DispatchRejected")
        return validation_error_object(exc)
    obs.logger.append_keys(call_id=command.call_id, app_id=command.app_id)
    outcome = get_container().calls.dispatch_scheduled(command.call_id, command.app_id)
    status = outcome.status.value if outcome.status else None
    if not outcome.found:
        obs.count("DispatchSkipped")
        obs.logger.warning("scheduled call not found")
    elif not outcome.dispatched:
        obs.count("DispatchSkipped")
        obs.logger.info("call is no longer scheduled", extra={"status": status})
    else:
        obs.count("ScheduledCallsDispatched")
    return {"call_id": command.call_id, "dispatched": outcome.dispatched, "status": status}

handler = instrument(obs, _dispatch)
