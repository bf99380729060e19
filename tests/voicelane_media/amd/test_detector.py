"""The detector on generated callee audio (espeak-ng speech, tones, noise) and silero VAD."""

from __future__ import annotations

from dataclasses import replace

import pytest
from voicelane.domain.machine_detection import DetectionResult
from voicelane_media.agent.local_engines import SileroVAD
from voicelane_media.amd import Decision, DetectorSettings, GreetingEnd, MachineDetector
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.sim.greetings import concat, fax_cng, frames, silence, speech, tone, with_noise
from voicelane_media.sim.voice import speech_bounds

GREETING = ("Hi, you have reached Sam and Alex. We can't take your call right now. "
            "Please leave your name and number and we will call you back.")


def run(audio: Int16Array, settings: DetectorSettings | None = None,
        transcripts: dict[int, str] | None = None) -> tuple[MachineDetector, list[object]]:
    """Feed ``audio`` (then silence) until the detector is done; ``transcripts`` hands it a
    transcript once that many ms were fed (as the driver does when the STT answers)."""
    vad = SileroVAD()
    detector = MachineDetector(settings or DetectorSettings(), 8000, want_greeting_end=True)
    events: list[object] = []
    for frame in frames(concat(audio, silence(25_000))):
        event = detector.feed(frame, vad.speech_probability(frame.tobytes(), 8000))
        if event is not None:
            events.append(event)
        for at, text in (transcripts or {}).items():
            if detector.elapsed_ms == at and (decided := detector.transcript(text)) is not None:
                events.append(decided)
        if detector.done:
            break
    return detector, events


def decision(events: list[object]) -> Decision:
    found = [e for e in events if isinstance(e, Decision)]
    assert len(found) == 1
    return found[0]


def test_a_hello_then_silence_is_a_person_decided_about_a_second_after_it() -> None:
    hello = speech("Hello?")
    detector, events = run(concat(silence(400), hello, silence(4000)))
    d = decision(events)
    assert d.result is DetectionResult.HUMAN and d.confidence >= 0.8
    assert 1_200 <= d.decide_ms <= 400 + len(hello) // 8 + 1_300
    assert detector.done and not any(isinstance(e, GreetingEnd) for e in events)


def test_a_long_greeting_is_a_machine_and_its_end_is_the_beep() -> None:
    greeting = concat(silence(300), speech(GREETING))
    beep_at = len(greeting) // 8 + 600
    _, events = run(concat(greeting, silence(600), tone(1000, 500)),
                    DetectorSettings(wait_for_beep=True))
    d = decision(events)
    assert d.result is DetectionResult.MACHINE and d.reason == "long_greeting"
    assert 2_400 < d.decide_ms < 3_600  # speech past the threshold, well before the beep
    end = events[-1]
    assert isinstance(end, GreetingEnd) and end.beep and end.reason == "beep"
    assert abs((end.beep_hz or 0) - 1000) < 10
    assert beep_at + 500 <= end.ended_ms <= beep_at + 620  # reported once the beep stopped


def test_without_a_beep_detect_beep_ends_the_greeting_after_a_long_silence() -> None:
    greeting = concat(silence(300), speech(GREETING))
    voice_end_ms = speech_bounds(greeting)[1] * 1000
    _, events = run(greeting, DetectorSettings(wait_for_beep=True))
    end = events[-1]
    assert isinstance(end, GreetingEnd) and not end.beep and end.reason == "silence"
    assert voice_end_ms + 3_800 <= end.ended_ms <= voice_end_ms + 4_300


def test_detect_ends_the_greeting_at_its_first_long_pause() -> None:
    greeting = concat(silence(300), speech(GREETING))
    _, events = run(greeting, DetectorSettings(wait_for_beep=False))
    end = events[-1]
    assert isinstance(end, GreetingEnd) and end.reason == "silence"
    assert end.ended_ms <= len(greeting) // 8 + 1_700


def test_a_short_greeting_is_a_machine_by_its_words() -> None:
    short = concat(silence(300), speech("Leave a message."))
    heard_ms = len(short) // 8 // 20 * 20
    settings = DetectorSettings()
    # The transcript is being made when the pause begins: the detector waits for it.
    detector = MachineDetector(settings, 8000)
    vad = SileroVAD()
    events: list[object] = []
    for frame in frames(concat(short, silence(3000))):
        event = detector.feed(frame, vad.speech_probability(frame.tobytes(), 8000))
        if detector.utterance_ended:
            detector.transcript_pending = True
        if event is not None:
            events.append(event)
        if detector.elapsed_ms == heard_ms + 1_000:  # the STT took ~0.8 s
            events.append(detector.transcript("Leave a message."))
    d = decision(events)
    assert d.result is DetectionResult.MACHINE and d.reason.startswith("voicemail_phrase")
    assert d.transcript == "Leave a message." and d.confidence >= 0.9


def test_the_same_short_greeting_without_its_transcript_passes_for_a_person() -> None:
    _, events = run(concat(silence(300), speech("Leave a message.")))
    assert decision(events).result is DetectionResult.HUMAN  # why the transcript matters


def test_a_beep_right_after_a_short_greeting_decides_and_ends_it() -> None:
    _, events = run(concat(silence(300), speech("Sam here."), silence(200), tone(1400, 300)))
    d = decision(events)
    assert d.result is DetectionResult.MACHINE and d.reason == "beep_after_greeting"
    end = events[-1]
    assert isinstance(end, GreetingEnd) and end.beep and abs((end.beep_hz or 0) - 1400) < 15


def test_a_fax_calling_tone_is_a_fax_within_a_second() -> None:
    _, events = run(with_noise(fax_cng(), snr_db=20))
    d = decision(events)
    assert d.result is DetectionResult.FAX and d.decide_ms <= 1_000


@pytest.mark.parametrize("timeout_ms", [2_000, 5_000])
def test_nobody_speaking_is_silence_at_the_timeout(timeout_ms: int) -> None:
    settings = replace(DetectorSettings(), timeout_ms=timeout_ms)
    _, events = run(with_noise(silence(8000), snr_db=0), settings)
    d = decision(events)
    assert (d.result, d.decide_ms) == (DetectionResult.SILENCE, timeout_ms)


def test_a_noisy_line_does_not_turn_a_person_into_a_machine() -> None:
    audio = with_noise(concat(silence(300), speech("Yes? Who is this?", voice="en-gb")), 15)
    assert decision(run(audio)[1]).result is DetectionResult.HUMAN


def test_a_slow_transcript_does_not_keep_a_person_waiting() -> None:
    detector = MachineDetector(DetectorSettings(), 8000)
    vad = SileroVAD()
    decided = None
    for frame in frames(concat(silence(300), speech("Hello?"), silence(4000))):
        event = detector.feed(frame, vad.speech_probability(frame.tobytes(), 8000))
        if detector.utterance_ended:
            detector.transcript_pending = True  # and it never comes
        decided = decided or event
    assert isinstance(decided, Decision) and decided.result is DetectionResult.HUMAN
    assert decided.decide_ms <= 300 + 1_000 + 1_000 + 700


def test_a_beep_that_starts_during_the_pause_after_a_short_greeting_is_waited_for() -> None:
    # "Sam here." then, 550 ms later, a 400 ms beep: the 1 s pause a person leaves is not over
    # before the tone starts, and a tone is no person waiting for an answer.
    _, events = run(concat(silence(300), speech("Sam here."), silence(550), tone(440, 700)))
    d = decision(events)
    assert d.result is DetectionResult.MACHINE and d.reason == "beep_after_greeting"
