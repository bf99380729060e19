"""Every INVITE Voicelane sends counts toward the app's calls-per-second cap.

Queued calls over the cap are delayed, then placed: four calls created at once by the
create-call function (events are never refused) at one call per second. The media node takes a
slot of the current second before it claims each; the ones over the cap are sent again with an
SQS delay to the second reserved for them. All four reach sipp, in four distinct seconds
(unpaced they all go within a fraction of one), none refused, none lost.

A bridged transfer's second INVITE takes a slot too: it waits for the app's next free second,
and a cap full for longer than a caller can wait fails the transfer with nothing dialled."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform

from functions import create_call
from tests.functions.function_helpers import LambdaContext
from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]
CALLS = 4


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
    peer = sipp("-sn", "uas", "-m", str(CALLS))
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    started = time.time()
    ids = []
    for i in range(CALLS):
        answer = create_call.handler(
            {"app_id": api.app_id, "call": {"from": number, "to": f"+1415555012{i}"}},
            LambdaContext())
        assert "error" not in answer, answer
        ids.append(answer["id"])
    created = time.time() - started
    assert created < 0.5, f"the events were not created in one burst ({created:.2f} s)"
    placed = sorted(_at(api.wait_event(call_id, "call.initiated", timeout_s=20))
                    for call_id in ids)
    # Four distinct seconds: the first in second S, the last in S+3 or later (a claim a few
    # ms after its slot's check may land in the next second: one pair may share a second).
    shown = [round(t - started, 2) for t in placed]
    assert placed[-1] - placed[0] > 2.0, shown
    assert len({int(t) for t in placed}) >= CALLS - 1, shown
    for call_id in ids:
        api.wait_status(call_id, {"in_progress"})
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    for call_id in ids:
        assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    assert peer.wait() == 0, peer.output()


def _bridging_call(api: Api, sipp: Callable[..., Sipp]) -> tuple[str, Sipp]:
    """An answered outbound call whose peer refuses REFER (a transfer dials and bridges)."""
    peer = sipp("-sf", str(SCENARIOS / "uas_refer_refused.xml"))
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call_id = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123"}))["id"]
    api.wait_status(call_id, {"in_progress"})
    return str(call_id), peer


def _fill(local_platform: LocalPlatform, app_id: str, seconds: int) -> int:
    """Other calls of the app dialling at its cap: this second and the next ``seconds`` - 1
    are full. Returns the first free second."""
    store = local_platform.container.pacer.store
    now = int(time.time())
    for second in range(now, now + seconds):
        store.take(app_id, "dial", second, 1)  # False when this call's own dial took it
    return now + seconds


def test_a_bridged_transfers_invite_waits_for_a_free_second_of_the_cap(
        paced_api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        local_platform: LocalPlatform) -> None:
    api = paced_api
    call_id, peer = _bridging_call(api, sipp)
    target = sipp("-sn", "uas")
    free = _fill(local_platform, api.app_id, 3)
    resp = api.action(call_id, "transfer", {"to": f"sip:agent@127.0.0.1:{target.port}"})
    assert resp.status_code in (200, 202), resp.text
    bridged = api.wait_event(call_id, "call.bridged", timeout_s=15)
    # The INVITE went in the first free second, not at once (unpaced: within ~0.2 s).
    assert _at(bridged) >= free, (_at(bridged), free)
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()
    assert target.wait() == 0, target.output()


def test_a_transfer_past_the_longest_wait_fails_and_dials_nothing(
        paced_api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        local_platform: LocalPlatform) -> None:
    from voicelane_media.calls.call import LEG_PACING_MAX_WAIT_S

    api = paced_api
    call_id, peer = _bridging_call(api, sipp)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as target:
        target.bind(("127.0.0.1", 0))
        target.settimeout(0.5)
        _fill(local_platform, api.app_id, LEG_PACING_MAX_WAIT_S + 3)
        to = f"sip:agent@127.0.0.1:{target.getsockname()[1]}"
        assert api.action(call_id, "transfer", {"to": to}).status_code in (200, 202)
        failed = api.wait_event(call_id, "call.transfer.failed", timeout_s=10)["details"]
        assert failed["reason"] == "cps_limit_exceeded", failed
        with pytest.raises(TimeoutError):
            target.recv(65535)  # no INVITE was sent
    assert "call.bridged" not in api.event_types(call_id)
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()
