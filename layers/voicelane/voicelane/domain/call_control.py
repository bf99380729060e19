"""Call control over the event channels: which events ask the app for commands, who is asked,
what a command list may hold, and what happens when the app does not answer.

Pure rules (no I/O), shared by the event router (which must not deliver an event twice to the
endpoint that was asked synchronously), the control-plane service that asks, and the media node
that runs the answer. See docs/webhooks.md, "Commands in the webhook answer".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicelane.domain.routing import DIALLING_ACTIONS
from voicelane.domain.transfer import TARGET_PATTERN
from voicelane.domain.webhooks import (
    CALL_ENDPOINT_ID,
    URL_PATTERN,
    WebhookEndpoint,
    event_matches,
)

# Actions that make sense before a call is answered (inbound ringing, outbound dialling).
PRE_ANSWER = frozenset({"answer", "pre_answer", "reject", "hangup"})
# What an inbound call in early media (after `pre_answer`: 183 with SDP, media flowing toward
# the caller, not answered) may also do before its answer.
EARLY_MEDIA = frozenset({"play", "speak"})
# After one of these nothing else of the same answer can run (the call ends, leaves, or waits
# for input whose result is its own event, call.gather.ended, answered in turn).
ENDS_A_LIST = frozenset({"hangup", "reject", "transfer", "warm_transfer", "gather"})
MAX_COMMANDS = 20
FALLBACK_ENDPOINT_ID = "fallback"  # deliveries to a number's fallback URL
DEFAULT_FALLBACK_TEXT = "Sorry, we cannot take your call right now. Goodbye."


def asks_app(event_type: str, call: dict[str, Any]) -> bool:
    """Whether the call waits for the app's answer to this event (`call` as the API shows it).

    Inbound `call.initiated` of a call no agent or bot takes, `call.answered` of an outbound
    call no agent or bot takes (with machine detection on: once it is known who answered, at
    `call.machine.detection.ended`, or `.failed`), and every `call.gather.ended`. A call a
    routing rule dials onward (forward, ring_all, round_robin) does not ask, nor a leg its
    parent call dialled (its parent decides what it hears)."""
    rule = call.get("routing_rule") or {}
    unattended = not call.get("agent_id") and not call.get("agent") and not call.get("stream") \
        and rule.get("action") not in DIALLING_ACTIONS and not call.get("parent_call_id")
    if event_type == "call.gather.ended":
        return True
    if event_type == "call.initiated":
        return unattended and call.get("direction") == "inbound"
    outbound = unattended and call.get("direction") == "outbound"
    if event_type == "call.answered":
        return outbound and not detects_machines(call)
    if event_type in DETECTION_OUTCOMES:
        return outbound and detects_machines(call)
    return False


DETECTION_OUTCOMES = frozenset({"call.machine.detection.ended", "call.machine.detection.failed"})


def detects_machines(call: dict[str, Any]) -> bool:
    """Whether answering-machine detection runs on the call (as the API shows it)."""
    spec = call.get("machine_detection")
    return isinstance(spec, dict) and spec.get("mode", "detect") != "off"


@dataclass(frozen=True)
class CommandTarget:
    """Where the commands of a call come from: the endpoint asked and its signing secrets."""

    endpoint_id: str
    url: str


def command_target(event_type: str, call: dict[str, Any],
                   endpoints: list[WebhookEndpoint]) -> CommandTarget | None:
    """The one endpoint asked for commands: the call's own `webhook_url` when the call opted in
    (`webhook_commands`), else the oldest enabled app endpoint with `commands` whose filter
    matches the event. None: nobody answers with commands (the call behaves as before)."""
    url = call.get("webhook_url")
    if url and call.get("webhook_commands"):
        return CommandTarget(CALL_ENDPOINT_ID, str(url))
    for ep in sorted(endpoints, key=lambda e: (e.created_at, e.endpoint_id)):
        if (ep.endpoint_id != CALL_ENDPOINT_ID and ep.enabled and ep.commands
                and event_matches(event_type, ep.event_types)):
            return CommandTarget(ep.endpoint_id, ep.url)
    return None


class CommandFallback(BaseModel):
    """What runs when the app's answer does not come (timeout, error, invalid answer): first
    `url` is asked the same way (same event, same signature scheme, the call-URL secret); if it
    too fails, `speak` is said (the call is answered first if it is ringing) and then the call
    is hung up, or transferred to `transfer_to`. Never silence for the caller."""

    # the rule of _transfer_needs_target, in the schema too (a schema-valid body is accepted)
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"then": {"const": "transfer"}}, "required": ["then"]},
        "then": {"required": ["transfer_to"],
                 "properties": {"transfer_to": {"type": "string", "minLength": 1}}}})

    url: str | None = Field(default=None, max_length=2048, pattern=URL_PATTERN)
    speak: str = Field(default=DEFAULT_FALLBACK_TEXT, min_length=1, max_length=3000)
    then: Literal["hangup", "transfer"] = "hangup"
    transfer_to: str | None = Field(default=None, max_length=256,
                                    pattern=TARGET_PATTERN)

    @model_validator(mode="after")
    def _transfer_needs_target(self) -> CommandFallback:
        if self.then == "transfer" and not self.transfer_to:
            raise ValueError("then=transfer needs transfer_to")
        return self


Outcome = Literal["commands", "no_target", "failed"]


@dataclass(frozen=True)
class AppAnswer:
    """The app's answer to one event, as the media node acts on it.

    `commands`: validated command bodies (each with its `action`), possibly empty (204 or an
    empty body); `no_target`: nobody opted in, the call goes on as without commands;
    `failed`: timeout, error status, an answer that is not a command list or a list with an
    invalid command (`reason`, `details`): nothing of it runs, the fallback does."""

    outcome: Outcome
    webhook_id: str | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    latency_ms: int = 0
