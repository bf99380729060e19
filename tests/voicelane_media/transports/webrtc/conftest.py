"""WebRTC fixtures: a media node on loopback (public listener on a free port, host candidates
on 127.0.0.1 only), an app with a key, and sipp processes as phones (the interop tests' fixture)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import Api, sipp  # noqa: F401 (sipp: a fixture)


@pytest.fixture(scope="module")
def rtc_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    base = random.randrange(40000, 49000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, public_http_port=0,
                              rtp_port_min=base, rtp_port_max=base + 199,
                              node_id=f"rtc-{random.randrange(16**6):06x}", poll_wait_s=1,
                              heartbeat_s=2, webrtc_host_addresses="127.0.0.1",
                              webrtc_connect_timeout_s=3)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def api(local_platform: LocalPlatform, rtc_node: LocalNode) -> Iterator[Api]:
    container = local_platform.container
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("rtc", destination_allow_list=["*"],
                                    allow_private_webhooks=True, rate_limits=limits,
                                    max_concurrent_calls=5)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)
