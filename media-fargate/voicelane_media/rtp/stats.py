"""Receiver statistics (RFC 3550 appendix A.1, A.3, A.8): sequence tracking, loss, jitter."""

from __future__ import annotations

from dataclasses import dataclass

from .rtcp import ReportBlock

RTP_SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2


@dataclass
class ReceiverStats:
    """Tracks one remote SSRC. Feed :meth:`update` with each packet's sequence number,
    RTP timestamp and arrival time (seconds, any monotonic clock)."""

    ssrc: int
    clock_rate: int = 8000
    max_seq: int = 0
    cycles: int = 0
    base_seq: int = 0
    bad_seq: int = RTP_SEQ_MOD + 1
    probation: int = MIN_SEQUENTIAL
    received: int = 0
    expected_prior: int = 0
    received_prior: int = 0
    jitter: float = 0.0  # timestamp units
    duplicates_or_late: int = 0
    _transit: int | None = None
    _initialised: bool = False

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def update(self, seq: int, rtp_timestamp: int, arrival: float) -> bool:
        """Update with one packet; returns False when the packet is not counted as valid
        (still on probation, or a large jump awaiting confirmation)."""
        if not self._initialised:
            self._init_seq(seq)
            self.max_seq = (seq - 1) % RTP_SEQ_MOD
            self._initialised = True
        valid = self._update_seq(seq)
        if valid:
            self._update_jitter(rtp_timestamp, arrival)
        return valid

    def _update_seq(self, seq: int) -> bool:
        udelta = (seq - self.max_seq) % RTP_SEQ_MOD
        if self.probation:
            if seq == (self.max_seq + 1) % RTP_SEQ_MOD:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = MIN_SEQUENTIAL - 1
                self.max_seq = seq
            return False
        if udelta == 0:
            self.duplicates_or_late += 1
        elif udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:
                # two sequential packets after a big jump: the source restarted
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) % RTP_SEQ_MOD
                return False
        else:
            self.duplicates_or_late += 1  # duplicate or reordered
        self.received += 1
        return True

    def _update_jitter(self, rtp_timestamp: int, arrival: float) -> None:
        arrival_ts = int(arrival * self.clock_rate)
        transit = (arrival_ts - rtp_timestamp) & 0xFFFFFFFF
        if self._transit is not None:
            d = (transit - self._transit) & 0xFFFFFFFF
            if d & 0x80000000:
                d -= 1 << 32
            self.jitter += (abs(d) - self.jitter) / 16.0
        self._transit = transit

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1 if self.received else 0

    @property
    def lost(self) -> int:
        return self.expected - self.received

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000.0 / self.clock_rate

    def report_block(self, lsr: int = 0, dlsr: int = 0) -> ReportBlock:
        """Report block for an SR/RR (A.3); resets the interval counters."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior = expected
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=min(fraction, 255),
            cumulative_lost=self.lost,
            highest_seq=self.extended_max & 0xFFFFFFFF,
            jitter=int(self.jitter),
            lsr=lsr,
            dlsr=dlsr,
        )
