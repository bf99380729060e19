"""The detection driver fails open: a detection that cannot run leaves the call to the agent."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from voicelane.domain.machine_detection import MachineDetection
from voicelane_media.agent.providers import VADEngine
from voicelane_media.calls import machine_detection
from voicelane_media.calls.machine_detection import DetectionRun, Transcriber


class _Transport:
    sample_rate = 8000

    def __init__(self) -> None:
        self.taps: list[Any] = []

    def add_audio_tap(self, tap: Any) -> None:
        self.taps.append(tap)

    def remove_audio_tap(self, tap: Any) -> None:
        self.taps.remove(tap)


class _Live:
    """The part of LiveCall the driver uses."""

    call_id = "call_1"
    status_write = None
    call = SimpleNamespace(agent=None, agent_id=None)  # no agent: no screening answer

    def __init__(self) -> None:
        self.transport = _Transport()
        self.ended = asyncio.Event()
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def record_event(self, name: str, details: dict[str, Any]) -> None:
        self.events.append((name, details))

    async def recorded_event(self, name: str, details: dict[str, Any]) -> None:
        self.events.append((name, details))  # None: not stored (the app is not asked)


class _NoModel:
    def vad(self) -> VADEngine:
        raise RuntimeError("package silero_vad is not installed")

    def transcriber(self) -> Transcriber | None:
        return None


def test_a_detection_without_its_vad_reports_it_and_lets_the_agent_start() -> None:
    live = _Live()
    proceeded: list[bool] = []

    async def proceed() -> None:
        proceeded.append(True)

    async def scenario() -> None:
        machine_detection.set_detection_engines(_NoModel())
        try:
            await DetectionRun(live, MachineDetection(), proceed).run()  # type: ignore[arg-type]
        finally:
            machine_detection.set_detection_engines(None)

    asyncio.run(scenario())
    assert live.events == [("call.machine.detection.failed", {
        "error": "RuntimeError", "message": "package silero_vad is not installed"})]
    assert proceeded == [True] and live.transport.taps == []
