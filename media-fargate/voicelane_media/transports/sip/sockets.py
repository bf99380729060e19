"""SIP over UDP, TCP and TLS (RFC 3261 sections 18 and 26.2) on asyncio.

Every datagram or framed stream message goes through ``voicelane_media.sip.message.parse``.
Malformed requests get ``400`` with the parse reason when enough of the message is readable
to address a response; anything else is dropped and counted. Nothing here raises into the
event loop. TLS has its own listener (``tls.py`` builds its contexts); a failed handshake is
logged and counted, and connections, both ways, are kept and reused per peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from voicelane_media.sip.message import (
    MAX_MESSAGE_SIZE,
    SIP_VERSION,
    SipMessage,
    SipParseError,
    SipRequest,
    SipResponse,
    frame_length,
    note_source,
    parse,
)

from .tls import HANDSHAKE_TIMEOUT_S, TlsConfig

log = logging.getLogger(__name__)

_REQUEST_START = re.compile(rb"^([A-Za-z]+) [^ ]+ SIP/2\.0\r?$")
_ESSENTIAL = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")


@dataclass(frozen=True)
class Peer:
    """Where a message came from / goes to: transport (``UDP``/``TCP``/``TLS``), host, port."""

    transport: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port};transport={self.transport.lower()}"


MessageHandler = Callable[[SipMessage, Peer], None]


@dataclass
class TransportCounters:
    """Messages in and out, and the datagrams dropped by reason (counted, never a crash)."""

    received: int = 0
    sent: int = 0
    dropped: int = 0
    rejected_400: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped += 1
        key = reason[:60]
        self.reasons[key] = self.reasons.get(key, 0) + 1


def bad_request_for(data: bytes, reason: str) -> bytes | None:
    """A ``400`` answering an unparseable request, built from its raw header lines, or
    ``None`` when it is not a request or the headers needed to address a reply are missing."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = head.split(b"\n")
    match = _REQUEST_START.match(lines[0].strip(b"\r") + b"\r") or _REQUEST_START.match(
        lines[0].strip(b"\r")
    )
    if match is None or match.group(1).upper() == b"ACK":
        return None
    kept: list[bytes] = []
    seen: set[str] = set()
    for raw in lines[1:]:
        name, colon, value = raw.strip(b"\r").partition(b":")
        lname = name.strip().decode("latin-1").lower()
        if colon and lname in _ESSENTIAL and b"\r" not in value:
            kept.append(name.strip() + b": " + value.strip())
            seen.add({"v": "via", "f": "from", "t": "to", "i": "call-id"}.get(lname, lname))
    if not {"via", "from", "to", "call-id", "cseq"} <= seen:
        return None
    phrase = re.sub(r"[^ -~]", "?", reason)[:120]
    return (b"SIP/2.0 400 Bad Request (" + phrase.encode() + b")\r\n" + b"\r\n".join(kept)
            + b"\r\nContent-Length: 0\r\n\r\n")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = Peer("UDP", str(addr[0]), int(addr[1]))
        reply = self.owner.deliver(data, peer)
        if reply is not None and self.owner.udp is not None:
            self.owner.udp.sendto(reply, (peer.host, peer.port))

    def error_received(self, exc: Exception) -> None:
        self.owner.counters.drop(f"udp error {type(exc).__name__}")


StreamKey = tuple[str, str, int]  # transport, host, port


class _TlsAccept(asyncio.StreamReaderProtocol):
    """A connection on the TLS port reads nothing until its handshake starts: a ClientHello
    read into the plain stream would be lost to the handshake, which would then hang."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        super().connection_made(transport)


class SipTransport:
    """Listens on ``host:port`` for UDP and TCP (and on the TLS port with ``tls``) and sends
    messages to peers."""

    def __init__(self, host: str, port: int, on_message: MessageHandler,
                 tls: TlsConfig | None = None) -> None:
        self.host = host
        self.port = port
        self.on_message = on_message
        self.tls = tls
        self.tls_port: int | None = None  # bound TLS listener port, once started
        self.counters = TransportCounters()
        self.udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._tls_server: asyncio.Server | None = None
        self._streams: dict[StreamKey, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def port_for(self, transport: str) -> int:
        """The port we listen on for ``transport`` (what Via and Contact advertise)."""
        if transport == "TLS" and self.tls_port is not None:
            return self.tls_port
        return self.port

    async def start(self) -> None:
        """Bind UDP and TCP on the same port (with port 0: a free pair, retried)."""
        loop = asyncio.get_running_loop()
        ephemeral = self.port == 0
        for attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port)
            )
            port = int(transport.get_extra_info("sockname")[1])
            try:
                self._tcp_server = await asyncio.start_server(self._accept, self.host, port)
            except OSError:
                transport.close()
                if not ephemeral or attempt == 19:
                    raise
                continue
            self.udp, self.port = transport, port
            break
        if self.tls is not None and self.tls.server is not None:
            self._tls_server = await loop.create_server(
                lambda: _TlsAccept(asyncio.StreamReader(), self._accept_tls), self.host,
                self.tls.port)
            self.tls_port = int(self._tls_server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.udp is not None:
            self.udp.close()
        for server in (self._tcp_server, self._tls_server):
            if server is not None:
                server.close()
        for writer in list(self._streams.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        self._streams.clear()

    # -- receiving ----------------------------------------------------------------------

    def deliver(self, data: bytes, peer: Peer) -> bytes | None:
        """Parse and hand one message to the handler; returns a raw 400 to send back, if any."""
        self.counters.received += 1
        if not data.strip(b"\r\n"):
            return None  # keep-alive
        try:
            message = parse(data)
        except SipParseError as exc:
            reply = bad_request_for(data, exc.reason if hasattr(exc, "reason") else str(exc))
            if reply is None:
                self.counters.drop(str(exc))
            else:
                self.counters.rejected_400 += 1
            return reply
        if isinstance(message, SipResponse) and message.version.upper() != SIP_VERSION:
            self.counters.drop(f"unsupported SIP version {message.version}")  # no transaction sent it
            return None
        if isinstance(message, SipRequest):
            note_source(message, peer.host, peer.port)  # the responses copy this Via
        try:
            self.on_message(message, peer)
        except Exception:  # the loop must survive any handler bug; the message is counted
            log.exception("SIP handler failed for %s from %s", message, peer)
            self.counters.drop("handler error")
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        peer = Peer("TCP", str(addr[0]), int(addr[1]))
        self._streams[("TCP", peer.host, peer.port)] = writer
        await self._read_stream(reader, writer, peer)

    async def _accept_tls(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        """A TCP connection on the TLS port: handshake first (bounded), then SIP frames.
        A client that is not TLS, or fails the handshake, is logged and counted."""
        assert self.tls is not None and self.tls.server is not None
        addr = writer.get_extra_info("peername")
        peer = Peer("TLS", str(addr[0]), int(addr[1]))
        try:
            await asyncio.wait_for(writer.start_tls(self.tls.server), HANDSHAKE_TIMEOUT_S)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            log.warning("TLS handshake with %s:%s failed: %s", peer.host, peer.port, exc)
            self.counters.drop(f"tls handshake: {type(exc).__name__}")
            writer.transport.abort()
            return
        self._streams[("TLS", peer.host, peer.port)] = writer
        await self._read_stream(reader, writer, peer)

    async def _read_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        buffer = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buffer += chunk
                while buffer:
                    try:
                        size = frame_length(buffer)
                    except SipParseError as exc:
                        self.counters.drop(f"tcp framing: {exc}")
                        return  # a stream we cannot frame cannot be resynchronised
                    if size is None or size > len(buffer):
                        if len(buffer) > 2 * MAX_MESSAGE_SIZE:
                            self.counters.drop("tcp buffer overflow")
                            return
                        break
                    frame, buffer = buffer[:size], buffer[size:]
                    reply = self.deliver(frame, peer)
                    if reply is not None:
                        writer.write(reply)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if self._streams.get((peer.transport, peer.host, peer.port)) is writer:
                del self._streams[(peer.transport, peer.host, peer.port)]
            with contextlib.suppress(Exception):
                writer.close()

    # -- sending ------------------------------------------------------------------------

    async def send(self, message: SipMessage, peer: Peer) -> None:
        """Send over UDP, or over the TCP/TLS connection to ``peer`` (opened on first use,
        then reused by every message to that peer, both ways)."""
        await self.send_data(message.serialize(), peer)

    async def send_data(self, data: bytes, peer: Peer) -> None:
        """Send a serialized message (as the transaction state machines produce them)."""
        self.counters.sent += 1
        if peer.transport == "UDP":
            if self.udp is None:
                raise RuntimeError("transport not started")
            self.udp.sendto(data, (peer.host, peer.port))
            return
        key = (peer.transport, peer.host, peer.port)
        writer = self._streams.get(key)
        if writer is None or writer.is_closing():
            reader, new_writer = await asyncio.wait_for(self._connect(peer), timeout=5)
            writer = new_writer
            self._streams[key] = new_writer
            task = asyncio.create_task(self._read_stream(reader, new_writer, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        writer.write(data)
        await writer.drain()

    async def _connect(self, peer: Peer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new TCP connection, or a TLS one that checks the peer's certificate (an
        ``ssl.SSLCertVerificationError`` is an OSError: the dialler treats it as unreachable)."""
        if peer.transport != "TLS":
            return await asyncio.open_connection(peer.host, peer.port)
        if self.tls is None:
            raise OSError("SIP over TLS is not configured on this node")
        return await asyncio.open_connection(
            peer.host, peer.port, ssl=self.tls.client,
            server_hostname=peer.host if self.tls.verify else None,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
