"""Media-plane capacity: how many concurrent G.711 legs one node process holds on one core.

The node (``RtpPortPool`` + N ``RtpSession``s, pinned to CPU 0 with taskset) plays audio on every
leg and consumes every received frame through the jitter buffer, 50 packets/s each way. A load
generator in another process (pinned to CPU 1, uvloop) plays the far ends: it sends 50 packets/s
per leg to the node and timestamps every packet it gets back. For each N the table shows loss
both ways, the interarrival jitter the node added (p99 of |D| per RFC 3550, in ms, measured at
the generator), the node's tick lateness, CPU % of one core and RSS per call.
A step passes with 0 loss both ways and jitter p99 <= 5 ms; the answer is the largest passing N.

    .venv/bin/python bench/media_capacity.py [--steps 100,200,300,400,500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HDR = struct.Struct("!BBHII")


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


# -- the node ---------------------------------------------------------------------------------
async def node(peer_ports: list[int], warmup: float, seconds: float, record: bool) -> None:
    from voicelane_media.calls.recording import CallRecorder
    from voicelane_media.transports.sip.rtp import RtpPortPool

    base_rss = rss_kb()
    pool = RtpPortPool("127.0.0.1", 30000, 30000 + 2 * len(peer_ports) + 200)
    tone = (6000 * np.sin(2 * np.pi * 440 * np.arange(8000 * 60) / 8000)).astype(np.int16)
    sessions = []
    frames = [0]

    def consume(pcm: Any) -> None:
        frames[0] += 1

    for port in peer_ports:
        s = await pool.open_session()
        s.set_remote("127.0.0.1", port, 0, 101)
        s.on_audio = consume
        if record:  # as a call records: its recorder on the session's two taps
            recorder = CallRecorder(8000)
            recorder.start()
            s.add_audio_tap(recorder.caller)
            s.add_playout_tap(recorder.playout)
        sessions.append(s)
    plays = [asyncio.ensure_future(s.play(tone)) for s in sessions]
    print(json.dumps({"ports": [s.local_port for s in sessions]}), flush=True)
    await asyncio.sleep(warmup)
    pool._lateness_us[:] = [0] * len(pool._lateness_us)
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    stats = [s.stats() for s in sessions]
    result = {
        "cpu_pct": round(100 * cpu / wall, 1),
        "rss_mb": round(rss_kb() / 1024, 1),
        "rss_per_call_kb": round((rss_kb() - base_rss) / max(1, len(sessions)), 1),
        "node_rx_lost": sum(st["packets_lost"] for st in stats),
        "node_rx": sum(st["packets_received"] for st in stats),
        "node_rx_jitter_p99": max(st["jitter_p99_ms"] for st in stats),
        "tick_late_p99_ms": pool.tick_lateness_ms(0.99),
        "skipped_ticks": pool.skipped_ticks,
        "tick_errors": pool.tick_errors,
    }
    for s in sessions:
        s.stop_playback()
    await asyncio.gather(*plays)
    print(json.dumps(result), flush=True)
    await pool.close()


# -- the load generator -----------------------------------------------------------------------
class FarEnd(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.ts: list[int] = []
        self.seqs: list[int] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 12 or data[1] != 0:  # PCMU only: the node's RTCP to port+1 may land here
            return
        self.arrivals.append(time.monotonic())
        _, _, seq, ts, _ = HDR.unpack_from(data)
        self.seqs.append(seq)
        self.ts.append(ts)


async def generate(socks: list[socket.socket], node_ports: list[int], seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ends: list[FarEnd] = []
    transports = []
    for sock in socks:
        t, p = await loop.create_datagram_endpoint(FarEnd, sock=sock)
        transports.append(t)
        ends.append(p)
    payload = b"\xff" * 160
    start = loop.time()
    n = 0
    while loop.time() - start < seconds:
        for i, (t, port) in enumerate(zip(transports, node_ports, strict=True)):
            t.sendto(HDR.pack(0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, i + 1) + payload,
                     ("127.0.0.1", port))
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
    await asyncio.sleep(0.3)
    lost = received = 0
    deltas: list[np.ndarray] = []
    for end in ends:
        if not end.seqs:
            continue
        seqs = np.unwrap(np.array(end.seqs, dtype=np.float64), period=65536)
        # measure the steady state: skip the first second (sessions still being wired up)
        keep = np.array(end.arrivals) > end.arrivals[0] + 1.0
        seqs = seqs[keep]
        if len(seqs) < 2:
            continue
        received += len(seqs)
        lost += int(seqs.max() - seqs.min() + 1) - len(np.unique(seqs))
        arrivals = np.array(end.arrivals)[keep]
        ts = np.unwrap(np.array(end.ts, dtype=np.float64)[keep], period=2.0**32) / 8000.0
        deltas.append(np.abs(np.diff(arrivals) - np.diff(ts)) * 1000.0)
    for t in transports:
        t.close()
    d = np.concatenate(deltas) if deltas else np.zeros(1)
    return {"gen_rx": received, "gen_rx_lost": lost, "sent_per_leg": n,
            "jitter_p50_ms": round(float(np.percentile(d, 50)), 2),
            "jitter_p99_ms": round(float(np.percentile(d, 99)), 2),
            "jitter_max_ms": round(float(d.max()), 2)}


def run_step(n: int, seconds: float, warmup: float, record: bool, rt: bool) -> dict[str, Any]:
    socks = []
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([s.getsockname()[1] for s in socks], f)
    prio = ["chrt", "-f", "20"] if rt else []
    cmd = [*prio, "taskset", "-c", "0", sys.executable, __file__, "node", "--ports-file", f.name,
           "--warmup", str(warmup), "--seconds", str(seconds)] + (["--record"] if record else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    node_ports = json.loads(proc.stdout.readline())["ports"]
    loop = new_loop()
    try:
        gen = loop.run_until_complete(generate(socks, node_ports, warmup + seconds + 0.5))
    finally:
        loop.close()
    node_result = json.loads(proc.stdout.readline())
    proc.wait(timeout=30)
    os.unlink(f.name)
    result = {"legs": n, **node_result, **gen}
    result["pass"] = (result["gen_rx_lost"] == 0 and result["node_rx_lost"] == 0
                      and result["jitter_p99_ms"] <= 5.0)
    return result


COLUMNS = [("legs", "legs"), ("pass", "pass"), ("cpu_pct", "node CPU %"),
           ("rss_per_call_kb", "RSS/call kB"), ("rss_mb", "RSS MB"),
           ("gen_rx_lost", "lost node->gen"), ("node_rx_lost", "lost gen->node"),
           ("jitter_p50_ms", "jit p50 ms"), ("jitter_p99_ms", "jit p99 ms"),
           ("jitter_max_ms", "jit max ms"), ("tick_late_p99_ms", "tick late p99"),
           ("skipped_ticks", "skipped ticks")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "node"])
    parser.add_argument("--steps", default="50,100,200,300,400,500,600")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--record", action="store_true", help="record every leg too")
    parser.add_argument("--rt", action="store_true",
                        help="SCHED_FIFO for node and generator (a shared machine's other load "
                             "otherwise shows up as jitter; media servers run this way in production)")
    parser.add_argument("--ports-file")
    args = parser.parse_args()
    if args.role == "node":
        with open(args.ports_file) as f:
            ports = json.load(f)
        loop = new_loop()
        loop.run_until_complete(node(ports, args.warmup, args.seconds, args.record))
        loop.close()
        return
    os.sched_setaffinity(0, {1})  # the generator on CPU 1, the node on CPU 0
    if args.rt:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
    print(f"media capacity: node pinned to CPU 0, generator on CPU 1, {args.seconds:g} s per step, "
          f"G.711 PCMU 50 pps each way per leg{', recording every leg' if args.record else ''}"
          f"{', SCHED_FIFO' if args.rt else ''}; load average {os.getloadavg()[0]:.1f}")
    print(" | ".join(h for _, h in COLUMNS))
    best = 0
    for n in (int(x) for x in args.steps.split(",")):
        r = run_step(n, args.seconds, args.warmup, args.record, args.rt)
        print(" | ".join(str(r[k]) for k, _ in COLUMNS), flush=True)
        if r["pass"]:
            best = max(best, n)
    print(f"largest passing N: {best} concurrent legs on one core "
          f"(0 loss both ways, added jitter p99 <= 5 ms)")


if __name__ == "__main__":
    main()
