"""RFC 3261 message grammar: RFC 4475 torture messages, an RFC 3261 call flow, builders."""

from __future__ import annotations

from pathlib import Path

import pytest
from voicelane_media.sip.grammar import split_commas
from voicelane_media.sip.headers import CSeq, NameAddr, Via
from voicelane_media.sip.message import (
    MAX_HEADERS,
    SipParseError,
    SipRequest,
    SipResponse,
    frame_length,
    make_response,
    note_source,
    parse,
)
from voicelane_media.sip.uri import SipUri

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sip"


def load(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / f"{name}.sip").read_bytes()


def test_wsinv_short_tortuous_invite() -> None:
    msg = parse(load("valid", "wsinv"))
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE"
    assert msg.request_uri.param("unknownparam") == ""
    assert msg.to_addr.uri == "sip:vivekg@chair-dnrc.example.com"
    assert msg.to_addr.tag == "1918181833n"
    assert msg.from_addr.display_name == 'J Rosenberg \\"'
    assert msg.from_addr.tag == "98asjd8"
    assert msg.get("max-forwards") == "0068"
    assert msg.cseq == CSeq(9, "INVITE")
    vias = msg.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert vias[0].has_rport and vias[0].rport is None
    assert msg.get("Subject") == ""
    assert msg.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = msg.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.param("newparam") == "newvalue"
    assert contact.param("secondparam") == ""
    assert contact.param("q") == "0.33"
    assert msg.routes[0].sip_uri.param("unknownwith") == "value"
    assert len(msg.body) == 150 and msg.body.startswith(b"v=0\r\n")


def test_intmeth_wide_range_of_valid_characters() -> None:
    msg = parse(load("valid", "intmeth"))
    assert isinstance(msg, SipRequest)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = msg.request_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert msg.to_addr.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_addr.display_name == "token1~` token2'+_ token3*%!.-"
    assert msg.from_addr.param("fromParam''~+*_!.-%") == "работающий"
    assert msg.from_addr.tag == "_token~1'+`*%!-."
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.get("EXTENSIONHEADER-!.%*+_`'~") == "\ufeff大停電"


def test_escaped_uris_and_compact_forms() -> None:
    msg = parse(load("valid", "esc01"))
    assert msg.request_uri.user == "sips%3Auser%40example.com"
    assert msg.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert msg.content_type == "application/sdp"
    assert ("Content-Type", "application/sdp") in list(msg.headers)
    assert msg.contacts[0].sip_uri.params == [("%6C%72", None), ("n%61me", "v%61lue%25%34%31")]
    null = parse(load("valid", "escnull"))
    assert [c.sip_uri.user for c in null.contacts] == ["%00", "%00%00"]
    esc02 = parse(load("valid", "esc02"))
    assert isinstance(esc02, SipRequest) and esc02.method == "RE%47IST%45R"
    # C%6Fntact is an unknown header, not Contact
    assert len(esc02.contacts) == 2 and esc02.get("C%6Fntact") is not None


def test_lws_display_name_semicolon_uri_transports() -> None:
    assert parse(load("valid", "lwsdisp")).from_addr.display_name == "caller"
    semi = parse(load("valid", "semiuri"))
    assert semi.request_uri.user == "user;par=u%40example.net"
    assert semi.get_all("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed",
        "multipart/signed", "message/sip", "message/sipfrag",
    ]
    transports = parse(load("valid", "transports"))
    assert [v.transport for v in transports.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_dblreq_discards_trailing_datagram_bytes_unless_strict() -> None:
    data = load("valid", "dblreq")
    msg = parse(data)
    assert msg.body == b"" and msg.call_id.startswith("dblreq.")
    with pytest.raises(SipParseError, match="Content-Length"):
        parse(data, strict_length=True)


def test_responses_unusual_reason_phrases_and_versions() -> None:
    unreason = parse(load("valid", "unreason"))
    assert isinstance(unreason, SipResponse)
    assert unreason.status == 200
    assert unreason.reason.startswith("= 2**3 * 5**2 но сто")
    noreason = parse(load("valid", "noreason"))
    assert isinstance(noreason, SipResponse) and noreason.reason == "" and noreason.status == 100
    badvers = parse(load("valid", "badvers"))
    assert badvers.version == "SIP/7.0"  # syntactically valid; the UAS answers 505
    unkscm = parse(load("valid", "unkscm"))
    assert isinstance(unkscm, SipRequest) and unkscm.uri == "nobodyknowsthisscheme:totallyopaquecontent"
    inv2543 = parse(load("valid", "inv2543"))
    assert inv2543.top_via.branch is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("badinv01", "empty parameter"),
        ("clerr", "Content-Length 9999"),
        ("ncl", "Content-Length"),
        ("scalar02", "CSeq"),
        ("quotbal", "unterminated quoted string"),
        ("ltgtruri", "Request-URI"),
        ("lwsruri", "request line"),
        ("lwsstart", "request line"),
        ("trws", "request line"),
        ("escruri", "headers are not allowed"),
        ("regbadct", "enclosed in <>"),
        ("badaspec", "invalid URI"),
        ("baddn", "display name"),
        ("mismatch01", "CSeq method"),
        ("mismatch02", "CSeq method"),
        ("bigcode", "status line"),
        ("insuf", "missing"),
        ("multi01", "more than one"),
        ("mcl01", "more than one Content-Length"),
    ],
)
def test_rfc4475_invalid_messages_rejected(name: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse(load("invalid", name))
    assert reason in info.value.reason


FLOW = ["01_invite", "02_180", "03_200", "04_ack", "05_bye", "06_bye_200"]


@pytest.mark.parametrize("name", FLOW)
def test_rfc3261_flow_round_trips_byte_exact(name: str) -> None:
    data = load("flow", name)
    assert parse(data).serialize() == data


def test_rfc3261_flow_semantics() -> None:
    invite, ringing, ok, ack, bye, bye_ok = (parse(load("flow", n)) for n in FLOW)
    assert isinstance(invite, SipRequest) and isinstance(ok, SipResponse)
    assert ok.top_via.received == "192.0.2.1"
    assert ok.to_addr.tag == "a6c85cf" and invite.to_addr.tag is None
    assert ok.contacts[0].sip_uri.host == "192.0.2.4"
    assert isinstance(ack, SipRequest) and ack.cseq == CSeq(314159, "ACK")
    assert ack.top_via.branch != invite.top_via.branch
    assert isinstance(bye, SipRequest) and bye.call_id == invite.call_id
    assert bye.from_addr.tag == ok.to_addr.tag
    # our own make_response reproduces the BYE's 200 byte for byte
    assert isinstance(bye_ok, SipResponse)
    assert make_response(bye, 200).serialize() == bye_ok.serialize()
    assert isinstance(ringing, SipResponse) and ringing.reason == "Ringing"


def test_sipp_invite_non_canonical_spacing_normalises() -> None:
    data = load("flow", "sipp_uac_invite")
    msg = parse(data)
    assert msg.get("Content-Length") == "129"
    assert msg.contacts[0].uri == "sip:sipp@127.0.1.1:5061" and not msg.contacts[0].angle
    out = msg.serialize()
    assert out == data.replace(b"Content-Length:   129", b"Content-Length: 129")
    assert parse(out).serialize() == out


def test_compact_forms_and_bare_lf() -> None:
    data = (
        b"OPTIONS sip:a@example.com SIP/2.0\n"
        b"v: SIP/2.0/UDP h.example.com;branch=z9hG4bKx\n"
        b"f: <sip:b@example.com>;tag=1\nt: <sip:a@example.com>\ni: abc\n"
        b"CSEQ: 1 OPTIONS\nk: 100rel, timer\nu: talk\no: refer\nr: <sip:c@example.com>\n"
        b"b: <sip:d@example.com>\ns: hi\ne: gzip\nc: text/plain\nl: 2\n\nhi"
    )
    msg = parse(data)
    assert [k for k, _ in msg.headers] == [
        "Via", "From", "To", "Call-ID", "CSeq", "Supported", "Allow-Events", "Event",
        "Refer-To", "Referred-By", "Subject", "Content-Encoding", "Content-Type", "Content-Length",
    ]
    assert msg.get_all("supported") == ["100rel", "timer"]
    assert msg.body == b"hi"
    assert msg.serialize().count(b"\r\n") == 16


def test_multi_value_split_respects_quotes_and_angles() -> None:
    value = '"Doe, John" <sip:j@example.com;x=1>, <sip:k@example.com?h=a,b>;q=0.5 , sip:l@e.com'
    assert split_commas(value) == [
        '"Doe, John" <sip:j@example.com;x=1>',
        "<sip:k@example.com?h=a,b>;q=0.5",
        "sip:l@e.com",
    ]
    assert NameAddr.parse(split_commas(value)[0]).display_name == "Doe, John"


def _options(extra: str = "", body: bytes = b"") -> bytes:
    return (
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\n"
        f"CSeq: 1 OPTIONS\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_limits_are_enforced() -> None:
    parse(_options())
    with pytest.raises(SipParseError, match="too large"):
        parse(_options(body=b"x" * 65536))
    with pytest.raises(SipParseError, match="too many headers"):
        parse(_options("X-A: 1\r\n" * MAX_HEADERS))
    with pytest.raises(SipParseError, match="too long"):
        parse(_options("X-Long: " + "a" * 9000 + "\r\n"))
    with pytest.raises(SipParseError, match="too long"):
        parse(_options("X-Fold: a\r\n" + " b\r\n" * 5000))
    with pytest.raises(SipParseError, match="missing empty line"):
        parse(_options()[:-2])
    with pytest.raises(SipParseError, match="UTF-8"):
        parse(_options("X-Bin: \xff\r\n".replace("\xff", "")).replace(b"X-Bin: ", b"X-Bin: \xff"))


def test_frame_length_for_streams() -> None:
    one = _options(body=b"hello")
    assert frame_length(one[:20]) is None
    assert frame_length(one) == len(one)
    assert frame_length(one[:-3]) == len(one)  # headers complete: need the whole body
    assert frame_length(b"\r\n\r\n" + one + one) == 4 + len(one)
    compact = one.replace(b"Content-Length: 5", b"l : 5")
    assert frame_length(compact) == len(compact)
    with pytest.raises(SipParseError):
        frame_length(one.replace(b"Content-Length: 5", b"Content-Length: 99999999"))
    with pytest.raises(SipParseError):
        frame_length(b"X" * 70000)
    assert parse(b"\r\n\r\n" + one).body == b"hello"


def test_build_request_and_make_response() -> None:
    req = SipRequest.build(
        "INVITE",
        SipUri(user="+15551234567", host="trunk.example.com", port=5060),
        [
            ("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport"),
            ("Via", "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKdef"),
            ("From", "<sip:app@10.0.0.1>;tag=ft"),
            ("To", "<sip:+15551234567@trunk.example.com>"),
            ("Call-ID", "cid-1"),
            ("CSeq", "1 INVITE"),
            ("Timestamp", "54"),
            ("X-Voicelane-Call", "call_123"),
        ],
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    data = req.serialize()
    assert data.endswith(b"Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n")
    assert parse(data).serialize() == data
    trying = make_response(req, 100, to_tag="tt")
    assert trying.get("Timestamp") == "54" and trying.to_addr.tag is None
    ok = make_response(req, 200, to_tag="tt", headers=[("Contact", "<sip:me@10.0.0.2>")])
    assert ok.reason == "OK"
    assert ok.headers.lines("Via") == req.headers.lines("Via")
    assert ok.to_addr.tag == "tt" and ok.from_addr.tag == "ft"
    assert ok.get("Timestamp") is None
    assert str(ok.cseq) == "1 INVITE" and ok.call_id == "cid-1"
    assert parse(ok.serialize()).serialize() == ok.serialize()


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.com",
        "sip:alice:secretword@atlanta.com;transport=tcp",
        "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sips:1212@gateway.com",
        "sip:alice@192.0.2.4:5061",
        "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
        "sip:alice;day=tuesday@atlanta.com",
        "sip:[2001:db8::10]:5070;lr",
        "tel:+15551234567;phone-context=example.com",
    ],
)
def test_sip_uri_round_trip(text: str) -> None:
    assert str(SipUri.parse(text)) == text


def test_sip_uri_fields_and_errors() -> None:
    uri = SipUri.parse("SIP:alice:pw@Atlanta.com:5070;transport=TCP;lr?subject=x")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sip", "alice", "pw", "Atlanta.com", 5070,
    )
    assert uri.transport == "tcp" and uri.param("LR") == "" and uri.headers == [("subject", "x")]
    for bad in ["sip:", "sip:a@", "http://x", "sip:a@host:99999", "sip:a@ho st", "sip:a@h:x",
                "sip:a%zz@h", "sip:a@[::1", "sip:a@h;=x"]:
        with pytest.raises(SipParseError):
            SipUri.parse(bad)


def test_via_and_name_addr_round_trip() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK77;received=1.2.3.4;rport=5062")
    assert (via.port, via.received, via.rport, via.sent_by) == (5060, "1.2.3.4", 5062, "10.0.0.1:5060")
    assert str(via) == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK77;received=1.2.3.4;rport=5062"
    na = NameAddr.parse('"Alice Smith" <sip:alice@a.com>;tag=88')
    assert str(na) == '"Alice Smith" <sip:alice@a.com>;tag=88'
    assert str(NameAddr.parse("Bob <sip:bob@b.com>")) == "Bob <sip:bob@b.com>"
    assert str(NameAddr.parse("sip:bob@b.com;tag=1")) == "sip:bob@b.com;tag=1"
    assert str(NameAddr.parse("<sip:bob@b.com>").with_tag("z")) == "<sip:bob@b.com>;tag=z"
    for bad in ['"unterminated <sip:a@b>', "<sip:a@b", "a b, c <sip:a@b>", "<sip:a@b> junk"]:
        with pytest.raises(SipParseError):
            NameAddr.parse(bad)


def _options_via(via: str) -> SipRequest:
    msg = parse((
        f"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb\r\n"
        "From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:x@127.0.0.1>\r\n"
        "Call-ID: rp1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(msg, SipRequest)
    return msg


def test_rport_request_gets_source_port_and_address_in_the_response_via() -> None:
    request = _options_via("SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKa")
    note_source(request, "198.51.100.7", 40312)  # RFC 3581 section 4
    response = make_response(request, 200)
    assert response.headers.lines("Via") == [
        "SIP/2.0/UDP 192.0.2.1:5060;rport=40312;branch=z9hG4bKa;received=198.51.100.7",
        "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb",
    ]


def test_received_is_added_only_when_the_sent_by_host_differs_without_rport() -> None:
    same = _options_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa")
    note_source(same, "192.0.2.1", 5060)  # RFC 3261 18.2.1
    assert same.headers.lines("Via")[0] == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa"
    other = _options_via("SIP/2.0/UDP host.example;branch=z9hG4bKa")
    note_source(other, "192.0.2.1", 5060)
    assert other.headers.lines("Via")[0] == "SIP/2.0/UDP host.example;branch=z9hG4bKa;received=192.0.2.1"
