"""Early media classified from generated network audio: ringback cadences, special information
tones before an intercept announcement, a plain announcement, silence."""

from __future__ import annotations

import pytest
from voicelane_media.amd.early_media import (
    DECIDE_AFTER_MS,
    EarlyMedia,
    EarlyMediaClassifier,
    EarlyMediaKind,
    tone_peaks,
)
from voicelane_media.sim.greetings import (
    concat,
    dual_tone,
    frames,
    ringback_us,
    silence,
    special_information_tones,
    speech,
    tone,
    with_noise,
)

NOT_IN_SERVICE = "The number you have dialled is not in service. Please check the number and try again."


def classify(audio: object, rate: int = 8000) -> tuple[EarlyMedia | None, EarlyMediaClassifier]:
    classifier = EarlyMediaClassifier(rate)
    decided = None
    for frame in frames(audio):  # type: ignore[arg-type]
        decided = classifier.feed(frame) or decided
    return decided, classifier


def test_a_dual_tone_shows_both_peaks_and_speech_shows_none() -> None:
    peaks = tone_peaks(dual_tone(440, 480, 100), 8000)
    assert peaks is not None and len(peaks) == 2
    assert abs(peaks[0] - 440) <= 25 and abs(peaks[1] - 480) <= 25
    assert tone_peaks(silence(100), 8000) == ()
    assert tone_peaks(speech("hello there")[2000:2800], 8000) is None


@pytest.mark.parametrize("audio", [
    ringback_us(1),
    concat(dual_tone(400, 450, 400), silence(200), dual_tone(400, 450, 400), silence(2000),
           dual_tone(400, 450, 400), silence(200), dual_tone(400, 450, 400)),  # UK
    concat(tone(425, 1000, -15), silence(1500), tone(425, 1000, -15)),  # Europe
    with_noise(ringback_us(1), 25, seed=3),
], ids=["us", "uk", "europe", "us-noisy"])
def test_ringback_cadences_are_ringback(audio: object) -> None:
    decided, _ = classify(audio)
    assert decided is not None and decided.kind == EarlyMediaKind.RINGBACK
    assert decided.decided_ms == DECIDE_AFTER_MS
    assert not decided.unreachable


def test_special_information_tones_mean_unreachable_at_once() -> None:
    audio = concat(silence(300), special_information_tones(), speech(NOT_IN_SERVICE))
    decided, _ = classify(audio)
    assert decided is not None and decided.kind == EarlyMediaKind.SPECIAL_INFORMATION_TONE
    assert decided.unreachable
    assert decided.decided_ms <= 300 + 274 + 274 + 380 + 100  # as soon as the third tone ends


def test_an_announcement_without_tones_is_an_announcement() -> None:
    decided, _ = classify(concat(silence(200), speech(NOT_IN_SERVICE)))
    assert decided is not None and decided.kind == EarlyMediaKind.ANNOUNCEMENT
    assert not decided.unreachable


def test_silence_and_the_verdict_before_the_decision() -> None:
    decided, _ = classify(silence(2500))
    assert decided is not None and decided.kind == EarlyMediaKind.SILENCE
    _, early = classify(dual_tone(440, 480, 600))  # answered after 600 ms of ringback
    assert early.result is None and early.verdict().kind == EarlyMediaKind.RINGBACK


def test_sit_tones_out_of_order_or_too_long_are_not_sit() -> None:
    wrong_order = concat(tone(1776.7, 380), tone(1370.6, 274), tone(913.8, 274), silence(300))
    too_long = concat(tone(913.8, 900), tone(1370.6, 900), tone(1776.7, 900), silence(300))
    for audio in (wrong_order, too_long):
        decided, _ = classify(concat(audio, silence(2000)))
        assert decided is not None and decided.kind != EarlyMediaKind.SPECIAL_INFORMATION_TONE
