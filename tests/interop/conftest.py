"""Interop fixtures: a media node on loopback (ephemeral SIP, HTTP and RTP ports) against the
session's local platform, an app with a key and numbers, and sipp as the peer.

sipp (Debian package sip-tester) is the peer nobody here wrote; `make test` installs it. The
tests are skipped, with that reason, only when the binary is absent.
"""

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
def media_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    """A media node for this module, on ephemeral ports (never 5060: `make dev` may run)."""
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(
        sip_port=0, internal_http_port=0, rtp_port_min=base, rtp_port_max=base + 199,
        node_id=f"interop-{random.randrange(16**6):06x}", poll_wait_s=1, heartbeat_s=2,
        ring_timeout_s=10, inbound_answer_timeout_s=4,
    )
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def api(local_platform: LocalPlatform) -> Iterator[Api]:
    """A fresh app (dialling anywhere) with a test key, through the real HTTP API."""
    container = local_platform.container
    # Tests poll the API for events: generous rate limits keep them from being throttled.
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("interop", destination_allow_list=["*"],
                                    allow_private_webhooks=True, rate_limits=limits)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)
