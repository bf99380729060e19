"""Digest authentication against the RFC 7616 section 3.9.1 and RFC 2617 vectors."""

from __future__ import annotations

import pytest
from voicelane_media.sip.digest import Challenge, authorization, digest_response
from voicelane_media.sip.grammar import SipParseError

RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    header = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )
    ch = Challenge.parse(header)
    assert ch.qop == ["auth", "auth-int"] and ch.opaque == RFC7616_OPAQUE
    resp, qop, _ = digest_response(ch, username="Mufasa", password="Circle of Life", method="GET",
                                   uri="/dir/index.html", cnonce=RFC7616_CNONCE)
    assert (resp, qop) == (expected, "auth")
    value = authorization(ch, username="Mufasa", password="Circle of Life", method="GET",
                          uri="/dir/index.html", cnonce=RFC7616_CNONCE)
    assert value == (
        f'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", '
        f'algorithm={algorithm}, nonce="{RFC7616_NONCE}", nc=00000001, cnonce="{RFC7616_CNONCE}", '
        f'qop=auth, response="{expected}", opaque="{RFC7616_OPAQUE}"'
    )


def test_rfc2617_example_md5() -> None:
    ch = Challenge.parse('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                         'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    resp, _, _ = digest_response(ch, username="Mufasa", password="Circle Of Life", method="GET",
                                 uri="/dir/index.html", nc=1, cnonce="0a4f113b")
    assert resp == "6629fae49393a05397450978507c4ef1"


def test_sip_challenge_without_qop_and_sess() -> None:
    ch = Challenge.parse('Digest realm="atlanta.com", domain="sip:ss1.carrier.com", '
                         'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5')
    value = authorization(ch, username="bob", password="zanzibar", method="INVITE",
                          uri="sip:bob@biloxi.com")
    assert "qop" not in value and "nc=" not in value and 'opaque=""' in value
    # RFC 2617 without qop: response = MD5(HA1:nonce:HA2)
    import hashlib

    ha1 = hashlib.md5(b"bob:atlanta.com:zanzibar").hexdigest()
    ha2 = hashlib.md5(b"INVITE:sip:bob@biloxi.com").hexdigest()
    assert f'response="{hashlib.md5(f"{ha1}:f84f1cec41e6cbe5aea9c8e88d359:{ha2}".encode()).hexdigest()}"' in value
    sess = Challenge.parse('Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess')
    r1, _, _ = digest_response(sess, username="u", password="p", method="REGISTER", uri="sip:r", cnonce="c")
    ha1 = hashlib.sha256(hashlib.sha256(b"u:r:p").hexdigest().encode() + b":n:c").hexdigest()
    ha2 = hashlib.sha256(b"REGISTER:sip:r").hexdigest()
    assert r1 == hashlib.sha256(f"{ha1}:n:00000001:c:auth:{ha2}".encode()).hexdigest()


@pytest.mark.parametrize("bad", ['Basic realm="x"', 'Digest realm="x"', 'Digest nonce="n", realm="unterminated',
                                 'Digest realm="r", nonce="n", algorithm=SHA-512', "Digest realm"])
def test_bad_challenges(bad: str) -> None:
    with pytest.raises(SipParseError):
        Challenge.parse(bad)
