"""WebSocket media streams: CPU per stream and late frames, Voicelane's media node vs Pipecat.

N concurrent Twilio-dialect streams (``connected``, ``start``, then 50 ``media`` messages a
second of caller speech, base64 mu-law), from a load generator pinned to CPU 1, against:

- Voicelane: one media node process (the local platform and node, pinned to CPU 0) with a
  session per stream (``POST /v1/sessions``, connection_type twilio) and an agent that runs
  Silero VAD on the caller and talks all the time (a non-interruptible minute-long greeting,
  tone TTS, fake STT/LLM), so 50 media messages a second go back out;
- Pipecat: ``tests/interop/pipecat_bot.py`` in ``bench`` mode (its own process, pinned to the
  same CPU 0): ``FastAPIWebsocketTransport`` + ``TwilioFrameSerializer`` + Silero VAD,
  playing a minute of audio back in 20 ms messages.

For each N, after a warm-up, over the same window: CPU of the serving side (% of one core,
less its idle rate), per stream: for Voicelane the media node's threads (its event loop and
executor; the local platform's moto server, API and runners share the process but are not
the node), for Pipecat the bot's whole process; the outbound audio received per stream as a share of
real time ("out"); the longest gap between two outbound messages; and late frames: a frame that arrives after the audio before it has played out
from a 40 ms playout buffer (the buffer then refills: each one is an audible gap). The ratio
column is Voicelane's CPU per stream over Pipecat's, measured in the same run.

    .venv/bin/python bench/ws_streams.py [--steps 5,10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARMUP_MAX_S = 5.0
BUFFER_S = 0.04
CLK = os.sysconf("SC_CLK_TCK")


# -- the load generator (its own process, CPU 1) ------------------------------------------------
async def generate(job: dict[str, Any]) -> dict[str, Any]:
    from voicelane_media.transports.ws import dialect_for
    from voicelane_media.transports.ws.frames import StreamStart
    from websockets.asyncio.client import connect

    caller = base64.b64decode(job["caller_pcmu"])
    payloads = [caller[i:i + 160] for i in range(0, len(caller) - 159, 160)]
    dialect = dialect_for("twilio", None)
    conns: list[Any] = []
    arrivals: list[list[tuple[float, int]]] = []
    for i, target in enumerate(job["targets"]):
        params = dict(target.get("params", {}))
        side = dialect.provider_side(StreamStart(f"MZ{i:032x}", f"CA{i:032x}", "pcmu", 8000,
                                                 custom_parameters=params))
        ws = await connect(target["url"], max_size=2**22, compression=None)
        await ws.send(side.connected())
        await ws.send(side.start())
        conns.append((ws, side))
        arrivals.append([])

    async def read(ws: Any, got: list[tuple[float, int]]) -> None:
        async for message in ws:
            data = json.loads(message)
            if data.get("event") == "media":
                got.append((time.monotonic(), len(base64.b64decode(data["media"]["payload"]))))

    readers = [asyncio.ensure_future(read(ws, got)) for (ws, _), got in zip(conns, arrivals,
                                                                              strict=True)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    window: tuple[float, float] | None = None
    while window is None or time.monotonic() - window[0] < job["seconds"]:
        payload = payloads[tick % len(payloads)]
        for ws, side in conns:
            await ws.send(side.media(payload, timestamp_ms=tick * 20))
        tick += 1
        # the window opens once every stream has talked back for a while (or at the limit)
        talking = all(got and time.monotonic() - got[0][0] > 0.5 for got in arrivals)
        if window is None and (talking or tick >= WARMUP_MAX_S * 50):
            window = (time.monotonic(), 0.0)
            print("go", flush=True)
        await asyncio.sleep(max(0.0, start + tick * 0.02 - loop.time()))
    window = (window[0], time.monotonic())
    print("end", flush=True)
    for ws, side in conns:
        await ws.send(side.stop())
        await ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    late = received = 0
    gap = 0.0
    for got in arrivals:
        due: float | None = None
        last: float | None = None
        for at, samples in got:
            if not window[0] <= at <= window[1]:
                continue
            gap, last = max(gap, at - (last or at)), at
            received += samples
            if due is None or at > due:
                late += due is not None
                due = at + BUFFER_S
            due += samples / 8000
    span = window[1] - window[0]
    return {"late": late, "out_share": received / 8000 / span / max(1, len(conns)),
            "gap_max_ms": round(gap * 1000),
            "sent_per_stream": tick}


# -- the serving side (this process, CPU 0) -----------------------------------------------------
def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) of the media node's threads here, or of process ``pid``."""
    if pid is None:
        return sum(v for k, v in thread_cpu().items()
                   if k.startswith(("media-node:", "asyncio_")))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def caller_pcmu() -> str:
    """The caller's side: a sentence from espeak-ng and a second of silence, as base64 mu-law."""
    import numpy as np
    from voicelane_media.codecs.g711 import pcmu_from_pcm
    from voicelane_media.sim.voice import synthesize_8k

    speech = asyncio.run(synthesize_8k("I would like to check the status of my order please",
                                       "espeak"))
    return base64.b64encode(pcmu_from_pcm(np.concatenate([speech, np.zeros(8000, np.int16)]))
                            ).decode()


def drive(targets: list[dict[str, Any]], seconds: float, pid: int | None,
          caller: str) -> dict[str, Any]:
    """Run the generator on CPU 1 against ``targets``; the serving process's CPU in its window."""
    proc = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, str(Path(__file__)), "--generate"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"targets": targets, "seconds": seconds, "caller_pcmu": caller}))
    proc.stdin.close()
    marks: dict[str, tuple[float, float]] = {}
    result: dict[str, Any] = {}
    for line in proc.stdout:
        word = line.strip()
        if word in ("go", "end"):
            marks[word] = (time.monotonic(), cpu_s(pid))
        elif word.startswith("{"):
            result = json.loads(word)
    proc.wait(30)
    (t0, c0), (t1, c1) = marks["go"], marks["end"]
    result["cpu_pct"] = (c1 - c0) / (t1 - t0) * 100
    return result


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread of this process, by thread name (``comm``) and id."""
    import threading

    names = {str(t.native_id): t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        out[f"{names.get(tid, head.split('(', 1)[1])}:{tid}"] = (int(fields[11]) + int(fields[12])) / CLK
    return out


def idle_pct(pid: int | None, seconds: float = 1.5) -> float:
    t0, c0 = time.monotonic(), cpu_s(pid)
    time.sleep(seconds)
    return (cpu_s(pid) - c0) / (time.monotonic() - t0) * 100


AGENT = {"name": "bench-talker", "greeting": " ".join(["hi"] * 400), "interruptible": False,
         "max_duration_s": 120}


def voicelane_targets(client: Any, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    targets, calls = [], []
    for _ in range(n):
        resp = client.post("/v1/sessions", json={"connection_type": "twilio", "agent": AGENT})
        if resp.status_code != 201:
            raise RuntimeError(f"POST /v1/sessions: {resp.status_code} {resp.text}")
        session = resp.json()
        targets.append({"url": session["instructions"]["url"],
                        "params": {"token": session["token"]}})
        calls.append(session["call_id"])
    return targets, calls


def wait_ended(client: Any, calls: list[str], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    for call_id in calls:
        while client.get(f"/v1/calls/{call_id}").json()["status"] not in (
                "completed", "failed", "canceled"):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


def serve(steps: list[int], seconds: float) -> int:
    os.sched_setaffinity(0, {0})  # before any thread starts: they all inherit it
    import httpx
    from voicelane.domain.models import RateLimits
    from voicelane_local.media_node import LocalNode, local_settings
    from voicelane_local.moto_server import free_port
    from voicelane_local.platform import LocalPlatform
    from voicelane_media.agent.fakes import CannedLLM, QueuedSTT, ToneTTS
    from voicelane_media.agent.local_engines import SileroVAD
    from voicelane_media.agent.providers import Engines
    from voicelane_media.calls import agent_runner

    sys.path.insert(0, str(ROOT))
    from tests.interop.pipecat_process import PipecatBot

    agent_runner.set_engine_factory(lambda spec: Engines(
        vad=SileroVAD(), stt=QueuedSTT(["check my order"] * 100), llm=CannedLLM(["Sure."] * 100),
        tts=ToneTTS(8000, 150.0), names={"stt": "fake", "llm": "fake", "tts": "tone"}))
    platform = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    node = LocalNode(local_settings(sip_port=0, internal_http_port=0, public_http_port=0,
                                    rtp_port_min=40000, rtp_port_max=40999, capacity=500,
                                    max_concurrent=500, poll_wait_s=1, node_id="bench-ws"),
                     platform.container.media_gateway).start()
    c = platform.container
    limits = RateLimits(create_call=100_000, sessions=100_000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = c.apps.create_app("bench-ws", destination_allow_list=["*"], rate_limits=limits,
                            max_concurrent_calls=10_000)
    _, key = c.apps.create_key(app.app_id, "test")
    rows = []
    caller = caller_pcmu()
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                PipecatBot(Path(tmp) / "bot", cpu=[0]) as bot, \
                httpx.Client(base_url=platform.api_url, timeout=30,
                             headers={"Authorization": f"Bearer {key}"}) as client:
            base_vl, base_pc = idle_pct(None), idle_pct(bot.pid)
            print(f"idle: Voicelane media node {base_vl:.1f} % of a core, "
                  f"Pipecat bot {base_pc:.1f} %", flush=True)
            print(f"{'N':>4} | {'Voicelane CPU/stream':>20} {'late':>5} {'gap ms':>6} {'out':>5} | "
                  f"{'Pipecat CPU/stream':>18} {'late':>5} {'gap ms':>6} {'out':>5} | {'ratio':>5}")
            for n in steps:
                targets, calls = voicelane_targets(client, n)
                vl = drive(targets, seconds, None, caller)
                wait_ended(client, calls)
                pc = drive([{"url": bot.url, "params": {"mode": "bench"}}] * n, seconds, bot.pid, caller)
                vl_per = max(0.0, vl["cpu_pct"] - base_vl) / n
                pc_per = max(0.0, pc["cpu_pct"] - base_pc) / n
                row = {"n": n, "voicelane": vl, "pipecat": pc, "voicelane_per_stream": vl_per,
                       "pipecat_per_stream": pc_per}
                rows.append(row)
                ratio = vl_per / pc_per if pc_per else float("nan")
                print(f"{n:>4} | {vl_per:>18.2f} % {vl['late']:>5} {vl['gap_max_ms']:>6} "
                      f"{vl['out_share']:>5.2f} | {pc_per:>16.2f} % {pc['late']:>5} "
                      f"{pc['gap_max_ms']:>6} {pc['out_share']:>5.2f} | {ratio:>5.2f}", flush=True)
    finally:
        node.stop()
        platform.stop()
        agent_runner.set_engine_factory(None)
    print(json.dumps(rows))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="5,10")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(asyncio.run(generate(json.load(sys.stdin)))), flush=True)
        return 0
    return serve([int(x) for x in args.steps.split(",")], args.seconds)


if __name__ == "__main__":
    sys.exit(main())
