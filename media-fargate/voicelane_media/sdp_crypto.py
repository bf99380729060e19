"""SDES (RFC 4568): the ``a=crypto`` attribute and the SRTP policy of an SDP offer/answer.

Pure and synchronous, apart from :mod:`voicelane_media.sdp` (which it only decorates):

- :class:`CryptoAttribute` parses and serializes one ``a=crypto`` value byte for byte
  (``CryptoAttribute.parse(x).serialize() == x``);
- :func:`secure_offer` turns a plain offer into an SRTP one (``RTP/SAVP`` for a mandatory
  trunk, ``RTP/AVP`` with ``a=crypto`` for an optional one, the usual "best effort" form);
- :func:`secure_answer` decides, for an offer and a trunk policy, whether the call carries
  SRTP and with which keys, or refuses it (:class:`sdp.SdpError`: a 488);
- :func:`accept_secure_answer` reads the peer's key from its answer to our offer.

Only ``AES_CM_128_HMAC_SHA1_80`` is offered and accepted (the suite every SDES peer has).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from voicelane_media.sdp import MediaDescription, SdpError, SessionDescription

AES_CM_128_HMAC_SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
SUITES: dict[str, int] = {AES_CM_128_HMAC_SHA1_80: 30}  # suite -> master key + salt bytes
POLICIES = ("off", "optional", "mandatory")
SECURE_PROFILES = ("RTP/SAVP", "RTP/SAVPF")
_TAG = re.compile(r"^[0-9]{1,9}$")
_SUITE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_CRYPTO_LINES = 16


@dataclass(frozen=True)
class KeyParam:
    """One ``inline:<key||salt>[|lifetime][|MKI:length]`` key parameter."""

    key_b64: str  # as written (kept for a byte-exact round trip)
    lifetime: str | None = None
    mki: str | None = None

    @property
    def key_salt(self) -> bytes:
        return base64.b64decode(self.key_b64 + "=" * (-len(self.key_b64) % 4), validate=True)

    def serialize(self) -> str:
        parts = [f"inline:{self.key_b64}"]
        if self.lifetime is not None:
            parts.append(self.lifetime)
        if self.mki is not None:
            parts.append(self.mki)
        return "|".join(parts)

    @classmethod
    def parse(cls, text: str) -> KeyParam:
        method, colon, info = text.partition(":")
        if method != "inline" or not colon:
            raise SdpError(f"unsupported crypto key method {method[:20]!r}")
        key, *rest = info.split("|")
        if len(rest) > 2:
            raise SdpError("too many crypto key fields")
        try:
            _ = KeyParam(key).key_salt
        except (binascii.Error, ValueError):
            raise SdpError("crypto key is not base64") from None
        lifetime = mki = None
        for part in rest:
            if ":" in part:
                mki = part
            else:
                lifetime = part
        return cls(key, lifetime, mki)


@dataclass(frozen=True)
class CryptoAttribute:
    """``a=crypto:<tag> <suite> <key-params> [<session-params>...]`` (RFC 4568 9.1)."""

    tag: int
    suite: str
    keys: tuple[KeyParam, ...]
    session_params: tuple[str, ...] = ()
    tag_text: str = field(default="", compare=False)  # the tag as written ("01" stays "01")

    @classmethod
    def parse(cls, value: str) -> CryptoAttribute:
        parts = value.split(" ")
        if len(parts) < 3 or not _TAG.match(parts[0]) or not _SUITE.match(parts[1]):
            raise SdpError(f"malformed a=crypto {value[:60]!r}")
        keys = tuple(KeyParam.parse(k) for k in parts[2].split(";"))
        return cls(int(parts[0]), parts[1], keys, tuple(parts[3:]), parts[0])

    def serialize(self) -> str:
        tag = self.tag_text or str(self.tag)
        text = f"{tag} {self.suite} " + ";".join(k.serialize() for k in self.keys)
        return " ".join([text, *self.session_params])

    @property
    def usable(self) -> bool:
        """A suite we run, one key of its length, no MKI and no session parameters."""
        size = SUITES.get(self.suite)
        if size is None or len(self.keys) != 1 or self.session_params or self.keys[0].mki:
            return False
        try:
            return len(self.keys[0].key_salt) == size
        except (binascii.Error, ValueError):
            return False

    @property
    def key_salt(self) -> bytes:
        return self.keys[0].key_salt


def new_crypto(tag: int = 1, suite: str = AES_CM_128_HMAC_SHA1_80,
               random_bytes: Callable[[int], bytes] = os.urandom) -> CryptoAttribute:
    """A fresh master key and salt for ``suite``."""
    key = base64.b64encode(random_bytes(SUITES[suite])).decode("ascii")
    return CryptoAttribute(tag, suite, (KeyParam(key),))


def crypto_attributes(m: MediaDescription) -> list[CryptoAttribute]:
    """The stream's ``a=crypto`` lines; unparseable ones are skipped (RFC 4568 7.1.1: an
    answerer ignores what it does not understand). At most 16 are read."""
    out = []
    for value in m.attrs("crypto")[:MAX_CRYPTO_LINES]:
        try:
            out.append(CryptoAttribute.parse(value))
        except SdpError:
            continue
    return out


def is_secure(m: MediaDescription) -> bool:
    return m.proto.upper() in SECURE_PROFILES


def audio_is_secure(description: SessionDescription) -> bool:
    """Whether the first active audio stream is on an SRTP profile (RTP/SAVP)."""
    m = _audio(description)
    return m is not None and is_secure(m)


def _audio(sdp: SessionDescription) -> MediaDescription | None:
    return next((m for m in sdp.media if m.media == "audio" and m.port != 0), None)


def _add_crypto(m: MediaDescription, crypto: CryptoAttribute) -> None:
    """Insert ``a=crypto`` after the rtpmap/fmtp lines (before ptime and the direction)."""
    at = next((i for i, (k, v) in enumerate(m.lines)
               if k == "a" and not v.startswith(("rtpmap:", "fmtp:"))), len(m.lines))
    m.lines.insert(at, ("a", f"crypto:{crypto.serialize()}"))


def validate_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise ValueError(f"srtp policy must be one of {', '.join(POLICIES)}")
    return policy


def secure_offer(offer: SessionDescription, policy: str,
                 crypto: CryptoAttribute | None) -> SessionDescription:
    """Our offer under ``policy``: unchanged when off; ``a=crypto`` added when optional (the
    profile stays RTP/AVP so a plain peer still answers); RTP/SAVP too when mandatory."""
    validate_policy(policy)
    m = _audio(offer)
    if policy == "off" or m is None:
        return offer
    if crypto is None:
        raise ValueError("an SRTP offer needs a crypto attribute")
    if policy == "mandatory":
        m.proto = "RTP/SAVP"
    _add_crypto(m, crypto)
    return offer


@dataclass(frozen=True)
class SrtpKeys:
    """The keys of one SRTP stream pair: ours (we protect with it), the peer's (we check)."""

    suite: str
    local: bytes
    remote: bytes


def secure_answer(offer: SessionDescription, answer: SessionDescription, policy: str,
                  crypto: CryptoAttribute | None) -> SrtpKeys | None:
    """Apply ``policy`` to the answer of ``offer`` (built by :func:`sdp.answer`, which keeps
    the offer's profile). Returns the SRTP keys, or None for plain RTP.

    Raises :class:`SdpError` (send 488) when the policy is mandatory and the offer has no
    usable crypto attribute, or when the offer is RTP/SAVP and we cannot do SRTP for it."""
    validate_policy(policy)
    om, am = _audio(offer), _audio(answer)
    if om is None or am is None:
        return None
    usable = next((c for c in crypto_attributes(om) if c.usable), None)
    if policy == "off":
        if is_secure(om):
            raise SdpError("SRTP is off for this trunk but the offer is RTP/SAVP")
        return None  # crypto lines on an RTP/AVP offer are best effort: answered plain
    if usable is None:
        if policy == "mandatory":
            raise SdpError("SRTP required by this trunk (no usable a=crypto "
                           f"{AES_CM_128_HMAC_SHA1_80} in the offer)")
        if is_secure(om):
            raise SdpError(f"no usable a=crypto in an RTP/SAVP offer (we support "
                           f"{AES_CM_128_HMAC_SHA1_80})")
        return None
    if crypto is None:
        raise ValueError("an SRTP answer needs a crypto attribute")
    ours = CryptoAttribute(usable.tag, usable.suite, crypto.keys)
    _add_crypto(am, ours)
    return SrtpKeys(usable.suite, ours.key_salt, usable.key_salt)


def accept_secure_answer(offer: SessionDescription, answer: SessionDescription, policy: str,
                         crypto: CryptoAttribute | None) -> SrtpKeys | None:
    """Offerer side: the keys from the peer's answer, None for plain RTP. Raises
    :class:`SdpError` when a mandatory offer got a plain answer (the call must not go on)."""
    validate_policy(policy)
    am = _audio(answer)
    if policy == "off" or crypto is None or am is None:
        return None
    chosen = next((c for c in crypto_attributes(am) if c.tag == crypto.tag), None)
    if chosen is None or not chosen.usable or chosen.suite != crypto.suite:
        if policy == "mandatory":
            raise SdpError("the answer to an SRTP-mandatory offer has no usable a=crypto")
        return None
    return SrtpKeys(chosen.suite, crypto.key_salt, chosen.key_salt)
