"""Codec preference in SDP offer/answer (pure): which codecs a SIP leg offers, and which one it
picks from a peer's offer, given a preference list (``voicelane.domain.codecs``: a trunk's
``codecs`` or the node's ``sip_codecs``).

- An offer lists the preferred codecs in order, then one telephone-event per RTP clock in use
  (RFC 4733 section 2.1: the event clock is the audio codec's clock, so 8000 for G.711 and
  G.722, 48000 for Opus).
- An answer takes the first codec of *our* preference that the offer has (RFC 3264 lets the
  answerer choose; a trunk set to prefer G.711 keeps G.711 when a peer lists Opus first), and
  the offered telephone-event at that codec's clock (or, failing that, any offered one).
- The RTP clock quirks live in the codec table: G.722 is ``G722/8000`` although it samples at
  16 kHz (RFC 3551 section 4.5.2); Opus is always ``opus/48000/2`` (RFC 7587 section 7).

The answer itself is built by :func:`voicelane_media.sdp.answer`, restricted to the chosen
codecs, so the SDP shape stays in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from voicelane.domain.codecs import WIDEBAND

from voicelane_media import sdp

CODEC_FORMATS: dict[str, sdp.Codec] = {"PCMU": sdp.PCMU, "PCMA": sdp.PCMA, "G722": sdp.G722,
                                       "opus": sdp.OPUS}
TELEPHONE_EVENT_48K = sdp.Codec("telephone-event", 48000, 1, 110, "0-16")
OPUS_FMTP = "minptime=10;useinbandfec=1"  # what we want to receive (RFC 7587 section 6.1)


def pcm_rate(codec_name: str) -> int:
    """The PCM rate at the transport boundary for a negotiated codec: 16 kHz when wideband."""
    canonical = next((n for n in CODEC_FORMATS if n.lower() == codec_name.lower()), "")
    return 16000 if canonical in WIDEBAND else 8000


def offer_codecs(preference: Sequence[str]) -> list[sdp.Codec]:
    """The codecs (and telephone-events) of an offer for a preference list."""
    codecs = [CODEC_FORMATS[name] for name in preference if name in CODEC_FORMATS]
    if not codecs:
        raise sdp.SdpError("no codec to offer")
    clocks = {c.clock_rate for c in codecs}
    if 8000 in clocks:
        codecs.append(sdp.TELEPHONE_EVENT)
    if 48000 in clocks:
        codecs.append(TELEPHONE_EVENT_48K)
    return codecs


def _first_audio(offer: sdp.SessionDescription) -> sdp.MediaDescription | None:
    """The stream :func:`sdp.answer` answers (the first active RTP audio stream)."""
    return next((m for m in offer.media
                 if m.media == "audio" and m.port != 0 and "RTP/" in m.proto), None)


def choose(offered: list[sdp.Codec], preference: Sequence[str]
           ) -> tuple[sdp.Codec, sdp.Codec | None]:
    """Our most preferred codec among ``offered`` (as the offer spelled it: its payload type),
    and the offered telephone-event to pair with it. SdpError when nothing is common."""
    events = [c for c in offered if c.name.lower() == "telephone-event"]
    for name in preference:
        wanted = CODEC_FORMATS.get(name)
        if wanted is None:
            continue
        # Opus is matched by name and clock: "opus/48000" without "/2" is seen in the wild
        match = next((c for c in offered if c.name.lower() == wanted.name.lower()
                      and c.clock_rate == wanted.clock_rate), None)
        if match is None:
            continue
        if match.name.lower() == "opus":
            match = sdp.Codec(match.name, match.clock_rate, 2, match.payload_type, OPUS_FMTP)
        event = next((e for e in events if e.clock_rate == match.clock_rate),
                     events[0] if events else None)
        return match, event
    raise sdp.SdpError("no common audio codec")


def answer_with_preference(offer: sdp.SessionDescription, preference: Sequence[str],
                           address: str, port: int, *, direction: str = "sendrecv",
                           session_id: int = 1, version: int = 1,
                           ) -> tuple[sdp.SessionDescription, sdp.NegotiatedAudio]:
    """:func:`sdp.answer` with the codec chosen by ``preference`` (see the module doc)."""
    stream = _first_audio(offer)
    if stream is None:
        raise sdp.SdpError("offer has no usable audio stream")
    codec, event = choose(stream.codecs(), preference)
    supported = [codec] + ([event] if event is not None else [])
    answer, negotiated = sdp.answer(offer, supported, address, port, direction=direction,
                                    session_id=session_id, version=version)
    if codec.name.lower() == "opus":
        _own_fmtp(answer.media[offer.media.index(stream)], codec)
        negotiated.codec = codec
    return answer, negotiated


def _own_fmtp(media: sdp.MediaDescription, codec: sdp.Codec) -> None:
    """Say what *we* want to receive: ``sdp.answer`` echoes the offer's format parameters,
    and an offer's ``stereo=1`` would ask the peer to send us stereo Opus."""
    prefix = f"fmtp:{codec.payload_type} "
    lines = [(k, v) for k, v in media.lines if not (k == "a" and v.startswith(prefix))]
    at = next(i for i, (k, v) in enumerate(lines) if k == "a" and v.startswith(
        f"rtpmap:{codec.payload_type} ")) + 1
    lines.insert(at, ("a", prefix + (codec.fmtp or "")))
    media.lines[:] = lines


def same_rate_preference(current: str, preference: Sequence[str]) -> list[str]:
    """What a re-INVITE may switch to: the current codec first, then those of the preference
    at the same PCM rate (a recording or an agent cannot change rate mid-call)."""
    rate = pcm_rate(current)
    canonical = next((n for n in CODEC_FORMATS if n.lower() == current.lower()), current)
    return [canonical] + [n for n in preference if n != canonical and pcm_rate(n) == rate]


def event_clock(remote: sdp.SessionDescription, negotiated: sdp.NegotiatedAudio) -> int:
    """The clock of the telephone-event the peer described for ``negotiated`` (its rtpmap),
    else the audio codec's clock (RFC 4733 section 2.1)."""
    stream = _first_audio(remote)
    if stream is not None and negotiated.telephone_event is not None:
        for codec in stream.codecs():
            if codec.payload_type == negotiated.telephone_event:
                return codec.clock_rate
    return negotiated.codec.clock_rate
