"""SRTP/SRTCP (RFC 3711) for one RTP session, through libsrtp (pylibsrtp, as aiortc uses).

Synchronous: one call per packet. A packet that fails authentication (or replays one already
seen) is dropped and counted; ``failed_in_a_row`` lets the session end a call whose peer keeps
sending packets we cannot authenticate (wrong key, an attacker, a broken re-key).
"""

from __future__ import annotations

from pylibsrtp import Error, Policy, Session

from voicelane_media.sdp_crypto import AES_CM_128_HMAC_SHA1_80

PROFILES = {AES_CM_128_HMAC_SHA1_80: Policy.SRTP_PROFILE_AES128_CM_SHA1_80}


class SrtpContext:
    """Our outbound SRTP stream (``local`` key) and the peer's inbound one (``remote`` key)."""

    def __init__(self, suite: str, local: bytes, remote: bytes) -> None:
        profile = PROFILES[suite]
        self.suite = suite
        self.keys = (local, remote)
        self._tx = Session(Policy(key=local, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=profile))
        self._rx = Session(Policy(key=remote, ssrc_type=Policy.SSRC_ANY_INBOUND,
                                  srtp_profile=profile))
        self.protected = 0
        self.unprotected = 0
        self.auth_failures = 0  # RTP packets dropped: failed authentication or a replay
        self.rtcp_auth_failures = 0  # the same for SRTCP
        self.failed_in_a_row = 0  # RTP only; reset by every good packet

    def protect(self, packet: bytes) -> bytes:
        self.protected += 1
        return self._tx.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._tx.protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None (dropped and counted) when it does not authenticate."""
        try:
            plain = self._rx.unprotect(packet)
        except Error:
            self.auth_failures += 1
            self.failed_in_a_row += 1
            return None
        self.unprotected += 1
        self.failed_in_a_row = 0
        return plain

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._rx.unprotect_rtcp(packet)
        except Error:
            self.rtcp_auth_failures += 1
            return None

    def stats(self) -> dict[str, int | str]:
        return {"srtp_suite": self.suite, "srtp_auth_failures": self.auth_failures,
                "srtcp_auth_failures": self.rtcp_auth_failures,
                "srtp_packets_unprotected": self.unprotected,
                "srtp_packets_protected": self.protected}
