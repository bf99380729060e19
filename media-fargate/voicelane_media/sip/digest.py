"""HTTP Digest authentication for SIP, client side (RFC 7616, RFC 2617, RFC 3261 22).

Parses ``WWW-Authenticate``/``Proxy-Authenticate`` challenges and builds the matching
``Authorization``/``Proxy-Authorization`` value (qop=auth; MD5, SHA-256 and -sess).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from .grammar import SipParseError, quote, read_quoted, split_commas

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


@dataclass
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: list[str] = field(default_factory=list)
    opaque: str | None = None
    stale: bool = False
    scheme: str = "Digest"

    @classmethod
    def parse(cls, value: str) -> Challenge:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SipParseError(f"unsupported auth scheme {scheme!r}")
        params: dict[str, str] = {}
        for item in split_commas(rest):
            name, eq, raw = item.partition("=")
            if not eq:
                raise SipParseError("malformed digest parameter")
            raw = raw.strip()
            if raw.startswith('"'):
                text, end = read_quoted(raw, 0)
                if end != len(raw):
                    raise SipParseError("garbage after quoted digest parameter")
                raw = text
            params[name.strip().lower()] = raw
        if "realm" not in params or "nonce" not in params:
            raise SipParseError("digest challenge without realm or nonce")
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper().removesuffix("-SESS") not in _HASHES:
            raise SipParseError(f"unsupported digest algorithm {algorithm!r}")
        qop = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        return cls(params["realm"], params["nonce"], algorithm.upper(), qop,
                   params.get("opaque"), params.get("stale", "").lower() == "true")


def _h(algorithm: str, data: str) -> str:
    return _HASHES[algorithm.removesuffix("-SESS")](data.encode("utf-8")).hexdigest()


def digest_response(challenge: Challenge, *, username: str, password: str, method: str,
                    uri: str, nc: int = 1, cnonce: str | None = None,
                    body: bytes = b"") -> tuple[str, str | None, str]:
    """Compute ``response``; returns (response, qop used, cnonce)."""
    algorithm = challenge.algorithm
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = _h(algorithm, f"{username}:{challenge.realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{challenge.nonce}:{cnonce}")
    qop = "auth" if "auth" in challenge.qop else None
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        resp = _h(algorithm, f"{ha1}:{challenge.nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")
    else:
        resp = _h(algorithm, f"{ha1}:{challenge.nonce}:{ha2}")
    return resp, qop, cnonce


def authorization(challenge: Challenge, *, username: str, password: str, method: str,
                  uri: str, nc: int = 1, cnonce: str | None = None) -> str:
    """Value for an ``Authorization``/``Proxy-Authorization`` header."""
    resp, qop, cnonce = digest_response(challenge, username=username, password=password,
                                        method=method, uri=uri, nc=nc, cnonce=cnonce)
    parts = [
        f"username={quote(username)}", f"realm={quote(challenge.realm)}",
        f"uri={quote(uri)}", f"algorithm={challenge.algorithm}",
        f"nonce={quote(challenge.nonce)}",
    ]
    if qop:
        parts += [f"nc={nc:08x}", f"cnonce={quote(cnonce)}", f"qop={qop}"]
    parts.append(f"response={quote(resp)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)
