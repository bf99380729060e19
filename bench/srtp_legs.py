"""SRTP cost: concurrent SRTP G.711 legs on one core next to plain RTP legs, in the same run.

For each N, the node (``RtpPortPool`` + N ``RtpSession``s, pinned to CPU 0) runs twice, plain
and with SDES-SRTP (AES_CM_128_HMAC_SHA1_80 through pylibsrtp, each leg its own keys both ways):
it plays audio on every leg and pulls every received frame through the jitter buffer, 50 packets
a second each way. The load generator (CPU 1, uvloop, the far ends) sends 50 packets a second
per leg (protected with the leg's key in the SRTP run) and times every packet it gets back. The
table shows node CPU % of one core, the packets it handled (sent + received) per second, its
CPU time per packet and the legs one core would carry at that cost (100 packets a second per
leg), loss both ways, the jitter the node added (p99, ms), SRTP authentication failures, and
the ratio of SRTP to plain CPU per packet at the same N (per packet, because on a shared
machine the node's CPU share follows the other load more than its own work). A step passes with 0
loss both ways, jitter p99 <= 5 ms and no authentication failure. ``media_capacity.py`` is the
plain-RTP benchmark this one follows.

    .venv/bin/python bench/srtp_legs.py [--steps 50,100,200,300] [--seconds 6]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from media_capacity import FarEnd, new_loop

HDR = struct.Struct("!BBHII")
SUITE = "AES_CM_128_HMAC_SHA1_80"


def leg_keys(i: int) -> tuple[bytes, bytes]:
    """(node's key, far end's key) of leg i: fixed, so both processes derive them."""
    return bytes((i * 7 + k) & 0xFF for k in range(30)), bytes((i * 13 + k + 1) & 0xFF
                                                               for k in range(30))


# -- the node ---------------------------------------------------------------------------------
async def node(peer_ports: list[int], warmup: float, seconds: float, srtp: bool) -> None:
    from voicelane_media.rtp.srtp import SrtpContext
    from voicelane_media.transports.sip.rtp import RtpPortPool

    pool = RtpPortPool("127.0.0.1", 30000, 30000 + 2 * len(peer_ports) + 200)
    tone = (6000 * np.sin(2 * np.pi * 440 * np.arange(8000 * 60) / 8000)).astype(np.int16)
    sessions = []
    for i, port in enumerate(peer_ports):
        s = await pool.open_session()
        s.set_remote("127.0.0.1", port, 0, 101)
        s.on_audio = lambda pcm: None
        if srtp:
            mine, theirs = leg_keys(i)
            s.set_srtp(SrtpContext(SUITE, mine, theirs), 50, lambda: None)
        sessions.append(s)
    plays = [asyncio.ensure_future(s.play(tone)) for s in sessions]
    print(json.dumps({"ports": [s.local_port for s in sessions]}), flush=True)
    await asyncio.sleep(warmup)
    pool._lateness_us[:] = [0] * len(pool._lateness_us)

    def packets() -> int:
        return sum(s.outbound.packets_sent + s.inbound.packets_received for s in sessions)

    before = packets()
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    handled = packets() - before
    stats = [s.stats() for s in sessions]
    us_per_packet = 1e6 * cpu / max(1, handled)
    result = {
        "cpu_pct": round(100 * cpu / wall, 1),
        "us_per_packet": round(us_per_packet, 2),
        # 100 packets a second per leg (50 each way): legs one core would carry at this cost
        "legs_per_core": int(1e6 / (us_per_packet * 100)),
        "packets_per_s": round(handled / wall),
        "node_rx_lost": sum(st["packets_lost"] for st in stats),
        "node_rx": sum(st["packets_received"] for st in stats),
        "auth_failures": sum(int(st.get("srtp_auth_failures", 0)) for st in stats),
        "tick_late_p99_ms": pool.tick_lateness_ms(0.99),
    }
    for s in sessions:
        s.stop_playback()
    await asyncio.gather(*plays)
    print(json.dumps(result), flush=True)
    await pool.close()


# -- the load generator -----------------------------------------------------------------------
async def generate(socks: list[socket.socket], node_ports: list[int], seconds: float,
                   srtp: bool) -> dict[str, Any]:
    from pylibsrtp import Policy, Session

    loop = asyncio.get_running_loop()
    ends: list[FarEnd] = []
    transports = []
    senders = []
    for i, sock in enumerate(socks):
        t, p = await loop.create_datagram_endpoint(FarEnd, sock=sock)
        transports.append(t)
        ends.append(p)
        senders.append(Session(Policy(key=leg_keys(i)[1], ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                                      srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80))
                       if srtp else None)
    payload = b"\xff" * 160
    start = loop.time()
    n = 0
    while loop.time() - start < seconds:
        for i, (t, port) in enumerate(zip(transports, node_ports, strict=True)):
            packet = HDR.pack(0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, i + 1) + payload
            sender = senders[i]
            t.sendto(sender.protect(packet) if sender is not None else packet,
                     ("127.0.0.1", port))
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
    await asyncio.sleep(0.3)
    lost = received = 0
    deltas: list[np.ndarray] = []
    for end in ends:  # the RTP header is in clear under SRTP: sequence and timing read the same
        if not end.seqs:
            continue
        seqs = np.unwrap(np.array(end.seqs, dtype=np.float64), period=65536)
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
    return {"gen_rx": received, "gen_rx_lost": lost,
            "jitter_p99_ms": round(float(np.percentile(d, 99)), 2)}


def run_step(n: int, seconds: float, warmup: float, srtp: bool) -> dict[str, Any]:
    socks = []
    for _ in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([s.getsockname()[1] for s in socks], f)
    cmd = ["taskset", "-c", "0", sys.executable, __file__, "node", "--ports-file", f.name,
           "--warmup", str(warmup), "--seconds", str(seconds)] + (["--srtp"] if srtp else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    node_ports = json.loads(proc.stdout.readline())["ports"]
    loop = new_loop()
    try:
        gen = loop.run_until_complete(generate(socks, node_ports, warmup + seconds + 0.5, srtp))
    finally:
        loop.close()
    node_result = json.loads(proc.stdout.readline())
    proc.wait(timeout=30)
    os.unlink(f.name)
    for sock in socks:
        sock.close()
    result = {"legs": n, "mode": "srtp" if srtp else "plain", **node_result, **gen}
    result["pass"] = (result["gen_rx_lost"] == 0 and result["node_rx_lost"] == 0
                      and result["jitter_p99_ms"] <= 5.0 and result["auth_failures"] == 0)
    return result


def per_packet_us(count: int = 20000) -> tuple[float, float]:
    """libsrtp alone: microseconds to protect, and to unprotect, one 172-byte G.711 packet."""
    from voicelane_media.rtp.srtp import SrtpContext

    a, b = leg_keys(1)
    tx, rx = SrtpContext(SUITE, a, b), SrtpContext(SUITE, b, a)
    packets = [HDR.pack(0x80, 0, i & 0xFFFF, i * 160, 1) + b"\xff" * 160 for i in range(count)]
    t0 = time.perf_counter()
    protected = [tx.protect(p) for p in packets]
    t1 = time.perf_counter()
    assert all(rx.unprotect(p) is not None for p in protected)
    t2 = time.perf_counter()
    return (t1 - t0) / count * 1e6, (t2 - t1) / count * 1e6


COLUMNS = [("legs", "legs"), ("mode", "mode"), ("pass", "pass"), ("cpu_pct", "node CPU %"),
           ("packets_per_s", "packets/s"), ("us_per_packet", "CPU us/packet"),
           ("legs_per_core", "legs/core at that cost"),
           ("gen_rx_lost", "lost node->gen"), ("node_rx_lost", "lost gen->node"),
           ("jitter_p99_ms", "jit p99 ms"), ("tick_late_p99_ms", "tick late p99"),
           ("auth_failures", "auth failures")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "node"])
    parser.add_argument("--steps", default="50,100,200,300")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--srtp", action="store_true")
    parser.add_argument("--ports-file")
    args = parser.parse_args()
    if args.role == "node":
        with open(args.ports_file) as f:
            ports = json.load(f)
        loop = new_loop()
        loop.run_until_complete(node(ports, args.warmup, args.seconds, args.srtp))
        loop.close()
        return
    os.sched_setaffinity(0, {1})
    protect_us, unprotect_us = per_packet_us()
    print(f"SRTP legs: node pinned to CPU 0, generator on CPU 1, {args.seconds:g} s per step, "
          f"G.711 PCMU 50 pps each way per leg, plain then SRTP at each N; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"libsrtp per packet: protect {protect_us:.2f} us, unprotect {unprotect_us:.2f} us")
    print(" | ".join(h for _, h in COLUMNS) + " | SRTP/plain CPU per packet")
    best = {"plain": 0, "srtp": 0}
    for n in (int(x) for x in args.steps.split(",")):
        plain = run_step(n, args.seconds, args.warmup, srtp=False)
        print(" | ".join(str(plain[k]) for k, _ in COLUMNS) + " |", flush=True)
        secure = run_step(n, args.seconds, args.warmup, srtp=True)
        # per packet handled: the node's CPU share swings with a shared machine's load, the
        # cost of a packet much less
        ratio = secure["us_per_packet"] / plain["us_per_packet"]
        print(" | ".join(str(secure[k]) for k, _ in COLUMNS) + f" | {ratio:.2f}", flush=True)
        for r in (plain, secure):
            if r["pass"]:
                best[r["mode"]] = max(best[r["mode"]], n)
    print(f"largest passing N on one core: plain {best['plain']}, SRTP {best['srtp']} "
          f"(0 loss both ways, added jitter p99 <= 5 ms, no authentication failure)")


if __name__ == "__main__":
    main()
