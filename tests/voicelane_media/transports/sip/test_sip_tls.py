"""SIP over TLS on loopback: the user agent's TLS listener (certificate made now) answers an
OPTIONS on one connection and reuses it, advertises `;transport=tls` at its TLS port, counts
a client that does not speak TLS, and dials out over TLS only to a certificate it trusts."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from voicelane_media.settings import MediaSettings
from voicelane_media.sip.message import SipRequest, SipResponse, parse
from voicelane_media.transports.sip.sockets import Peer
from voicelane_media.transports.sip.transactions import new_branch
from voicelane_media.transports.sip.ua import UserAgent

from tests.interop.tls_certs import CertFiles, self_signed


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return self_signed(tmp_path_factory.mktemp("tls"))


def _settings(certs: CertFiles, **more: object) -> MediaSettings:
    values: dict[str, object] = {
        "sip_host": "127.0.0.1", "sip_port": 0, "sip_tls_port": 0, "node_id": "tls-test",
        "sip_tls_certificate": str(certs.cert), "sip_tls_key": str(certs.key),
        "sip_tls_ca_bundle": str(certs.cert), **more}
    return MediaSettings.model_validate(values)


@pytest.fixture
async def ua(certs: CertFiles) -> AsyncIterator[UserAgent]:
    agent = UserAgent(_settings(certs))
    await agent.start()
    yield agent
    await agent.stop()


def _options(port: int, n: int) -> bytes:
    return (f"OPTIONS sip:x@127.0.0.1:{port};transport=tls SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bKtls{n}\r\n"
            "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n"
            f"Call-ID: tls-{n}\r\nCSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> SipResponse:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    message = parse(head)
    assert isinstance(message, SipResponse)
    return message


async def test_options_over_tls_on_one_reused_connection(ua: UserAgent, certs: CertFiles) -> None:
    port = ua.tls_port
    assert port is not None and port != ua.port
    client = ssl.create_default_context(cafile=str(certs.cert))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    try:
        for n in (1, 2):
            writer.write(_options(port, n))
            response = await _read_response(reader)
            assert response.status == 200 and response.cseq.seq == n
        assert ua.transport.counters.received == 2
    finally:
        writer.close()
    assert ua.contact("TLS") == f"<sip:voicelane@127.0.0.1:{port};transport=tls>"
    assert ua.via("TLS", "z9hG4bKx").startswith(f"SIP/2.0/TLS 127.0.0.1:{port};")
    assert ua.contact("UDP") == f"<sip:voicelane@127.0.0.1:{ua.port}>"


async def test_a_client_that_does_not_speak_tls_is_dropped_and_counted(ua: UserAgent) -> None:
    assert ua.tls_port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", ua.tls_port)
    writer.write(_options(ua.tls_port, 1))  # SIP in clear on the TLS port
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing answered
    writer.close()
    counters = ua.transport.counters
    assert counters.dropped == 1 and any(k.startswith("tls handshake") for k in counters.reasons)
    assert counters.received == 0


async def test_outbound_tls_checks_the_peers_certificate(ua: UserAgent, certs: CertFiles,
                                                         tmp_path: Path) -> None:
    """A request to the UA's own TLS listener: accepted with the CA bundle that signed it,
    refused (OSError, so a dialler fails over) with a CA bundle that did not."""
    assert ua.tls_port is not None
    peer = Peer("TLS", "127.0.0.1", ua.tls_port)

    def options(agent: UserAgent) -> SipRequest:
        return SipRequest.build("OPTIONS", f"sip:x@127.0.0.1:{ua.tls_port};transport=tls", [
            ("Via", agent.via("TLS", new_branch())), ("Max-Forwards", "70"),
            ("From", "<sip:a@127.0.0.1>;tag=9"), ("To", "<sip:x@127.0.0.1>"),
            ("Call-ID", new_branch()), ("CSeq", "1 OPTIONS")])

    response = await asyncio.wait_for(ua.layer.request(options(ua), peer), 10)
    assert response.status == 200
    other = self_signed(tmp_path / "other")
    stranger = UserAgent(_settings(certs, sip_tls_ca_bundle=str(other.cert)))
    await stranger.start()
    try:
        with pytest.raises(OSError):
            await asyncio.wait_for(stranger.layer.request(options(stranger), peer), 10)
    finally:
        await stranger.stop()


async def test_no_certificate_no_tls_listener() -> None:
    agent = UserAgent(MediaSettings(sip_host="127.0.0.1", sip_port=0, node_id="plain"))
    await agent.start()
    try:
        assert agent.tls_port is None
        assert agent.contact("TLS").startswith(f"<sip:voicelane@127.0.0.1:{agent.port};")
    finally:
        await agent.stop()


async def test_the_certificate_may_be_given_as_pem_text(certs: CertFiles) -> None:
    """How ECS hands a Secrets Manager secret over: the PEM in the variable itself."""
    agent = UserAgent(_settings(certs, sip_tls_certificate=certs.cert.read_text(),
                                sip_tls_key=certs.key.read_text()))
    await agent.start()
    try:
        assert agent.tls_port is not None
        client = ssl.create_default_context(cafile=str(certs.cert))
        reader, writer = await asyncio.open_connection("127.0.0.1", agent.tls_port, ssl=client)
        writer.write(_options(agent.tls_port, 1))
        assert (await _read_response(reader)).status == 200
        writer.close()
    finally:
        await agent.stop()
