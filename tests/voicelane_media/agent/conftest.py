"""Fixtures for the agent loop: an in-memory leg, instant fake engines, a session runner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from voicelane.domain.agent import AgentSpec
from voicelane_media.agent import AgentSession, Engines, InMemoryLeg, LoopSettings
from voicelane_media.agent.fakes import CannedLLM, EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.agent.providers import LLMEngine


class Harness:
    """One agent session on an in-memory leg with fake engines; records events."""

    def __init__(
        self, spec: AgentSpec, llm: LLMEngine, stt_texts: list[str], **settings: Any
    ) -> None:
        self.leg = InMemoryLeg(sample_rate=16000)
        self.stt = QueuedSTT(stt_texts)
        self.events: list[tuple[str, dict[str, Any]]] = []
        context = settings.pop("context", None)
        http = settings.pop("http", None)
        resolver = settings.pop("resolver", None)
        allow_private_tools = settings.pop("allow_private_tools", None)
        stt_engine = settings.pop("stt_engine", None) or self.stt
        tts_engine = settings.pop("tts_engine", None) or ToneTTS(ms_per_word=200)
        turn_engine = settings.pop("turn_engine", None)
        noise_engine = settings.pop("noise_engine", None)
        self.session = AgentSession(
            spec,
            self.leg,
            Engines(vad=EnergyVAD(), stt=stt_engine, llm=llm, tts=tts_engine, turn=turn_engine,
                    noise=noise_engine),
            context=context,
            call_id="call_test",
            on_event=self._on_event,
            settings=LoopSettings(**{"max_duration_s": 8.0, **settings}),
            http=http,
            allow_private_tools=allow_private_tools,
            resolver=resolver,
        )
        self.task: asyncio.Task[Any] | None = None

    async def _on_event(self, event_type: str, details: dict[str, Any]) -> None:
        self.events.append((event_type, details))

    def start(self) -> None:
        self.task = asyncio.create_task(self.session.run())

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.01)

    async def finish(self) -> Any:
        assert self.task is not None
        self.leg.close_inbound()
        return await asyncio.wait_for(self.task, 10)


@pytest.fixture
def harness() -> Callable[..., Harness]:
    def make(
        spec: AgentSpec | None = None,
        llm: LLMEngine | None = None,
        stt: list[str] | None = None,
        **kw: Any,
    ) -> Harness:
        return Harness(spec or AgentSpec(), llm or CannedLLM(), stt or [], **kw)

    return make
