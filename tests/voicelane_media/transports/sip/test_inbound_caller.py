"""The caller an inbound call stores as its `from`: an E.164 user part, else the SIP URI."""

from __future__ import annotations

import pytest
from voicelane_media.sip.message import SipRequest, parse
from voicelane_media.transports.sip.inbound import caller_of


def _invite(from_uri: str) -> SipRequest:
    msg = parse((
        "INVITE sip:+15550002@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKc\r\n"
        f"From: \"Tester\" <{from_uri}>;tag=a1\r\nTo: <sip:+15550002@127.0.0.1>\r\n"
        "Call-ID: caller-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(msg, SipRequest)
    return msg


@pytest.mark.parametrize(("from_uri", "stored"), [
    ("sip:+15105550111@127.0.0.1", "+15105550111"),
    ("sip:tester@127.0.0.1", "sip:tester@127.0.0.1"),
    ("sip:tester@127.0.0.1:5070;transport=udp", "sip:tester@127.0.0.1:5070"),
    ("sip:5105550111@carrier.example;user=phone", "sip:5105550111@carrier.example"),  # not E.164
    ("sip:carrier.example", "sip:carrier.example"),
])
def test_the_caller_is_the_e164_user_or_the_full_sip_uri(from_uri: str, stored: str) -> None:
    assert caller_of(_invite(from_uri)) == stored
