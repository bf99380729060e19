"""Numbers API contracts: /v1/numbers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from voicelane.contracts.common import E164_PATTERN
from voicelane.domain.call_control import CommandFallback
from voicelane.domain.ids import IDENTIFIER_PATTERN
from voicelane.domain.models import Number
from voicelane.domain.routing import MAX_RULES, RoutingRule
from voicelane.domain.stream import StreamSpec


class CreateNumberRequest(BaseModel):
    """A phone number to register for the app, and the agent that answers it."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="E.164, e.g. +14155550100",
                        json_schema_extra={"pattern": E164_PATTERN})
    agent_id: str | None = Field(default=None, description="Agent that answers inbound calls")
    client: str | None = Field(
        default=None, pattern=IDENTIFIER_PATTERN,
        description="Ring this browser identity (a softphone registered with a client token "
                    "for it) on every inbound call; 480 when no browser holds it.")
    stream: StreamSpec | None = Field(
        default=None, description="Send every inbound call straight to a bot's WebSocket "
                                  "(answered at once; Voicelane plays the provider).")
    command_fallback: CommandFallback | None = Field(
        default=None, description="What runs when the app's answer with commands does not "
                                  "come: a fallback URL, else speak then hang up (default).")
    routing: list[RoutingRule] | None = Field(
        default=None, min_length=1, max_length=MAX_RULES,
        description="Ordered routing rules, evaluated for each inbound call: the first whose "
                    "conditions hold takes it. When none matches, agent_id / stream / the "
                    "app's commands apply as without rules.")


class NumberView(BaseModel):
    """A number of the app as the API shows it."""

    number: str = Field(description="E.164")
    app_id: str
    agent_id: str | None = Field(description="Agent that answers inbound calls")
    client: str | None = Field(default=None, description="The browser identity calls ring")
    stream: StreamSpec | None = Field(default=None, description="The bot every call streams to")
    command_fallback: CommandFallback | None = None
    routing: list[RoutingRule] | None = None
    created_at: str

    @classmethod
    def of(cls, number: Number) -> NumberView:
        return cls.model_validate(number.model_dump())


class NumberList(BaseModel):
    """The app's numbers."""

    data: list[NumberView]
