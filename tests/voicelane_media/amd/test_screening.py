"""After a screening prompt: when the agent answers, and who speaks next (the pure tracker)."""

from __future__ import annotations

from voicelane_media.amd.screening import ScreeningSettings, ScreeningStep, ScreeningTracker


def feed(tracker: ScreeningTracker, ms: int, voiced: bool, beep_at: int | None = None
         ) -> list[tuple[int, ScreeningStep]]:
    steps = []
    for i in range(ms // 20):
        step = tracker.feed(voiced, beep=beep_at is not None and i * 20 == beep_at)
        if step is not None:
            steps.append((tracker.elapsed_ms, step))
    return steps


def answered(tracker: ScreeningTracker) -> ScreeningTracker:
    """The prompt ends (its last words, then silence) and the agent has spoken."""
    feed(tracker, 400, True)
    assert feed(tracker, 1000, False) == [(1200, ScreeningStep.PROMPT_ENDED)]
    assert feed(tracker, 3000, True) == []  # the callee side while the agent speaks: ignored
    tracker.answered()
    return tracker


def test_the_agent_answers_once_the_screener_is_quiet() -> None:
    tracker = ScreeningTracker(ScreeningSettings(prompt_silence_ms=800))
    assert feed(tracker, 2000, True) == []  # still prompting
    assert feed(tracker, 1000, False) == [(2800, ScreeningStep.PROMPT_ENDED)]


def test_a_beep_during_the_prompt_makes_it_a_voicemail() -> None:
    tracker = ScreeningTracker(ScreeningSettings())
    assert feed(tracker, 600, False, beep_at=200) == [(220, ScreeningStep.VOICEMAIL)]


def test_the_person_is_who_speaks_after_the_answer_with_words_of_their_own() -> None:
    tracker = answered(ScreeningTracker(ScreeningSettings(pause_ms=600)))
    feed(tracker, 1000, True)
    assert feed(tracker, 600, False) == [] and tracker.transcript_pending
    assert tracker.transcript("Oh hi, this is Sam.") == ScreeningStep.PERSON
    assert tracker.result == ScreeningStep.PERSON


def test_the_screener_speaking_again_is_not_the_person() -> None:
    tracker = answered(ScreeningTracker(ScreeningSettings()))
    feed(tracker, 1200, True)
    feed(tracker, 600, False)
    assert tracker.transcript("Thanks, please stay on the line.") is None
    assert tracker.result is None and not tracker.transcript_pending
    feed(tracker, 800, True)
    feed(tracker, 600, False)
    assert tracker.transcript("Hello?") == ScreeningStep.PERSON


def test_a_screener_that_says_the_person_is_away_is_a_voicemail() -> None:
    tracker = answered(ScreeningTracker(ScreeningSettings()))
    feed(tracker, 2000, True)
    feed(tracker, 600, False)
    assert tracker.transcript("They are not available, please leave a message after the tone."
                              ) == ScreeningStep.VOICEMAIL


def test_a_slow_transcript_is_not_waited_for_and_a_blip_is_no_person() -> None:
    tracker = answered(ScreeningTracker(ScreeningSettings(transcript_wait_ms=1500)))
    feed(tracker, 100, True)  # a click: shorter than min_speech_ms
    assert feed(tracker, 1000, False) == [] and not tracker.transcript_pending
    feed(tracker, 600, True)
    steps = feed(tracker, 3000, False)
    assert [s for _, s in steps] == [ScreeningStep.PERSON]  # 600 ms pause + 1.5 s, no words


def test_nobody_coming_on_the_line_times_out() -> None:
    tracker = answered(ScreeningTracker(ScreeningSettings(person_timeout_ms=5000)))
    steps = feed(tracker, 6000, False)
    assert [s for _, s in steps] == [ScreeningStep.TIMEOUT]
    assert steps[0][0] - 4400 == 5000  # counted from the answer (4.4 s into the screening)


def test_screeners_are_answered_by_default_only_where_an_agent_runs_the_call() -> None:
    from voicelane.domain.machine_detection import MachineDetection, ScreeningAction

    assert MachineDetection().answers_screening(has_agent=True)
    assert not MachineDetection().answers_screening(has_agent=False)
    assert not MachineDetection(screening=ScreeningAction.MACHINE).answers_screening(True)
