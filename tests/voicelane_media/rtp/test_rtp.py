"""RTP packet, RTCP packets and RFC 3550 receiver statistics."""

from __future__ import annotations

import pytest
from voicelane_media.rtp.packet import RtpError, RtpPacket, is_rtcp
from voicelane_media.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    UnknownRtcp,
    middle_ntp,
    ntp_timestamp,
    parse_compound,
    serialize_compound,
)
from voicelane_media.rtp.stats import ReceiverStats

# A PCMU packet as captured on the wire: V=2, PT=0, seq=0x1234, ts=0xdeadbeef, ssrc=0x11223344
PCMU = bytes.fromhex("80001234deadbeef11223344") + b"\xff" * 160


def test_parse_plain_pcmu_packet() -> None:
    p = RtpPacket.parse(PCMU)
    assert (p.payload_type, p.sequence_number, p.timestamp, p.ssrc) == (0, 0x1234, 0xDEADBEEF, 0x11223344)
    assert not p.marker and p.payload == b"\xff" * 160 and p.csrc == [] and p.padding == 0
    assert p.serialize() == PCMU


def test_full_featured_packet_round_trip() -> None:
    # V=2 P=1 X=1 CC=2, M=1 PT=101; ext profile 0xBEDE, 1 word; payload 4 bytes; 4 bytes padding
    data = bytes.fromhex(
        "b2e5ffff00000a0000000001" "0000000a0000000b" "bede0001" "10ff0000" "0a0a00a0" "00000004"
    )
    p = RtpPacket.parse(data)
    assert p.marker and p.payload_type == 101 and p.sequence_number == 0xFFFF
    assert p.csrc == [10, 11] and p.extension_profile == 0xBEDE and p.extension == bytes.fromhex("10ff0000")
    assert p.payload == bytes.fromhex("0a0a00a0") and p.padding == 4
    assert p.serialize() == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(11),
        bytes.fromhex("40001234deadbeef11223344"),  # version 1
        bytes.fromhex("83001234deadbeef11223344"),  # 3 CSRCs missing
        bytes.fromhex("90001234deadbeef11223344bede"),  # truncated extension
        bytes.fromhex("90001234deadbeef11223344bede0002aaaaaaaa"),
        bytes.fromhex("a0001234deadbeef1122334400"),  # padding length 0
        bytes.fromhex("a0001234deadbeef11223344aa09"),  # padding longer than payload
    ],
)
def test_bad_rtp_rejected(data: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(data)


def test_serialize_validation_and_rtcp_demux() -> None:
    with pytest.raises(RtpError):
        RtpPacket(128, 0, 0, 0).serialize()
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, extension_profile=1, extension=b"abc").serialize()
    assert RtpPacket(0, 70000, 2**32 + 5, 1).serialize()[2:8] == bytes.fromhex("117000000005")
    assert not is_rtcp(PCMU)
    assert is_rtcp(ReceiverReport(1).serialize())


def test_rtcp_compound_round_trip_and_fields() -> None:
    block = ReportBlock(0x11223344, 25, -3, 0x0001FFFF, 123, 0xAABBCCDD, 65536)
    packets = [
        SenderReport(0xCAFEBABE, 0xE1234567_89ABCDEF, 160000, 1000, 160000, [block]),
        SourceDescription.cname(0xCAFEBABE, "voicelane@10.0.0.1"),
        Bye([0xCAFEBABE], "call ended"),
    ]
    data = serialize_compound(packets)  # type: ignore[arg-type]
    assert len(data) % 4 == 0
    assert data[:4] == bytes.fromhex("81c8000c")  # SR, RC=1, length 12 words
    parsed = parse_compound(data)
    assert parsed == packets
    assert serialize_compound(parsed) == data
    rb = parsed[0].reports[0]  # type: ignore[union-attr]
    assert rb.cumulative_lost == -3 and rb.fraction_lost == 25
    assert data[28 + 4 : 28 + 8] == bytes.fromhex("19fffffd")  # fraction 25, lost -3 in 24 bits


def test_rtcp_receiver_report_and_unknown_and_errors() -> None:
    rr = ReceiverReport(5, [ReportBlock(6, 0, 2**23 + 5, 100, 7)])
    parsed = parse_compound(rr.serialize() + UnknownRtcp(205, 1, bytes(8)).serialize())
    assert parsed[0].reports[0].cumulative_lost == 2**23 - 1  # type: ignore[union-attr]  # clamped
    assert parsed[1] == UnknownRtcp(205, 1, bytes(8))
    for bad in [b"", b"\x80\xc9\x00\x05", b"\x40\xc9\x00\x00", rr.serialize()[:-1],
                bytes.fromhex("81c900010000000000")]:
        with pytest.raises(RtpError):
            parse_compound(bad)


def test_ntp_helpers() -> None:
    ntp = ntp_timestamp(1.5)
    assert ntp >> 32 == 2208988801 and ntp & 0xFFFFFFFF == 1 << 31
    assert middle_ntp(ntp) == ((2208988801 & 0xFFFF) << 16) | 0x8000


def test_receiver_stats_probation_loss_and_wrap() -> None:
    st = ReceiverStats(ssrc=1)
    assert st.update(65530, 0, 0.0) is False  # probation: first packet
    assert st.update(65531, 160, 0.02) is True
    for i, seq in enumerate([65532, 65533, 65535, 0, 1, 3]):  # 65534 and 2 lost, wraps
        st.update(seq, 320 + 160 * i, 0.04 + 0.02 * i)
    assert st.extended_max == 65536 + 3
    assert st.expected == 9 and st.received == 7 and st.lost == 2
    block = st.report_block()
    assert block.fraction_lost == (2 << 8) // 9 and block.cumulative_lost == 2
    assert block.highest_seq == 65539
    # next interval: no loss
    st.update(4, 2000, 0.2)
    assert st.report_block().fraction_lost == 0


def test_receiver_stats_restart_after_big_jump_and_duplicates() -> None:
    st = ReceiverStats(ssrc=1)
    for seq in range(100, 110):
        st.update(seq, seq * 160, seq * 0.02)
    assert st.update(30000, 0, 3.0) is False  # wild jump: not accepted yet
    assert st.update(30001, 160, 3.02) is True  # confirmed: re-sync
    assert st.base_seq == 30001 and st.lost == 0
    st.update(30001, 160, 3.03)
    assert st.duplicates_or_late == 1


def test_interarrival_jitter_estimator() -> None:
    perfect = ReceiverStats(ssrc=1)
    for i in range(50):
        perfect.update(i, i * 160, i * 0.020)
    assert perfect.jitter == pytest.approx(0.0, abs=1)
    jittery = ReceiverStats(ssrc=1)
    for i in range(400):
        jittery.update(i, i * 160, i * 0.020 + (0.010 if i % 2 else 0.0))
    # |D| alternates 80 samples: the estimator converges to 80 (10 ms)
    assert jittery.jitter == pytest.approx(80, rel=0.05)
    assert jittery.jitter_ms == pytest.approx(10, rel=0.05)
    assert jittery.report_block().jitter == int(jittery.jitter)
