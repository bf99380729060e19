"""What a voicemail greeting or a call screener says, matched in the greeting's transcript.

Phrases are matched on normalised text (lower case, letters and digits, single spaces), so
the STT's punctuation and casing do not matter. English is what the local STT (Whisper tiny.en)
hears; the Spanish, French and German lines serve STT engines that transcribe those languages.
"""

from __future__ import annotations

import re
from enum import StrEnum

VOICEMAIL = (
    # en
    "leave a message", "leave your message", "leave me a message", "leave a brief message",
    "leave your name", "after the tone", "after the beep", "at the tone", "at the beep",
    "not available", "unavailable", "can't take your call", "cannot take your call",
    "can't come to the phone", "can't get to the phone", "cannot come to the phone",
    "you have reached", "you've reached", "is not available", "voicemail", "voice mail",
    "mailbox", "get back to you", "call you back", "record your message", "away from",
    # es
    "deje su mensaje", "deja tu mensaje", "después del tono", "despues del tono",
    "no está disponible", "buzón de voz",
    # fr
    "laissez un message", "après le bip", "apres le bip", "messagerie", "n'est pas disponible",
    # de
    "nachricht nach dem", "nach dem signalton", "nicht erreichbar",
)
SCREENING = (
    # Not "who's calling?": people picking up say it too.
    "screening service", "using a screening", "why you're calling", "why you are calling",
    "state your name", "say your name", "reason for calling", "stay on the line",
    "please stay on the line", "record your name", "google assistant",
    # without "the", which the STT drops ("I'm a person you are calling ...")
    "person you're calling", "person you are calling",
)

# Screening words a voicemail greeting says too ("The person you are calling is not available"):
# with a voicemail phrase beside them, it is a voicemail.
SHARED_WITH_VOICEMAIL = ("person you're calling", "person you are calling",
                         "stay on the line", "please stay on the line")


# The grammar of a greeting, for what an STT makes of it ("leave me your message", "leave my
# message" for "leave a message"): a few words may sit between the verb and its object.
VOICEMAIL_PATTERNS = (
    r"\bleave(?: \w+){0,3} (?:message|name|number)\b",
    r"\b(?:after|at) the (?:tone|beep|signal)\b",
    r"\b(?:can't|cannot|can not) (?:take|answer|get to|come to)\b",
    r"\breached(?: \w+){0,3} (?:voicemail|voice mail|mailbox)\b",
)


class PhraseKind(StrEnum):
    VOICEMAIL = "voicemail"
    SCREENING = "screening"


def normalise(text: str) -> str:
    """Lower case, apostrophes kept, everything else that is not a letter or digit a space."""
    text = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^\w']+", " ", text).split())


_PATTERNS = [(kind, phrase, re.compile(r"\b" + re.escape(normalise(phrase)) + r"\b"))
             for kind, phrases in ((PhraseKind.SCREENING, SCREENING),
                                   (PhraseKind.VOICEMAIL, VOICEMAIL))
             for phrase in phrases]
_PATTERNS += [(PhraseKind.VOICEMAIL, pattern, re.compile(pattern))
              for pattern in VOICEMAIL_PATTERNS]


def match_phrase(text: str) -> tuple[PhraseKind, str] | None:
    """The screening or voicemail phrase that says what ``text`` is, or None. Screening first
    (a screener speaks for a person who may still answer), unless every screening phrase in it
    is one a voicemail greeting says too and a voicemail phrase is there ("The person you are
    calling is not available": a carrier's voicemail)."""
    clean = normalise(text)
    found = [(kind, phrase) for kind, phrase, pattern in _PATTERNS if pattern.search(clean)]
    screening = [phrase for kind, phrase in found if kind == PhraseKind.SCREENING]
    voicemail = [phrase for kind, phrase in found if kind == PhraseKind.VOICEMAIL]
    if screening and (not voicemail or not set(screening) <= set(SHARED_WITH_VOICEMAIL)):
        return PhraseKind.SCREENING, screening[0]
    return (PhraseKind.VOICEMAIL, voicemail[0]) if voicemail else None


def shared_with_voicemail(text: str) -> bool:
    """Every screening phrase in ``text`` is one a voicemail greeting says too."""
    clean = normalise(text)
    found = {phrase for kind, phrase, pattern in _PATTERNS
             if kind == PhraseKind.SCREENING and pattern.search(clean)}
    return bool(found) and found <= set(SHARED_WITH_VOICEMAIL)
