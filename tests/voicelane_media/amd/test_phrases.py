"""Voicemail and screening phrases in a greeting's transcript."""

from __future__ import annotations

import pytest
from voicelane_media.amd import PhraseKind, match_phrase

MACHINE = [
    ("Hi, you've reached Sam. Please leave a message after the tone.", PhraseKind.VOICEMAIL),
    # a carrier's voicemail: screening words that voicemail greetings say too, and a
    # voicemail phrase
    ("The person you are calling is not available.", PhraseKind.VOICEMAIL),
    ("The person you're calling cannot take your call, leave a message", PhraseKind.VOICEMAIL),
    ("The person you are calling is using a screening service, they are not available",
     PhraseKind.SCREENING),
    ("HELLO, I CAN'T TAKE YOUR CALL RIGHT NOW", PhraseKind.VOICEMAIL),
    ("I can\u2019t come to the phone", PhraseKind.VOICEMAIL),
    ("Hi, the person you're calling is using a screening service", PhraseKind.SCREENING),
    ("Please stay on the line.", PhraseKind.SCREENING),
    ("Deje su mensaje después del tono", PhraseKind.VOICEMAIL),
    ("Your call has been forwarded to an automatic voice message system", None),
    ("Let's start and leave my message.", PhraseKind.VOICEMAIL),  # how Whisper heard one
    ("Please leave me your name and number", PhraseKind.VOICEMAIL),
    ("you've reached the voicemail of Doctor Patel", PhraseKind.VOICEMAIL),
]
HUMAN = ["Hello?", "Yes?", "Hi, this is Sam.", "Hello, who's this?", "Hello, who's calling?",
         "Yeah, go ahead.", "Leave it with me.", "I can't hear you.",
         "Good morning, Acme Dental."]


@pytest.mark.parametrize(("text", "kind"), MACHINE)
def test_machine_phrases(text: str, kind: PhraseKind | None) -> None:
    found = match_phrase(text)
    assert (found[0] if found else None) == kind


@pytest.mark.parametrize("text", HUMAN)
def test_what_people_say_when_they_pick_up_is_no_machine_phrase(text: str) -> None:
    assert match_phrase(text) is None


def test_words_match_whole_only() -> None:
    assert match_phrase("my mailboxes") is None and match_phrase("check the mailbox") is not None
