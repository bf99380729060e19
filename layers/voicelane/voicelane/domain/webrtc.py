"""WebRTC session facts shared by the control plane and the media node (pure values).

An :class:`IceServer` is one entry of the browser's ``RTCConfiguration.iceServers`` (and of
the node's own aiortc configuration): STUN to learn a public address, TURN to relay media
for networks that block direct UDP. :func:`signalling_url` turns the media node's public
WebSocket base (``ws(s)://host:port/v1/media``) into the HTTP(S) base a browser POSTs its
offer to: the same listener, the same path prefix.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

WEBRTC_PATH = "webrtc"


class IceServer(BaseModel):
    """One STUN or TURN server, shaped as the browser's ``RTCIceServer``."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="stun:host:port, turn:host:port?transport=udp, turns:...")
    username: str | None = None
    credential: str | None = None


def signalling_url(media_connect_url: str, session_id: str) -> str:
    """The WHIP-style endpoint of a webrtc session on the node's public listener."""
    base = media_connect_url.rstrip("/")
    if base.startswith("wss://"):
        base = "https://" + base.removeprefix("wss://")
    elif base.startswith("ws://"):
        base = "http://" + base.removeprefix("ws://")
    return f"{base}/{WEBRTC_PATH}/{session_id}"
