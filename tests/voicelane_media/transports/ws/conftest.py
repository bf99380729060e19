"""WebSocket media fixtures: a media node on loopback (its public listener on a free port,
the session's local platform pointed at it), fake agent engines, and an app with a key."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.agent.fakes import CannedLLM, EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.agent.providers import Engines
from voicelane_media.calls import agent_runner

from tests.interop.sipp_helpers import Api

CALLER_SAYS = "I would like to book a table"
AGENT_REPLIES = "Sure, for how many people"


@pytest.fixture(scope="module")
def ws_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, public_http_port=0,
                              rtp_port_min=base, rtp_port_max=base + 199,
                              node_id=f"ws-{random.randrange(16**6):06x}", poll_wait_s=1,
                              heartbeat_s=2, ws_max_message_bytes=64 * 1024)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def fake_engines() -> Iterator[None]:
    """Instant engines: the test is about the stream, not the models."""
    def build(spec: object) -> Engines:
        return Engines(vad=EnergyVAD(), stt=QueuedSTT([CALLER_SAYS]),
                       llm=CannedLLM([AGENT_REPLIES]), tts=ToneTTS(16000, 150.0),
                       names={"stt": "fake", "llm": "fake", "tts": "fake"})

    agent_runner.set_engine_factory(build)
    yield
    agent_runner.set_engine_factory(None)


@pytest.fixture
def api(local_platform: LocalPlatform, ws_node: LocalNode) -> Iterator[Api]:
    container = local_platform.container
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("ws", destination_allow_list=["*"],
                                    allow_private_webhooks=True, rate_limits=limits,
                                    max_concurrent_calls=5)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)
