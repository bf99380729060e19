"""WebRTC fixtures: a media node on loopback (public listener on a free port, host candidates
on 127.0.0.1 only), an app with a key, and sipp processes as phones."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import SIPP, Api, Sipp, free_udp_port


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


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """``sipp(*args, target=..., timeout_s=25)`` starts one sipp (one call, cwd ``tmp_path``)
    on a free port, which gives up (exit 255) ``timeout_s`` after it started; every one still
    running is killed at the end of the test."""
    started: list[Sipp] = []

    def start(*args: str, target: str | None = None, timeout_s: int = 25) -> Sipp:
        port = free_udp_port()
        cmd = [str(SIPP), "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-m", "1",
               "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err",
               "-error_file", str(tmp_path / f"sipp-{port}-errors.log"), *args]
        if target:
            cmd.append(target)
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        started.append(Sipp(proc, port, tmp_path))
        time.sleep(0.3)  # let it bind
        return started[-1]

    yield start
    for handle in started:
        handle.stop()
