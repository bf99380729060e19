"""Commands over the live event stream: what one WebSocket connection of an app may send.

Messages (JSON objects, docs/webhooks.md "Commands over the WebSocket"):

- ``{"type": "command", "call_id", "action", "command_id"?, ...body}``: the same command as
  ``POST /v1/calls/{id}/actions/{action}``, through the same :class:`CommandService` (same
  validation, tenancy, 409 rules, idempotency on ``command_id``); answered with
  ``{"type": "ack", ...CommandResult}``; its results arrive as events on the connection;
- ``{"type": "subscribe", "call_ids": [...] | "*"}`` / ``{"type": "unsubscribe", "call_ids":
  [...]}``: which of the app's calls' events the connection gets (all by default); a call of
  another app is ``call_not_found``, as through the API.

Errors raise the API's ``VoicelaneError`` (the transport answers ``{"type": "error", "code",
"message", "status", ...}`` with the REST API's code and HTTP status).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from voicelane.domain.errors import RateLimited, ValidationFailed, VoicelaneError
from voicelane.domain.models import ApiKey, App
from voicelane.domain.webhooks import event_matches
from voicelane.services.apps import AppService
from voicelane.services.calls import CallService
from voicelane.services.commands import CommandService
from voicelane.services.ratelimit import RateLimiter, RouteClass

MAX_SUBSCRIBED = 1000


class StreamSession:
    """The state of one connection: its app, its event filters, the calls it follows."""

    def __init__(self, app: App, commands: CommandService, calls: CallService,
                 types: list[str] | None = None, call_ids: set[str] | None = None,
                 count_command: Callable[[], None] | None = None) -> None:
        self.app = app
        # counts a command against the connecting key's `writes` limit, as the REST action
        # routes do (raises RateLimited, or Unauthenticated for a key revoked since)
        self.count_command = count_command
        self.commands = commands
        self.calls = calls
        self.types = types or ["*"]
        self.call_ids = call_ids  # None: every call of the app

    def wants(self, payload: dict[str, Any]) -> bool:
        """Whether an event of the app goes to this connection."""
        if not event_matches(str(payload.get("type")), self.types):
            return False
        if self.call_ids is None:
            return True
        data = payload.get("data") or {}
        return data.get("id") in self.call_ids

    def handle(self, message: Any) -> dict[str, Any]:
        """The reply to one message (blocking: a command goes to the call's media node)."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ValidationFailed('a message is an object with a "type"', code="invalid_message")
        kind = message["type"]
        if kind == "command":
            return self._command(message)
        if kind in ("subscribe", "unsubscribe"):
            return self._subscription(kind, message.get("call_ids"))
        raise ValidationFailed(f"unknown message type {kind!r}", code="invalid_message",
                               details={"types": ["command", "subscribe", "unsubscribe"]})

    def _command(self, message: dict[str, Any]) -> dict[str, Any]:
        call_id, action = message.get("call_id"), message.get("action")
        if not isinstance(call_id, str) or not isinstance(action, str):
            raise ValidationFailed("a command names its call_id and action",
                                   code="invalid_message")
        if self.count_command is not None:
            self.count_command()
        body = {k: v for k, v in message.items() if k not in ("type", "call_id", "action")}
        result = self.commands.execute(self.app, call_id, action, body)
        return {"type": "ack", **result}

    def _subscription(self, kind: str, call_ids: Any) -> dict[str, Any]:
        if call_ids == "*":
            self.call_ids = None if kind == "subscribe" else set()
            return {"type": f"{kind}d", "call_ids": "*" if kind == "subscribe" else []}
        if (not isinstance(call_ids, list) or not call_ids
                or not all(isinstance(c, str) for c in call_ids)):
            raise ValidationFailed('call_ids is a non-empty list of call ids, or "*"',
                                   code="invalid_message")
        if kind == "subscribe":
            current = set() if self.call_ids is None else self.call_ids
            wanted = current | set(call_ids)
            if len(wanted) > MAX_SUBSCRIBED:  # before any read: a long list costs nothing
                raise ValidationFailed(f"at most {MAX_SUBSCRIBED} calls per connection",
                                       code="too_many_subscriptions")
            for call_id in set(call_ids) - current:
                self.calls.get(self.app, call_id)  # call_not_found for another app's call
            self.call_ids = wanted
        elif self.call_ids is not None:
            self.call_ids -= set(call_ids)
        return {"type": f"{kind}d",
                "call_ids": "*" if self.call_ids is None else sorted(self.call_ids)}


def command_counter(limiter: RateLimiter, apps: AppService, app: App,
                    key: ApiKey | str) -> Callable[[], None]:
    """What a connection's commands count against: the `writes` rate limit of the key that
    connected, exactly as REST actions do. Given only a key id (a connection stored between
    Lambda invocations), the key is read again first, so a revoked key stops commanding."""

    def count() -> None:
        current = apps.live_key(app, key) if isinstance(key, str) else key
        limiter.check(app, current, RouteClass.WRITES)

    return count


def is_message(raw: str) -> bool:
    """Whether a frame is a message for :func:`reply_to` (else, e.g. a ping, it is not)."""
    try:
        message = json.loads(raw)
    except ValueError:
        return False
    return isinstance(message, dict) and "type" in message


def reply_to(session: StreamSession, raw: str,
             status_of: Callable[[VoicelaneError], int]) -> dict[str, Any]:
    """The answer to one frame: its reply, or the REST API's error (its code, and the HTTP
    status `status_of` gives it), echoing the message's command_id, call_id and action."""
    try:
        message = json.loads(raw)
    except ValueError:
        return {"type": "error", "code": "invalid_message", "message": "not JSON",
                "status": 422}
    try:
        return session.handle(message)
    except VoicelaneError as exc:
        echo = {k: message.get(k) for k in ("command_id", "call_id", "action")
                if isinstance(message, dict) and k in message}
        reply = {"type": "error", "code": exc.code, "message": exc.message,
                 "status": status_of(exc), "details": exc.details, **echo}
        if isinstance(exc, RateLimited):
            reply["retry_after_s"] = exc.retry_after_s
        return reply
