"""Tool execution for the agent: built-ins (end_call, transfer, warm_transfer, send_dtmf) and
HTTP tools.

`warm_transfer` holds the caller, dials the target, whispers the LLM's summary to the target
alone and bridges them (``calls/warm_transfer.py``); its result tells the LLM whether the
caller was handed over (the agent then ends) or is back with it (`error`, `message`).

An HTTP tool POSTs the LLM's arguments as a JSON object to the app's URL (with the call id in
the `Voicelane-Call-Id` header) and gives the JSON answer back to the LLM. Failures become a
JSON error the LLM can talk about; they never end the call.

Before every HTTP tool call the URL passes the SSRF guard (voicelane.domain.url_guard): a
host resolving to a private, loopback, link-local or metadata address is refused (counted in
`refused_urls`, `{"error": "url_not_allowed"}` to the LLM) unless private addresses are allowed
(the app's `allow_private_webhooks`; the local dev app has it). The API already refused such
URLs when the agent was saved; this second check catches DNS that changed since. The address
is not pinned for the request itself, so a name re-pointed between check and connect (DNS
rebinding within the record's TTL) is not caught.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from pydantic import ValidationError
from voicelane.domain.agent import ToolSpec
from voicelane.domain.errors import Forbidden, ValidationFailed
from voicelane.domain.transfer import WarmTransferSpec
from voicelane.domain.url_guard import TOOL_CODE, Resolver, SystemResolver, check_url

from voicelane_media.agent.leg import MediaLeg
from voicelane_media.agent.redaction import redact

log = logging.getLogger(__name__)

BUILTIN_TOOLS: dict[str, ToolSpec] = {
    "end_call": ToolSpec(
        name="end_call", type="end_call", description="End the call after the current reply.",
        parameters={"type": "object", "properties": {"reason": {"type": "string"}}},
    ),
    "transfer": ToolSpec(
        name="transfer", type="transfer",
        description="Transfer the caller to a phone number (E.164) or a SIP URI.",
        parameters={"type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]},
    ),
    "warm_transfer": ToolSpec(
        name="warm_transfer", type="warm_transfer",
        description="Hand the caller to a person: the caller is put on hold, the person "
                    "(E.164 or SIP URI) is called and hears your summary before being "
                    "connected. If they do not take the call you are back with the caller.",
        parameters={"type": "object", "properties": {
            "target": {"type": "string"},
            "summary": {"type": "string",
                        "description": "What the person should know before taking the call."},
            "dtmf": {"type": "string", "description": "Digits to reach an extension."}},
            "required": ["target"]},
    ),
    "send_dtmf": ToolSpec(
        name="send_dtmf", type="send_dtmf", description="Send DTMF digits (0-9, *, #, A-D).",
        parameters={"type": "object", "properties": {"digits": {"type": "string"}}, "required": ["digits"]},
    ),
}  # fmt: skip


class ToolRunner:
    """Runs the tools an agent declared; `end_requested` is set once end_call ran."""

    def __init__(
        self,
        tools: list[ToolSpec],
        leg: MediaLeg,
        call_id: str = "",
        http: httpx.AsyncClient | None = None,
        allow_private: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self.tools = {tool.name: self._with_defaults(tool) for tool in tools}
        self.leg = leg
        self.call_id = call_id
        self._http = http
        self.allow_private = allow_private
        self.resolver: Resolver = resolver or SystemResolver()
        self.refused_urls = 0
        self.end_requested: str | None = None
        self.transferred_to: str | None = None

    @staticmethod
    def _with_defaults(tool: ToolSpec) -> ToolSpec:
        builtin = BUILTIN_TOOLS.get(tool.type)
        if builtin is None or tool.parameters:
            return tool
        return tool.model_copy(
            update={
                "parameters": builtin.parameters,
                "description": tool.description or builtin.description,
            }
        )

    @property
    def specs(self) -> list[ToolSpec]:
        return list(self.tools.values())

    async def run(self, name: str, arguments: dict[str, Any]) -> Any:
        tool = self.tools.get(name)
        if tool is None:
            return {"error": "unknown_tool", "message": f"no tool named {name!r}"}
        if tool.type == "end_call":
            self.end_requested = str(arguments.get("reason") or "agent_ended")
            return {"ok": True}
        if tool.type == "transfer":
            target = str(arguments.get("target") or "")
            if not target:
                return {"error": "invalid_arguments", "message": "target is required"}
            try:
                await self.leg.transfer(target)
            except Forbidden as exc:  # the app's destination allow-list: nothing was dialled
                log.warning("transfer to %s refused (call %s): %s", target, self.call_id, exc.code)
                return {"error": exc.code, "message": exc.message}
            self.transferred_to = target
            return {"ok": True, "target": target}
        if tool.type == "warm_transfer":
            return await self._warm_transfer(arguments)
        if tool.type == "send_dtmf":
            digits = str(arguments.get("digits") or "")
            if not digits or any(d not in "0123456789*#ABCDabcd" for d in digits):
                return {"error": "invalid_arguments", "message": "digits must be 0-9, *, #, A-D"}
            await self.leg.send_dtmf(digits)
            return {"ok": True}
        return await self._http_tool(tool, arguments)

    async def _warm_transfer(self, arguments: dict[str, Any]) -> Any:
        spec = {"to": str(arguments.get("target") or ""), "accept_prompt": True}
        if arguments.get("summary"):
            spec["whisper"] = str(arguments["summary"])
        if arguments.get("dtmf"):
            spec["dtmf"] = str(arguments["dtmf"])
        try:
            parsed = WarmTransferSpec.model_validate(spec)
        except ValidationError as exc:
            return {"error": "invalid_arguments", "message": str(exc.errors()[0]["msg"])}
        result = await self.leg.warm_transfer(parsed)
        if result.get("bridged"):
            self.transferred_to = parsed.to
        return result

    async def _http_tool(self, tool: ToolSpec, arguments: dict[str, Any]) -> Any:
        if not tool.url:
            return {"error": "not_configured", "message": f"tool {tool.name} has no url"}
        refusal = await self._refusal(tool, tool.url)
        if refusal is not None:
            return refusal
        client = self._http or httpx.AsyncClient()
        try:
            response = await client.post(
                tool.url,
                json=arguments,
                headers={"Voicelane-Call-Id": self.call_id, "Voicelane-Tool": tool.name},
                timeout=tool.timeout_s,
            )
        except httpx.TimeoutException:
            return {
                "error": "timeout",
                "message": f"{tool.name} did not answer in {tool.timeout_s} s",
            }
        except httpx.HTTPError as exc:
            log.warning("http tool %s failed: %s", tool.name, redact(str(exc)))
            return {"error": "unreachable", "message": type(exc).__name__}
        finally:
            if self._http is None:
                await client.aclose()
        if response.status_code >= 400:
            return {"error": "http_status", "status": response.status_code}
        try:
            return response.json()
        except ValueError:
            return {"result": response.text[:2000]}

    async def _refusal(self, tool: ToolSpec, url: str) -> dict[str, Any] | None:
        """The error result when the SSRF guard refuses `url` (resolving may block: a thread)."""
        try:
            await asyncio.to_thread(
                check_url, url, self.resolver, allow_private=self.allow_private,
                require_https=False, code=TOOL_CODE, what=f"tool {tool.name} URL",
            )  # fmt: skip
        except ValidationFailed as exc:
            self.refused_urls += 1
            reason = str((exc.details or {}).get("reason", ""))
            log.warning("http tool %s refused (call %s): %s", tool.name, self.call_id, reason)
            return {"error": "url_not_allowed", "message": f"{tool.name} is not reachable"}
        return None
