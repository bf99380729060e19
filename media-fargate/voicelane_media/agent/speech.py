"""Agent-side processors: sentence-by-sentence TTS and paced output to the leg.

The output keeps, per agent turn, each segment's text and its position in the leg's audio
timeline, so after a barge-in it can tell what the caller actually heard (`heard_text`):
whole segments played, plus the share of words of the segment cut mid-way.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from voicelane_media.agent.frames import (
    AgentReplyDone,
    AgentTurnTruncated,
    BargeInPause,
    BargeInResume,
    Direction,
    Frame,
    Interruption,
    LLMToken,
    PlayoutDone,
    ReplyAudioDone,
    SpeechPrepare,
    TTSAudio,
)
from voicelane_media.agent.leg import MediaLeg, pcm_ms
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.providers import TTSEngine
from voicelane_media.agent.recorder import ConversationRecorder
from voicelane_media.codecs.resample import resample_pcm16

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CLAUSE_END = re.compile(r",\s+")
# A reply's first piece may end at a comma once it has this many words ("We are open from
# eight to six," then "Monday to Friday."): the TTS's time grows with the text, so the caller
# hears the reply sooner, and the rest is synthesised long before the first piece has played.
FIRST_CLAUSE_MIN_WORDS = 3


def _first_clause_end(text: str) -> int | None:
    """Where the first piece of a reply ends at a comma (None: no such comma yet)."""
    for comma in _CLAUSE_END.finditer(text):
        head = text[: comma.start() + 1]
        if _SENTENCE_END.search(head):
            return None  # a whole sentence comes first
        if len(head.split()) >= FIRST_CLAUSE_MIN_WORDS:
            return comma.end()
    return None


def cut_pieces(text: str, first: bool) -> tuple[list[str], str]:
    """The pieces of `text` the TTS can say now, and the rest to wait on. Pieces end at a
    sentence end; the reply's `first` piece ends at a comma after a few words if that comes
    sooner."""
    pieces: list[str] = []
    if first and (at := _first_clause_end(text)) is not None:
        pieces.append(text[:at].strip())
        text = text[at:]
    *complete, rest = _SENTENCE_END.split(text)
    return pieces + complete, rest


def first_sentence(text: str) -> str | None:
    """The first piece the TTS cuts from a reply that starts with `text` (None: not yet)."""
    pieces, _ = cut_pieces(text, first=True)
    return pieces[0].strip() or None if pieces else None


def trim_lead(pcm: bytes, sample_rate: int, keep_ms: float = 20.0, max_ms: float = 200.0,
              level: int = 200) -> bytes:
    """`pcm` without the silence before its first sound (a TTS engine's padding), keeping
    `keep_ms` before it (a soft onset) and cutting at most `max_ms`."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    first = int(loud[0]) if loud.size else samples.size
    cut = min(first - int(keep_ms * sample_rate / 1000), int(max_ms * sample_rate / 1000))
    return pcm[max(0, cut) * 2:]


@dataclass
class _Prepared:
    """A sentence synthesised ahead of its reply (`SpeechPrepare`)."""

    text: str
    task: asyncio.Task[list[bytes]]


class TTSProcessor(Processor):
    """Cuts the token stream into sentences and synthesises them in order, one worker per turn."""

    def __init__(self, engine: TTSEngine, sample_rate: int, recorder: ConversationRecorder) -> None:
        super().__init__()
        self.engine = engine
        self.sample_rate = sample_rate
        self.recorder = recorder
        self._buffers: dict[int, str] = {}
        self._queues: dict[int, asyncio.Queue[str | None]] = {}
        self._prepared: _Prepared | None = None
        self.prepared = 0  # sentences synthesised ahead (SpeechPrepare)
        self.prepared_used = 0  # of them, the first sentence of a reply

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, LLMToken):
            self._buffers[frame.turn_id] = self._buffers.get(frame.turn_id, "") + frame.text
            complete, rest = cut_pieces(self._buffers[frame.turn_id],
                                        first=frame.turn_id not in self._queues)
            self._buffers[frame.turn_id] = rest
            for sentence in complete:
                self._queue(frame.turn_id).put_nowait(sentence)
        elif isinstance(frame, AgentReplyDone):
            rest = self._buffers.pop(frame.turn_id, "").strip()
            queue = self._queue(frame.turn_id)
            if rest:
                queue.put_nowait(rest)
            queue.put_nowait(None)
        elif isinstance(frame, SpeechPrepare):
            if self._prepared is None or self._prepared.text != frame.text:
                self._prepared = _Prepared(frame.text, self.spawn(
                    self._synthesise_ahead(frame.text), name="tts-prepare"))
                self.prepared += 1
        elif isinstance(frame, Interruption):
            self._buffers.clear()
            self._queues.clear()
            self._prepared = None
            await super().process(frame, direction)
        else:
            await self.push(frame, direction)

    def _queue(self, turn_id: int) -> asyncio.Queue[str | None]:
        if turn_id not in self._queues:
            self._queues[turn_id] = asyncio.Queue()
            self.spawn(self._synthesise(turn_id, self._queues[turn_id]), name=f"tts-{turn_id}")
        return self._queues[turn_id]

    async def _synthesise(self, turn_id: int, queue: asyncio.Queue[str | None]) -> None:
        segment = 0
        first = True
        while (text := await queue.get()) is not None:
            text = text.strip()
            if not text:
                continue
            try:
                async for pcm in self._audio_of(text, first):
                    if first:  # the reply's first sound goes out without the engine's padding
                        pcm = trim_lead(pcm, self.sample_rate)
                        first = False
                        self._first_audio(turn_id)
                    await self.push(
                        TTSAudio(
                            pcm=pcm,
                            sample_rate=self.sample_rate,
                            text=text,
                            turn_id=turn_id,
                            segment=segment,
                        )
                    )
            except Exception as exc:  # a TTS failure skips the sentence, not the call
                self.recorder.engine_error("tts", exc)
            segment += 1
        self._queues.pop(turn_id, None)
        await self.push(ReplyAudioDone(turn_id=turn_id))

    async def _synthesise_ahead(self, text: str) -> list[bytes]:
        return [resample_pcm16(c.pcm, c.sample_rate, self.sample_rate)
                async for c in self.engine.synthesize(text)]

    async def _audio_of(self, text: str, first: bool) -> AsyncIterator[bytes]:
        """The sentence's audio: synthesised ahead when it is the reply's first sentence and
        was prepared (waiting for the synthesis in flight), else synthesised now."""
        prepared, self._prepared = (self._prepared, None) if first else (None, self._prepared)
        if prepared is not None and prepared.text == text:
            try:
                chunks = await prepared.task
            except Exception:  # it is synthesised again below
                chunks = []
            if chunks:
                self.prepared_used += 1
                for pcm in chunks:
                    yield pcm
                return
        async for chunk in self.engine.synthesize(text):
            yield resample_pcm16(chunk.pcm, chunk.sample_rate, self.sample_rate)

    def _first_audio(self, turn_id: int) -> None:
        metrics = self.recorder.turn_metrics(turn_id)
        turn = self.recorder.agent_turns.get(turn_id)
        if turn is not None:
            started = self.recorder.transcript.origin + turn.start_ms / 1000.0
            metrics.tts_first_audio_ms = round((time.monotonic() - started) * 1000, 1)


@dataclass
class _Segment:
    text: str
    start_ms: float
    duration_ms: float = 0.0


@dataclass
class _Chunk:
    start_ms: float
    pcm: bytes
    sample_rate: int

    def after(self, ms: float) -> bytes:
        """The part of the chunk from timeline position `ms` on."""
        skip = max(0, round((ms - self.start_ms) * self.sample_rate / 1000.0)) * 2
        return self.pcm[skip:]


@dataclass
class _TurnAudio:
    segments: dict[int, _Segment] = field(default_factory=dict)
    chunks: list[_Chunk] = field(default_factory=list)  # kept until played, for a resume
    end_ms: float = 0.0
    done: bool = False


def heard_text(segments: list[_Segment], played_ms: float) -> str:
    """Words the caller heard: full segments before `played_ms`, a word share of the cut one."""
    words: list[str] = []
    for segment in segments:
        if played_ms >= segment.start_ms + segment.duration_ms:
            words.extend(segment.text.split())
        elif played_ms > segment.start_ms and segment.duration_ms > 0:
            share = (played_ms - segment.start_ms) / segment.duration_ms
            seg_words = segment.text.split()
            words.extend(seg_words[: int(len(seg_words) * share)])
    return " ".join(words)


class OutputProcessor(Processor):
    """Hands agent audio to the leg, measures voice-to-voice, and pauses, resumes or stops
    playout on barge-in.

    Positions are on one timeline, the leg's played counter: a pause clears the leg (its
    counter stops at what was heard) and keeps the agent's audio; a resume sends it again from
    that position, so every later position, and `heard_text` after a real interruption, stays
    exact. Audio synthesised during a pause waits on the timeline until the resume.
    """

    def __init__(
        self, leg: MediaLeg, recorder: ConversationRecorder, speech_end: Callable[[int], float | None]
    ) -> None:
        super().__init__()
        self.leg = leg
        self.recorder = recorder
        self.speech_end = speech_end
        self.sent_ms = 0.0
        self._turns: dict[int, _TurnAudio] = {}
        self._paused_at: float | None = None  # monotonic time the audio stopped for a pause
        self._paused_ms = 0.0  # timeline position of the pause

    @property
    def playing(self) -> bool:
        return self.leg.played_ms() + 1.0 < self.sent_ms

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, TTSAudio):
            await self._send(frame)
        elif isinstance(frame, ReplyAudioDone):
            audio = self._turns.setdefault(frame.turn_id, _TurnAudio(end_ms=self.sent_ms))
            audio.done = True
            self.spawn(self._until_played(frame.turn_id, audio), name=f"played-{frame.turn_id}")
        elif isinstance(frame, BargeInPause):
            await self._pause()
        elif isinstance(frame, BargeInResume):
            await self._resume(frame)
        elif isinstance(frame, Interruption):
            await self._interrupt(frame)
        else:
            await self.push(frame, direction)

    async def _send(self, frame: TTSAudio) -> None:
        self.recorder.activity()
        audio = self._turns.get(frame.turn_id)
        if audio is None:
            audio = self._turns[frame.turn_id] = _TurnAudio()
            ended = self.speech_end(frame.turn_id)
            if ended is not None:
                self.recorder.voice_to_voice(frame.turn_id, (time.monotonic() - ended) * 1000)
        segment = audio.segments.get(frame.segment)
        if segment is None:
            segment = audio.segments[frame.segment] = _Segment(
                text=frame.text, start_ms=self.sent_ms
            )
        audio.chunks.append(_Chunk(self.sent_ms, frame.pcm, frame.sample_rate))
        duration = len(frame.pcm) / 2 / frame.sample_rate * 1000.0
        segment.duration_ms += duration
        self.sent_ms += duration
        audio.end_ms = self.sent_ms
        if not self.paused:
            await self.leg.send_audio(frame.pcm)

    async def _until_played(self, turn_id: int, audio: _TurnAudio) -> None:
        while self.leg.played_ms() + 1.0 < audio.end_ms:
            await asyncio.sleep(0.02)
        self.recorder.activity()
        self.recorder.agent_audio_ended(turn_id, time.monotonic())
        self._turns.pop(turn_id, None)
        await self.push(PlayoutDone(turn_id=turn_id), Direction.UPSTREAM)

    async def _pause(self) -> None:
        if self.paused:
            return
        self._paused_ms = await self.leg.clear()
        self._paused_at = time.monotonic()

    async def _resume(self, frame: BargeInResume) -> None:
        if self._paused_at is None:
            return
        paused_for = (time.monotonic() - self._paused_at) * 1000.0
        self._paused_at = None
        start = self._paused_ms
        rest = b"".join(
            chunk.after(start)
            for _, audio in sorted(self._turns.items())
            for chunk in audio.chunks
            if chunk.start_ms + pcm_ms(len(chunk.pcm), chunk.sample_rate) > start
        )
        if rest:
            await self.leg.send_audio(rest)
        turn_id = max(self._turns, default=0)
        if frame.reason == "onset":  # a sound too short to be speech: counted, no event
            metrics = self.recorder.turn_metrics(turn_id)
            metrics.onset_pauses = (metrics.onset_pauses or 0) + 1
            return
        self.recorder.event(
            "agent.interruption.ignored",
            {"turn_index": turn_id, "reason": frame.reason, "speech_ms": frame.speech_ms,
             "paused_ms": round(paused_for, 1)},
        )

    async def _interrupt(self, frame: Interruption) -> None:
        played = await self.leg.clear()
        stopped_at = self._paused_at if self._paused_at is not None else time.monotonic()
        self._paused_at = None
        await self.cancel_inflight()
        for turn_id, audio in sorted(self._turns.items()):
            if audio.end_ms <= played and audio.done:
                continue
            text = heard_text(sorted(audio.segments.values(), key=lambda s: s.start_ms), played)
            await self.push(
                AgentTurnTruncated(
                    turn_id=turn_id,
                    heard_text=text,
                    played_ms=played,
                    stopped_at=stopped_at,
                    confirmed_at=frame.confirmed_at,
                ),
                Direction.UPSTREAM,
            )
        self._turns.clear()
        self.sent_ms = played
