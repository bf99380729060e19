"""WebRTC legs per core: concurrent agent-less Opus legs with 0 loss and no late frames.

The serving side is one media node (the local platform and node, this process, pinned to CPU 0)
with a webrtc session per leg (``POST /v1/sessions``, connection_type webrtc, no agent) answered
by the node's WHIP endpoint; the node plays a 440 Hz tone on every leg (``transport.play``, what
a ``play`` command does once its file is fetched) and decodes everything it receives. The load
generator (its own process, pinned to CPU 1) runs one aiortc peer per leg, the client of
``tests/voicelane_media/transports/webrtc/peer.py``: ICE on loopback, DTLS-SRTP, Opus 48 kHz,
sending a tone in real time.

Both processes timestamp every RTP packet as aiortc hands it to the receiver (after SRTP, before
the jitter buffer), so each direction is measured the same way over the same window: lost =
gaps in the sequence numbers; late = a packet arriving after its playout time from a 40 ms
buffer anchored on the stream's first packet of the window (each one an audible gap; the
buffer re-anchors after it). A step passes with 0 lost and 0 late both ways; the steps go up
until one fails. CPU is the media node's threads (its event loop and the executor threads that
encode), % of one core, less the node's idle rate; legs per core = 100 / CPU per leg, next to
the largest passing step (which the generator, also Python, may bound first: its own send
lateness is printed). "share" is the packets received in the window over 50 a second per leg,
toward the node and toward the peer: a sender that falls behind real time sends fewer packets
without a sequence gap, so a step also needs 98 % of real time toward the peer to pass.

    .venv/bin/python bench/webrtc_legs.py [--steps 4,8,16,24,32] [--seconds 10] [--quick]
        [--all-steps]

``--quick`` is steps 2,4,8 of 4 s (under a minute on a quiet machine); ``--all-steps`` goes on
after a failing step, for CPU per leg at every step when the machine is loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUFFER_S = 0.04
SETTLE_S = 1.0  # after every leg is connected and playing, before the window opens

Arrivals = dict[int, list[tuple[float, int, int]]]  # receiver id -> (arrival, seq, timestamp)


def record_arrivals() -> Arrivals:
    """Timestamp each RTP packet aiortc's receivers get (process-wide, for this bench only)."""
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    arrivals: Arrivals = {}
    original = RTCRtpReceiver._handle_rtp_packet

    async def handle(self: Any, packet: Any, arrival_time_ms: int) -> None:
        arrivals.setdefault(id(self), []).append(
            (time.monotonic(), packet.sequence_number, packet.timestamp))
        await original(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    return arrivals


def judge(packets: list[tuple[float, int, int]], window: tuple[float, float]) -> tuple[int, int, int]:
    """(received, lost, late) of one stream inside ``window``."""
    inside = [p for p in packets if window[0] <= p[0] <= window[1]]
    if len(inside) < 2:
        return len(inside), 0, 0
    seqs = np.unwrap(np.array([p[1] for p in inside], dtype=np.float64), period=65536)
    lost = int(seqs.max() - seqs.min() + 1) - len(np.unique(seqs))
    late = 0
    anchor: tuple[float, float] | None = None  # (arrival, RTP time in s) the playout runs from
    ts = np.unwrap(np.array([p[2] for p in inside], dtype=np.float64), period=2.0**32) / 48000
    for (at, _, _), t in zip(inside, ts, strict=True):
        if anchor is None:
            anchor = (at, t)
            continue
        if at > anchor[0] + BUFFER_S + (t - anchor[1]):
            late += 1
            anchor = (at, t)
    return len(inside), lost, late


def tone(seconds: float, freq: float = 440.0) -> Any:
    t = np.arange(int(48000 * seconds)) / 48000
    return (np.sin(2 * np.pi * freq * t) * 6000).astype(np.int16)


# -- the load generator (its own process, CPU 1) ------------------------------------------------
async def generate(job: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.voicelane_media.transports.webrtc.peer import Client

    arrivals = record_arrivals()
    clients = [Client(t["url"], t["token"]) for t in job["targets"]]
    pcm = tone(job["seconds"] + 30)
    late_sends = [0]

    for client in clients:  # the generator's own pacing: a send >= 20 ms behind its clock
        mic = client.mic
        recv = mic.recv

        async def paced(recv: Any = recv, mic: Any = mic) -> Any:
            frame = await recv()
            if mic._next is not None and asyncio.get_running_loop().time() - mic._next > 0.02:
                late_sends[0] += 1
            return frame

        mic.recv = paced  # type: ignore[method-assign]
        mic.say(pcm)
    replies = await asyncio.gather(*(c.offer() for c in clients), return_exceptions=True)
    failed = [str(r) if isinstance(r, BaseException) else f"{r.status_code} {r.text}"
              for r in replies if isinstance(r, BaseException) or r.status_code != 201]
    print("connected", flush=True)
    # the node plays on every leg now (read off the loop: the peers keep sending meanwhile)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(SETTLE_S)
    late_sends[0] = 0
    window = (time.monotonic(), time.monotonic() + job["seconds"])
    print(json.dumps({"window": window}), flush=True)
    await asyncio.sleep(job["seconds"] + 0.1)
    ids = [id(c.pc.getReceivers()[0]) for c in clients]
    judged = [judge(arrivals.get(i, []), window) for i in ids]
    await asyncio.gather(*(c.hang_up() for c in clients if c.location), return_exceptions=True)
    return {"failed": failed, "received": sum(j[0] for j in judged),
            "lost": sum(j[1] for j in judged), "late": sum(j[2] for j in judged),
            "silent_legs": sum(1 for j in judged if j[0] == 0), "late_sends": late_sends[0]}


# -- the serving side (this process, CPU 0) -----------------------------------------------------
def cpu_s() -> float:
    """CPU seconds of the media node's threads: its loop, the executor (aiortc encodes there)
    and aiortc's decoder threads; not the local platform's moto server and API."""
    from ws_streams import thread_cpu

    return sum(v for k, v in thread_cpu().items()
               if k.startswith(("media-node:", "asyncio_", "audio-decoder")))


def idle_pct(seconds: float = 1.5) -> float:
    t0, c0 = time.monotonic(), cpu_s()
    time.sleep(seconds)
    return (cpu_s() - c0) / (time.monotonic() - t0) * 100


def run_step(client: Any, node: Any, arrivals: Arrivals, n: int, seconds: float) -> dict[str, Any]:
    from ws_streams import wait_ended

    sessions = []
    for _ in range(n):
        resp = client.post("/v1/sessions", json={"connection_type": "webrtc"})
        if resp.status_code != 201:
            raise RuntimeError(f"POST /v1/sessions: {resp.status_code} {resp.text}")
        sessions.append(resp.json())
    proc = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, str(Path(__file__)), "--generate"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"targets": [{"url": s["connect_url"], "token": s["token"]}
                                             for s in sessions], "seconds": seconds}) + "\n")
    proc.stdin.flush()
    if proc.stdout.readline().strip() != "connected":
        raise RuntimeError(f"the load generator failed (exit {proc.wait(30)})")
    whip = node.node.whip
    transports = [whip.resources[s["id"]].transport for s in sessions if s["id"] in whip.resources]
    pcm = tone(seconds + 30)
    for transport in transports:
        asyncio.run_coroutine_threadsafe(transport.play(pcm), node.loop)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    window = tuple(json.loads(proc.stdout.readline())["window"])
    time.sleep(max(0.0, window[0] - time.monotonic()))
    t0, c0 = time.monotonic(), cpu_s()
    time.sleep(max(0.0, window[1] - time.monotonic()))
    cpu_pct = (cpu_s() - c0) / max(0.1, time.monotonic() - t0) * 100
    judged = [judge(arrivals.get(id(r), []), window)  # type: ignore[arg-type]
              for t in transports for r in t.pc.getReceivers()]
    dropped = sum(t.outbound.dropped for t in transports)
    peer = json.loads(proc.stdout.readline())
    proc.wait(30)
    wait_ended(client, [s["call_id"] for s in sessions])
    return {"n": n, "legs": len(transports), "cpu_pct": cpu_pct, "peer": peer,
            "node": {"received": sum(j[0] for j in judged), "lost": sum(j[1] for j in judged),
                     "late": sum(j[2] for j in judged), "out_dropped": dropped}}


def serve(steps: list[int], seconds: float, all_steps: bool = False) -> int:
    import os

    os.sched_setaffinity(0, {0})  # before any thread starts: they all inherit it
    import httpx
    from voicelane.domain.models import RateLimits
    from voicelane_local.media_node import LocalNode, local_settings
    from voicelane_local.moto_server import free_port
    from voicelane_local.platform import LocalPlatform

    started = time.monotonic()
    arrivals = record_arrivals()
    platform = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    node = LocalNode(local_settings(sip_port=0, internal_http_port=0, public_http_port=0,
                                    rtp_port_min=40000, rtp_port_max=40999, capacity=500,
                                    max_concurrent=500, poll_wait_s=1, node_id="bench-rtc",
                                    webrtc_host_addresses="127.0.0.1",
                                    webrtc_connect_timeout_s=20),
                     platform.container.media_gateway).start()
    c = platform.container
    limits = RateLimits(create_call=100_000, sessions=100_000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = c.apps.create_app("bench-rtc", destination_allow_list=["*"], rate_limits=limits,
                            max_concurrent_calls=10_000)
    _, key = c.apps.create_key(app.app_id, "test")
    rows = []
    try:
        with httpx.Client(base_url=platform.api_url, timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            idle = idle_pct()
            print(f"idle: media node {idle:.1f} % of a core; {seconds:.0f} s per step; load "
                  f"average {os.getloadavg()[0]:.1f}", flush=True)
            print(f"{'legs':>4} | {'CPU/leg':>8} | {'to node: lost late':>18} | "
                  f"{'to peer: lost late':>18} | {'node out dropped':>16} | "
                  f"{'peer late sends':>15} | pass")
            for n in steps:
                row = run_step(client, node, arrivals, n, seconds)
                arrivals.clear()
                peer, served = row["peer"], row["node"]
                row["cpu_per_leg"] = max(0.0, row["cpu_pct"] - idle) / max(1, row["legs"])
                row["passed"] = (row["legs"] == n and not peer["failed"] and served["lost"] == 0
                                 and served["late"] == 0 and served["out_dropped"] == 0
                                 and peer["lost"] == 0
                                 and peer["late"] == 0 and peer["silent_legs"] == 0
                                 and served["received"] > 0)
                due = max(1, row["legs"]) * 50 * seconds  # packets a second per leg
                row["share_to_node"] = served["received"] / due
                row["share_to_peer"] = peer["received"] / due
                row["passed"] = row["passed"] and row["share_to_peer"] >= 0.98
                rows.append(row)
                print(f"{row['legs']:>4} | {row['cpu_per_leg']:>6.2f} % | {served['lost']:>10} "
                      f"{served['late']:>7} | {peer['lost']:>10} {peer['late']:>7} | "
                      f"{served['out_dropped']:>16} | "
                      f"{row['share_to_node']:>5.2f} {row['share_to_peer']:>6.2f} | "
                      f"{peer['late_sends']:>15} | {'yes' if row['passed'] else 'NO'}"
                      + (f" ({len(peer['failed'])} offers failed: {peer['failed'][:1]})"
                         if peer["failed"] else ""), flush=True)
                if not row["passed"] and not all_steps:
                    break
    finally:
        node.stop()
        platform.stop()
    passing = [r for r in rows if r["passed"]]
    best = max(passing, key=lambda r: r["n"]) if passing else None
    if best is not None and best["cpu_per_leg"] > 0:
        print(f"legs per core: {100 / best['cpu_per_leg']:.0f} (100 % / {best['cpu_per_leg']:.2f} "
              f"% CPU per leg at {best['n']} legs, the largest step with 0 lost and 0 late)")
    else:
        print("legs per core: no step had 0 lost and 0 late frames")
        measured = [r for r in rows if r["cpu_per_leg"] > 0]
        if measured:  # what the CPU alone would allow, from the largest step measured
            last = max(measured, key=lambda r: r["n"])
            print(f"CPU-bound estimate: {100 / last['cpu_per_leg']:.0f} legs per core "
                  f"(100 % / {last['cpu_per_leg']:.2f} % CPU per leg at {last['n']} legs), "
                  "not a figure with 0 late frames")
    print(f"run took {time.monotonic() - started:.0f} s")
    print(json.dumps(rows))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="4,8,16,24,32")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true",
                        help="a short run: steps 2,4,8 of 4 s each")
    parser.add_argument("--all-steps", action="store_true",
                        help="run every step, also after one failed (CPU per leg under load)")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        job = json.loads(sys.stdin.readline())
        print(json.dumps(asyncio.run(generate(job))), flush=True)
        return 0
    if args.quick:
        args.steps, args.seconds = "2,4,8", 4.0
    return serve([int(x) for x in args.steps.split(",")], args.seconds, args.all_steps)


if __name__ == "__main__":
    sys.exit(main())
