"""What a trunk's `srtp` puts in our INVITE, seen by sipp (a plain peer that answers RTP/AVP
without a key): `mandatory` offers RTP/SAVP with a key only, and a plain answer ends the call
(`media_negotiation_failed`, never plain RTP); `optional` offers RTP/AVP with a key, and the
plain answer gives a plain call."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def _call(api: Api, port: int, srtp: str) -> str:
    api.ok(api.post("/v1/trunks", {"name": f"sipp-{port}", "host": "127.0.0.1", "port": port,
                                   "srtp": srtp}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    return str(api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550199"}))["id"])


def _offer(peer: Sipp) -> str:
    log = peer.output()
    match = re.search(r"INVITE sip:.*?\r?\n\r?\n(v=0.*?)(?:\r?\n\r?\n|-{10})", log, re.S)
    assert match, log
    return match.group(1)


def test_a_mandatory_trunk_offers_savp_only_and_refuses_a_plain_answer(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas", "-trace_msg")
    call_id = _call(api, peer.port, "mandatory")
    done = api.wait_status(call_id, {"failed", "completed"}, timeout_s=20)
    assert (done["status"], done["end_reason"]) == ("failed", "media_negotiation_failed")
    offer = _offer(peer)
    assert re.search(r"m=audio \d+ RTP/SAVP ", offer), offer
    assert "RTP/AVP" not in offer
    assert re.search(r"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}", offer)


def test_an_optional_trunk_offers_a_key_on_avp_and_goes_plain_with_a_plain_peer(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas", "-trace_msg")
    call_id = _call(api, peer.port, "optional")
    api.wait_status(call_id, {"in_progress"})
    offer = _offer(peer)
    assert re.search(r"m=audio \d+ RTP/AVP ", offer) and "a=crypto:1 " in offer, offer
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})
    assert done["quality"]["srtp"] is False and done["quality"]["packets_sent"] > 0
