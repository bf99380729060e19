"""WebRTC session facts shared by the control plane and the media node (pure values).

An :class:`IceServer` is one entry of the browser's ``RTCConfiguration.iceServers`` (and of
the node's own aiortc configuration): STUN to learn a public address, TURN to relay media
for networks that block direct UDP. :func:`signalling_url` turns the media node's public
WebSocket base (``ws(s)://host:port/v1/media``) into the HTTP(S) base a browser POSTs its
offer to: the same listener, the same path prefix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

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


def client_register_url(media_connect_url: str) -> str:
    """The WebSocket a browser identity registers on (``ws(s)://.../v1/media/clients``)."""
    return f"{media_connect_url.rstrip('/')}/clients"


def client_answer_base(media_connect_url: str) -> str:
    """The HTTP(S) base a ringing browser answers on (``.../v1/media/clients``)."""
    return signalling_url(media_connect_url, "").rsplit(f"/{WEBRTC_PATH}/", 1)[0] + "/clients"


def turn_credentials(servers: list[IceServer], secret: str | None, identity: str,
                     ttl_s: int, now: float) -> list[IceServer]:
    """``servers`` with short-lived credentials on each TURN entry that has none, by the TURN
    REST API's shared-secret scheme (coturn ``use-auth-secret``): the username is
    ``<expiry epoch seconds>:<identity>``, the credential base64(HMAC-SHA1(secret, username)).
    Without a secret, or for STUN entries and TURN entries with static credentials, nothing
    changes."""
    if not secret:
        return list(servers)
    username = f"{int(now) + ttl_s}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    credential = base64.b64encode(digest).decode()
    out = []
    for server in servers:
        turn = any(u.lower().startswith(("turn:", "turns:")) for u in server.urls)
        if turn and server.username is None and server.credential is None:
            server = server.model_copy(update={"username": username, "credential": credential})
        out.append(server)
    return out
