"""RFC 3261 section 17 transaction state machines driven by explicit time."""

from __future__ import annotations

from pathlib import Path

import pytest
from voicelane_media.sip.message import SipRequest, SipResponse, make_response, parse
from voicelane_media.sip.transaction import (
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Schedule,
    Send,
    Terminated,
    TimedOut,
    TimerConfig,
    client_key,
    server_key,
)

FLOW = Path(__file__).parents[1] / "fixtures" / "sip" / "flow"


def invite() -> SipRequest:
    msg = parse((FLOW / "01_invite.sip").read_bytes())
    assert isinstance(msg, SipRequest)
    return msg


def bye() -> SipRequest:
    msg = parse((FLOW / "05_bye.sip").read_bytes())
    assert isinstance(msg, SipRequest)
    return msg


def sends(actions: list) -> list[bytes]:  # type: ignore[type-arg]
    return [a.data for a in actions if isinstance(a, Send)]


def retransmit_times(tx, until: float) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    while tx.next_deadline is not None and tx.next_deadline <= until:
        now = tx.next_deadline
        acts = tx.poll(now)
        if sends(acts):
            times.append(round(now, 3))
    return times


def test_invite_client_timer_a_doubles_and_b_times_out() -> None:
    tx = InviteClientTransaction(invite())
    first = tx.start(0.0)
    assert sends(first) == [invite().serialize()]
    assert retransmit_times(tx, 31.0) == [0.5, 1.5, 3.5, 7.5, 15.5]
    acts = tx.poll(32.0)
    assert TimedOut("B") in acts and Terminated() in acts and tx.terminated


def test_invite_client_non_2xx_acks_and_absorbs_retransmissions() -> None:
    req = invite()
    tx = InviteClientTransaction(req)
    tx.start(0.0)
    ringing = make_response(req, 180, to_tag="x")
    assert tx.receive(ringing, 0.2) == [Deliver(ringing)]
    assert tx.state == "proceeding" and tx.poll(10.0) == []  # Timer A stopped
    busy = make_response(req, 486, to_tag="x")
    acts = tx.receive(busy, 0.3)
    (ack_bytes,) = sends(acts)
    ack = parse(ack_bytes)
    assert isinstance(ack, SipRequest) and ack.method == "ACK" and ack.uri == req.uri
    assert ack.top_via.branch == req.top_via.branch and ack.to_addr.tag == "x"
    assert str(ack.cseq) == "314159 ACK"
    assert Deliver(busy) in acts and tx.state == "completed"
    assert sends(tx.receive(busy, 1.0)) == [ack_bytes]  # retransmitted 486 -> ACK again, not TU
    assert tx.poll(32.2) == [] and tx.poll(32.3) == [Terminated()]  # Timer D = 32 s


def test_invite_client_2xx_accepted_state() -> None:
    req = invite()
    tx = InviteClientTransaction(req)
    tx.start(0.0)
    ok = parse((FLOW / "03_200.sip").read_bytes())
    assert isinstance(ok, SipResponse)
    assert tx.receive(ok, 0.1)[0] == Deliver(ok) and tx.state == "accepted"
    assert tx.receive(ok, 0.6) == [Deliver(ok)]  # retransmitted 2xx reaches the TU
    assert tx.poll(32.1) == [Terminated()]  # Timer M = 64*T1


def test_invite_client_reliable_transport() -> None:
    req = invite()
    tx = InviteClientTransaction(req, reliable=True)
    tx.start(0.0)
    assert set(tx.timers) == {"B"}
    acts = tx.receive(make_response(req, 503), 0.1)
    assert acts[-1] == Terminated()  # Timer D = 0 on TCP


def test_non_invite_client_timer_e_caps_at_t2() -> None:
    tx = NonInviteClientTransaction(bye())
    tx.start(0.0)
    times = retransmit_times(tx, 31.9)
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]  # 0.5,1,2,4,4,4 intervals
    assert tx.poll(32.0)[-2:] == [TimedOut("F"), Terminated()]


def test_non_invite_client_proceeding_and_k() -> None:
    req = bye()
    tx = NonInviteClientTransaction(req, config=TimerConfig(t1=0.1, t2=1.0, t4=2.0))
    tx.start(0.0)
    tx.receive(make_response(req, 100), 0.05)
    assert tx.state == "proceeding"
    tx.poll(0.1)  # E fires in Proceeding -> next at T2
    assert tx.timers["E"] == pytest.approx(1.1)
    ok = make_response(req, 200)
    assert tx.receive(ok, 0.2)[0] == Deliver(ok) and tx.state == "completed"
    assert tx.receive(ok, 0.3) == []  # absorbed
    assert tx.poll(2.19) == [] and tx.poll(2.2) == [Terminated()]


def test_invite_server_trying_retransmits_and_timer_g_h() -> None:
    req = invite()
    tx = InviteServerTransaction(req)
    acts = tx.start(0.0)
    assert acts[0] == Deliver(req)
    trying = parse(sends(acts)[0])
    assert isinstance(trying, SipResponse) and trying.status == 100
    assert sends(tx.receive(req, 0.3)) == sends(acts)  # retransmitted INVITE -> 100 again
    ringing = make_response(req, 180, to_tag="t")
    tx.respond(ringing, 0.4)
    assert sends(tx.receive(req, 0.5)) == [ringing.serialize()]
    busy = make_response(req, 486, to_tag="t")
    assert sends(tx.respond(busy, 1.0)) == [busy.serialize()]
    assert retransmit_times(tx, 20.0) == [1.5, 2.5, 4.5, 8.5, 12.5, 16.5]
    assert tx.poll(33.0)[-2:] == [TimedOut("H"), Terminated()]


def test_invite_server_ack_confirms_then_timer_i() -> None:
    req = invite()
    tx = InviteServerTransaction(req, send_trying=False)
    assert sends(tx.start(0.0)) == []
    tx.respond(make_response(req, 404, to_tag="t"), 0.1)
    ack = SipRequest("ACK", req.uri, req.headers.copy())
    assert tx.receive(ack, 0.2) == [Schedule("I", 5.2)] and tx.state == "confirmed"
    assert tx.receive(ack, 0.3) == []  # absorbed
    assert tx.poll(5.1) == [] and tx.poll(5.2) == [Terminated()]


def test_invite_server_2xx_accepted_passes_ack_to_tu() -> None:
    req = invite()
    tx = InviteServerTransaction(req)
    tx.start(0.0)
    ok = make_response(req, 200, to_tag="t")
    tx.respond(ok, 0.1)
    assert tx.state == "accepted"
    assert sends(tx.respond(ok, 0.6)) == [ok.serialize()]  # TU-driven 2xx retransmission
    ack = SipRequest("ACK", req.uri, req.headers.copy())
    assert tx.receive(ack, 0.7) == [Deliver(ack)]
    assert tx.poll(32.1) == [Terminated()]


def test_non_invite_server_timer_j_and_reliable() -> None:
    req = bye()
    tx = NonInviteServerTransaction(req)
    assert tx.start(0.0) == [Deliver(req)]
    assert tx.receive(req, 0.1) == []  # Trying: absorb
    ok = make_response(req, 200)
    tx.respond(ok, 0.2)
    assert sends(tx.receive(req, 0.3)) == [ok.serialize()]
    assert tx.poll(32.1) == [] and tx.poll(32.2) == [Terminated()]
    tcp = NonInviteServerTransaction(req, reliable=True)
    tcp.start(0.0)
    assert tcp.respond(ok, 0.1)[-1] == Terminated()


def test_matching_keys() -> None:
    req = invite()
    ack = SipRequest("ACK", req.uri, req.headers.copy())
    assert server_key(req) == server_key(ack) == ("z9hG4bKnashds8", "pc33.atlanta.com", "INVITE")
    assert client_key(make_response(req, 200)) == client_key(req) == ("z9hG4bKnashds8", "INVITE")


def test_matching_keys_without_a_branch_rfc2543() -> None:
    def branchless(method: str, seq: int) -> SipRequest:
        req = invite()
        headers = req.headers.copy()
        headers.set("Via", "SIP/2.0/UDP pc33.atlanta.com")
        headers.set("CSeq", f"{seq} {method}")
        return SipRequest(method, req.uri, headers)

    first, second = branchless("INVITE", 1), branchless("INVITE", 2)
    assert server_key(first) != server_key(second)  # not one transaction for every old request
    assert server_key(branchless("ACK", 1)) == server_key(first)  # the ACK still matches
    assert client_key(make_response(first, 180)) == client_key(first)
