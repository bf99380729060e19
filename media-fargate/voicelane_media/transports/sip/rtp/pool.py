"""RTP port pool and the one shared 20 ms clock that drives every session of a process.

A single task per pool wakes on absolute deadlines ``start + n * 20 ms`` of the loop's
monotonic clock (never ``previous + 20 ms``, so lateness never accumulates) and runs every
session's frame for tick ``n``. One task for hundreds of legs keeps the scheduling cost per
packet close to a function call; per-session tasks would cost a timer and a context switch each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from voicelane_media.media.audio import ObjectReader
from voicelane_media.rtp.pacer import Pacer

from .session import RtcpProtocol, RtpProtocol, RtpSession

log = logging.getLogger(__name__)
MAX_CATCH_UP = 5  # after a stall, replay at most 100 ms of ticks; older ones are skipped


class PortsExhausted(RuntimeError):
    """No even RTP port (with its RTCP port) is free in the pool's range."""


class RtpPortPool:
    """Allocates RTP/RTCP port pairs on ``host`` within [port_min, port_max] and paces the sessions.

    ``objects`` is where its sessions read stored audio (``play_url`` of an S3 key); the media
    node sets its ControlPlane here."""

    def __init__(self, host: str, port_min: int, port_max: int, *,
                 rtcp_interval: float = 5.0, objects: ObjectReader | None = None) -> None:
        if port_min > port_max - 1:
            raise ValueError("the port range must hold at least one RTP/RTCP pair")
        self.host = host
        self.objects = objects
        self.rtcp_interval_ticks = max(1, round(rtcp_interval / 0.020))
        self.port_min = port_min + (port_min & 1)
        self.port_max = port_max
        self._cursor = self.port_min
        self._in_use: set[int] = set()
        self._sessions: list[RtpSession] = []
        self._snapshot: tuple[RtpSession, ...] = ()
        self._task: asyncio.Task[None] | None = None
        self._pacer: Pacer | None = None
        self._index = 0
        self.ticks = 0
        self.skipped_ticks = 0
        self.tick_errors = 0
        self._lateness_us = [0] * 1000  # histogram of wake-up lateness, 0.1 ms bins

    @property
    def capacity(self) -> int:
        return (self.port_max - self.port_min + 1) // 2

    @property
    def sessions(self) -> tuple[RtpSession, ...]:
        return self._snapshot

    def _candidate_ports(self) -> list[int]:
        ports = list(range(self.port_min, self.port_max, 2))
        start = (self._cursor - self.port_min) // 2
        return ports[start:] + ports[:start]

    async def open_session(self, *, send_silence: bool = True,
                           jitter_buffer_ms: int = 40) -> RtpSession:
        """Bind a new session on a free even port (RTCP on port + 1) and start pacing it.
        ``send_silence``: send comfort silence when nothing plays (keeps NAT bindings and the
        peer's RTP timeout happy); ``jitter_buffer_ms``: initial playout delay (adapts 20-200 ms)."""
        loop = asyncio.get_running_loop()
        self._ensure_clock()
        for port in self._candidate_ports():
            if port in self._in_use:
                continue
            session = RtpSession(self, self.host, port, self._index, send_silence,
                                 jitter_frames=max(1, jitter_buffer_ms // 20),
                                 rtcp_interval_ticks=self.rtcp_interval_ticks)
            try:
                rtp, _ = await loop.create_datagram_endpoint(
                    functools.partial(RtpProtocol, session), local_addr=(self.host, port))
            except OSError:
                continue
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    functools.partial(RtcpProtocol, session), local_addr=(self.host, port + 1))
            except OSError:
                rtp.close()
                continue
            session.attach(rtp, rtcp, self._index)
            self._in_use.add(port)
            self._cursor = port + 2 if port + 2 < self.port_max else self.port_min
            self._sessions.append(session)
            self._snapshot = tuple(self._sessions)
            return session
        raise PortsExhausted(f"no free RTP port pair in {self.port_min}-{self.port_max}")

    def release(self, session: RtpSession) -> None:
        """A closed session's ports are free again (called by ``RtpSession.close``)."""
        self._in_use.discard(session.local_port)
        with contextlib.suppress(ValueError):
            self._sessions.remove(session)
        self._snapshot = tuple(self._sessions)

    def _ensure_clock(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-pacer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        pacer = self._pacer = Pacer(loop.time())
        lateness = self._lateness_us
        while True:
            now = loop.time()
            due = pacer.index_at(now)
            if due >= self._index:
                late = now - pacer.deadline(due)
                lateness[min(int(late * 10000), 999)] += 1
            if due - self._index >= MAX_CATCH_UP:
                self.skipped_ticks += due - MAX_CATCH_UP + 1 - self._index
                self._index = due - MAX_CATCH_UP + 1
            while self._index <= due:
                index = self._index
                for session in self._snapshot:
                    try:
                        session.tick(index, now)
                    except Exception:
                        self.tick_errors += 1
                        log.exception("session %s failed its tick", session.local_port)
                self._index = index + 1
                self.ticks += 1
            await asyncio.sleep(pacer.deadline(self._index) - loop.time())

    def tick_lateness_ms(self, q: float = 0.99) -> float:
        """Quantile of how late the shared clock woke up (a direct measure of added jitter)."""
        total = sum(self._lateness_us)
        running = 0
        for index, count in enumerate(self._lateness_us):
            running += count
            if total and running >= q * total:
                return (index + 1) / 10
        return 0.0

    async def close(self) -> None:
        """Close every session and stop the clock."""
        for session in list(self._sessions):
            await session.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
