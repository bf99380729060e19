"""Signed short-lived tokens (HMAC-SHA256) for media sessions and internal calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from voicelane.domain.errors import Unauthenticated


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], secret: str, ttl_s: int, now: float | None = None) -> str:
    body = {**claims, "exp": int((time.time() if now is None else now) + ttl_s)}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(token: str, secret: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a valid, unexpired token; Unauthenticated otherwise."""
    try:
        payload, mac = token.split(".", 1)
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("bad signature")
        claims: dict[str, Any] = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError) as exc:
        raise Unauthenticated("invalid token", code="invalid_token") from exc
    if int(claims.get("exp", 0)) < (time.time() if now is None else now):
        raise Unauthenticated("token expired", code="token_expired")
    return claims
