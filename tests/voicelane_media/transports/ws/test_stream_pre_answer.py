"""`pre_answer` (early media) is for ringing inbound SIP calls: on a media stream, which is
answered when it connects, it is refused with its own code and nothing changes."""

from __future__ import annotations

import asyncio

import pytest
from voicelane_local.media_node import LocalNode
from voicelane_local.stream_provider import StreamPeer

from tests.interop.sipp_helpers import Api

pytestmark = pytest.mark.usefixtures("fake_engines")


def test_pre_answer_on_a_media_stream_is_refused_and_the_call_goes_on(
        api: Api, ws_node: LocalNode) -> None:
    session = api.ok(api.post("/v1/sessions", {"connection_type": "twilio"}))  # no agent
    call_id = session["call_id"]
    answers: list[tuple[int, str]] = []

    def pre_answer() -> None:
        api.wait_event(call_id, "call.answered")
        resp = api.action(call_id, "pre_answer")
        answers.append((resp.status_code, resp.json()["error"]["code"]))
        resp = api.action(call_id, "speak", {"text": "still here"})  # the call goes on
        answers.append((resp.status_code, ""))

    async def caller() -> None:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await asyncio.gather(asyncio.to_thread(pre_answer), peer.silence(1000))
            await asyncio.to_thread(api.ok, api.post(f"/v1/calls/{call_id}/hangup", {}))
            await peer.closed(5)

    asyncio.run(caller())
    assert answers == [(409, "early_media_not_supported"), (202, "")], answers
    done = api.wait_status(call_id, {"completed"})
    assert done["pre_answered_at"] is None and done["end_reason"] == "hangup_by_api", done
    assert "call.early_media.started" not in api.event_types(call_id)
