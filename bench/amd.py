"""Answering-machine detection accuracy: a confusion matrix over generated callees.

    .venv/bin/python bench/amd.py [--no-stt] [--seed 7]

Each callee is 8 kHz audio made here: voicemail greetings (espeak-ng voices and speeds, and
every third one in piper's neural joe voice; short and long, with and without a beep, with line noise), people picking up ("Hello?", "Yes?", a
name, a business answer), fax calling tones and silent lines. Each runs through the same
detector, silero VAD and Whisper tiny.en a call uses (``voicelane_media.amd``), in audio time:
a transcript reaches the detector as many ms of audio after the pause as the STT took on this
machine. Printed: the confusion matrix, accuracy per class, median and p90 time to decide per
class, and for greetings with a beep whether the greeting's end was found at the beep.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from voicelane.domain.machine_detection import DetectionResult
from voicelane_media.agent.local_engines import SileroVAD, WhisperSTT
from voicelane_media.amd import Decision, DetectorSettings, GreetingEnd, MachineDetector
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.sim.greetings import concat, fax_cng, frames, silence, speech, tone, with_noise
from voicelane_media.sim.voice import synthesize_8k

R = DetectionResult
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-us+m3", "en-gb-x-rp", "en-us+f2"]
GREETINGS = [
    "Hi, you have reached Sam and Alex. We can't take your call right now. Please leave a "
    "message after the tone.",
    "Hello. You've reached the voicemail of Doctor Patel. Please leave your name and number "
    "and I will get back to you.",
    "The person you are calling is not available. Please record your message after the tone. "
    "When you are finished, hang up.",
    "Hey, it's Jordan. Leave a message.",
    "Leave a message.",
    "Hi, this is Maria. Sorry I missed you. Leave me a message and I'll call you back.",
    "Thank you for calling Acme Plumbing. Our office is closed. Our hours are eight to five, "
    "Monday to Friday. Please leave a message.",
    "Your call has been forwarded to an automated voice messaging system. The number you "
    "dialled is not available.",
    "Hi, the person you're calling is using a screening service and will get your message. "
    "Please say your name and why you are calling.",
    "Sam here.",
]
HUMANS = ["Hello?", "Yes?", "Hello, this is Maria.", "Hi, who's this?", "Yeah?",
          "Hello, who's calling?", "Speaking.", "Hi there.",
          "Good morning, Acme Dental, Tom speaking, how can I help you?"]


@dataclass
class Case:
    name: str
    truth: DetectionResult
    audio: Any
    beep_end_ms: int | None = None


def say(text: str, voice: str, wpm: int) -> Any:
    """``text`` in an espeak-ng voice at ``wpm``, or in piper's joe voice (its own pace)."""
    if voice == "piper":
        return asyncio.run(synthesize_8k(text, "piper"))
    return speech(text, voice=voice, wpm=wpm)


def build_cases(seed: int) -> list[Case]:
    cases: list[Case] = []
    for i, text in enumerate(GREETINGS * 2):  # 20 greetings: each text twice, other voice/speed
        voice, wpm = VOICES[i % len(VOICES)], (150, 175, 200, 220)[i % 4]
        voice = "piper" if i % 3 == 1 else voice
        with_beep = i % 3 != 2
        snr = (40, 25, 15)[i % 3]
        voiced = concat(silence(200 + 100 * (i % 4)), say(text, voice, wpm))
        parts = [voiced]
        beep_end = None
        if with_beep:
            gap = 400 + 150 * (i % 4)
            hz = (1000, 1400, 850, 2000, 440)[i % 5]
            parts += [silence(gap), tone(hz, 300 + 100 * (i % 4))]
            beep_end = (len(voiced) + (gap + 300 + 100 * (i % 4)) * 8) // 8
        parts.append(silence(8000))
        audio = with_noise(concat(*parts), snr, seed=seed + i)
        cases.append(Case(f"greeting{i:02d} {voice} {wpm}wpm snr{snr}{' beep' if with_beep else ''}",
                          R.MACHINE, audio, beep_end))
    for i, text in enumerate(HUMANS * 2):
        voice, wpm = VOICES[(i + 3) % len(VOICES)], (140, 170, 200)[i % 3]
        voice = "piper" if i % 3 == 1 else voice
        audio = concat(silence(250 + 150 * (i % 3)), say(text, voice, wpm),
                       silence(6000))
        if i >= len(HUMANS):  # the second round: "Hello? ... Hello?" style, noisier
            audio = concat(audio[: len(audio) - 6000 * 8], silence(900),
                           say("Hello?", voice, wpm), silence(6000))
        cases.append(Case(f"human{i:02d} {voice} {text[:20]!r}", R.HUMAN,
                          with_noise(audio, (35, 20, 12)[i % 3], seed=seed + 100 + i)))
    for i, snr in enumerate((40, 20, 10)):
        cases.append(Case(f"fax{i} snr{snr}", R.FAX,
                          with_noise(concat(silence(300 * i), fax_cng(3)), snr, seed=seed + 200)))
    for i in range(3):
        cases.append(Case(f"silence{i}", R.SILENCE,
                          with_noise(concat(silence(200), tone(1000, 20, dbfs=-30), silence(8000)),
                                     -10.0 * i, seed=seed + 300 + i)))
    return cases


def run_case(case: Case, vad: SileroVAD, stt: WhisperSTT | None) -> tuple[Decision, GreetingEnd | None]:
    vad.reset()
    detector = MachineDetector(DetectorSettings(wait_for_beep=True), 8000, want_greeting_end=True)
    heard = bytearray()
    transcript_at: tuple[int, str] | None = None
    for frame in frames(case.audio):
        detector.feed(frame, vad.speech_probability(frame.tobytes(), 8000))
        if detector.decision is None and detector.speech.onset_ms is not None:
            heard += frame.tobytes()
            if stt is not None and detector.utterance_ended and transcript_at is None:
                started = time.perf_counter()
                text = stt.transcribe(resample_pcm16(bytes(heard), 8000, 16000))
                took_ms = int((time.perf_counter() - started) * 1000)
                transcript_at = (detector.elapsed_ms + took_ms // 20 * 20, text)
                detector.transcript_pending = True
        if transcript_at is not None and detector.elapsed_ms >= transcript_at[0]:
            detector.transcript(transcript_at[1])
            transcript_at = None
        if detector.done:
            break
    decision = detector.decision
    assert decision is not None, case.name
    return decision, detector.greeting_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-stt", action="store_true", help="cadence and tones only")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    cases = build_cases(args.seed)
    vad, stt = SileroVAD(), None if args.no_stt else WhisperSTT()
    matrix: Counter[tuple[R, R]] = Counter()
    decide: dict[R, list[int]] = {r: [] for r in R}
    beeps = [0, 0, 0, 0]  # found at the beep / of; no beep claimed / of (machines detected)
    for case in cases:
        decision, end = run_case(case, vad, stt)
        matrix[(case.truth, decision.result)] += 1
        if decision.result == case.truth:
            decide[case.truth].append(decision.decide_ms)
        if case.truth == R.MACHINE and decision.result == R.MACHINE:
            if case.beep_end_ms is not None:
                beeps[0] += bool(end and end.beep and abs(end.ended_ms - case.beep_end_ms) <= 300)
                beeps[1] += 1
            else:
                beeps[2] += bool(end and not end.beep)
                beeps[3] += 1
        if args.verbose or decision.result != case.truth:
            print(f"{'  ' if decision.result == case.truth else '!!'} {case.name}: "
                  f"{decision.result.value} {decision.confidence} {decision.decide_ms} ms "
                  f"{decision.reason} {decision.transcript!r}"
                  f"{f' greeting end {end.reason} {end.ended_ms} ms' if end else ''}")
    classes = list(R)
    print(f"\n{len(cases)} callees, STT {'off' if args.no_stt else 'whisper tiny.en'}\n")
    print("truth \\ detected " + "".join(f"{c.value:>9}" for c in classes))
    for truth in classes:
        print(f"{truth.value:<17}" + "".join(f"{matrix[(truth, c)]:>9}" for c in classes))
    print()
    for truth in classes:
        total = sum(matrix[(truth, c)] for c in classes)
        times = sorted(decide[truth])
        median = statistics.median(times) if times else float("nan")
        p90 = times[int(0.9 * (len(times) - 1))] if times else float("nan")
        print(f"{truth.value:<8} accuracy {matrix[(truth, truth)]}/{total} "
              f"({100 * matrix[(truth, truth)] / max(total, 1):.0f} %), "
              f"decide median {median:.0f} ms, p90 {p90:.0f} ms")
    print(f"greeting end (machines detected): beep found within 300 ms of its end "
          f"{beeps[0]}/{beeps[1]}; no beep claimed where there was none {beeps[2]}/{beeps[3]}")


if __name__ == "__main__":
    main()
