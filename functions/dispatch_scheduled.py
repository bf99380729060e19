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
    c = get_container()
    current = c.call_repo.get(command.call_id)
    if current is None or current.app_id != command.app_id:
        obs.count("DispatchSkipped")
        obs.logger.warning("scheduled call not found")
        return {"call_id": command.call_id, "dispatched": False, "status": None}
    queued = c.calls.dispatch_scheduled(command.call_id)
    if queued is None:
        obs.count("DispatchSkipped")
        latest = c.call_repo.get(command.call_id)
        status = latest.status.value if latest else None
        obs.logger.info("call is no longer scheduled", extra={"status": status})
        return {"call_id": command.call_id, "dispatched": False, "status": status}
    obs.count("ScheduledCallsDispatched")
    return {"call_id": command.call_id, "dispatched": True, "status": queued.status.value}


handler = instrument(obs, _dispatch)
