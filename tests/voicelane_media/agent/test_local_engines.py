"""The local engines on real audio: TTS speaks, Whisper hears it, silero finds the speech."""

from __future__ import annotations

import asyncio

import pytest
from voicelane.domain.agent import AgentSpec, FirstSpeaker, ToolSpec
from voicelane_media.agent import AgentSession, Engines, InMemoryLeg, LoopSettings
from voicelane_media.agent.local_engines import (
    EspeakTTS,
    PiperTTS,
    SileroVAD,
    WhisperSettings,
    WhisperSTT,
)
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.codecs.resample import resample_pcm16


@pytest.fixture(scope="session")
def piper() -> PiperTTS:
    return PiperTTS()


@pytest.fixture(scope="session")
def whisper() -> WhisperSTT:
    return WhisperSTT()


async def _speak(tts, text: str, rate: int = 16000) -> bytes:
    chunks = [chunk async for chunk in tts.synthesize(text)]
    assert chunks, "no audio"
    return b"".join(resample_pcm16(c.pcm, c.sample_rate, rate) for c in chunks)


def _words(text: str) -> list[str]:
    return [w.strip(".,!?").lower() for w in text.split()]


async def test_piper_speech_is_transcribed_by_whisper(piper, whisper):
    audio = await _speak(piper, "I would like to book an appointment for Monday.")
    assert len(audio) / 32000 > 1.5
    words = _words(whisper.transcribe(audio))
    assert {"book", "appointment", "monday"} <= set(words)


async def test_espeak_speech_over_8khz_is_transcribed(whisper):
    audio8k = await _speak(EspeakTTS(), "Please call me tomorrow morning.", 8000)
    words = _words(whisper.transcribe(resample_pcm16(audio8k, 8000, 16000)))
    assert {"call", "tomorrow", "morning"} <= set(words)


async def test_whisper_encodes_the_segment_not_a_30_s_window(piper, whisper):
    """The final's cost is the encoder's, which grows with its input: a 3 s turn is encoded
    as 8 s (the speech and 4 s of silence), not Whisper's 30 s, and heard the same."""
    audio = await _speak(piper, "I would like to book an appointment for Monday.")
    seen: list[int] = []
    model = whisper.model
    encode = model.encode

    def spy(features):  # type: ignore[no-untyped-def]
        seen.append(features.shape[-1])
        return encode(features)

    model.encode = spy
    try:
        short = _words(whisper.transcribe(audio))  # the default: 4 s of padding
        full = _words(WhisperSTT(WhisperSettings(encoder_pad_s=None)).transcribe(audio))
    finally:
        del model.encode
    seconds = len(audio) / 32000
    assert seen[0] <= (seconds + 5) * 100 < 3000  # feature frames are 10 ms
    assert seen[-1] == 3000  # encoder_pad_s None: faster-whisper's own 30 s window
    assert {"book", "appointment", "monday"} <= set(short)
    assert short == full


def test_the_short_window_is_the_default_and_off_turns_it_off(monkeypatch):
    monkeypatch.delenv("VOICELANE_WHISPER_ENCODER_PAD_S", raising=False)
    assert WhisperSettings().encoder_pad_s == 4.0
    monkeypatch.setenv("VOICELANE_WHISPER_ENCODER_PAD_S", "off")
    assert WhisperSettings().encoder_pad_s is None
    monkeypatch.setenv("VOICELANE_WHISPER_ENCODER_PAD_S", "6")
    assert WhisperSettings().encoder_pad_s == 6.0


async def test_silero_finds_speech_and_not_silence(piper):
    audio = await _speak(piper, "Hello there, this is a test.")
    vad = SileroVAD()
    frame = 640
    silence = [vad.speech_probability(b"\x00" * frame, 16000) for _ in range(25)]
    speech = [
        vad.speech_probability(audio[i : i + frame], 16000)
        for i in range(0, len(audio) - frame, frame)
    ]
    assert max(silence) < 0.2
    assert sum(p > 0.5 for p in speech) > len(speech) * 0.5


async def test_full_local_conversation_turn(piper, whisper):
    """Caller audio from piper -> silero -> whisper -> scripted -> piper back, on the in-memory leg."""
    script = {
        "states": {
            "main": {"intents": [{"keywords": ["appointment"], "reply": "Sure, which day?"}]}
        }
    }
    leg = InMemoryLeg(sample_rate=16000)
    spec = AgentSpec(
        first_speaker=FirstSpeaker.USER,
        script=script,
        tools=[ToolSpec(name="end_call", type="end_call")],
    )
    engines = Engines(vad=SileroVAD(), stt=whisper, llm=ScriptedDialogue(script), tts=piper)
    session = AgentSession(
        spec, leg, engines, settings=LoopSettings(max_duration_s=20, stt_final_wait_ms=8000)
    )

    task = asyncio.create_task(session.run())
    leg.feed_silence(200)
    leg.feed_pcm(await _speak(piper, "Hi, I need an appointment."))
    leg.feed_silence(1500)
    await leg.drained()
    for _ in range(750):
        if leg.played_ms() > 500:
            break
        await asyncio.sleep(0.02)
    leg.close_inbound()
    outcome = await asyncio.wait_for(task, 20)
    caller = [t.text for t in outcome.transcript.turns if t.role == "caller"]
    assert caller and "appointment" in caller[0].lower()
    assert [t.text for t in outcome.transcript.turns if t.role == "agent"] == ["Sure, which day?"]
    # Latency depends on the machine's load; bench/agent_latency.py reports it.
    assert outcome.transcript.metrics[0].voice_to_voice_ms is not None


def test_a_looping_decode_is_told_from_repeated_words_people_say():
    from voicelane_media.agent.local_engines import looping

    loop = "What are your opening hours? " * 3 + "What"
    assert looping(loop, 20, 100)
    assert looping("Goodbye. " * 6, 12, 100)
    assert looping("I would like to pay my bill. I would like to pay my bill. I would", 24, 100)
    assert looping("Thanks.", 36, 36)  # the token cap was hit
    assert not looping("four one one one", 8, 100)  # a card number's group
    # A run of one digit (a test card's 15 ones) looks like a loop: decoded again on the full
    # window, right but slower.
    assert looping("four one one one, one one one one", 12, 100)
    assert looping("4111. 111 111 111 111 1 1 1 1", 20, 100)  # the same run in numerals
    assert not looping("4111", 4, 100)
    assert not looping("No no no, that is all. Thank you. Thank you.", 14, 100)
    # a pair four times, not in a row (heard on a loaded node's short window)
    assert looping("Great. Goodbye. Great. Goodbye. Good-bye. Great. Goodbye. Great. Goodbye",
                   20, 100)
    assert not looping("Thank you. Yes, thank you, that is all, thank you.", 12, 100)


async def test_a_segment_is_decoded_once_for_its_final_unless_interims_are_asked_for(piper):
    """Nothing in the loop reads interim text: by default a 3 s segment costs one decode (its
    final), not one a second that the final would queue behind."""
    audio = await _speak(piper, "I would like to book an appointment for Monday.")
    for every in [None, 1000]:
        stt = WhisperSTT(WhisperSettings(interim_every_ms=every))
        decodes: list[int] = []
        transcribe = stt.transcribe
        stt.transcribe = (  # type: ignore[method-assign]
            lambda pcm, t=transcribe, seen=decodes: seen.append(len(pcm)) or t(pcm))
        stream = stt.open_stream(16000)
        for at in range(0, len(audio), 640):  # 20 ms frames, at a real-time pace
            await stream.push(audio[at:at + 640])
            await asyncio.sleep(0.02)
        await stream.finish()
        results = [r async for r in stream.results()]
        assert [r.is_final for r in results] == [False] * len(results[:-1]) + [True]
        assert "appointment" in _words(results[-1].text)
        if every is None:
            assert len(decodes) == len(results) == 1
        else:  # a 2.9 s segment: interims after 1 s and 2 s (one cut short by the final:
            # its decode runs on in its thread all the same, and the final waits for it)
            assert len(decodes) >= 2


def test_a_sentence_said_twice_in_a_row_is_told_apart():
    from voicelane_media.agent.local_engines import repeats_sentence

    assert repeats_sentence("Sorry. Sorry.")
    assert repeats_sentence("Okay. Okay!")
    assert not repeats_sentence("Okay, okay.")  # one sentence
    assert repeats_sentence("Hello. Thank you! Thank you.")
    assert not repeats_sentence("Great thanks. Goodbye.")
    assert not repeats_sentence("No no no, that is all. Thank you.")


def test_a_failed_or_repeating_decode_gets_a_second_short_window_before_the_full_one(
        monkeypatch, whisper):
    """The full 30 s window costs 600-900 ms on this machine; a second short window tens."""
    from voicelane_media.agent import local_engines

    def full(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("decoded on the full window")

    monkeypatch.setattr(whisper.model, "transcribe", full)
    audio = b"\x00\x00" * 16000
    for answers, expected in [([None, "What are your opening hours?"],
                               "What are your opening hours?"),
                              (["Sorry. Sorry.", "Sorry."], "Sorry."),
                              (["Okay. Okay.", "Okay. Okay."], "Okay. Okay."),
                              (["Thanks. Thanks.", None], "Thanks. Thanks.")]:
        pads: list[float] = []
        replies = iter(answers)

        def decode(model, samples, pad_s, settings, replies=replies, pads=pads):  # type: ignore[no-untyped-def]
            pads.append(pad_s)
            return next(replies)

        monkeypatch.setattr(local_engines, "_short_window", decode)
        assert whisper.transcribe(audio) == expected
        assert pads == [4.0, 6.0]

