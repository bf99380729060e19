"""Audio codecs a SIP leg may negotiate, and the validation of a codec preference list.

G.711 (PCMU, PCMA) is the default everywhere; G.722 and Opus are wideband (the agent then runs
at 16 kHz). A trunk (or the media node) lists the codecs it accepts, most preferred first.
"""

from __future__ import annotations

from collections.abc import Iterable

# Canonical spellings (as in SDP rtpmap), keyed by their lower case.
CODECS: dict[str, str] = {"pcmu": "PCMU", "pcma": "PCMA", "g722": "G722", "opus": "opus"}
WIDEBAND = frozenset({"G722", "opus"})
DEFAULT_CODECS: tuple[str, ...] = ("PCMU", "PCMA")


def normalize_codecs(values: Iterable[str]) -> list[str]:
    """Canonical names, in order, without repeats; ValueError names an unknown codec or an
    empty list (a leg must be able to negotiate something)."""
    out: list[str] = []
    for value in values:
        name = CODECS.get(value.strip().lower())
        if name is None:
            known = ", ".join(CODECS.values())
            raise ValueError(f"unknown codec {value!r} (known: {known})")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("the codec list is empty")
    return out
