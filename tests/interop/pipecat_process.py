"""The Pipecat bot (``tests/interop/pipecat_bot.py``) as a subprocess, for tests and benches.

Pipecat is imported only in the child, so the test process stays free of its imports and its
CPU can be measured on its own: ``with PipecatBot(logdir) as bot: bot.url``; ``bot.events()``
reads what the bot logged, ``bot.caller_wav(sid)`` the caller's audio as it heard it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class PipecatBot:
    """One bot process on an ephemeral loopback port; stopped (SIGTERM, then kill) on exit."""

    def __init__(self, logdir: Path, *, cpu: Sequence[int] | None = None) -> None:
        self.logdir = logdir
        self.cpu = cpu
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def __enter__(self) -> PipecatBot:
        self.logdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tests.interop.pipecat_bot", "--log", str(self.logdir)]
        if self.cpu is not None:
            cmd = ["taskset", "-c", ",".join(map(str, self.cpu)), *cmd]
        stderr = (self.logdir / "bot.stderr").open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        stderr.close()
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not line or not line[0].startswith(b"PORT "):
            self.__exit__()
            raise RuntimeError(f"the Pipecat bot did not start: {self.stderr()[-2000:]}")
        self.port = int(line[0].split()[1])
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stderr(self) -> str:
        path = self.logdir / "bot.stderr"
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self, sid: str | None = None) -> list[dict[str, Any]]:
        path = self.logdir / "bot.jsonl"
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if sid is None or r.get("sid") == sid]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool],
                 timeout_s: float = 15.0) -> list[dict[str, Any]]:
        """The bot's events once ``predicate(events)`` holds."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.events()
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"bot: condition not met; events={events}\n"
                                     f"{self.stderr()[-3000:]}")
            time.sleep(0.05)

    def caller_wav(self, sid: str) -> Path:
        return self.logdir / f"caller-{sid}.wav"
