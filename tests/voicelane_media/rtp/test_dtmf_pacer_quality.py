"""RFC 4733 DTMF, the 20 ms pacer and the E-model MOS estimate."""

from __future__ import annotations

import pytest
from voicelane_media import quality
from voicelane_media.rtp.dtmf import DtmfReceiver, DtmfSender, TelephoneEvent, event_code
from voicelane_media.rtp.pacer import Pacer
from voicelane_media.rtp.packet import RtpError, RtpPacket


def test_telephone_event_payload() -> None:
    # RFC 4733 figure: event 5, E=1, volume 10, duration 800
    ev = TelephoneEvent.parse(bytes.fromhex("058a0320"))
    assert (ev.event, ev.end, ev.volume, ev.duration, ev.digit) == (5, True, 10, 800, "5")
    assert ev.serialize() == bytes.fromhex("058a0320")
    assert TelephoneEvent(11, False, 63, 65535).serialize() == bytes.fromhex("0b3fffff")
    with pytest.raises(RtpError):
        TelephoneEvent.parse(b"\x05\x8a")
    assert event_code("#") == 11 and event_code("a") == 12
    with pytest.raises(ValueError):
        event_code("x")


def test_sender_packet_train() -> None:
    pkts = DtmfSender().packets("7", ssrc=9, sequence_number=65534, timestamp=1000, duration_ms=100)
    events = [TelephoneEvent.parse(p.payload) for p in pkts]
    assert [p.marker for p in pkts] == [True] + [False] * 6
    assert [p.sequence_number for p in pkts] == [65534, 65535, 0, 1, 2, 3, 4]
    assert {p.timestamp for p in pkts} == {1000}
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert all(e.event == 7 for e in events)
    assert pkts[0].serialize()[:2] == bytes.fromhex("80e5")  # marker + PT 101


def test_receiver_dedups_and_survives_loss() -> None:
    sender = DtmfSender()
    rx = DtmfReceiver()
    got: list[str] = []
    seq = 0
    for i, digit in enumerate("12#"):
        for p in sender.packets(digit, ssrc=1, sequence_number=seq, timestamp=8000 * i, duration_ms=80):
            got += rx.feed(p)
            got += rx.feed(p)  # every packet duplicated on the wire
            seq += 1
    assert got == ["1", "2", "#"]
    # all end packets of "4" lost: emitted when the next event starts
    lossy = [p for p in sender.packets("4", ssrc=1, sequence_number=0, timestamp=50000)
             if not TelephoneEvent.parse(p.payload).end]
    got = [d for p in lossy for d in rx.feed(p)]
    assert got == []
    got = [d for p in sender.packets("5", ssrc=1, sequence_number=9, timestamp=60000) for d in rx.feed(p)]
    assert got == ["4", "5"]
    assert rx.feed(RtpPacket(0, 1, 1, 1, b"\xff" * 160)) == []


def test_pacer_has_no_drift() -> None:
    pacer = Pacer(start=100.0)
    assert pacer.deadline(0) == 100.0
    assert pacer.deadline(50_000) == pytest.approx(1100.0, abs=1e-9)  # 1000 s later, exact
    assert pacer.index_at(99.0) == -1 and pacer.index_at(100.0) == 0
    assert pacer.index_at(100.0399) == 1 and pacer.index_at(100.04) == 2
    assert pacer.delay_until(3, 100.05) == pytest.approx(0.01)
    assert pacer.delay_until(1, 100.05) == 0.0
    # the sender woke late: frames 1..4 are overdue at t=100.085
    assert pacer.frames_behind(1, 100.085) == 4
    assert pacer.rtp_timestamp(3, base=2**32 - 160) == 320
    # simulated loop with wake-up jitter keeps the average interval at exactly 20 ms
    now, sent = 100.0, []
    for n in range(1000):
        now = max(now, pacer.deadline(n)) + (0.003 if n % 3 == 0 else 0.0)
        sent.append(now)
    assert sent[-1] - pacer.deadline(999) <= 0.003 + 1e-9


def test_emodel_mos() -> None:
    assert quality.mos(0, 0, 0) == pytest.approx(4.41, abs=0.02)  # R ~ 92.96 for pristine G.711
    assert quality.mos_from_r(93.2) == pytest.approx(4.409, abs=0.001)
    assert quality.mos_from_r(-5) == 1.0 and quality.mos_from_r(120) == 4.5
    good = quality.mos(0.5, 5, 40)
    medium = quality.mos(3, 20, 100)
    bad = quality.mos(15, 60, 300)
    assert 4.0 < good < 4.41 and 3.3 < medium < good and 1.0 <= bad < 2.8
    assert quality.mos(2, 0, 0) > quality.mos(2, 0, 0, plc=False)
    assert quality.delay_impairment(177.3) == pytest.approx(4.2552)
    assert quality.delay_impairment(300) == pytest.approx(0.024 * 300 + 0.11 * 122.7)
    assert quality.equipment_impairment(0) == 0 and quality.equipment_impairment(100) < 95
