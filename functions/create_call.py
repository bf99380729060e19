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

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from voicelane.contracts.calls import CallView, CreateCallRequest
from voicelane.domain.errors import Unavailable, ValidationFailed, VoicelaneError
from voicelane.lambda_runtime import (
    error_object,
    instrument,
    observability,
    validation_error_object,
)
from voicelane.resources import EVENT_BUS

obs = observability("create-call")


class CreateCallCommand(BaseModel):
    """The payload of a direct invoke, and the detail of a `voicelane.CreateCall` event."""

    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(min_length=1, max_length=64)
    call: CreateCallRequest
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


def parse(event: dict[str, Any]) -> tuple[CreateCallCommand, str]:
    """The command in `event` and where it came from (`eventbridge` or `invoke`)."""
    if not isinstance(event, dict):
        raise ValidationFailed("the event must be a JSON object", code="invalid_event")
    if "detail-type" in event:
        if event["detail-type"] != EVENT_BUS.create_call_detail_type:
            raise ValidationFailed(
                f"unexpected detail-type {event['detail-type']!r}",
                code="unsupported_event",
                details={"expected": EVENT_BUS.create_call_detail_type},
            )
        command = CreateCallCommand.model_validate(event.get("detail") or {})
        if command.idempotency_key is None and event.get("id"):
            command = command.model_copy(update={"idempotency_key": f"eventbridge:{event['id']}"})
        return command, "eventbridge"
    return CreateCallCommand.model_validate(event), "invoke"


def _create(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    from voicelane.container import get_container

    try:
        command, source = parse(event)
        obs.logger.append_keys(app_id=command.app_id, source=source)
        c = get_container()
        app = c.apps.get_app(command.app_id)
        call, created = c.calls.create(app, command.call, command.idempotency_key)
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
