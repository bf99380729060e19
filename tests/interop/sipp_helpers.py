"""Helpers of the sipp interop tests: ports, the API client, sipp processes."""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fresh_numbers import e164

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "scenarios"
PCAPS = Path("/usr/share/sip-tester")

requires_sipp = pytest.mark.skipif(
    SIPP is None, reason="sipp is not installed (Debian package sip-tester; `make test` installs it)"
)


def free_udp_port() -> int:
    """A port free for both UDP and TCP on loopback (sipp and our node use both)."""
    for _ in range(50):
        port = random.randint(41000, 59000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            try:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@dataclass
class Api:
    """The public HTTP API as an app sees it."""

    client: httpx.Client
    app_id: str

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(path, json=body, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def ok(self, resp: httpx.Response) -> Any:
        assert resp.status_code < 300, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def call(self, call_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.ok(self.get(f"/v1/calls/{call_id}"))
        return data

    def events(self, call_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.ok(self.get(f"/v1/calls/{call_id}/events"))["data"]
        return data

    def event_types(self, call_id: str) -> list[str]:
        return [e["type"] for e in self.events(call_id)]

    def wait_status(self, call_id: str, statuses: set[str], timeout_s: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        call = self.call(call_id)
        while call["status"] not in statuses:
            if time.monotonic() > deadline:
                raise AssertionError(f"call {call_id} stayed {call['status']}, wanted {statuses}; "
                                     f"events {self.event_types(call_id)}")
            time.sleep(0.1)
            call = self.call(call_id)
        return call

    def wait_event(self, call_id: str, event_type: str, timeout_s: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            for event in self.events(call_id):
                if event["type"] == event_type:
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} on {call_id}: {self.event_types(call_id)}")
            time.sleep(0.1)

    def wait_event_for_number(self, number: str, timeout_s: float = 10) -> str:
        """The id of the newest inbound call to ``number`` once it exists."""
        deadline = time.monotonic() + timeout_s
        while True:
            calls = self.ok(self.get("/v1/calls", params={"limit": 10}))["data"]
            mine = [c for c in calls if c["to"] == number and c["direction"] == "inbound"]
            if mine:
                return str(mine[0]["id"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no inbound call to {number}")
            time.sleep(0.1)

    def action(self, call_id: str, action: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.post(f"/v1/calls/{call_id}/actions/{action}", body or {})


def wait_until(what: str, check: Callable[[], Any], timeout_s: float = 15) -> Any:
    """Poll ``check`` every 100 ms until it returns something truthy (returned), or fail."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def new_number() -> str:
    return e164()


@dataclass
class Sipp:
    """One sipp process; ``wait()`` returns its exit code (0: every call succeeded)."""

    proc: subprocess.Popen[bytes]
    port: int
    logdir: Path

    def wait(self, timeout_s: float = 20) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def output(self) -> str:
        out = b"".join(p.read_bytes() for p in self.logdir.glob("*") if p.is_file())
        return out.decode("latin-1")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()




def trace_times(trace: Path) -> list[tuple[float, str, str]]:
    """sipp's message trace (``-trace_msg -message_file``) as (epoch seconds, ``sent`` or
    ``received``, the message's first line), in order."""
    from datetime import datetime

    out: list[tuple[float, str, str]] = []
    text = trace.read_text("latin-1").replace("\r", "")
    for block in re.split(r"^-{5,} ", text, flags=re.M)[1:]:
        stamp, rest = block.split("\n", 1)
        direction = "received" if rest.split("\n", 1)[0].find("received") >= 0 else "sent"
        first = rest.split("\n\n", 1)[1].lstrip("\n").split("\n", 1)[0] if "\n\n" in rest else ""
        out.append((datetime.strptime(stamp.strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp(),
                    direction, first))
    return out


def wav_channels(data: bytes) -> tuple[int, list[float]]:
    """(channels, RMS per channel) of a 16-bit PCM WAV."""
    import io
    import wave

    import numpy as np

    with wave.open(io.BytesIO(data)) as wav:
        channels = wav.getnchannels()
        assert wav.getsampwidth() == 2 and wav.getframerate() == 8000
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    frames = samples.reshape(-1, channels).astype(np.float64)
    return channels, [float(np.sqrt(np.mean(frames[:, c] ** 2))) if len(frames) else 0.0
                      for c in range(channels)]


def download_recording(api: Api, call_id: str) -> tuple[dict[str, Any], bytes]:
    record: dict[str, Any] = api.ok(api.get(f"/v1/calls/{call_id}/recording"))
    resp = httpx.get(record["download_url"], timeout=15)
    assert resp.status_code == 200, resp.text
    return record, resp.content


def final_status(port: int, method: str, user: str) -> int:
    """Send a bare `method` (no body) for `user` to a node's SIP port over UDP; its final status."""
    data = (
        f"{method} sip:{user}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{method}{time.time_ns()}\r\n"
        f"From: <sip:+15105550111@127.0.0.1>;tag=a1\r\nTo: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: bare-{time.time_ns()}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:c@127.0.0.1:9>\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(data, ("127.0.0.1", port))
        while True:
            status = int(s.recv(4096).split(b" ", 2)[1])
            if status >= 200:
                return status


def bare_invite(user: str, sdp: str, caller: str = "+15105550111") -> bytes:
    """An INVITE for `user` from `caller` with the SDP offer `sdp` (CRLF lines added)."""
    body = "".join(f"{line}\r\n" for line in sdp.strip().splitlines())
    return (
        f"INVITE sip:{user}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKinv{time.time_ns()}\r\n"
        f"From: <sip:{caller}@127.0.0.1>;tag=a1\r\nTo: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: bare-{time.time_ns()}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:c@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def statuses(port: int, data: bytes) -> list[int]:
    """Send one request to a node's SIP port over UDP; every status up to the final one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(data, ("127.0.0.1", port))
        got: list[int] = []
        while not got or got[-1] < 200:
            got.append(int(s.recv(4096).split(b" ", 2)[1]))
        return got


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """``sipp(*args, port=None, target=None, timeout_s=20)``: start sipp (one call) on loopback
    in tmp_path; it gives up (exit 255) ``timeout_s`` after it started. Every one still running
    is killed at the end of the test. A fixture: conftests import it."""
    started: list[Sipp] = []

    def start(*args: str, port: int | None = None, target: str | None = None,
              timeout_s: int = 20) -> Sipp:
        port = port or free_udp_port()
        cmd = [str(SIPP), "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-m", "1",
               "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err",
               "-error_file", str(tmp_path / f"sipp-{port}-errors.log"), *args]
        if target:
            cmd.append(target)
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        handle = Sipp(proc, port, tmp_path)
        started.append(handle)
        time.sleep(0.3)  # let it bind
        return handle

    yield start
    for handle in started:
        handle.stop()
