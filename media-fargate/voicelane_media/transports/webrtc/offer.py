"""Checks on a browser's SDP offer before anything is claimed (pure, synchronous).

The signalling endpoint refuses an offer it cannot answer with a status and a machine-readable
code, before the session's call is claimed: a body that is not an SDP offer is 400
``malformed_sdp``; an offer without audio, without Opus, or without the ICE and DTLS
attributes WebRTC requires is 422 (``no_audio``, ``no_common_codec``, ``not_webrtc``).
aiortc parses the offer again afterwards; these checks only make the refusals precise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_OFFER_BYTES = 64 * 1024
_OPUS = re.compile(r"^a=rtpmap:\d+ opus/48000(/2)?$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class OfferProblem:
    """Why an offer is refused: HTTP status, code, message."""

    status: int
    code: str
    message: str


def check_offer(body: bytes) -> tuple[str, OfferProblem | None]:
    """The offer's text, and the problem with it (None when it can be answered)."""
    if len(body) > MAX_OFFER_BYTES:
        return "", OfferProblem(413, "offer_too_large", f"an offer is at most {MAX_OFFER_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "", OfferProblem(400, "malformed_sdp", "the offer is not UTF-8 text")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != "v=0" or not any(line.startswith("o=") for line in lines):
        return text, OfferProblem(400, "malformed_sdp", "the body is not an SDP offer (v=0, o=)")
    if any(len(line) < 2 or line[1] != "=" for line in lines):
        return text, OfferProblem(400, "malformed_sdp", "every SDP line is <type>=<value>")
    audio = [line for line in lines if line.startswith("m=audio ")]
    if not audio:
        return text, OfferProblem(422, "no_audio", "the offer has no audio m-line")
    normalized = "\n".join(lines)
    if not _OPUS.search(normalized):
        return text, OfferProblem(422, "no_common_codec", "the offer does not include Opus 48 kHz")
    needs = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")
    missing = [n.rstrip(":").removeprefix("a=") for n in needs
               if not any(line.startswith(n) for line in lines)]
    if missing:
        return text, OfferProblem(422, "not_webrtc",
                                  f"the offer lacks {', '.join(missing)} (ICE and DTLS-SRTP)")
    return text, None
