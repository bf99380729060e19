"""Headless Chromium (the Debian package) driven over the Chrome DevTools protocol with the
``websockets`` client: open a page with a fake microphone fed from a WAV file, read what the
page exposes (the softphone's ``window.voicelane``), click, take a screenshot. Every host name but loopback is unresolvable to the browser,
and its background networking is off: it talks to the local node and nothing else."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import numpy as np
import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
Page = dict[str, Any]  # the softphone's window.voicelane, as JSON


def fake_mic_wav(path: Path, pcm: np.ndarray, rate: int = 48000) -> Path:
    """A mono 16-bit WAV for ``--use-file-for-fake-audio-capture`` (played once, no loop)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype(np.int16).tobytes())
    return path


def softphone_url(public_url: str, fragment: dict[str, str]) -> str:
    """The node's softphone page (``/softphone`` on its public listener, whose WebSocket base
    is ``public_url``) with ``fragment`` as the page's ``#`` parameters."""
    base = public_url.replace("ws://", "http://").removesuffix("/v1/media")
    return f"{base}/softphone/#{urlencode(fragment)}"


class Chromium:
    """``async with Chromium(url, wav) as browser: await browser.evaluate("1 + 1")``."""

    def __init__(self, url: str, wav: Path) -> None:
        assert CHROMIUM is not None
        self.url = url
        self.wav = wav
        self._profile = tempfile.TemporaryDirectory(prefix="vl-chromium-", ignore_cleanup_errors=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._session: str | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Chromium:
        profile = Path(self._profile.name)
        self._proc = subprocess.Popen([
            str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={profile}", "--remote-debugging-port=0",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={self.wav}%noloop",
            "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
            "--window-size=1000,1500",  # the whole page (state, log, call events) in a screenshot
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
            "--disable-domain-reliability", "--disable-features=MediaRouter,OptimizationHints",
            self.url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 15
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self._ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None)
        targets = await self._send("Target.getTargets")
        page = next(t for t in targets["targetInfos"] if t["type"] == "page")
        attached = await self._send("Target.attachToTarget",
                                    {"targetId": page["targetId"], "flatten": True})
        self._session = attached["sessionId"]
        return self

    async def _send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if self._session is not None and not method.startswith("Target."):
            message["sessionId"] = self._session
        await self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(await self._ws.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self._send("Runtime.evaluate",
                                  {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    async def page(self) -> Page:
        """What the softphone page exposes for tests (``window.voicelane``)."""
        state = await self.evaluate("JSON.stringify(window.voicelane || {})")
        page: Page = json.loads(state or "{}")
        return page

    async def wait_page(self, until: Callable[[Page], bool], timeout_s: float,
                        what: str) -> Page:
        """Poll the page (every 50 ms) until ``until`` holds; fail with the page otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            page = await self.page()
            if until(page):
                return page
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never got {what}: {page}")
            await asyncio.sleep(0.05)

    async def click(self, element_id: str) -> None:
        """Click a button of the page, as a person would."""
        await self.evaluate(f"document.getElementById({json.dumps(element_id)}).click()")

    async def screenshot(self, path: Path) -> None:
        shot = await self._send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._profile.cleanup()
