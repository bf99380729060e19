"""Helpers of the browser <-> phone tests (an aiortc or a Chromium browser, sipp the phone):
tones, a trunk and a session to a phone, a number routed to a browser identity, a call's leg."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from voicelane_media.codecs.g711 import pcma_from_pcm

from tests.interop.sipp_helpers import Api, new_number

RATE = 48000
PHONE = "+14155550199"  # the number the browser dials (the trunk's sipp answers any)


def tone(hz: float, seconds: float, rate: int = RATE, level: float = 8000) -> np.ndarray:
    """A sine tone, 16-bit samples at ``rate``."""
    t = np.arange(int(rate * seconds)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def phone_session(api: Api, sipp_port: int) -> tuple[dict[str, Any], str]:
    """A trunk to the sipp at ``sipp_port``, an app number, and a webrtc session calling
    :data:`PHONE` from it, as the customer's backend mints one; (session, from-number)."""
    api.ok(api.post("/v1/trunks", {"name": f"sipp-{sipp_port}", "host": "127.0.0.1",
                                   "port": sipp_port, "transport": "udp"}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    session: dict[str, Any] = api.ok(api.post("/v1/sessions", {
        "connection_type": "webrtc", "to": PHONE, "from": number}))
    return session, number


def caller_tone(directory: Path, seconds: float = 3.5) -> None:
    """``caller.pcma`` (raw A-law, 440 Hz) for ``uac_tone_to_client.xml``'s rtp_stream."""
    (directory / "caller.pcma").write_bytes(pcma_from_pcm(tone(440, seconds, 8000, 6000)))


def client_number(api: Api, identity: str) -> str:
    """A new app number routed to the browser identity ``identity``."""
    number = new_number()
    created = api.ok(api.post("/v1/numbers", {"number": number, "client": identity}))
    assert created["client"] == identity
    return number


def leg_of(api: Api, call_id: str, timeout_s: float = 10) -> dict[str, Any]:
    """The first leg dialled for ``call_id`` (a call whose ``parent_call_id`` it is)."""
    deadline = time.monotonic() + timeout_s
    while True:
        calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
        legs = [c for c in calls if c.get("parent_call_id") == call_id]
        if legs:
            return dict(legs[0])
        assert time.monotonic() < deadline, f"no leg of {call_id}"
        time.sleep(0.1)
