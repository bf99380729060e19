"""SDES a=crypto (RFC 4568): byte-exact round trips, and the offer/answer policy of a trunk."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from voicelane_media import sdp
from voicelane_media.sdp_crypto import (
    CryptoAttribute,
    KeyParam,
    accept_secure_answer,
    crypto_attributes,
    new_crypto,
    secure_answer,
    secure_offer,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sdp"
KEY = base64.b64encode(bytes(range(30))).decode()
PEER_KEY = base64.b64encode(bytes(range(100, 130))).decode()


@pytest.mark.parametrize("value", [
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
    "01 AES_CM_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw FEC_ORDER=FEC_SRTP",
    "2 AES_CM_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw;"
    "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk|2^31",
    "3 AES_256_CM_HMAC_SHA1_80 inline:" + base64.b64encode(bytes(46)).decode(),
])
def test_a_crypto_value_round_trips_byte_for_byte(value: str) -> None:
    assert CryptoAttribute.parse(value).serialize() == value


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.sdp")))
def test_sdp_with_crypto_lines_round_trips(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    parsed = sdp.SessionDescription.parse(raw)
    assert parsed.serialize() == raw
    values = parsed.media[0].attrs("crypto")
    assert [c.serialize() for c in crypto_attributes(parsed.media[0])] == values


def test_fields_and_usability() -> None:
    mki = CryptoAttribute.parse(
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32")
    assert (mki.tag, mki.suite, mki.keys[0].lifetime, mki.keys[0].mki) == (
        1, "AES_CM_128_HMAC_SHA1_80", "2^20", "1:32")
    assert len(mki.key_salt) == 30
    assert not mki.usable  # MKI is not supported
    plain = CryptoAttribute.parse(f"7 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")
    assert plain.usable and plain.key_salt == bytes(range(30))
    assert not CryptoAttribute.parse(f"7 AES_CM_128_HMAC_SHA1_32 inline:{KEY}").usable
    short = base64.b64encode(bytes(16)).decode()
    assert not CryptoAttribute.parse(f"7 AES_CM_128_HMAC_SHA1_80 inline:{short}").usable


@pytest.mark.parametrize("value", [
    "", "1", "x AES_CM_128_HMAC_SHA1_80 inline:" + KEY, "1 AES_CM_128_HMAC_SHA1_80 uri:http://k",
    "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@", "1 AES;CM inline:" + KEY,
    "1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY + "|a|b|c",
])
def test_malformed_crypto_is_refused(value: str) -> None:
    with pytest.raises(sdp.SdpError):
        CryptoAttribute.parse(value)


def test_new_crypto_draws_a_fresh_key() -> None:
    a, b = new_crypto(), new_crypto()
    assert a.usable and b.usable and a.key_salt != b.key_salt
    fixed = new_crypto(random_bytes=lambda n: bytes(range(n)))
    assert fixed.serialize() == f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"


def _offer(policy: str, key: str = KEY) -> sdp.SessionDescription:
    crypto = CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", (KeyParam(key),))
    return secure_offer(sdp.make_offer("192.0.2.1", 4000), policy, crypto)


def test_offers_per_policy() -> None:
    off = _offer("off").serialize()
    assert b"RTP/AVP" in off and b"crypto" not in off
    optional = _offer("optional").serialize().decode()
    assert "m=audio 4000 RTP/AVP 0 8 101" in optional
    assert f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}\r\na=ptime:20" in optional
    mandatory = _offer("mandatory").serialize().decode()
    assert "m=audio 4000 RTP/SAVP 0 8 101" in mandatory and "a=crypto:1 " in mandatory


def _answer(offer: sdp.SessionDescription, policy: str) -> tuple[bytes, object]:
    answer, _ = sdp.answer(sdp.SessionDescription.parse(offer.serialize()), sdp.DEFAULT_CODECS,
                           "198.51.100.2", 5000)
    ours = CryptoAttribute(9, "AES_CM_128_HMAC_SHA1_80", (KeyParam(PEER_KEY),))
    keys = secure_answer(offer, answer, policy, ours)
    return answer.serialize(), keys


@pytest.mark.parametrize("policy", ["optional", "mandatory"])
def test_an_srtp_offer_is_answered_with_our_key_under_its_tag(policy: str) -> None:
    body, keys = _answer(_offer("mandatory"), policy)
    text = body.decode()
    assert "m=audio 5000 RTP/SAVP 0 101" in text
    assert f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{PEER_KEY}" in text  # the offer's tag
    assert keys is not None
    assert (keys.local, keys.remote) == (base64.b64decode(PEER_KEY), base64.b64decode(KEY))


def test_a_best_effort_offer_gets_srtp_when_we_may_and_plain_when_off() -> None:
    body, keys = _answer(_offer("optional"), "mandatory")
    assert b"RTP/AVP" in body and b"a=crypto:1 " in body and keys is not None
    body, keys = _answer(_offer("optional"), "off")
    assert b"crypto" not in body and keys is None


def test_a_plain_offer_on_a_mandatory_trunk_is_refused_and_passes_elsewhere() -> None:
    with pytest.raises(sdp.SdpError, match="SRTP required"):
        _answer(_offer("off"), "mandatory")
    for policy in ("optional", "off"):
        body, keys = _answer(_offer("off"), policy)
        assert keys is None and b"crypto" not in body


def test_a_savp_offer_without_a_key_we_can_use_is_refused() -> None:
    raw = (FIXTURES / "savp_offer.sdp").read_bytes()  # MKI and a 32-bit tag only
    offer = sdp.SessionDescription.parse(raw)
    for policy in ("off", "optional", "mandatory"):
        answer, _ = sdp.answer(offer, sdp.DEFAULT_CODECS, "198.51.100.2", 5000)
        with pytest.raises(sdp.SdpError):
            secure_answer(offer, answer, policy, new_crypto())


def test_the_offerer_reads_the_peers_key_and_refuses_a_plain_answer_when_mandatory() -> None:
    ours = CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", (KeyParam(KEY),))
    offer = secure_offer(sdp.make_offer("192.0.2.1", 4000), "mandatory", ours)
    answer, _ = sdp.answer(sdp.SessionDescription.parse(offer.serialize()), sdp.DEFAULT_CODECS,
                           "198.51.100.2", 5000)
    plain = sdp.SessionDescription.parse(answer.serialize())
    secure_answer(offer, answer, "mandatory",
                  CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", (KeyParam(PEER_KEY),)))
    keys = accept_secure_answer(offer, answer, "mandatory", ours)
    assert keys is not None and keys.remote == base64.b64decode(PEER_KEY)
    with pytest.raises(sdp.SdpError):
        accept_secure_answer(offer, plain, "mandatory", ours)
    assert accept_secure_answer(offer, plain, "optional", ours) is None
