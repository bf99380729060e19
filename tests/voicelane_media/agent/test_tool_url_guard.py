"""HTTP tools re-check their URL before every call (DNS may have changed since the agent was
saved): private, loopback, link-local and metadata addresses get an error result, counted."""

from __future__ import annotations

import httpx
from voicelane.domain.agent import AgentSpec, ToolSpec
from voicelane_media.agent import AgentSession, Engines, InMemoryLeg, LoopSettings
from voicelane_media.agent.fakes import CannedLLM, EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.agent.tools import ToolRunner

from tests.voicelane_media.agent.fake_dns import FakeResolver


def recording_client() -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"reference": "R7"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


async def test_a_name_that_now_resolves_to_the_metadata_address_is_not_called():
    client, seen = recording_client()
    dns = FakeResolver({"tools.acme.example": "169.254.169.254"})
    tools = ToolRunner([ToolSpec(name="lookup", url="https://tools.acme.example/lookup")],
                       InMemoryLeg(), "call_1", client, resolver=dns)
    result = await tools.run("lookup", {"order": "42"})
    assert result["error"] == "url_not_allowed" and "169.254" not in str(result)
    assert seen == [] and tools.refused_urls == 1 and dns.asked == ["tools.acme.example"]
    await client.aclose()


async def test_loopback_and_private_literals_are_refused_unless_allowed():
    client, seen = recording_client()
    specs = [ToolSpec(name="local", url="http://127.0.0.1:9/book"),
             ToolSpec(name="lan", url="http://10.1.2.3/book")]
    strict = ToolRunner(specs, InMemoryLeg(), "c", client, resolver=FakeResolver())
    assert (await strict.run("local", {}))["error"] == "url_not_allowed"
    assert (await strict.run("lan", {}))["error"] == "url_not_allowed"
    assert strict.refused_urls == 2 and seen == []
    dev = ToolRunner(specs, InMemoryLeg(), "c", client, allow_private=True, resolver=FakeResolver())
    assert await dev.run("local", {}) == {"reference": "R7"}
    assert [str(r.url) for r in seen] == ["http://127.0.0.1:9/book"]
    await client.aclose()


async def test_public_names_are_called():
    client, seen = recording_client()
    tools = ToolRunner([ToolSpec(name="lookup", url="https://tools.acme.example/lookup")],
                       InMemoryLeg(), "c", client, resolver=FakeResolver())
    assert await tools.run("lookup", {}) == {"reference": "R7"} and len(seen) == 1
    await client.aclose()


def test_the_session_refuses_private_tools_unless_told_or_configured():
    def session(**kw: object) -> AgentSession:
        engines = Engines(vad=EnergyVAD(), stt=QueuedSTT([]), llm=CannedLLM(), tts=ToneTTS())
        return AgentSession(AgentSpec(), InMemoryLeg(), engines, **kw)  # type: ignore[arg-type]

    assert session(settings=LoopSettings(allow_private_tool_urls=False)).tools.allow_private is False
    assert session(settings=LoopSettings(allow_private_tool_urls=True)).tools.allow_private is True
    assert session(settings=LoopSettings(allow_private_tool_urls=True),
                   allow_private_tools=False).tools.allow_private is False
