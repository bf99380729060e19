"""The asyncio transaction driver (transports/sip/transactions.py) over a real UDP socket, T1 = 20 ms:
retransmission, the synthetic 408, the ACK of a non-2xx, 2xx retransmission until its ACK,
absorbed request retransmissions. A raw UDP socket plays the peer."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from voicelane_media.sip.message import SipMessage, SipRequest, SipResponse, make_response, parse
from voicelane_media.transports.sip.sockets import Peer, SipTransport
from voicelane_media.transports.sip.transactions import ServerTransaction, TransactionLayer

T1 = 0.02


@dataclass
class Node:
    transport: SipTransport
    layer: TransactionLayer
    requests: list[SipRequest] = field(default_factory=list)
    acks: list[SipRequest] = field(default_factory=list)
    server_txs: list[ServerTransaction] = field(default_factory=list)


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    holder: list[Node] = []

    def on_message(message: SipMessage, peer: Peer) -> None:
        holder[0].layer.on_message(message, peer)

    def on_request(request: SipRequest, peer: Peer, tx: ServerTransaction) -> None:
        holder[0].requests.append(request)
        holder[0].server_txs.append(tx)

    def on_ack(request: SipRequest, peer: Peer) -> None:
        holder[0].acks.append(request)

    transport = SipTransport("127.0.0.1", 0, on_message)
    await transport.start()
    holder.append(Node(transport, TransactionLayer(transport, on_request, on_ack, t1=T1)))
    yield holder[0]
    await holder[0].layer.close()
    await transport.stop()


@pytest.fixture
def peer_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        yield s


def request(method: str, port: int, branch: str, seq: int = 1, call_id: str = "tx-1") -> SipRequest:
    return SipRequest.build(method, "sip:bob@127.0.0.1", [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={branch}"),
        ("Max-Forwards", "70"), ("From", "<sip:alice@127.0.0.1>;tag=a1"),
        ("To", "<sip:bob@127.0.0.1>"), ("Call-ID", call_id), ("CSeq", f"{seq} {method}")])


async def received(sock: socket.socket, seconds: float) -> list[tuple[float, SipMessage]]:
    """Every message the peer socket gets within `seconds`, with its arrival time."""
    loop = asyncio.get_running_loop()
    out: list[tuple[float, SipMessage]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), left)
        except TimeoutError:
            break
        out.append((time.monotonic(), parse(data)))
    return out


async def test_unanswered_request_is_retransmitted_then_times_out_with_408(
        node: Node, peer_socket: socket.socket) -> None:
    port = peer_socket.getsockname()[1]
    options = request("OPTIONS", node.transport.port, "z9hG4bKopt1")
    started = time.monotonic()
    task = asyncio.ensure_future(node.layer.request(options, Peer("UDP", "127.0.0.1", port)))
    got = await received(peer_socket, 64 * T1 + 0.3)
    final = await asyncio.wait_for(task, 1)
    assert final.status == 408 and "no response" in final.reason
    assert time.monotonic() - started >= 64 * T1 - 0.01
    # Timer E from each due time: T1, 2 T1, 4 T1 ... (T2 = 4 s not reached) until F at 64 T1
    times = [t - got[0][0] for t, _ in got]
    expected = [0.0, 0.02, 0.06, 0.14, 0.30, 0.62, 1.26]
    assert len(times) == len(expected), times
    assert all(e - 0.005 <= t <= e + 0.1 for t, e in zip(times, expected, strict=True)), times


async def test_non_2xx_final_to_invite_is_acked_and_its_retransmission_acked_again(
        node: Node, peer_socket: socket.socket) -> None:
    port = peer_socket.getsockname()[1]
    invite = request("INVITE", node.transport.port, "z9hG4bKinv1")
    task = asyncio.ensure_future(node.layer.request(invite, Peer("UDP", "127.0.0.1", port)))
    sent = parse(await asyncio.wait_for(asyncio.get_running_loop().sock_recv(peer_socket, 65536), 1))
    assert isinstance(sent, SipRequest) and sent.method == "INVITE"
    busy = make_response(sent, 486, to_tag="b1").serialize()
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(peer_socket, busy, ("127.0.0.1", node.transport.port))
    assert (await asyncio.wait_for(task, 1)).status == 486
    await loop.sock_sendto(peer_socket, busy, ("127.0.0.1", node.transport.port))  # retransmitted
    acks = [m for _, m in await received(peer_socket, 0.2)
            if isinstance(m, SipRequest) and m.method == "ACK"]  # (INVITE retransmissions aside)
    assert len(acks) == 2
    assert acks[0].top_via.branch == "z9hG4bKinv1"  # in the INVITE's transaction
    assert acks[0].to_addr.tag == "b1" and acks[0].cseq.seq == 1


async def test_2xx_is_retransmitted_until_the_ack_and_retransmitted_requests_are_absorbed(
        node: Node, peer_socket: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    port = peer_socket.getsockname()[1]
    invite = request("INVITE", port, "z9hG4bKin2", call_id="tx-2")
    target = ("127.0.0.1", node.transport.port)
    await loop.sock_sendto(peer_socket, invite.serialize(), target)
    await loop.sock_sendto(peer_socket, invite.serialize(), target)  # a UDP retransmission
    await asyncio.sleep(0.05)
    assert len(node.requests) == 1  # delivered once
    tx = node.server_txs[0]
    await tx.respond(make_response(tx.request, 200, to_tag="u1"))
    statuses = [m.status for _, m in await received(peer_socket, 0.2) if isinstance(m, SipResponse)]
    assert len(statuses) >= 3 and set(statuses) == {200}  # at 0, T1, 3 T1, 7 T1 ...
    ack = request("ACK", port, "z9hG4bKack2", call_id="tx-2")  # a new branch: its own transaction
    await loop.sock_sendto(peer_socket, ack.serialize(), target)
    await asyncio.sleep(0.01)
    assert await received(peer_socket, 0.3) == []  # the ACK stopped the retransmission
    assert [a.method for a in node.acks] == ["ACK"]  # and reached the UA


async def test_non_2xx_final_is_retransmitted_until_ack_which_is_absorbed(
        node: Node, peer_socket: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    port = peer_socket.getsockname()[1]
    invite = request("INVITE", port, "z9hG4bKin3", call_id="tx-3")
    target = ("127.0.0.1", node.transport.port)
    await loop.sock_sendto(peer_socket, invite.serialize(), target)
    await asyncio.sleep(0.05)
    tx = node.server_txs[0]
    await tx.respond(make_response(tx.request, 480, to_tag="u2"))
    assert tx.is_final
    await tx.respond(make_response(tx.request, 200, to_tag="u2"))  # one final only: ignored
    statuses = [m.status for _, m in await received(peer_socket, 0.2) if isinstance(m, SipResponse)]
    assert len(statuses) >= 3 and set(statuses) == {480}  # Timer G: at 0, T1, 3 T1, 7 T1 ...
    ack = request("ACK", port, "z9hG4bKin3", call_id="tx-3")  # same branch as the INVITE
    await loop.sock_sendto(peer_socket, ack.serialize(), target)
    await asyncio.sleep(0.01)
    assert await received(peer_socket, 0.3) == []
    assert node.acks == []  # the transaction's own ACK: not the UA's business
