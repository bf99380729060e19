"""create-call: create a call from an event instead of the HTTP API.

Two event shapes, told apart by their keys:
- a direct Lambda invoke, ``{"app_id": ..., "call": {create-call body}, "idempotency_key": ...}``
  (IAM on lambda:InvokeFunction is the auth: the caller names the app);
- an EventBridge event with detail-type ``voicelane.CreateCall`` whose ``detail`` is the same
  object. Without an idempotency_key the event id is used, so a redelivered event creates the
  call once.

Returns the call as the API shows it (``CallView``) or ``{"error": {code, message, details}}``
for input that can never succeed. A transient failure (queue unavailable) raises, so the
asynchronous invoke or the EventBridge rule retries.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from voicelane.contracts.calls import CallView, CreateCallCommand
from voicelane.domain.errors import Unavailable, VoicelaneError
from voicelane.lambda_runtime import (
    error_object,
    instrument,
    observability,
    validation_error_object,
)

obs = observability("create-call")


def _create(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    from voicelane.container import get_container

    try:
        command, source = CreateCallCommand.from_event(event)
        obs.logger.append_keys(app_id=command.app_id, source=source)
        c = get_container()
        app = c.apps.get_app(command.app_id)
        # An event is never refused for the CPS cap: over it the call is queued with a delay.
        call, created = c.calls.create(app, command.call, command.idempotency_key,
                                       queued_by_event=True)
    except ValidationError as exc:
        obs.count("CreateCallRejected")
        obs.logger.warning("invalid create-call event", extra={"errors": exc.errors()})
        return validation_error_object(exc)
    except Unavailable:
        obs.count("CreateCallRetried")
        raise
    except VoicelaneError as exc:
        obs.count("CreateCallRejected")
        obs.logger.warning("create-call refused", extra={"code": exc.code})
        return error_object(exc)
    obs.count("CallsCreated" if created else "CreateCallReplayed")
    obs.logger.info("call created", extra={"call_id": call.call_id, "replayed": not created})
    return CallView.of(call).to_json()


handler = instrument(obs, _create)
