"""Queued calls over the app's calls-per-second cap are delayed, then placed: three calls
created at once by the create-call function (events are never refused) reach sipp about a
second apart, none refused and none lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform

from functions import create_call
from tests.functions.function_helpers import LambdaContext
from tests.interop.sipp_helpers import Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


@pytest.fixture
def paced_api(local_platform: LocalPlatform) -> Iterator[Api]:
    """An app that places one call per second (the production default, set explicitly)."""
    container = local_platform.container
    limits = RateLimits(create_call=1000, reads=100_000, lists=100_000, writes=100_000)
    app = container.apps.create_app("paced", calls_per_second=1, rate_limits=limits)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)


def _at(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["created_at"]).replace("Z", "+00:00")).timestamp()


def test_queued_calls_over_the_cap_are_delayed_then_placed(
        paced_api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    api = paced_api
    peer = sipp("-sn", "uas", "-m", "3")
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    started = time.time()
    ids = []
    for i in range(3):
        answer = create_call.handler(
            {"app_id": api.app_id, "call": {"from": number, "to": f"+1415555012{i}"}},
            LambdaContext())
        assert "error" not in answer, answer
        ids.append(answer["id"])
    assert time.time() - started < 1.5, "the events were not created in one burst"
    placed = sorted(_at(api.wait_event(call_id, "call.initiated", timeout_s=20))
                    for call_id in ids)
    gaps = [b - a for a, b in pairwise(placed)]
    assert all(gap > 0.5 for gap in gaps), gaps  # about a second apart, never together
    for call_id in ids:
        api.wait_status(call_id, {"in_progress"})
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    for call_id in ids:
        assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    assert peer.wait() == 0, peer.output()
