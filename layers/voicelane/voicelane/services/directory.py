"""Numbers and agents of an app."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from voicelane.domain.agent import AgentSpec
from voicelane.domain.call_control import CommandFallback
from voicelane.domain.errors import NotFound, ValidationFailed
from voicelane.domain.ids import new_id
from voicelane.domain.machine_detection import check_machine_detection
from voicelane.domain.models import Agent, App, Number
from voicelane.domain.phone import require_e164
from voicelane.domain.routing import AgentAction, RoutingRule, StreamAction, check_rules
from voicelane.domain.script import check_script
from voicelane.domain.stream import StreamSpec
from voicelane.ports import AgentRepository, NumberRepository
from voicelane.services.agent_rules import check_agent
from voicelane.services.clock import now_iso
from voicelane.services.streams import check_stream
from voicelane.services.url_guard import check_tool_urls, check_url
from voicelane.webhook_ports import Resolver


class NumberService:
    def __init__(self, numbers: NumberRepository, agents: AgentRepository,
                 resolver: Resolver | None = None) -> None:
        self.numbers = numbers
        self.agents = agents
        self.resolver = resolver

    def create(self, app: App, number: str, agent_id: str | None,
               stream: StreamSpec | None = None,
               command_fallback: CommandFallback | None = None,
               routing: list[RoutingRule] | None = None,
               client: str | None = None) -> Number:
        """Register `number`: answered by `agent_id`, streamed to a bot (`stream`) or ringing
        a browser identity (`client`); `command_fallback` runs when the app's answer with
        commands does not come; `routing` rules, when one matches a call, decide instead
        (``voicelane.domain.routing``)."""
        require_e164(number, "number")
        if client is not None and (agent_id or stream is not None):
            raise ValidationFailed("a number rings a client, or an agent or a stream takes it",
                                   code="client_conflict", details={"client": client})
        if command_fallback is not None and command_fallback.url and self.resolver is not None:
            check_url(command_fallback.url, self.resolver,
                      allow_private=app.allow_private_webhooks, require_https=False)
        if stream is not None:
            check_stream(app, stream, self.resolver, has_agent=bool(agent_id))
        if agent_id and self.agents.get(app.app_id, agent_id) is None:
            raise ValidationFailed(
                "agent_id is not an agent of this app", code="agent_not_found",
                details={"agent_id": agent_id},
            )
        if routing:
            self._check_routing(app, routing)
        record = Number(number=number, app_id=app.app_id, agent_id=agent_id, stream=stream,
                        client=client, command_fallback=command_fallback,
                        routing=routing or None, created_at=now_iso())
        self.numbers.put(record)
        return record

    def _check_routing(self, app: App, rules: list[RoutingRule]) -> None:
        """The rules' shape and codes, then what they name must be the app's: its agents,
        stream URLs it may reach."""
        check_rules(rules)
        for index, rule in enumerate(rules):
            action = rule.action
            if isinstance(action, AgentAction) and \
                    self.agents.get(app.app_id, action.agent_id) is None:
                raise ValidationFailed(
                    "a rule's agent_id is not an agent of this app", code="agent_not_found",
                    details={"rule": index, "agent_id": action.agent_id})
            if isinstance(action, StreamAction):
                check_stream(app, action.stream, self.resolver, has_agent=False)

    def get(self, app: App, number: str) -> Number:
        record = self.numbers.get(number)
        if record is None or record.app_id != app.app_id:
            raise NotFound("number not found", code="number_not_found", details={"number": number})
        return record

    def list(self, app: App) -> list[Number]:
        return self.numbers.list(app.app_id)

    def delete(self, app: App, number: str) -> None:
        self.get(app, number)
        self.numbers.delete(app.app_id, number)


class AgentService:
    """Agents of an app. HTTP tool URLs pass the SSRF guard (`tool_url_not_allowed`)."""

    def __init__(self, agents: AgentRepository, resolver: Resolver) -> None:
        self.agents = agents
        self.resolver = resolver

    def create(self, app: App, spec: AgentSpec) -> Agent:
        check_agent(app, spec, self.resolver)
        now = now_iso()
        agent = Agent.model_validate(
            {**spec.model_dump(), "agent_id": new_id("agent"), "app_id": app.app_id,
             "created_at": now, "updated_at": now}
        )
        self.agents.put(agent)
        return agent

    def get(self, app: App, agent_id: str) -> Agent:
        agent = self.agents.get(app.app_id, agent_id)
        if agent is None:
            raise NotFound("agent not found", code="agent_not_found", details={"agent_id": agent_id})
        return agent

    def list(self, app: App) -> list[Agent]:
        return self.agents.list(app.app_id)

    def update(self, app: App, agent_id: str, changes: dict[str, Any]) -> Agent:
        agent = self.get(app, agent_id)
        merged = {**agent.model_dump(), **changes, "updated_at": now_iso()}
        # Re-validate the whole spec so PATCH obeys the same ranges as POST.
        try:
            spec = AgentSpec.model_validate({k: merged[k] for k in AgentSpec.model_fields})
        except ValidationError as exc:
            raise ValidationFailed(
                "the updated agent is not valid",
                details=[
                    {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
                    for err in exc.errors()
                ],
            ) from exc
        if "script" in changes or "tools" in changes:
            check_script(spec)  # a script and the tools it names change together or not at all
        if "tools" in changes:
            check_tool_urls(spec, self.resolver, allow_private=app.allow_private_webhooks)
        check_machine_detection(spec.machine_detection)
        updated = Agent.model_validate(
            {**spec.model_dump(), "agent_id": agent.agent_id, "app_id": agent.app_id,
             "created_at": agent.created_at, "updated_at": merged["updated_at"]}
        )
        self.agents.put(updated)
        return updated

    def delete(self, app: App, agent_id: str) -> None:
        self.get(app, agent_id)
        self.agents.delete(app.app_id, agent_id)
