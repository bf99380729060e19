"""The user agent's answers to requests it cannot or must not serve, over a real UDP socket
and a real TCP connection (no control plane needed: no call handler is installed)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.sip.ua import UserAgent

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def ua() -> AsyncIterator[UserAgent]:
    agent = UserAgent(MediaSettings(sip_host="127.0.0.1", sip_port=0, node_id="ua-test"))
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


def _request(method: str, uri: str = "sip:x@127.0.0.1", extra: str = "",
             to_tag: str = "", cseq_method: str | None = None) -> bytes:
    return (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{method}{id(extra)}\r\n"
        f"From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:x@127.0.0.1>{to_tag}\r\n"
        f"Call-ID: ua-{method}-{id(extra)}\r\nCSeq: 1 {cseq_method or method}\r\n"
        f"Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


async def _udp(port: int, data: bytes) -> list[str]:
    """Status lines until a final response."""
    def run() -> list[str]:
        lines: list[str] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(data, ("127.0.0.1", port))
            while not lines or int(lines[-1].split()[1]) < 200:
                lines.append(s.recv(65536).decode().split("\r\n", 1)[0])
        return lines

    return await asyncio.to_thread(run)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (_request("OPTIONS"), 200),
    (_request("BYE", to_tag=";tag=nodialog"), 481),
    (_request("REGISTER"), 405),
    (_request("FROBNICATE"), 501),
    (_request("OPTIONS", extra="Require: 100rel\r\n"), 420),
    (_request("OPTIONS", uri="tel:+14155550100"), 416),
    (_request("INVITE", extra="Content-Type: text/plain\r\n").replace(
        b"Content-Length: 0\r\n\r\n", b"Content-Length: 5\r\n\r\nhello"), 415),
    (_request("INVITE"), 503),  # no call manager attached: the node takes no calls
    (_request("OPTIONS").replace(b" SIP/2.0\r\n", b" SIP/7.0\r\n", 1), 505),  # RFC 3261 8.2.3
])
async def test_request_gets_the_right_status(ua: UserAgent, request_bytes: bytes,
                                             status: int) -> None:
    lines = await _udp(ua.port, request_bytes)
    assert lines[-1].startswith(f"SIP/2.0 {status} "), lines


async def test_garbage_is_dropped_and_counted_not_answered(ua: UserAgent) -> None:
    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x00\xff not sip at all", ("127.0.0.1", ua.port))
    await asyncio.to_thread(send)
    await asyncio.sleep(0.2)
    assert ua.transport.counters.dropped == 1
    assert (await _udp(ua.port, _request("OPTIONS")))[-1].startswith("SIP/2.0 200")  # still alive


async def test_rport_is_filled_with_the_source_port_and_received_address(ua: UserAgent) -> None:
    data = _request("OPTIONS").replace(b"127.0.0.1:9;branch=", b"127.0.0.1:9;rport;branch=", 1)

    def exchange() -> tuple[int, bytes]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.bind(("127.0.0.1", 0))
            s.sendto(data, ("127.0.0.1", ua.port))
            return s.getsockname()[1], s.recv(65536)

    port, response = await asyncio.to_thread(exchange)
    sent = next(line for line in data.split(b"\r\n") if line.startswith(b"Via:"))
    via = next(line for line in response.split(b"\r\n") if line.startswith(b"Via:"))
    expected = sent.replace(b";rport;", f";rport={port};".encode()) + b";received=127.0.0.1"
    assert via == expected  # RFC 3581 section 4


async def test_response_of_another_sip_version_is_dropped_and_counted(ua: UserAgent) -> None:
    response = (
        b"SIP/7.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKv7\r\n"
        b"From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:x@127.0.0.1>;tag=b2\r\n"
        b"Call-ID: v7\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(response, ("127.0.0.1", ua.port))
    await asyncio.to_thread(send)
    await asyncio.sleep(0.2)
    assert ua.transport.counters.dropped == 1
    assert ua.transport.counters.reasons == {"unsupported SIP version SIP/7.0": 1}


async def test_tcp_framing_handles_two_messages_in_one_segment(ua: UserAgent) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
    writer.write(_request("OPTIONS", extra="X-A: 1\r\n") + _request("OPTIONS", extra="X-B: 2\r\n"))
    await writer.drain()
    got = []
    for _ in range(2):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=3)
        got.append(head.split(b"\r\n", 1)[0])
    writer.close()
    assert got == [b"SIP/2.0 200 OK", b"SIP/2.0 200 OK"]


async def test_retransmitted_request_gets_the_same_response_once_processed(ua: UserAgent) -> None:
    data = _request("REGISTER")

    def twice() -> list[bytes]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            out = []
            for _ in range(2):  # the same datagram again, as a UDP client retransmits
                s.sendto(data, ("127.0.0.1", ua.port))
                out.append(s.recv(65536))
            return out

    first, again = await asyncio.to_thread(twice)
    assert first == again and first.startswith(b"SIP/2.0 405")
    assert len(ua.layer.servers) == 1  # one transaction, not two
