"""Commands in webhook answers: ask the app synchronously, read its answer, validate it whole.

The media node calls :meth:`AnswerService.ask` (through its gateway) at the events where a call
waits for the app (``domain.call_control.asks_app``). The POST is the same Standard Webhooks
delivery the dispatcher would make (same body, same ``webhook-id``, same secrets), made once,
with the short answer timeout, and recorded as the event's delivery to that endpoint (the
router leaves that pair alone). Only the answer to this POST counts: a later attempt or a
redelivery of the same delivery is an ordinary webhook whose body is never read.

When that one POST fails (timeout, error status, unreachable), the call goes on with its
fallback at once, and the delivery is handed to the dispatcher as a retry (``queue``), so the
app still receives the event at least once, like every other event; the retry's answer is
never read. A number's fallback URL is only ever asked, never retried.
"""

from __future__ import annotations

import json
import time
from typing import Any

from voicelane.domain.call_control import (
    ENDS_A_LIST,
    FALLBACK_ENDPOINT_ID,
    MAX_COMMANDS,
    AppAnswer,
    CommandTarget,
    command_target,
)
from voicelane.domain.errors import ValidationFailed, VoicelaneError
from voicelane.domain.models import App, Call, CallEvent
from voicelane.domain.webhooks import (
    CALL_ENDPOINT_ID,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    delivery_id_for,
    payload_of,
    signature_header,
)
from voicelane.services.clock import now_iso
from voicelane.services.commands import check_command, parse_command
from voicelane.services.url_guard import check_url
from voicelane.services.webhooks import ensure_call_endpoint
from voicelane.webhook_ports import (
    DeliveryQueue,
    HttpResult,
    Resolver,
    WebhookRepository,
    WebhookSender,
)


def event_body(event: CallEvent) -> str:
    """The exact JSON the router would post for `event` (so both paths sign the same bytes)."""
    return json.dumps(payload_of(event.model_dump()), separators=(",", ":"), sort_keys=True)


def _failed(webhook_id: str, reason: str, latency_ms: int = 0, **details: Any) -> AppAnswer:
    return AppAnswer("failed", webhook_id, reason=reason, details=details, latency_ms=latency_ms)


def read_answer(app: App, call: Call, webhook_id: str, result: HttpResult,
                resolver: Resolver | None) -> AppAnswer:
    """The commands of a receiver's answer, validated as a whole (nothing runs if one is bad).

    204 or an empty 2xx body: no commands. A 2xx JSON object ``{"commands": [...]}`` (and, if
    it names one, the same ``webhook_id`` as the request): the commands. Anything else fails
    with a reason: ``webhook_timeout``, ``webhook_unreachable``, ``webhook_status``,
    ``invalid_answer``, ``answer_mismatch``, ``invalid_command``."""
    ms = result.latency_ms
    if result.status_code is None:
        reason = "webhook_timeout" if (result.error or "").startswith("timeout") else "webhook_unreachable"
        return _failed(webhook_id, reason, ms, error=result.error)
    if not 200 <= result.status_code < 300:
        return _failed(webhook_id, "webhook_status", ms, status_code=result.status_code)
    if result.status_code == 204 or not result.body.strip():
        return AppAnswer("commands", webhook_id, latency_ms=ms)
    try:
        answer = json.loads(result.body)
    except (ValueError, UnicodeDecodeError):
        return _failed(webhook_id, "invalid_answer", ms, message="the answer is not JSON")
    if not isinstance(answer, dict) or not isinstance(answer.get("commands"), list):
        return _failed(webhook_id, "invalid_answer", ms,
                       message='the answer must be {"commands": [...]} (or empty)')
    if answer.get("webhook_id") not in (None, webhook_id):
        return _failed(webhook_id, "answer_mismatch", ms,
                       message="the answer names another webhook-id")
    items: list[Any] = answer["commands"]
    if len(items) > MAX_COMMANDS:
        return _failed(webhook_id, "invalid_answer", ms,
                       message=f"at most {MAX_COMMANDS} commands in one answer")
    commands: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        action = item.get("action") if isinstance(item, dict) else None
        if not isinstance(action, str):
            return _failed(webhook_id, "invalid_command", ms, index=index, code="invalid_command",
                           message="each command is an object with an action")
        if commands and commands[-1]["action"] in ENDS_A_LIST:
            return _failed(webhook_id, "invalid_command", ms, index=index, action=action,
                           code="command_after_end",
                           message=f"nothing may follow {commands[-1]['action']}")
        body = {k: v for k, v in item.items() if k != "action"}
        try:
            parsed = parse_command(action, body)
            check_command(app, call, parsed, resolver)
        except VoicelaneError as exc:
            return _failed(webhook_id, "invalid_command", ms, index=index, action=action,
                           code=exc.code, message=str(exc), errors=exc.details)
        commands.append({"action": action, **parsed.model_dump(exclude_none=True)})
    return AppAnswer("commands", webhook_id, commands, latency_ms=ms)


class AnswerService:
    """Asks the app (or a number's fallback URL) for a call's next commands."""

    def __init__(self, repo: WebhookRepository, sender: WebhookSender, resolver: Resolver,
                 timeout_s: float, clock: Any = time.time,
                 queue: DeliveryQueue | None = None) -> None:
        self.queue = queue  # where a failed ask becomes an ordinary retried delivery
        self.repo = repo
        self.sender = sender
        self.resolver = resolver
        self.timeout_s = timeout_s
        self.clock = clock

    def target(self, event: CallEvent, fallback_url: str | None) -> CommandTarget | None:
        if fallback_url:
            return CommandTarget(FALLBACK_ENDPOINT_ID, fallback_url)
        return command_target(event.type, event.data, self.repo.list_endpoints(event.app_id))

    def ask(self, app: App, call: Call, event: CallEvent,
            fallback_url: str | None = None) -> AppAnswer:
        """POST `event` to the call's command endpoint (or `fallback_url`) and read the answer.

        ``no_target`` when nobody opted in; never raises for the receiver's faults."""
        target = self.target(event, fallback_url)
        if target is None:
            return AppAnswer("no_target")
        webhook_id = delivery_id_for(event.event_id, target.endpoint_id)
        now = self.clock()
        if target.endpoint_id in (CALL_ENDPOINT_ID, FALLBACK_ENDPOINT_ID):
            secrets = ensure_call_endpoint(self.repo, app.app_id).active_secrets(now)
        else:
            endpoint = self.repo.get_endpoint(app.app_id, target.endpoint_id)
            secrets = endpoint.active_secrets(now) if endpoint else []
        body = event_body(event)
        try:
            ip = check_url(target.url, self.resolver, allow_private=app.allow_private_webhooks,
                           require_https=False)
        except ValidationFailed as exc:
            self._record(target, webhook_id, event, body,
                         HttpResult(None, 0, f"webhook_url_not_allowed: {exc.details['reason']}"))
            return _failed(webhook_id, "webhook_url_not_allowed", reason_detail=exc.details)
        timestamp = int(now)
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": signature_header(secrets, webhook_id, timestamp, body)}
        result = self.sender.post(target.url, ip, body, headers, self.timeout_s)
        self._record(target, webhook_id, event, body, result)
        return read_answer(app, call, webhook_id, result, self.resolver)

    def _record(self, target: CommandTarget, webhook_id: str, event: CallEvent, body: str,
                result: HttpResult) -> None:
        """The attempt, as the event's delivery to that endpoint (deliveries API shows it)."""
        at = now_iso()
        ok = result.status_code is not None and 200 <= result.status_code < 300
        attempt = DeliveryAttempt(attempt=1, at=at, status_code=result.status_code,
                                  latency_ms=result.latency_ms, error=result.error)
        retry = (not ok and self.queue is not None and target.endpoint_id != FALLBACK_ENDPOINT_ID
                 and not (result.error or "").startswith("webhook_url_not_allowed"))
        if ok:
            outcome: dict[str, Any] = {"status": DeliveryStatus.DELIVERED, "delivered_at": at}
        elif retry:
            outcome = {"status": DeliveryStatus.RETRYING, "next_attempt_at": at}
        else:
            outcome = {"status": DeliveryStatus.FAILED, "failed_at": at}
        created = self.repo.create_delivery(Delivery(
            delivery_id=webhook_id, app_id=event.app_id, endpoint_id=target.endpoint_id,
            event_id=event.event_id, event_type=event.type, call_id=event.call_id,
            url=target.url, body=body, created_at=at, attempts=[attempt], **outcome))
        if retry and created is None and self.queue is not None:  # None: newly created
            self.queue.send([webhook_id])
