"""Hostile input: the SIP parser raises SipParseError and nothing else, in bounded time."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voicelane_media.sip.message import SipParseError, frame_length, parse

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "sip").glob("*/*.sip"))
SEEDS = [p.read_bytes() for p in FIXTURES]
SPECIAL = [b"\r\n", b"\n", b" ", b"\t", b":", b";", b",", b'"', b"\\", b"<", b">", b"@", b"%",
           b"=", b"\x00", b"\xff", b"\xc3", b"SIP/2.0", b"Content-Length: 99\r\n", b"l:-1\r\n"]


def _check(data: bytes) -> None:
    try:
        msg = parse(data)
    except SipParseError as exc:
        assert exc.reason
    else:
        # whatever parses must serialise and re-parse to the same canonical bytes
        out = msg.serialize()
        assert parse(out).serialize() == out
    with contextlib.suppress(SipParseError):
        frame_length(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.integers(0, 4000), st.integers(0, 40), st.sampled_from(SPECIAL)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_valid_messages(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    data = bytearray(seed)
    for pos, cut, insert in edits:
        pos %= len(data) + 1
        data[pos : pos + cut % 4] = insert
    _check(bytes(data))


def test_pathological_inputs_are_fast() -> None:
    cases = [
        b"INVITE sip:a@b SIP/2.0\r\n" + b"Via: " + b"," * 8000 + b"\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\n" + b"To: " + b'"' * 8000 + b"\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\n" + (b"X: a\r\n" + b" b\r\n" * 1000) * 10 + b"\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nContact: " + b"<sip:a@b>;x=1," * 500 + b"\r\n\r\n",
        b"\r\n" * 40000,
        b"A" * 65536,
    ]
    for data in cases:
        start = time.perf_counter()
        with contextlib.suppress(SipParseError):
            parse(data)
        assert time.perf_counter() - start < 0.5
